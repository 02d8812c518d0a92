"""Funding, decided on Binance's formula with posrisk's marks: each symbol's rate and
interval, and when it is next due.

A symbol pays funding every ``interval_hours`` (8 by default), at whole multiples of the
interval counted from 00:00 UTC; its rate is a constant per symbol (``0.0001`` by default,
what Binance's interest rate alone gives), clamped to the cap and floor (±0.02 by
default). ``FundingSchedule`` holds the symbols that differ from the defaults.

At a funding time each side with a position pays or receives
``round_half_even(−positionAmt × mark × rate, 8)`` (``side_fee``): ``funding_events``
makes the ``FundingFee`` events of one account, ``apply_funding_fee`` (through
``ledger.apply``) checks and pays one. No mark, no settlement; a fee that rounds to 0
moves nothing and is left out (decided).

Exactly once: the account remembers the last funding time each (symbol, side) settled
(``Account.funded``, set by ``apply_funding_fee`` and so rebuilt by replay). A fee for a
side at or before that time is refused, and ``funding_events`` leaves such sides out, so
a settlement tried again (another gateway, a restart) pays nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from .account import Account, check_side, sides_for, with_balance
from .changes import AccountChange, Applied, BalanceChange
from .errors import InvalidValue
from .events import FundingFee, MarginType, PositionSide, UpdateReason
from .market import Market
from .numbers import CONTEXT, ZERO, check_amount, to_money
from .position import Position

__all__ = [
    "DEFAULT_FUNDING_CAP",
    "DEFAULT_FUNDING_INTERVAL_HOURS",
    "DEFAULT_FUNDING_RATE",
    "DEFAULT_INTEREST_RATE",
    "FundingSchedule",
    "SymbolFunding",
    "apply_funding_fee",
    "due_funding_times",
    "funding_events",
    "funding_rate_row",
    "is_funding_time",
    "next_funding_time",
    "side_fee",
    "symbol_funding_events",
]

DEFAULT_FUNDING_RATE = Decimal("0.0001")
DEFAULT_INTEREST_RATE = Decimal("0.0001")
DEFAULT_FUNDING_INTERVAL_HOURS = 8
DEFAULT_FUNDING_CAP = Decimal("0.02")
_HOUR_MS = 3_600_000
_Q8 = Decimal("0.00000001")


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


def is_funding_time(schedule: FundingSchedule, symbol: str, time: int) -> bool:
    """Whether ``symbol`` pays funding at ``time``: a whole multiple of its interval."""
    return time % (schedule.of(symbol).interval_hours * _HOUR_MS) == 0


def due_funding_times(
    schedule: FundingSchedule, symbol: str, last_settled: int, now: int
) -> list[int]:
    """The funding times of ``symbol`` in (``last_settled``, ``now``], ascending."""
    interval = schedule.of(symbol).interval_hours * _HOUR_MS
    first = next_funding_time(last_settled, schedule.of(symbol).interval_hours)
    return list(range(first, now + 1, interval))


def funding_rate_row(
    symbol: str, funding_time: int, rate: Decimal, mark: Decimal
) -> dict[str, Any]:
    """A ``/fapi/v1/fundingRate`` row: rate and mark with 8 decimals (half-even), as
    Binance prints them (``"0.00010000"``, ``"34287.54619963"``)."""
    return {
        "symbol": symbol,
        "fundingRate": _fmt8(rate),
        "fundingTime": funding_time,
        "markPrice": _fmt8(mark),
    }


def _fmt8(value: Decimal) -> str:
    quantized = value.quantize(_Q8, ROUND_HALF_EVEN, CONTEXT)
    return format(quantized if quantized else quantized.copy_abs(), "f")


def side_fee(amount: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """What a side holding ``amount`` (signed) receives at a settlement (negative: pays):
    ``round_half_even(−amount × mark × rate, 8)``; long 0.002 at 92000, 0.0001 → -0.0184."""
    with localcontext(CONTEXT):  # the same digits whoever calls it
        return to_money(-amount * mark * rate)


def _settled_sides(
    account: Account, symbol: str, mark: Decimal, rate: Decimal, funding_time: int
) -> list[tuple[Position, Decimal]]:
    # The sides of ``symbol`` that hold a position, have not settled ``funding_time`` yet,
    # with a fee that moves money.
    found = []
    for side in sides_for(account.position_mode):
        position = account.position(symbol, side)
        if position.amount and account.funded.get((symbol, side), -1) < funding_time:
            fee = side_fee(position.amount, mark, rate)
            if fee:
                found.append((position, fee))
    return found


def funding_events(
    account: Account,
    market: Market,
    marks: Mapping[str, Decimal],
    schedule: FundingSchedule,
    funding_time: int,
) -> list[FundingFee]:
    """The settlement of ``funding_time`` for ``account``, in market order: every symbol
    it holds whose funding time it is and that has a mark; one event for a symbol's cross
    sides, one per isolated side."""
    held = {symbol for symbol, _ in account.positions}
    events: list[FundingFee] = []
    for symbol in market:
        name = symbol.name
        mark = marks.get(name)
        if name not in held or mark is None or not is_funding_time(schedule, name, funding_time):
            continue
        rate = schedule.of(name).clamped_rate
        events += symbol_funding_events(account, market, name, funding_time, rate, mark)
    return events


def symbol_funding_events(
    account: Account, market: Market, symbol: str, funding_time: int, rate: Decimal, mark: Decimal
) -> list[FundingFee]:
    """The settlement of ``symbol`` at ``funding_time`` for ``account`` with this ``rate``
    and ``mark`` (a settlement's own, whatever the schedule says now): one event for its
    cross sides, one per isolated side; the sides that already settled that time (or a
    later one) are left out, so it is empty once the account has paid."""
    fees = [(p.side, fee) for p, fee in _settled_sides(account, symbol, mark, rate, funding_time)]
    if not fees:
        return []
    groups: list[tuple[tuple[PositionSide, Decimal], ...]] = [tuple(fees)]
    if account.settings_for(market[symbol]).margin_type is MarginType.ISOLATED:
        groups = [(fee,) for fee in fees]
    return [FundingFee(symbol, funding_time, rate, mark, g, funding_time) for g in groups]


def apply_funding_fee(account: Account, event: FundingFee, market: Market) -> Applied:
    """Pay ``event``'s fees into the wallets backing its sides, after checking they are
    exactly what the positions give at its mark and rate (``InvalidValue`` otherwise)."""
    symbol = market[event.symbol]
    check_amount(event.rate, "rate")
    check_amount(event.mark, "mark")
    if event.mark <= 0:
        raise InvalidValue("mark", f"{event.mark} is not positive")
    sides = [PositionSide(side) for side, _ in event.fees]
    for side in sides:
        check_side(account, side)
        settled = account.funded.get((symbol.name, side))
        if settled is not None and event.funding_time <= settled:
            raise InvalidValue(
                "fundingTime",
                f"{symbol.name} {side.value} already settled funding at {settled}; "
                f"{event.funding_time} is not after it",
            )
    isolated = account.settings_for(symbol).margin_type is MarginType.ISOLATED
    due = {
        p.side: fee
        for p, fee in _settled_sides(
            account, symbol.name, event.mark, event.rate, event.funding_time
        )
    }
    given = dict(zip(sides, (fee for _, fee in event.fees), strict=True))
    if isolated:  # one isolated side at a time
        due = {side: due[side] for side in sides[:1] if side in due}
    if not due or len(given) != len(sides) or given != due:
        shape = "one isolated side" if isolated else "every cross side"
        owed = ", ".join(f"{side.value} {fee}" for side, fee in due.items()) or "nothing"
        raise InvalidValue(
            "fees", f"{event.symbol} at {event.mark} and {event.rate} pays {shape}: {owed}"
        )
    asset = symbol.margin_asset
    total = sum((fee for _, fee in event.fees), ZERO)
    account = with_balance(account, asset, account.wallet_balance(asset) + total, event.time)
    funded = {(symbol.name, side): event.funding_time for side in sides}
    account = replace(account, funded={**account.funded, **funded})
    if not isolated:
        change = AccountChange(UpdateReason.FUNDING_FEE, (BalanceChange(asset, total),))
        return Applied(account, change)
    position = account.position(symbol.name, sides[0])
    position = replace(
        position,
        isolated_wallet=position.isolated_wallet + total,
        update_time=event.time or position.update_time,
    )
    key = (symbol.name, sides[0])
    return Applied(
        replace(account, positions={**account.positions, key: position}),
        AccountChange(UpdateReason.FUNDING_FEE, (BalanceChange(asset, total),), (key,)),
    )
