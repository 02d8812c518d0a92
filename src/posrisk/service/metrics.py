"""What ``GET /metrics`` reports, in Prometheus' text format (no client library needed).

Counters and histograms live here, fed by the services; gauges (connections, bans,
accounts) are read when the page is rendered.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from itertools import accumulate

__all__ = ["LATENCY_BUCKETS", "Metrics"]

# Seconds: what a request's handling took inside the server (transport excluded).
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25)


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

    def render(self, gauges: Mapping[str, tuple[str, float]]) -> str:
        """The exposition text; ``gauges`` maps a name to (help, value)."""
        lines = [
            "# HELP posrisk_requests_total WS API requests answered, by method and status.",
            "# TYPE posrisk_requests_total counter",
        ]
        for (method, status), count in sorted(self.requests.items()):
            lines.append(
                f'posrisk_requests_total{{method="{_label(method)}",status="{status}"}} {count}'
            )
        lines += [
            "# HELP posrisk_request_seconds Time to handle a WS API request, by method.",
            "# TYPE posrisk_request_seconds histogram",
        ]
        for method, (slots, total, count) in sorted(self.latency.items()):
            name = _label(method)
            for bound, value in zip(LATENCY_BUCKETS, accumulate(slots), strict=False):
                lines.append(
                    f'posrisk_request_seconds_bucket{{method="{name}",le="{bound}"}} {value}'
                )
            lines.append(f'posrisk_request_seconds_bucket{{method="{name}",le="+Inf"}} {count}')
            lines.append(f'posrisk_request_seconds_sum{{method="{name}"}} {total:.6f}')
            lines.append(f'posrisk_request_seconds_count{{method="{name}"}} {count}')
        for name, (text, reading) in sorted(gauges.items()):
            lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", f"{name} {reading:g}"]
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    # Unknown methods come from clients: keep label values short and harmless.
    clean = value[:64].replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return clean
