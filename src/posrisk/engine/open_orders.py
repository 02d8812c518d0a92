"""What an account's open orders hold: initial margin and bid/ask notional per side.

Binance reserves margin for the part of a resting order that would open a position
(openOrderInitialMargin, OIM); the part that would close what the side holds needs none.
Per (symbol, position side), in ``orderId`` order, an order's closing quantity uses up
what the side holds and earlier closing orders have not already used; the rest opens:

- one-way (``BOTH``): an order against the held direction closes, the rest opens the
  other way (a flip); with nothing held every order opens;
- hedge: SELL on ``LONG`` and BUY on ``SHORT`` close and never open, the others open;
- a reduce-only (or closePosition) order never opens: what it cannot close holds nothing.

``OIM = opening quantity × price / leverage`` (the symbol's leverage in the account),
``bidNotional`` / ``askNotional`` = Σ price × remaining quantity of the side's BUY /
SELL orders. Only regular orders count: an algo order holds nothing until it triggers,
and a MARKET order never rests. Worked example: a BUY of notional 5 at 20x holds 0.25.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from .account import Account
from .events import Order, PositionSide, Side
from .market import Market
from .numbers import CONTEXT, ZERO

__all__ = [
    "OpenOrderMargin",
    "added_open_order_margin",
    "open_order_margins",
    "opening_quantities",
    "opening_quantity",
    "side_open_orders",
]

PositionKey = tuple[str, PositionSide]


@dataclass(frozen=True, slots=True)
class OpenOrderMargin:
    """What one side's open orders hold: openOrderInitialMargin, bidNotional,
    askNotional (exact)."""

    initial_margin: Decimal = ZERO
    bid_notional: Decimal = ZERO
    ask_notional: Decimal = ZERO


def _closes(order: Order, held: Decimal) -> bool:
    # Whether ``order`` points against what its side holds (``held``: signed amount).
    side = PositionSide(order.position_side)
    buy = Side(order.side) is Side.BUY
    if side is PositionSide.LONG:
        return not buy
    if side is PositionSide.SHORT:
        return buy
    return (held > 0 and not buy) or (held < 0 and buy)


def _allocate(held: Decimal, orders: Iterable[Order]) -> dict[int, Decimal]:
    # Opening quantity of each order of one side, ``orders`` in orderId order.
    room = abs(held)
    opening: dict[int, Decimal] = {}
    for order in orders:
        remaining = order.remaining
        closing = ZERO
        if _closes(order, held):
            closing = min(remaining, room)
            room -= closing
        # Reduce-only and hedge closing orders never open: what they cannot close
        # holds nothing (it would expire or be refused when it fills).
        hedge_close = order.position_side != PositionSide.BOTH and _closes(order, held)
        never_opens = order.reduce_only or order.close_position or hedge_close
        opening[order.order_id] = ZERO if never_opens else remaining - closing
    return opening


def _by_side(orders: Iterable[Order]) -> dict[PositionKey, list[Order]]:
    grouped: dict[PositionKey, list[Order]] = {}
    for order in sorted(orders, key=lambda o: o.order_id):
        key = (order.symbol, PositionSide(order.position_side))
        grouped.setdefault(key, []).append(order)
    return grouped


def opening_quantities(
    account: Account, symbol: str, side: PositionSide, orders: Iterable[Order] | None = None
) -> dict[int, Decimal]:
    """The opening quantity of each open order of ``symbol``/``side`` by orderId
    (``orders``: that side's orders, the account's by default)."""
    if orders is None:
        orders = (
            o for o in account.orders.values() if o.symbol == symbol and o.position_side == side
        )
    ordered = sorted(orders, key=lambda o: o.order_id)
    return _allocate(account.position(symbol, side).amount, ordered)


def opening_quantity(account: Account, order: Order) -> Decimal:
    """How much of ``order`` (not yet in ``account.orders``; it comes after every open
    order of its side) would open a position: its remaining quantity less what it
    closes of the held size not already used by the side's open closing orders."""
    side = PositionSide(order.position_side)
    others = sorted(
        (
            o
            for o in account.orders.values()
            if o.symbol == order.symbol and o.position_side == side and o.order_id != order.order_id
        ),
        key=lambda o: o.order_id,
    )
    # Last of its side whatever its id (an order being placed may not have one yet).
    key = max((o.order_id for o in others), default=0) + 1
    held = account.position(order.symbol, side).amount
    return _allocate(held, [*others, replace(order, order_id=key)])[key]


def _side_margin(
    account: Account, market: Market, key: PositionKey, orders: list[Order]
) -> OpenOrderMargin:
    name, side = key
    leverage = account.settings_for(market[name]).leverage
    opening = _allocate(account.position(name, side).amount, orders)
    margin = bids = asks = ZERO
    for order in orders:
        margin += opening[order.order_id] * order.price
        value = order.price * order.remaining
        if Side(order.side) is Side.BUY:
            bids += value
        else:
            asks += value
    return OpenOrderMargin(margin / leverage, bids, asks)


def open_order_margins(account: Account, market: Market) -> dict[PositionKey, OpenOrderMargin]:
    """Every (symbol, side) with an open regular order and what its orders hold (zeros
    too: an order that only closes still keeps its row). Symbols the market does not
    list are left out."""
    if not account.orders:
        return {}
    with localcontext(CONTEXT):
        return {
            key: _side_margin(account, market, key, orders)
            for key, orders in _by_side(account.orders.values()).items()
            if key[0] in market
        }


def side_open_orders(
    account: Account, market: Market, symbol: str, side: PositionSide
) -> OpenOrderMargin:
    """What the open orders of one (symbol, side) hold — zeros when it has none: the
    ``b``/``a`` of an ``ORDER_TRADE_UPDATE`` after it."""
    orders = [o for o in account.orders.values() if o.symbol == symbol and o.position_side is side]
    if not orders or symbol not in market:
        return OpenOrderMargin()
    with localcontext(CONTEXT):
        return _side_margin(account, market, (symbol, side), sorted(orders, key=_order_id))


def _order_id(order: Order) -> int:
    return order.order_id


def added_open_order_margin(account: Account, market: Market, order: Order) -> Decimal:
    """The openOrderInitialMargin ``order`` would add if it rested on ``account``: its
    opening quantity × price / leverage (what placement checks against availableBalance,
    -2019)."""
    with localcontext(CONTEXT):
        leverage = account.settings_for(market[order.symbol]).leverage
        return opening_quantity(account, order) * order.price / leverage
