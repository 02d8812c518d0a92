"""``GET /metrics`` of gateways that share a port (``serve --workers N``).

The kernel hands each scrape to any one worker. So that every scrape shows every worker,
each worker writes its figures (counts and gauges) to ``<folder>/worker-<index>.json`` —
every ``interval_s`` and just before it answers ``/metrics`` — and answers from all the
files, each sample labelled ``worker="<index>"``. Whichever worker answers, a counter
never moves backwards between two scrapes: a file is only ever replaced, whole, by a
later snapshot of the same worker (a restarted worker starts its counters again, which
Prometheus reads as the reset it is). Files of workers no longer running are left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import orjson

from ..service.metrics import Gauges, Metrics, render

__all__ = ["SharedMetrics"]

log = logging.getLogger("posrisk.gateway.metrics")

# What a worker's figures are read from: its request counts and its gauges, now.
Figures = Callable[[], tuple[Metrics, Gauges]]


class SharedMetrics:
    """One worker's side of the exchange: publish its figures, render everyone's."""

    def __init__(self, folder: Path, worker: int, interval_s: float = 1.0) -> None:
        self.folder = folder
        self.worker = worker
        self.interval_s = interval_s
        self._path = folder / f"worker-{worker}.json"
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<SharedMetrics worker {self.worker} in {self.folder}>"

    def publish(self, metrics: Metrics, gauges: Gauges) -> None:
        """Replace this worker's file with its figures now (atomically)."""
        data = {
            "pid": os.getpid(),
            "metrics": metrics.snapshot(),
            "gauges": {name: [text, value] for name, (text, value) in gauges.items()},
        }
        partial = self._path.with_name(f".{self._path.name}.{os.getpid()}")
        partial.write_bytes(orjson.dumps(data))
        os.replace(partial, self._path)

    def gather(self) -> list[tuple[str | None, Metrics, Gauges]]:
        """Every running worker's last figures, by worker index."""
        found: list[tuple[int, Metrics, Gauges]] = []
        for path in self.folder.glob("worker-*.json"):
            try:
                index = int(path.stem.removeprefix("worker-"))
                data = orjson.loads(path.read_bytes())
                if not _running(int(data["pid"])):
                    continue
                gauges = {name: (str(t), float(v)) for name, (t, v) in data["gauges"].items()}
                found.append((index, Metrics.from_snapshot(data["metrics"]), gauges))
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("skipping unreadable worker metrics %s: %s", path, e)
        return [(str(index), metrics, gauges) for index, metrics, gauges in sorted(found)]

    def render(self, metrics: Metrics, gauges: Gauges) -> str:
        """``/metrics``: this worker's figures as of now, the others' as last written."""
        self.publish(metrics, gauges)
        return render(self.gather())

    def start(self, figures: Figures) -> None:
        """Publish ``figures()`` now and every ``interval_s`` until ``stop``."""
        self.publish(*figures())
        self._task = asyncio.get_running_loop().create_task(self._publish_every(figures))

    async def _publish_every(self, figures: Figures) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self.publish(*figures())
            except OSError as e:
                log.warning("could not share this worker's metrics: %s", e)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: it exists
        pass
    return True
