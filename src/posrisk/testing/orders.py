"""The test handle's orders: place, read, cancel and wait for an account's orders.

``OrderMethods`` is mixed into ``PosriskTestServer``. Reads answer Binance's order objects
(``GET /fapi/v1/openOrders``'s shape); writes go through the server's order service, the
one write path, so the account's user streams hear them as they would the owner's.
``wait_for_order`` waits on the server's own change events (``OrderWatch``), not on a
sleep: it returns as soon as the order reaches the status, or raises ``TimeoutError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import orjson

from ..app import PosriskServer
from ..engine import Order, OrderStatus, OrderUpdate, order_object
from ..service.admin_orders import cancel_open_orders, open_orders_json
from ..service.order_writes import place
from ..service.orders import OrderService
from ..service.registry import Registry, StateChanged

__all__ = ["OrderMethods", "OrderWatch"]

T = TypeVar("T")
Json = dict[str, Any]


class OrderWatch:
    """The latest state of every order the registry applied since it was made, and a
    wake-up for whoever waits for one to change."""

    def __init__(self, registry: Registry) -> None:
        self.latest: dict[tuple[str, int], Order] = {}
        self._changed = asyncio.Event()
        registry.subscribe(self._on_change)

    def __repr__(self) -> str:
        return f"<OrderWatch {len(self.latest)} orders>"

    def _on_change(self, changed: StateChanged) -> None:
        for item in changed.applied:
            if isinstance(item.event, OrderUpdate):
                self.latest[(item.account, item.event.order.order_id)] = item.event.order
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, account: str, order_id: int, status: OrderStatus, timeout: float) -> Order:
        """``account``'s order ``order_id`` once its status is ``status``."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    found = self.latest.get((account, order_id))
                    if found is not None and found.status is status:
                        return found
                    await self._changed.wait()
        except TimeoutError:
            found = self.latest.get((account, order_id))
            now = "never seen" if found is None else f"is {found.status.value}"
            raise TimeoutError(
                f"{account}'s order {order_id} did not become {status.value} within "
                f"{timeout} s (it {now})"
            ) from None


class OrderMethods:
    """What a test does with orders (mixed into ``PosriskTestServer``)."""

    timeout_s: float
    watch: OrderWatch | None

    def _running(self) -> PosriskServer:
        raise NotImplementedError

    def _call(self, work: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        raise NotImplementedError

    def _order_service(self) -> OrderService:
        gateway = self._running().gateway
        assert gateway is not None and gateway.api.orders is not None
        return gateway.api.orders

    def _json(self, work: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        return orjson.loads(orjson.dumps(self._call(work, timeout)))

    def place_order(self, account: str, **params: object) -> Json:
        """Place an order as the account owner would (``POST /fapi/v1/order``'s params as
        keywords, e.g. ``symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
        quantity="0.010", price="58000"``); answers the order (RESULT), Binance's refusals
        raise with their code."""
        orders = self._order_service()
        wire = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        wire.setdefault("newOrderRespType", "RESULT")

        async def run() -> Json:
            entry = orders.registry.account(account)
            answer: Json = await place(orders, entry, wire, orders.admin.clock.now_ms())
            return answer

        answer: Json = self._json(run())
        return answer

    def orders(self, account: str, symbol: str | None = None) -> Json:
        """``{"orders": [...], "algoOrders": [...]}``: the account's open orders and open
        algo orders, as ``openOrders`` / ``openAlgoOrders`` answer them."""
        orders = self._order_service()

        async def read() -> Json:  # on the server's own thread
            return open_orders_json(orders, account, symbol)

        answer: Json = self._json(read())
        return answer

    def open_orders(self, account: str, symbol: str | None = None) -> list[Json]:
        """The account's open regular orders (``GET /fapi/v1/openOrders``), by orderId."""
        found: list[Json] = self.orders(account, symbol)["orders"]
        return found

    def cancel_orders(
        self, account: str, symbol: str | None = None, order_id: int | None = None
    ) -> Json:
        """Cancel the account's open orders — all, ``symbol``'s, or ``order_id`` — in one
        commit; answers what was canceled (``{"orders", "algoOrders"}``)."""
        work = cancel_open_orders(self._order_service(), account, symbol=symbol, order_id=order_id)
        answer: Json = self._json(work)
        return answer

    def wait_for_order(
        self, account: str, order_id: int, status: str = "FILLED", *, timeout: float = 5.0
    ) -> Json:
        """The order (``GET /fapi/v1/order``'s shape) once it reaches ``status`` (``FILLED``,
        ``CANCELED``, ``EXPIRED``, ``NEW``, ...): at once if it already has, else on the
        server's change that brings it; ``TimeoutError`` after ``timeout`` seconds."""
        wanted = OrderStatus(status)
        watch = self.watch
        assert watch is not None
        market = self._order_service().market

        async def wait() -> Json:
            order = await watch.wait(account, order_id, wanted, timeout)
            return order_object(order, market[order.symbol], "query")

        # The server's loop gives up first, saying why; this thread waits a little longer.
        answer: Json = self._json(wait(), timeout + self.timeout_s)
        return answer
