"""An account's open orders as an operator sees and cancels them (the admin API's
``/accounts/{name}/orders``, ``posrisk order list|cancel``, the test handle).

Reads come from the served state, in Binance's order objects (``order_object`` ``query``,
``algo_object`` with the ``actual*`` fields). Cancels go through the order service's one
write path (``AdminService.plan_events``): durable when answered, and the account's user
streams get each order's ``ORDER_TRADE_UPDATE`` / ``ALGO_UPDATE`` as if the owner had
canceled. All chosen orders are canceled in one commit, or none.
"""

from __future__ import annotations

from typing import Any

from ..engine import (
    Account,
    AlgoStatus,
    AlgoUpdate,
    Event,
    Market,
    OrderUpdate,
    UnknownOrder,
    algo_object,
    cancel_algo,
    cancel_order,
    order_object,
)
from .orders import OrderService

__all__ = ["cancel_open_orders", "open_orders_json", "orders_json"]

Json = dict[str, Any]


def orders_json(state: Account, market: Market, symbol: str | None = None) -> Json:
    """``{"orders": [...], "algoOrders": [...]}``: ``state``'s open regular orders (as
    ``GET /fapi/v1/openOrders`` answers them) and open algo orders (as ``openAlgoOrders``),
    by id; only ``symbol``'s when given."""
    regular = sorted(state.orders.values(), key=lambda o: o.order_id)
    algos = sorted(state.algos.values(), key=lambda a: a.algo_id)
    return {
        "orders": [
            order_object(o, market[o.symbol], "query")
            for o in regular
            if symbol is None or o.symbol == symbol
        ],
        "algoOrders": [
            algo_object(a, market[a.symbol], query=True)
            for a in algos
            if symbol is None or a.symbol == symbol
        ],
    }


def open_orders_json(orders: OrderService, account: str, symbol: str | None = None) -> Json:
    """The account's open orders and algo orders (``orders_json``); -1121 for a
    ``symbol`` not traded."""
    if symbol is not None:
        orders.market[symbol]
    return orders_json(orders.registry.account(account).account, orders.market, symbol)


def _cancels(state: Account, symbol: str | None, order_id: int | None, now: int) -> list[Event]:
    if order_id is not None:
        found = state.orders.get(order_id)
        if found is None or (symbol is not None and found.symbol != symbol):
            raise UnknownOrder(f"no open order {order_id}")
        return [cancel_order(state, found.symbol, order_id=order_id, now=now)]
    events: list[Event] = [
        cancel_order(state, o.symbol, order_id=o.order_id, now=now)
        for o in sorted(state.orders.values(), key=lambda o: o.order_id)
        if symbol is None or o.symbol == symbol
    ]
    # An algo order sending its order right now cannot be canceled (-4117): it is left.
    events.extend(
        cancel_algo(state, algo_id=a.algo_id, client_algo_id=None, now=now)
        for a in sorted(state.algos.values(), key=lambda a: a.algo_id)
        if (symbol is None or a.symbol == symbol) and a.status is not AlgoStatus.TRIGGERING
    )
    return events


async def cancel_open_orders(
    orders: OrderService,
    account: str,
    *,
    symbol: str | None = None,
    order_id: int | None = None,
) -> Json:
    """Cancel the account's open orders — all of them, ``symbol``'s (regular and algo), or
    the one regular order ``order_id`` (-2011 when it is not open) — in one commit.
    Answers what was canceled: ``{"orders": [...], "algoOrders": [...]}`` as Binance's
    cancel answers show them."""
    market = orders.market
    if symbol is not None:
        market[symbol]  # -1121
    orders.registry.account(account)  # an unknown account is refused before anything

    def plan(state: Account, now: int) -> list[Event]:
        return _cancels(state, symbol, order_id, now)

    events = await orders.admin.plan_events(account, plan)
    return {
        "orders": [
            order_object(e.order, market[e.order.symbol], "cancel")
            for e in events
            if isinstance(e, OrderUpdate)
        ],
        "algoOrders": [
            algo_object(e.algo, market[e.algo.symbol], query=False)
            for e in events
            if isinstance(e, AlgoUpdate)
        ],
    }
