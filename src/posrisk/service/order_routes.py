"""The account owner's orders over REST and the WS API: one handler per operation, the
same for both (params as sent: REST strings, WS API JSON values), answering Binance's
order objects (``engine.order_object``). Writes go through ``OrderService`` and answer
once the store holds them; reads answer from the served state and the store.

``ORDER_ROUTES`` (REST: (method, path) → (handler, REQUEST_WEIGHT)) joins ``rest.ROUTES``;
``ORDER_METHODS`` (WS API) joins ``api.METHODS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..protocol import BATCH_COST, ORDER_COST, OrderCount, WireError
from .algo_orders import (
    algo_cancel,
    algo_cancel_all,
    algo_place,
    algo_query,
    all_algo_orders,
    open_algo_orders,
)
from .order_reads import (
    all_orders,
    open_order,
    open_orders,
    query_order,
    user_trades,
)
from .order_writes import (
    batch_cancel,
    batch_modify,
    batch_place,
    cancel,
    cancel_all,
    modify,
    place,
    place_test,
)

if TYPE_CHECKING:
    from .api import ApiService, Connection
    from .orders import OrderService
    from .rest import RestRequest, RestService, Route, Weight

__all__ = ["ORDER_METHODS", "ORDER_ROUTES", "orders_of"]

Params = Mapping[str, object]


def orders_of(api: ApiService) -> OrderService:
    """The order service (a read-only server has none: -4xxx unsupported)."""
    if api.orders is None:
        raise WireError.unsupported_operation()
    return api.orders


def _refuse_over(counted: OrderCount) -> None:
    """429 -1015 when the placement would pass one of the ORDERS windows."""
    if counted.refused is not None:
        window = counted.refused
        raise WireError.too_many_orders(window.limit, window.number, window.unit)


def _rest(operation: Any, costs: tuple[int, ...] | None = None) -> Route:
    """A REST route over ``operation(orders, entry, params, now)``; a placing one
    (``costs``, an async operation) counts in the ORDERS windows first and says the
    counts in its headers."""

    def route(rest: RestService, request: RestRequest, now: int) -> Any:
        entry = rest.authenticate(request, now)
        orders = orders_of(rest.api)
        if costs is None:
            return operation(orders, entry, request.params, now)

        async def charged() -> Any:
            counted = await orders.counter.decide(entry.name, costs, now)
            request.reply_headers.update(counted.headers())
            _refuse_over(counted)
            return await operation(orders, entry, request.params, now)

        return charged()

    return route


def _ws(operation: Any, costs: tuple[int, ...] | None = None) -> Any:
    """A WS API method over ``operation``; a placing one counts first and leaves the
    counts on the connection for its answer's rateLimits (its writes run one at a time)."""

    def method(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
        entry = service.authenticate(conn, params, now)
        orders = orders_of(service)
        if costs is None:
            return operation(orders, entry, params, now)

        async def charged() -> Any:
            conn.counted = await orders.counter.decide(entry.name, costs, now)
            _refuse_over(conn.counted)
            return await operation(orders, entry, params, now)

        return charged()

    return method


# (method, path) → (handler, REQUEST_WEIGHT)
ORDER_ROUTES: dict[tuple[str, str], tuple[Route, Weight]] = {
    ("POST", "/fapi/v1/order"): (_rest(place, ORDER_COST), 0),
    ("POST", "/fapi/v1/order/test"): (_rest(place_test), 1),
    ("GET", "/fapi/v1/order"): (_rest(query_order), 1),
    ("DELETE", "/fapi/v1/order"): (_rest(cancel), 1),
    ("PUT", "/fapi/v1/order"): (_rest(modify, ORDER_COST), 0),
    ("POST", "/fapi/v1/batchOrders"): (_rest(batch_place, BATCH_COST), 5),
    ("PUT", "/fapi/v1/batchOrders"): (_rest(batch_modify, BATCH_COST), 5),
    ("DELETE", "/fapi/v1/batchOrders"): (_rest(batch_cancel), 1),
    ("GET", "/fapi/v1/openOrder"): (_rest(open_order), 1),
    ("GET", "/fapi/v1/openOrders"): (_rest(open_orders), (1, 40)),
    ("GET", "/fapi/v1/allOrders"): (_rest(all_orders), 5),
    ("DELETE", "/fapi/v1/allOpenOrders"): (_rest(cancel_all), 1),
    ("GET", "/fapi/v1/userTrades"): (_rest(user_trades), 5),
    # The conditional types, served by the Algo service since 2025-12-09.
    ("POST", "/fapi/v1/algoOrder"): (_rest(algo_place, ORDER_COST), 0),
    ("DELETE", "/fapi/v1/algoOrder"): (_rest(algo_cancel), 1),
    ("DELETE", "/fapi/v1/algoOpenOrders"): (_rest(algo_cancel_all), 1),
    ("GET", "/fapi/v1/algoOrder"): (_rest(algo_query), 1),
    ("GET", "/fapi/v1/openAlgoOrders"): (_rest(open_algo_orders), (1, 40)),
    ("GET", "/fapi/v1/allAlgoOrders"): (_rest(all_algo_orders), 5),
}

ORDER_METHODS = {
    "order.place": _ws(place, ORDER_COST),
    "order.status": _ws(query_order),
    "order.cancel": _ws(cancel),
    "order.modify": _ws(modify, ORDER_COST),
    "algoOrder.place": _ws(algo_place, ORDER_COST),
    "algoOrder.cancel": _ws(algo_cancel),
}
