"""The margin a write needs at the current marks: what Binance refuses with -2019 (a
fill), -2028 (a lower leverage), -4050 and -4051 (isolated margin moved).

Binance fills an order only if the margin its opening part needs fits the account's
``availableBalance`` (SPEC §17.4; isolated too: its margin leaves the cross wallet at the
fill). ``apply`` does not ask this — replaying the ledger, liquidation closes and forced
imports of real history must go through whatever the marks were — so the writes an
operator makes are checked here, after ``apply`` accepted them and against the account
before them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext

from .account import Account, sides_for, split_fill
from .errors import (
    CrossBalanceInsufficient,
    IsolatedBalanceInsufficient,
    LeverageMarginInsufficient,
    MarginInsufficient,
)
from .events import (
    Event,
    Fill,
    IsolatedMarginTransfer,
    MarginType,
    Order,
    PositionSide,
    SetLeverage,
)
from .market import Market
from .numbers import CONTEXT, ZERO, fmt_money
from .open_orders import added_open_order_margin
from .risk import AccountRisk, initial_margin

__all__ = [
    "available_for_orders",
    "check_margin",
    "check_opening_margin",
    "check_order_margin",
    "removable_margin",
]


def check_margin(
    account: Account, event: Event, market: Market, marks: Mapping[str, Decimal]
) -> None:
    """Every margin check of ``event`` (one ``apply`` accepted) against ``account`` before
    it, positions marked at ``marks``: a fill's opening margin (-2019), a lower
    leverage's extra initial margin (-2028), isolated margin added (-4050) or removed
    (-4051). Other events need none."""
    with localcontext(CONTEXT):
        match event:
            case Fill():
                check_opening_margin(account, event, market, marks)
            case SetLeverage():
                _check_leverage_margin(account, event, market, marks)
            case IsolatedMarginTransfer():
                _check_isolated_transfer(account, event, market, marks)


def _check_leverage_margin(
    account: Account, event: SetLeverage, market: Market, marks: Mapping[str, Decimal]
) -> None:
    """-2028 when the cross sides of the symbol need more initial margin at the new
    leverage than at the old, by more than availableBalance (positions at ``marks``)."""
    symbol = market[event.symbol]
    settings = account.settings_for(symbol)
    if settings.margin_type is not MarginType.CROSS or event.leverage >= settings.leverage:
        return
    risk = AccountRisk(account, market, marks)
    extra = ZERO
    for side in sides_for(account.position_mode):
        row = risk.position(symbol.name, side)
        if row.position.amount:
            extra += initial_margin(row.notional, event.leverage) - row.initial_margin
    available = risk.asset(symbol.margin_asset).available_balance
    if extra > available:
        raise LeverageMarginInsufficient(
            f"{symbol.name} at {event.leverage}x needs {fmt_money(extra)} "
            f"{symbol.margin_asset} more initial margin; availableBalance is "
            f"{fmt_money(available)}"
        )


def removable_margin(
    account: Account, symbol: str, side: PositionSide, market: Market, marks: Mapping[str, Decimal]
) -> Decimal:
    """What may leave an isolated side (decided; Binance keeps margin above the initial
    requirement): ``max(0, isolatedWallet + min(0, uPnL) − positionInitialMargin)``, at
    ``marks``."""
    with localcontext(CONTEXT):
        row = AccountRisk(account, market, marks).position(symbol, side)
        wallet = row.position.isolated_wallet
        return max(ZERO, wallet + min(ZERO, row.unrealized_pnl) - row.initial_margin)


def _check_isolated_transfer(
    account: Account, event: IsolatedMarginTransfer, market: Market, marks: Mapping[str, Decimal]
) -> None:
    symbol = market[event.symbol]
    side = PositionSide(event.position_side)
    if event.amount > 0:
        available = AccountRisk(account, market, marks).asset(symbol.margin_asset).available_balance
        if event.amount > available:
            raise CrossBalanceInsufficient(
                f"adding {event.amount} {symbol.margin_asset}, availableBalance is "
                f"{fmt_money(available)}"
            )
        return
    removable = removable_margin(account, symbol.name, side, market, marks)
    if -event.amount > removable:
        raise IsolatedBalanceInsufficient(
            f"removing {-event.amount} {symbol.margin_asset}, at most {fmt_money(removable)} "
            "may leave (isolated wallet + unrealized loss − initial margin)"
        )


def check_opening_margin(
    account: Account, event: Event, market: Market, marks: Mapping[str, Decimal]
) -> None:
    """Refuse (-2019 ``Margin is insufficient.``) a fill whose opening part needs more
    than ``account`` has available:

    ``opening qty × price / leverage + opening share of the fee > availableBalance``

    with availableBalance (``risk.available_balance``) of the symbol's margin asset before
    the fill, positions marked at ``marks`` (at their entry price where a symbol has no
    mark). The closing part of a fill needs no margin (a one-way flip opens only the
    excess); events other than fills need none. ``event`` must be one ``apply`` accepted.
    """
    if not isinstance(event, Fill):
        return
    with localcontext(CONTEXT):
        opened = split_fill(account, event)
        if not opened.open_qty:
            return
        symbol = market[event.symbol]
        leverage = account.settings_for(symbol).leverage
        margin = initial_margin(opened.open_qty * event.price, leverage)
        needed = margin + opened.open_fee
        asset = symbol.margin_asset
        available = AccountRisk(account, market, marks).asset(asset).available_balance
        if needed > available:
            raise MarginInsufficient(
                f"opening {opened.open_qty} {symbol.name} at {event.price} needs "
                f"{fmt_money(margin)} {asset} initial margin at {leverage}x + "
                f"{fmt_money(opened.open_fee)} fee; availableBalance is {fmt_money(available)}"
            )


def available_for_orders(
    account: Account, market: Market, marks: Mapping[str, Decimal], asset: str
) -> Decimal:
    """availableBalance of ``asset`` at ``marks``, open orders' margin already taken:
    what the margin of a new order must fit in (-2019). It may be negative."""
    with localcontext(CONTEXT):
        return AccountRisk(account, market, marks).asset(asset).available_balance


def check_order_margin(
    account: Account, order: Order, market: Market, marks: Mapping[str, Decimal]
) -> None:
    """Refuse (-2019 ``Margin is insufficient.``) placing ``order`` (not yet in
    ``account.orders``) when the openOrderInitialMargin it would add (its opening
    quantity × price / leverage) is more than availableBalance, isolated symbols too
    (their margin leaves the cross wallet at the fill). Closing quantity needs none."""
    with localcontext(CONTEXT):
        needed = added_open_order_margin(account, market, order)
        if not needed:
            return
        asset = market[order.symbol].margin_asset
        available = available_for_orders(account, market, marks, asset)
        if needed > available:
            raise MarginInsufficient(
                f"{order.side.value} {order.quantity} {order.symbol} at {order.price} holds "
                f"{fmt_money(needed)} {asset} initial margin; availableBalance is "
                f"{fmt_money(available)}"
            )
