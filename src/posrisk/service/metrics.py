"""What ``GET /metrics`` reports, in Prometheus' text format (no client library needed).

Counters and histograms live here, fed by the services (WS API methods and REST paths);
gauges (connections, bans, accounts) are read when the page is rendered. Gateways that
share a port (``serve --workers N``) each render every worker's figures, each sample
labelled ``worker="<index>"``, from snapshots they exchange (``snapshot``/``from_snapshot``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from itertools import accumulate
from typing import Any

__all__ = ["LATENCY_BUCKETS", "Gauges", "Metrics", "render"]

# Seconds: what a request's handling took inside the server (transport excluded).
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25)

# A gauge's name → (help, value).
Gauges = Mapping[str, tuple[str, float]]


class Metrics:
    """Request counts by method and status, and latency histograms by method."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        # method → (requests per latency slot, sum of seconds, count)
        self.latency: dict[str, tuple[list[int], float, int]] = {}

    def __repr__(self) -> str:
        return f"<Metrics {sum(self.requests.values())} requests>"

    def observe(self, method: str, status: int, seconds: float) -> None:
        key = (method, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        found = self.latency.get(method)
        # One slot per bucket (the last: above every bound); cumulated only when rendered.
        slots, total, count = found if found else ([0] * (len(LATENCY_BUCKETS) + 1), 0.0, 0)
        slots[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency[method] = (slots, total + seconds, count + 1)

    def snapshot(self) -> dict[str, Any]:
        """The counts as JSON values (for the other workers)."""
        return {
            "requests": [[method, status, n] for (method, status), n in self.requests.items()],
            "latency": {
                method: [list(s), total, n] for method, (s, total, n) in self.latency.items()
            },
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Metrics:
        metrics = cls()
        for method, status, count in data["requests"]:
            metrics.requests[(str(method), int(status))] = int(count)
        for method, (slots, total, count) in data["latency"].items():
            metrics.latency[str(method)] = ([int(n) for n in slots], float(total), int(count))
        return metrics

    def render(self, gauges: Gauges) -> str:
        """The exposition text of this process alone."""
        return render([(None, self, gauges)])


def render(workers: Sequence[tuple[str | None, Metrics, Gauges]]) -> str:
    """The exposition text of one process (worker None: no label) or of several, every
    sample labelled with its worker (each family once, as the format wants)."""
    lines = [
        "# HELP posrisk_requests_total Requests answered (WS API methods, REST paths), "
        "by method and status.",
        "# TYPE posrisk_requests_total counter",
    ]
    for worker, metrics, _ in workers:
        first = _first_label(worker)
        for (method, status), count in sorted(metrics.requests.items()):
            lines.append(
                f'posrisk_requests_total{{{first}method="{_label(method)}",status="{status}"}} '
                f"{count}"
            )
    lines += [
        "# HELP posrisk_request_seconds Time to handle a request, by method.",
        "# TYPE posrisk_request_seconds histogram",
    ]
    for worker, metrics, _ in workers:
        first = _first_label(worker)
        for method, (slots, total, count) in sorted(metrics.latency.items()):
            name = f'{first}method="{_label(method)}"'
            for bound, value in zip(LATENCY_BUCKETS, accumulate(slots), strict=False):
                lines.append(f'posrisk_request_seconds_bucket{{{name},le="{bound}"}} {value}')
            lines.append(f'posrisk_request_seconds_bucket{{{name},le="+Inf"}} {count}')
            lines.append(f"posrisk_request_seconds_sum{{{name}}} {total:.6f}")
            lines.append(f"posrisk_request_seconds_count{{{name}}} {count}")
    helps = {name: text for _, _, gauges in workers for name, (text, _) in gauges.items()}
    for name, text in sorted(helps.items()):
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
        for worker, _, gauges in workers:
            if name in gauges:
                labels = f'{{worker="{worker}"}}' if worker is not None else ""
                lines.append(f"{name}{labels} {gauges[name][1]:g}")
    return "\n".join(lines) + "\n"


def _first_label(worker: str | None) -> str:
    return f'worker="{_label(worker)}",' if worker is not None else ""


def _label(value: str) -> str:
    # Unknown methods come from clients: keep label values short and harmless.
    clean = value[:64].replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return clean
