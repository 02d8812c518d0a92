"""A scenario account's resting orders: placed at load as the owner's would be (ids after
the ledger's, the engine's checks), with the rest of the scenario or not at all."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from posrisk.engine import OrderStatus, PositionSide, Side, TimeInForce
from posrisk.service.orders import OrderService
from posrisk.service.registry import FIRST_ID
from posrisk.service.scenario import ScenarioError
from posrisk.store import Snapshot

from .conftest import Env, restarted

pytestmark = pytest.mark.asyncio

D = Decimal


def account(*orders: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "alice", "deposits": {"USDT": "1000"}, "orders": list(orders), **extra}


def buy(**fields: Any) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.010", "price": "20000", **fields}


MARKS = {"BTCUSDT": "21000", "ETHUSDT": "1000"}


async def test_resting_orders_load_durably_with_the_ledgers_ids(env: Env) -> None:
    document = {
        "accounts": [
            account(
                buy(clientOrderId="dip-buy"),
                {
                    "symbol": "ETHUSDT",
                    "side": "SELL",
                    "type": "LIMIT",
                    "timeInForce": "GTX",
                    "quantity": "0.100",
                    "price": "1100",
                },
            )
        ],
        "marks": MARKS,
    }
    await env.admin.load_scenario(document)
    orders = env.registry.account("alice").account.orders
    first, second = (orders[i] for i in sorted(orders))
    assert (first.order_id, second.order_id) == (FIRST_ID, FIRST_ID + 1)
    assert (first.client_order_id, first.side, first.price, first.quantity) == (
        "dip-buy", Side.BUY, D("20000"), D("0.010"),
    )  # fmt: skip
    assert (first.status, first.time_in_force, first.position_side) == (
        OrderStatus.NEW, TimeInForce.GTC, PositionSide.BOTH,
    )  # fmt: skip
    assert second.time_in_force is TimeInForce.GTX and len(second.client_order_id) == 22
    assert env.registry.ids.order == FIRST_ID + 1
    _, replayed = await restarted(env.path)
    assert replayed.account("alice").account.orders == orders
    stored = await env.store.order("alice", "BTCUSDT", order_id=FIRST_ID, client_order_id=None)
    assert stored == first


async def test_a_loaded_order_fills_when_the_marks_cross_it(env: Env) -> None:
    service = OrderService(env.admin)
    await env.admin.load_scenario({"accounts": [account(buy())], "marks": MARKS})
    await env.admin.set_marks({"BTCUSDT": D("19999.9")})
    await service.on_marks({"BTCUSDT": D("19999.9")})
    state = env.registry.account("alice").account
    assert not state.orders
    assert state.position("BTCUSDT", PositionSide.BOTH).amount == D("0.010")


async def test_a_second_scenarios_orders_come_after_the_ledgers_ids(env: Env) -> None:
    await env.admin.load_scenario({"accounts": [account(buy())], "marks": MARKS})
    bob = {**account(buy(side="SELL", price="22000")), "name": "bob"}
    await env.admin.load_scenario({"accounts": [bob]})  # at the marks already served
    [order] = env.registry.account("bob").account.orders.values()
    assert order.order_id == FIRST_ID + 1


@pytest.mark.parametrize(
    ("orders", "code", "message"),
    [
        (
            [buy(price="21500")],
            -1130,
            "BUY at 21500 would fill at once at the marks; a scenario's orders rest",
        ),
        ([buy(type="MARKET")], -1130, "'type' must be one of ['LIMIT']"),
        ([buy(timeInForce="IOC")], -1130, "'timeInForce' must be one of ['GTC', 'GTX']"),
        ([buy(colour="red")], -1130, "unknown field 'colour'"),
        ([buy(quantity=0.01)], -1130, "is a float"),
        ([buy(price="20000.001")], -1111, "Precision is over the maximum"),
        ([buy(positionSide="LONG")], -4061, "position side does not match"),
        ([buy(reduceOnly=True)], -2022, "ReduceOnly Order is rejected."),
        ([buy(quantity="100")], -2019, "Margin is insufficient."),
        ([buy(clientOrderId="x"), buy(clientOrderId="x")], -4116, "duplicated"),
        ([buy(symbol="NOPEUSDT")], -1121, "Invalid symbol."),
    ],
)
async def test_an_order_that_cannot_rest_refuses_the_whole_scenario(
    env: Env, orders: list[dict[str, Any]], code: int, message: str
) -> None:
    document = {"accounts": [account(*orders)], "marks": MARKS}
    with pytest.raises(ScenarioError) as refused:
        await env.admin.load_scenario(document)
    assert refused.value.code == code
    assert message in str(refused.value) and "account 'alice', orders[" in str(refused.value)
    assert await env.store.load() == Snapshot((), (), (), {}, {})
    assert env.registry.accounts == {} and env.registry.marks == {}


async def test_orders_must_be_a_list(env: Env) -> None:
    with pytest.raises(ScenarioError) as refused:
        await env.admin.load_scenario({"accounts": [{"name": "alice", "orders": {}}]})
    assert str(refused.value) == "account 'alice', orders: 'orders' must be a list"
