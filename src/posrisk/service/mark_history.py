"""The marks' recent history: 1-minute buckets per symbol, bounded, in memory.

Fed from the one place marks change (``Registry.apply_committed``, through
``MarketStreams.on_state_changed``): admin-set marks, feed ticks, marks from other
gateways and scenario loads alike. Each gateway keeps its own (not stored, not shared): a
restarted gateway starts from the marks it loads, recorded at its start.

Bounded (decided): at most ``minutes`` buckets per symbol (1,500 by default: 25 hours,
the 24-hour ticker and an hour more), the oldest dropped first. Prices are kept as
integers of 1e-8 in arrays, 48 bytes a bucket: 1,500 minutes of 300 symbols is about 22 MB.
A mark of 92,233,720,368.54775807 or more (past a 64-bit integer of 1e-8) is not recorded.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from decimal import Decimal

from ..engine.klines import MINUTE_MS, MinuteBuckets, scaled_price

__all__ = ["HISTORY_MINUTES", "MarkHistory"]

# Buckets kept per symbol by default: 25 hours.
HISTORY_MINUTES = 1500
_INT64 = 2**63


def _column() -> array[int]:
    return array("q")


def _scaled(mark: Decimal) -> int | None:
    """``mark`` in 1e-8 when the arrays can hold it."""
    price = scaled_price(mark)
    return price if 0 <= price < _INT64 else None


class _Series:
    """One symbol's buckets: the closed ones in parallel arrays of 1e-8 (oldest first),
    the one under way as the marks themselves (a mark in the same minute costs a
    comparison or two; it is converted when its minute closes or is read)."""

    __slots__ = (
        "close",
        "closes",
        "count",
        "counts",
        "high",
        "highs",
        "low",
        "lows",
        "minute",
        "minutes",
        "open",
        "opens",
    )

    def __init__(self, minute: int, mark: Decimal) -> None:
        self.minutes = _column()
        self.opens = _column()
        self.highs = _column()
        self.lows = _column()
        self.closes = _column()
        self.counts = _column()
        self.minute = minute
        self.open = self.high = self.low = self.close = mark
        self.count = 1

    def columns(self) -> tuple[array[int], ...]:
        return (self.minutes, self.opens, self.highs, self.lows, self.closes, self.counts)

    def current(self) -> tuple[int, ...] | None:
        """The bucket under way in 1e-8 (None: past what the arrays hold)."""
        prices = [_scaled(m) for m in (self.open, self.high, self.low, self.close)]
        if None in prices:
            return None
        return (self.minute, *prices, self.count)  # type: ignore[arg-type]

    def record(self, minute: int, mark: Decimal, bound: int) -> None:
        if minute <= self.minute:
            # The same minute (or a clock that went back: the latest bucket takes it).
            if mark > self.high:
                self.high = mark
            elif mark < self.low:
                self.low = mark
            self.close = mark
            self.count += 1
            return
        closed = self.current()
        if closed is not None:
            for column, value in zip(self.columns(), closed, strict=True):
                column.append(value)
            if len(self.minutes) >= bound:  # with the one under way: at most ``bound``
                for column in self.columns():
                    del column[0]
        self.minute = minute
        self.open = self.high = self.low = self.close = mark
        self.count = 1

    def buckets(self) -> MinuteBuckets:
        current = self.current()
        if current is None:
            return MinuteBuckets(*self.columns())
        columns = (
            column + array("q", (value,))
            for column, value in zip(self.columns(), current, strict=True)
        )
        return MinuteBuckets(*columns)


class MarkHistory:
    """1-minute mark buckets per symbol, at most ``minutes`` each."""

    def __init__(self, minutes: int = HISTORY_MINUTES) -> None:
        if minutes < 1:
            raise ValueError(f"the mark history keeps at least 1 minute, not {minutes}")
        self.minutes = minutes
        self._series: dict[str, _Series] = {}
        # Moves with every ``record``: what is computed from the history is current while
        # it has not moved.
        self.version = 0

    def __repr__(self) -> str:
        held = sum(len(s.minutes) + 1 for s in self._series.values())
        return f"<MarkHistory {len(self._series)} symbols, {held} buckets, ≤{self.minutes} each>"

    def record(self, marks: Mapping[str, Decimal], now: int) -> None:
        """The marks set at ``now`` (ms)."""
        self.version += 1
        minute = now - now % MINUTE_MS
        series_of = self._series
        bound = self.minutes
        for symbol, mark in marks.items():
            series = series_of.get(symbol)
            if series is None:
                series_of[symbol] = _Series(minute, mark)
            else:
                series.record(minute, mark, bound)

    def buckets(self, symbol: str) -> MinuteBuckets:
        """``symbol``'s buckets (empty when it has none)."""
        series = self._series.get(symbol)
        if series is None:
            return MinuteBuckets((), (), (), (), (), ())
        return series.buckets()
