"""``posrisk serve --workers N``: N gateway processes on one port, on one host.

The supervisor reserves both ports (bound, not listening: a busy port refuses the start
before the database is touched), prepares the database once (migrations, scenario or
demo, the admin token), then starts N processes that each run a whole ``PosriskServer``
on the same WebSocket port and the same admin port (``SO_REUSEPORT``: the kernel spreads
new connections over them). They share PostgreSQL and Redis like gateways on many hosts
do; only worker 0 runs the mark source (the others take its marks from the bus), and
every worker's ``/metrics`` shows them all (``gateway.shared_metrics``). A worker that
dies is started again; its clients reconnect and land on the others meanwhile. SIGINT or
SIGTERM stops every worker (each tells its clients, as one server does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from .app import PosriskServer, ServerSettings, is_postgres
from .loop import run_event_loop
from .preflight import bind_ports
from .service.errors import ServiceError

__all__ = ["Ready", "Supervisor", "check_workers"]

log = logging.getLogger("posrisk.workers")

# spawn: a fresh interpreter per worker (no event loop, thread or socket inherited).
_CONTEXT = multiprocessing.get_context("spawn")


def check_workers(settings: ServerSettings, count: int) -> None:
    """Refuse what cannot work, saying what to give instead."""
    if count < 1:
        raise ServiceError(f"--workers must be 1 or more, not {count}")
    if count > 1 and (not is_postgres(settings.db) or settings.redis is None):
        raise ServiceError(
            "--workers N shares one database and one set of limits between processes: "
            "it needs --db postgresql://... and --redis redis://... (the embedded SQLite "
            "database serves from one process)"
        )


@dataclass(frozen=True, slots=True)
class Ready:
    """What the supervisor knows once every worker serves."""

    port: int
    admin_port: int | None
    server: PosriskServer  # the prepared (not serving) server: demo keys, admin token


def _worker(settings: ServerSettings, index: int, log_level: int, ready: Connection) -> None:
    """One gateway process: serve until SIGTERM (SIGINT is the supervisor's to handle)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=log_level, format=f"%(asctime)s %(levelname)s worker-{index} %(name)s: %(message)s"
    )

    async def serve() -> None:
        server = PosriskServer(settings)
        try:
            await server.start()
        except Exception as e:  # reported to the supervisor, which stops and says it
            ready.send(("error", getattr(e, "msg", None) or str(e)))
            return
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        ready.send(("ready", server.port))
        await stop.wait()
        await server.stop()

    run_event_loop(serve())


class Supervisor:
    """Starts, watches and stops the worker processes."""

    def __init__(
        self,
        settings: ServerSettings,
        count: int,
        *,
        log_level: int = logging.WARNING,
        start_timeout_s: float = 60.0,
        restart_delay_s: float = 1.0,
    ) -> None:
        check_workers(settings, count)
        self.settings = settings
        self.count = count
        self.log_level = log_level
        self.start_timeout_s = start_timeout_s
        self.restart_delay_s = restart_delay_s
        self.processes: list[Any] = [None] * count
        # Workers started again after dying, for the logs and the tests.
        self.restarts = 0
        self._child: ServerSettings | None = None
        self._holders: list[socket.socket] = []
        # Where the workers exchange their /metrics figures (made at start, removed at stop).
        self._metrics_folder: str | None = None
        self._stopping = False

    def __repr__(self) -> str:
        alive = sum(1 for p in self.processes if p is not None and p.is_alive())
        return f"<Supervisor {alive}/{self.count} workers>"

    def start(self) -> Ready:
        """Check the settings, reserve the ports, prepare the database (in this order: a
        busy port leaves the database untouched), start every worker, return once all of
        them serve."""
        settings = self.settings
        prepared = PosriskServer(settings)
        prepared.check()
        ws, admin = bind_ports(settings, listen=False)
        self._holders += [*ws, *admin]
        port = int(ws[0].getsockname()[1])
        admin_port = int(admin[0].getsockname()[1]) if admin else None
        try:
            asyncio.run(prepared.prepare())
        except BaseException:
            self.stop()
            raise
        self._metrics_folder = tempfile.mkdtemp(prefix="posrisk-metrics-")
        self._child = replace(
            settings,
            port=port,
            admin_port=admin_port,
            admin_token=prepared.admin_token,
            scenario=None,
            reset=False,
            demo=False,
            gateway=replace(settings.gateway, reuse_port=True, metrics_folder=self._metrics_folder),
        )
        try:
            for index in range(self.count):
                self._spawn(index)
        except BaseException:
            self.stop()
            raise
        return Ready(port, admin_port, prepared)

    def _spawn(self, index: int) -> None:
        assert self._child is not None
        settings = self._child
        settings = replace(settings, gateway=replace(settings.gateway, worker=index))
        if index > 0:
            settings = replace(settings, marks="fixed")  # worker 0 moves the marks
        receive, send = _CONTEXT.Pipe(duplex=False)
        process = _CONTEXT.Process(
            target=_worker,
            args=(settings, index, self.log_level, send),
            name=f"posrisk-worker-{index}",
            daemon=True,
        )
        process.start()
        send.close()
        self.processes[index] = process
        if not receive.poll(self.start_timeout_s):
            raise ServiceError(f"worker {index} did not start within {self.start_timeout_s} s")
        try:
            message = receive.recv()
        except EOFError:
            process.join(5)
            raise ServiceError(
                f"worker {index} exited while starting (code {process.exitcode})"
            ) from None
        finally:
            receive.close()
        if message[0] != "ready":
            raise ServiceError(f"worker {index} could not start: {message[1]}")

    def watch(self, stop: Callable[[], bool], interval_s: float = 0.2) -> None:
        """Start again any worker that died, until ``stop()`` says so."""
        while not stop():
            for index, process in enumerate(self.processes):
                if process is not None and not process.is_alive() and not self._stopping:
                    log.warning(
                        "worker %d exited (code %s); starting it again", index, process.exitcode
                    )
                    time.sleep(self.restart_delay_s)
                    try:
                        self._spawn(index)
                        self.restarts += 1
                    except ServiceError as e:
                        log.error("%s", e)
            time.sleep(interval_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM every worker (each tells its clients), then wait; kill what stays."""
        self._stopping = True
        for process in self.processes:
            if process is not None and process.is_alive():
                process.terminate()
        deadline = time.monotonic() + timeout_s
        for process in self.processes:
            if process is not None:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(5)
        for holder in self._holders:
            with contextlib.suppress(OSError):
                holder.close()
        self._holders = []
        if self._metrics_folder is not None:
            shutil.rmtree(self._metrics_folder, ignore_errors=True)
            self._metrics_folder = None
