"""Funding, decided on Binance's formula with posrisk's marks: each symbol's rate and
interval, and when it is next due.

A symbol pays funding every ``interval_hours`` (8 by default), at whole multiples of the
interval counted from 00:00 UTC; its rate is a constant per symbol (``0.0001`` by default,
what Binance's interest rate alone gives), clamped to the cap and floor (±0.02 by
default). ``FundingSchedule`` holds the symbols that differ from the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "DEFAULT_FUNDING_CAP",
    "DEFAULT_FUNDING_INTERVAL_HOURS",
    "DEFAULT_FUNDING_RATE",
    "DEFAULT_INTEREST_RATE",
    "FundingSchedule",
    "SymbolFunding",
    "next_funding_time",
]

DEFAULT_FUNDING_RATE = Decimal("0.0001")
DEFAULT_INTEREST_RATE = Decimal("0.0001")
DEFAULT_FUNDING_INTERVAL_HOURS = 8
DEFAULT_FUNDING_CAP = Decimal("0.02")
_HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class SymbolFunding:
    """One symbol's funding: its rate (before clamping), interval, cap and floor."""

    rate: Decimal = DEFAULT_FUNDING_RATE
    interval_hours: int = DEFAULT_FUNDING_INTERVAL_HOURS
    cap: Decimal = DEFAULT_FUNDING_CAP
    floor: Decimal = -DEFAULT_FUNDING_CAP
    interest_rate: Decimal = DEFAULT_INTEREST_RATE

    @property
    def clamped_rate(self) -> Decimal:
        """The rate a settlement uses: ``rate`` within [floor, cap]."""
        return min(self.cap, max(self.floor, self.rate))

    @property
    def is_default(self) -> bool:
        """Whether Binance's fundingInfo would leave the symbol out (nothing adjusted)."""
        return (self.interval_hours, self.cap, self.floor) == (
            DEFAULT_FUNDING_INTERVAL_HOURS,
            DEFAULT_FUNDING_CAP,
            -DEFAULT_FUNDING_CAP,
        )


def next_funding_time(now: int, interval_hours: int) -> int:
    """The first funding time strictly after ``now`` (ms): the next whole multiple of the
    interval from 00:00 UTC (8 h: 00:00, 08:00, 16:00)."""
    interval = interval_hours * _HOUR_MS
    return (now // interval + 1) * interval


@dataclass(frozen=True, slots=True)
class FundingSchedule:
    """Every symbol's funding: the defaults, unless ``symbols`` says otherwise."""

    symbols: Mapping[str, SymbolFunding] = field(default_factory=dict)

    def of(self, symbol: str) -> SymbolFunding:
        found = self.symbols.get(symbol)
        return found if found is not None else _DEFAULT

    def next_time(self, symbol: str, now: int) -> int:
        return next_funding_time(now, self.of(symbol).interval_hours)


_DEFAULT = SymbolFunding()
