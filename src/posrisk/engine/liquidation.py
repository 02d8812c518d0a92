"""Liquidation: what happens to positions whose mark has crossed their liquidation price.

Pure, like the rest of the engine: ``liquidation_events(account, market, marks, time)``
returns the ledger events that liquidate the account at those marks — each crossed
position closed by a fill at its bankruptcy price (where its margin balance is zero), the
sides of a cross symbol together, the account re-marked after each symbol (a closed cross
position moves the others' prices); then, if a wallet ended below zero, an
``InsuranceClear`` back to zero. The service applies them like any other events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext

from .account import Account, sides_for
from .events import Event, Fill, InsuranceClear, MarginType, Side
from .ledger import apply
from .market import Market
from .numbers import CONTEXT, ZERO
from .position import Position
from .risk import AccountRisk, PositionRisk

__all__ = ["bankruptcy_price", "is_crossed", "liquidation_events"]


def bankruptcy_price(
    wallet: Decimal, other_unrealized_pnl: Decimal, legs: Sequence[Position]
) -> Decimal | None:
    """The price at which margin balance is zero: ``WB + UPNL1 + Σ side·Pos·(P − EP) = 0``.

    ``P = (Σ side·Pos·EP − WB − UPNL1) / Σ side·Pos``; None when the legs cancel out.
    Isolated: WB is the position's isolated wallet and UPNL1 is 0.
    """
    with localcontext(CONTEXT):
        exposure = sum((leg.amount for leg in legs), ZERO)
        if not exposure:
            return None
        cost = sum((leg.amount * leg.entry_price for leg in legs), ZERO)
        return (cost - wallet - other_unrealized_pnl) / exposure


def is_crossed(row: PositionRisk) -> bool:
    """A long whose mark is at or under its liquidation price, or a short at or over it."""
    mark, price, amount = row.mark_price, row.liquidation_price, row.position.amount
    if not mark or not price or not amount:
        return False
    return mark <= price if amount > 0 else mark >= price


def liquidation_events(
    account: Account, market: Market, marks: Mapping[str, Decimal], time: int
) -> list[Event]:
    """The events liquidating every crossed position of ``account`` at ``marks``."""
    events: list[Event] = []
    for _ in range(len(account.positions) + 1):
        risk = AccountRisk(account, market, marks)
        crossed = next((row for row in risk.open_rows() if is_crossed(row)), None)
        if crossed is None:
            break
        closing = _close(account, risk, crossed, market, time)
        for event in closing:
            account = apply(account, event, market).account
        events.extend(closing)
    if events:  # closing at the mark (the fallback) can leave a wallet below zero
        for asset in market.margin_assets:
            balance = account.wallet_balance(asset)
            if balance < 0:
                events.append(InsuranceClear(asset, -balance, time))
    return events


def _close(
    account: Account, risk: AccountRisk, row: PositionRisk, market: Market, time: int
) -> list[Event]:
    symbol = row.symbol
    if row.settings.margin_type is MarginType.ISOLATED:
        legs = [row.position]
        price = bankruptcy_price(row.position.isolated_wallet, ZERO, legs)
    else:
        legs = [
            p
            for side in sides_for(account.position_mode)
            if (p := account.position(symbol.name, side)).amount
        ]
        asset = risk.asset(symbol.margin_asset)
        own = sum((risk.position(symbol.name, p.side).unrealized_pnl for p in legs), ZERO)
        price = bankruptcy_price(asset.cross_wallet_balance, asset.cross_unrealized_pnl - own, legs)
    if price is None or price <= 0:
        price = row.mark_price  # a hedged-flat symbol, or nothing left to lose: at the mark
    return [
        Fill(
            symbol.name,
            Side.SELL if leg.amount > 0 else Side.BUY,
            abs(leg.amount),
            price,
            leg.side,
            ZERO,
            time,
        )
        for leg in legs
    ]
