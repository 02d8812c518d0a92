"""An operator's view of an account's open orders, and cancels that go through the order
service's one write path: durable, in the ledger, told to the registry's subscribers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from posrisk.engine import EngineError, InvalidSymbol, OrderStatus, OrderUpdate
from posrisk.service.admin_orders import cancel_open_orders, open_orders_json
from posrisk.service.algo_orders import algo_place
from posrisk.service.operations import AdminOperations
from posrisk.service.order_writes import place
from posrisk.service.orders import OrderService
from posrisk.service.registry import StateChanged

from .conftest import Services

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def orders(services: Services) -> AsyncIterator[OrderService]:
    yield OrderService(services.admin)


async def rest_order(orders: OrderService, services: Services, **params: str) -> Any:
    entry = services.registry.account("alice")
    base = {"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010"}
    return await place(orders, entry, {**base, **params}, services.clock.now_ms())


async def resting(orders: OrderService, services: Services) -> list[int]:
    """alice: two resting BTCUSDT buys, one ETHUSDT sell and a BTCUSDT stop."""
    ids = [
        (await rest_order(orders, services, symbol="BTCUSDT", side="BUY", price="20000"))[
            "orderId"
        ],
        (await rest_order(orders, services, symbol="BTCUSDT", side="BUY", price="19000"))[
            "orderId"
        ],
        (
            await rest_order(
                orders, services, symbol="ETHUSDT", side="SELL", price="990", quantity="0.100"
            )
        )["orderId"],
    ]
    entry = services.registry.account("alice")
    params = {
        "algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
        "triggerPrice": "25000", "quantity": "0.010",
    }  # fmt: skip
    await algo_place(orders, entry, params, services.clock.now_ms())
    return ids


async def test_open_orders_are_listed_as_binance_answers_them(
    services: Services, orders: OrderService
) -> None:
    ids = await resting(orders, services)
    listed = open_orders_json(orders, "alice")
    assert [o["orderId"] for o in listed["orders"]] == ids
    first = listed["orders"][0]
    assert (first["status"], first["price"], first["origQty"], first["type"]) == (
        "NEW", "20000.00", "0.010", "LIMIT",
    )  # fmt: skip
    assert "time" in first and "cumQty" not in first  # the query kind
    [algo] = listed["algoOrders"]
    assert (algo["orderType"], algo["triggerPrice"], algo["actualOrderId"]) == (
        "STOP_MARKET", "25000.00", "",
    )  # fmt: skip
    only_eth = open_orders_json(orders, "alice", "ETHUSDT")
    assert [o["orderId"] for o in only_eth["orders"]] == ids[2:]
    assert only_eth["algoOrders"] == []
    assert open_orders_json(orders, "bob") == {"orders": [], "algoOrders": []}
    with pytest.raises(InvalidSymbol):
        open_orders_json(orders, "alice", "NOPEUSDT")


async def test_one_order_is_canceled_durably_and_told(
    services: Services, orders: OrderService
) -> None:
    ids = await resting(orders, services)
    heard: list[StateChanged] = []
    services.registry.subscribe(heard.append)
    answer = await cancel_open_orders(orders, "alice", order_id=ids[1])
    [canceled] = answer["orders"]
    assert (canceled["orderId"], canceled["status"]) == (ids[1], "CANCELED")
    assert "avgPrice" not in canceled and answer["algoOrders"] == []
    assert set(services.registry.account("alice").account.orders) == {ids[0], ids[2]}
    stored = await services.store.order("alice", "BTCUSDT", order_id=ids[1], client_order_id=None)
    assert stored is not None and stored.status is OrderStatus.CANCELED
    [told] = heard
    [item] = told.applied
    assert isinstance(item.event, OrderUpdate) and item.event.order.order_id == ids[1]


async def test_a_symbol_or_everything_is_canceled_in_one_commit(
    services: Services, orders: OrderService
) -> None:
    ids = await resting(orders, services)
    heard: list[StateChanged] = []
    services.registry.subscribe(heard.append)
    btc = await cancel_open_orders(orders, "alice", symbol="BTCUSDT")
    assert [o["orderId"] for o in btc["orders"]] == ids[:2]
    assert [a["algoStatus"] for a in btc["algoOrders"]] == ["CANCELED"]
    assert len(heard) == 1  # one commit
    rest = await cancel_open_orders(orders, "alice")
    assert [o["orderId"] for o in rest["orders"]] == ids[2:]
    state = services.registry.account("alice").account
    assert not state.orders and not state.algos
    assert await cancel_open_orders(orders, "alice") == {"orders": [], "algoOrders": []}


async def test_a_cancel_that_finds_nothing_is_refused_and_writes_nothing(
    services: Services, orders: OrderService
) -> None:
    ids = await resting(orders, services)
    revision = services.registry.revision
    for kwargs in ({"order_id": 42}, {"order_id": ids[2], "symbol": "BTCUSDT"}):
        with pytest.raises(EngineError) as unknown:
            await cancel_open_orders(orders, "alice", **kwargs)
        assert unknown.value.code == -2011
    with pytest.raises(InvalidSymbol):
        await cancel_open_orders(orders, "alice", symbol="NOPEUSDT")
    assert services.registry.revision == revision
    assert len(services.registry.account("alice").account.orders) == 3


async def test_the_operations_reach_the_order_service(
    services: Services, orders: OrderService
) -> None:
    ids = await resting(orders, services)
    ops = AdminOperations(services.admin, orders=orders)
    assert ops.order_service is orders
    assert [o["orderId"] for o in (await ops.orders("alice", "BTCUSDT"))["orders"]] == ids[:2]
    answer = await ops.cancel_orders("alice", None, ids[0])
    assert [o["orderId"] for o in answer["orders"]] == [ids[0]]
    alone = AdminOperations(services.admin)  # a command on the database: one of its own
    assert [o["orderId"] for o in (await alone.orders("alice"))["orders"]] == ids[1:]
