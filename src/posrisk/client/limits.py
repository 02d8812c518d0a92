"""What the client knows of its REQUEST_WEIGHT budget, from the ``rateLimits`` it receives.

Pure and clock-free: every call takes the server time (ms). Windows are aligned to the
clock, as Binance's are, so a count seen in an earlier window no longer counts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WEIGHTS", "RateLimitTracker", "RateLimitUsage"]

_UNITS = {"SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}

# Binance's weights for the methods this client sends (what the server will count).
WEIGHTS = {
    "account.position": 5,
    "v2/account.position": 5,
    "account.status": 5,
    "v2/account.status": 5,
    "account.balance": 5,
    "v2/account.balance": 5,
    "session.logon": 2,
    "session.status": 2,
    "session.logout": 2,
}


@dataclass(frozen=True, slots=True)
class RateLimitUsage:
    """REQUEST_WEIGHT used in the current window, as last reported by the server."""

    count: int
    limit: int
    interval_ms: int
    # Server time (ms) at which the window started and when it resets.
    window_start: int

    @property
    def resets_at(self) -> int:
        return self.window_start + self.interval_ms

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


class RateLimitTracker:
    """Follows REQUEST_WEIGHT from responses and says how long to wait before a request."""

    def __init__(self) -> None:
        self._usage: RateLimitUsage | None = None

    def __repr__(self) -> str:
        return f"<RateLimitTracker {self._usage}>"

    def observe(self, rate_limits: object, server_now: int) -> None:
        if not isinstance(rate_limits, list):
            return
        for entry in rate_limits:
            if not isinstance(entry, dict) or entry.get("rateLimitType") != "REQUEST_WEIGHT":
                continue
            unit = _UNITS.get(str(entry.get("interval")))
            number, limit, count = (entry.get(k) for k in ("intervalNum", "limit", "count"))
            if unit is None or not all(isinstance(v, int) for v in (number, limit, count)):
                continue
            interval = unit * number  # type: ignore[operator]
            start = server_now - server_now % interval
            self._usage = RateLimitUsage(count, limit, interval, start)  # type: ignore[arg-type]

    def usage(self, server_now: int) -> RateLimitUsage | None:
        usage = self._usage
        if usage is not None and server_now >= usage.resets_at:
            start = server_now - server_now % usage.interval_ms
            usage = RateLimitUsage(0, usage.limit, usage.interval_ms, start)
        return usage

    def wait_ms(self, weight: int, server_now: int) -> int:
        """0 when a request of ``weight`` fits; else the ms until the window resets."""
        usage = self.usage(server_now)
        if usage is None or usage.count + weight <= usage.limit:
            return 0
        return usage.resets_at - server_now

    def spend(self, weight: int, server_now: int) -> None:
        """Count a request just sent (the reply will correct it)."""
        usage = self.usage(server_now)
        if usage is not None:
            self._usage = RateLimitUsage(
                usage.count + weight, usage.limit, usage.interval_ms, usage.window_start
            )
