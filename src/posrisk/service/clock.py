"""Time, injected: the server never reads the wall clock except through a ``Clock``.

``now_ms`` is the exchange's time. A clock that an operator or a test moved forward
(``OffsetClock.advance``) says by how much in ``advanced_ms``: a request stamped anywhere
from the machine's time to the exchange's is then accepted, as if the client's clock had
moved with the server's (clients that never sync their clock, ccxt's and the SDK's
defaults, and one that synced once between two moves, python-binance's, keep working).
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "OffsetClock", "SystemClock"]


class Clock(Protocol):
    def now_ms(self) -> int: ...

    @property
    def advanced_ms(self) -> int:
        """How far this clock was moved ahead of the machine's (0: never)."""
        ...


class SystemClock:
    """Milliseconds since the epoch, from the machine's clock."""

    advanced_ms = 0

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def __repr__(self) -> str:
        return "SystemClock()"


class OffsetClock:
    """The machine's clock plus an offset that only moves forward (``advance``)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    @property
    def advanced_ms(self) -> int:
        return self.offset_ms

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the clock only moves forward")
        self.offset_ms += ms

    def __repr__(self) -> str:
        return f"OffsetClock(+{self.offset_ms} ms)"


class ManualClock:
    """A clock that moves only when told to (tests); requests are stamped from it."""

    advanced_ms = 0

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms

    def __repr__(self) -> str:
        return f"ManualClock({self.now})"
