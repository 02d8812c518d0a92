"""Log lines a client can cause, bounded: a hostile client must not fill the disk.

Whatever a client's doing can log (a connection opened or closed, a malformed or oversize
frame, a request that hit a bug) passes ``RateLimitFilter`` on the client-facing loggers:
per (logger, message template), ``lines`` lines per ``interval_s``; the rest are
counted, and the first line let through after the interval says how many were
suppressed. picows logs through ``ClientLog``, which lowers its ERRORs about a client
(a protocol violation is the client's fault, not the server's) to WARNING.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

__all__ = ["CLIENT_LOGGERS", "ClientLog", "RateLimitFilter", "limit_client_logs"]

# The loggers whose lines a client can cause.
CLIENT_LOGGERS = ("posrisk.gateway", "posrisk.gateway.picows", "posrisk.api", "posrisk.rest")


class RateLimitFilter(logging.Filter):
    """At most ``lines`` records per (logger, template) per ``interval_s``, then a count."""

    def __init__(
        self,
        lines: int = 10,
        interval_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_messages: int = 1024,
    ) -> None:
        super().__init__()
        if lines < 1 or interval_s <= 0:
            raise ValueError(f"need lines >= 1 and interval_s > 0, got {lines}, {interval_s}")
        self.lines = lines
        self.interval_s = interval_s
        self.clock = clock
        self.max_messages = max_messages
        # (logger, template) → [start of its interval, lines let through, lines suppressed]
        self._seen: dict[tuple[str, str], list[Any]] = {}

    def __repr__(self) -> str:
        return f"<RateLimitFilter {self.lines} per {self.interval_s:g} s>"

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        key = (record.name, str(record.msg))
        seen = self._seen.get(key)
        if seen is None or now - seen[0] >= self.interval_s:
            if seen is None and len(self._seen) >= self.max_messages:
                self._forget(now)
            self._seen[key] = [now, 1, 0]
            if seen is not None and seen[2]:
                _annotate(record, f"{seen[2]} similar lines suppressed")
            return True
        if seen[1] >= self.lines:
            seen[2] += 1
            return False
        seen[1] += 1
        if seen[1] == self.lines:
            _annotate(record, f"more like it are suppressed for up to {self.interval_s:g} s")
        return True

    def _forget(self, now: float) -> None:
        """Drop finished intervals (or all of them: templates made of client data)."""
        for key in [k for k, v in self._seen.items() if now - v[0] >= self.interval_s]:
            del self._seen[key]
        if len(self._seen) >= self.max_messages:
            self._seen.clear()


def _annotate(record: logging.LogRecord, note: str) -> None:
    record.msg = f"{record.getMessage()} ({note})"
    record.args = None


class ClientLog(logging.LoggerAdapter[logging.Logger]):
    """What picows logs with: its ERRORs become WARNINGs, but a traceback (a fault of the
    server's own code) stays an ERROR. Not a ``Logger``, so picows makes no child logger
    per connection (whose records would pass the filter by)."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level >= logging.ERROR and not kwargs.get("exc_info"):
            level = logging.WARNING
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


def limit_client_logs(lines: int, interval_s: float) -> None:
    """Put one ``RateLimitFilter`` on each client-facing logger (replacing an earlier one)."""
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RateLimitFilter)]:
            logger.removeFilter(old)
        logger.addFilter(RateLimitFilter(lines, interval_s))
