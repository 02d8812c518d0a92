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


class _Series:
    """One symbol's buckets, as parallel arrays (oldest first)."""

    __slots__ = ("closes", "counts", "highs", "lows", "minutes", "opens")

    def __init__(self) -> None:
        self.minutes = _column()
        self.opens = _column()
        self.highs = _column()
        self.lows = _column()
        self.closes = _column()
        self.counts = _column()

    def columns(self) -> tuple[array[int], ...]:
        return (self.minutes, self.opens, self.highs, self.lows, self.closes, self.counts)

    def record(self, minute: int, price: int, bound: int) -> None:
        minutes = self.minutes
        if minutes and minute <= minutes[-1]:
            # The same minute (or a clock that went back: the latest bucket takes it).
            self.highs[-1] = max(self.highs[-1], price)
            self.lows[-1] = min(self.lows[-1], price)
            self.closes[-1] = price
            self.counts[-1] += 1
            return
        for column, value in zip(
            self.columns(), (minute, price, price, price, price, 1), strict=True
        ):
            column.append(value)
        if len(minutes) > bound:
            for column in self.columns():
                del column[0]


class MarkHistory:
    """1-minute mark buckets per symbol, at most ``minutes`` each."""

    def __init__(self, minutes: int = HISTORY_MINUTES) -> None:
        if minutes < 1:
            raise ValueError(f"the mark history keeps at least 1 minute, not {minutes}")
        self.minutes = minutes
        self._series: dict[str, _Series] = {}

    def __repr__(self) -> str:
        held = sum(len(s.minutes) for s in self._series.values())
        return f"<MarkHistory {len(self._series)} symbols, {held} buckets, ≤{self.minutes} each>"

    def record(self, marks: Mapping[str, Decimal], now: int) -> None:
        """The marks set at ``now`` (ms)."""
        minute = now - now % MINUTE_MS
        for symbol, mark in marks.items():
            price = scaled_price(mark)
            if not 0 <= price < _INT64:
                continue  # past what the arrays hold (see the module's docstring)
            series = self._series.get(symbol)
            if series is None:
                series = self._series[symbol] = _Series()
            series.record(minute, price, self.minutes)

    def buckets(self, symbol: str) -> MinuteBuckets:
        """``symbol``'s buckets (empty when it has none)."""
        series = self._series.get(symbol)
        if series is None:
            return MinuteBuckets((), (), (), (), (), ())
        return MinuteBuckets(*series.columns())
