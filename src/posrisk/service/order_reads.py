"""The order reads of REST and the WS API, transport-free: one order (open from the served
state, else from the store within Binance's retention), the open orders, an account's
orders and trades of a symbol over a window of at most 7 days (``allOrders``,
``userTrades``: ascending, ``limit`` 500 by default, 1000 at most).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine import OrderNotFound, order_object, user_trade_row
from ..protocol import WireError, read_long
from .inputs import known_symbol
from .order_writes import order_ref
from .orders import OrderService, retained
from .registry import AccountEntry

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "all_orders",
    "open_order",
    "open_orders",
    "query_order",
    "user_trades",
    "window",
]

Params = Mapping[str, object]
Body = Any

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
WEEK_MS = 7 * 24 * 3600 * 1000


async def query_order(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market, required=True)
    order_id, client_id = order_ref(params)
    order = await orders.order(entry.name, symbol, order_id=order_id, client_order_id=client_id)
    return order_object(order, orders.market[symbol], "query")


def open_order(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market, required=True)
    order_id, client_id = order_ref(params)
    for order in orders.open_orders(entry.name, symbol):
        if order.order_id == order_id or (order_id is None and order.client_order_id == client_id):
            return order_object(order, orders.market[symbol], "query")
    raise OrderNotFound(f"no open order {order_id or client_id!r} on {symbol}")


def open_orders(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market)
    return [
        order_object(o, orders.market[o.symbol], "query")
        for o in orders.open_orders(entry.name, symbol)
    ]


def _limit(params: Params) -> int:
    limit = read_long(params, "limit", required=False)
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise WireError.invalid_value("limit")
    return limit


def window(params: Params, now: int, *, by_id: bool) -> tuple[int | None, int | None]:
    """(startTime, endTime): at most 7 days apart (-4165); without either, the last 7
    days unless the request pages by id (``by_id``)."""
    start = read_long(params, "startTime", required=False)
    end = read_long(params, "endTime", required=False)
    if start is None and end is None:
        return (None, None) if by_id else (now - WEEK_MS, now)
    if start is None:
        assert end is not None
        start = end - WEEK_MS
    elif end is None:
        end = start + WEEK_MS
    if end - start > WEEK_MS:
        raise WireError.interval_too_long()
    return start, end


async def all_orders(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market, required=True)
    from_id = read_long(params, "orderId", required=False)
    start, end = window(params, now, by_id=from_id is not None)
    limit = _limit(params)
    found = await orders.admin.store.orders(
        entry.name, symbol, from_id=from_id, start=start, end=end, limit=limit
    )
    market = orders.market[symbol]
    return [order_object(o, market, "query") for o in found if retained(o, now)]


async def user_trades(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market, required=True)
    order_id = read_long(params, "orderId", required=False)
    from_id = read_long(params, "fromId", required=False)
    sent_times = params.get("startTime") not in (None, "") or params.get("endTime") not in (
        None,
        "",
    )
    if from_id is not None and sent_times:
        raise WireError.bad_combination()
    start, end = window(params, now, by_id=from_id is not None or order_id is not None)
    limit = _limit(params)
    found = await orders.admin.store.trades(
        entry.name, symbol, order_id=order_id, from_id=from_id, start=start, end=end, limit=limit
    )
    market = orders.market[symbol]
    return [user_trade_row(update, market) for update in found]
