"""Orders end to end in the service layer: REST and WS API placement, matching on the
marks, cancels and modifications, the store's history, the streams' events in Binance's
order, the ORDERS windows, conditional orders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
import pytest_asyncio

from posrisk.protocol import hmac_signature
from posrisk.service.api import Connection
from posrisk.service.orders import OrderService
from posrisk.service.rest import RestService

from .conftest import HMAC_KEY, HMAC_SECRET, Services
from .test_account_routes import call, ledger, refusal
from .test_account_routes import rest as rest  # the fixture
from .test_streams import FakeSink

pytestmark = pytest.mark.asyncio

ORDER = ("POST", "/fapi/v1/order")
D = Decimal


@pytest_asyncio.fixture
async def orders(rest: RestService, services: Services) -> AsyncIterator[OrderService]:
    service = OrderService(services.admin)
    services.api.orders = service
    yield service


def body(response: Any) -> Any:
    assert response.status == 200, response.body
    return orjson.loads(response.body)


async def place(
    rest: RestService, services: Services, account: str = "carol", **params: str
) -> Any:
    return await call(rest, services, ORDER, account, params)


async def test_a_market_buy_fills_at_the_ask_and_answers_the_result(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    response = await place(
        rest, services, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010",
        newOrderRespType="RESULT", newClientOrderId="buy-1",
    )  # fmt: skip
    placed = body(response)
    assert placed["status"] == "FILLED" and placed["clientOrderId"] == "buy-1"
    assert placed["executedQty"] == "0.010" and placed["avgPrice"] == "21123.06000"
    assert placed["orderId"] == 1000000001 and placed["type"] == "MARKET"
    assert response.headers["X-MBX-ORDER-COUNT-10S"] == "1"
    assert response.headers["X-MBX-ORDER-COUNT-1M"] == "1"
    position = services.registry.account("carol").account.position("BTCUSDT", "BOTH")  # type: ignore[arg-type]
    assert position.amount == D("3.010")
    trades = body(
        await call(rest, services, ("GET", "/fapi/v1/userTrades"), "carol", {"symbol": "BTCUSDT"})
    )
    [trade] = trades
    assert (trade["price"], trade["qty"], trade["commission"]) == (
        "21123.06", "0.010", "0.10561530",
    )  # fmt: skip
    assert trade["orderId"] == placed["orderId"] and trade["buyer"] is True


async def test_ack_answers_the_order_as_accepted(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    placed = body(
        await place(rest, services, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010")
    )
    assert (placed["status"], placed["executedQty"]) == ("NEW", "0.000")


async def test_a_limit_rests_is_listed_then_canceled_and_read_back_from_the_store(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    placed = body(
        await place(
            rest, services, symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
            quantity="0.010", price="20500",
        )
    )  # fmt: skip
    order_id = str(placed["orderId"])
    listed = body(await call(rest, services, ("GET", "/fapi/v1/openOrders"), "carol", {}))
    assert [o["orderId"] for o in listed] == [placed["orderId"]]
    status = await call(rest, services, ("GET", "/fapi/v3/account"), "carol", {})
    assert body(status)["totalOpenOrderInitialMargin"] == "10.25000000"  # 0.01 × 20500 / 20
    canceled = body(
        await call(
            rest, services, ("DELETE", "/fapi/v1/order"), "carol",
            {"symbol": "BTCUSDT", "orderId": order_id},
        )
    )  # fmt: skip
    assert canceled["status"] == "CANCELED"
    again = await call(
        rest, services, ("DELETE", "/fapi/v1/order"), "carol",
        {"symbol": "BTCUSDT", "orderId": order_id},
    )  # fmt: skip
    assert refusal(again) == (400, {"code": -2011, "msg": "Unknown order sent."})
    queried = body(
        await call(
            rest, services, ("GET", "/fapi/v1/order"), "carol",
            {"symbol": "BTCUSDT", "orderId": order_id},
        )
    )  # fmt: skip
    assert queried["status"] == "CANCELED" and queried["time"] == placed["updateTime"]
    history = body(
        await call(rest, services, ("GET", "/fapi/v1/allOrders"), "carol", {"symbol": "BTCUSDT"})
    )
    assert [o["status"] for o in history] == ["CANCELED"]


async def test_a_resting_order_fills_at_its_own_price_when_the_mark_crosses_it(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    sink = FakeSink()
    streams = services.api.streams
    services.registry.subscribe(streams.on_state_changed)
    key = streams.start(_key(services, "carol"), "carol", 0)
    assert streams.attach(key, sink, 0)
    await place(
        rest, services, symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
        quantity="0.010", price="21000",
    )  # fmt: skip
    assert [orjson.loads(m)["e"] for m in sink.messages] == ["ORDER_TRADE_UPDATE"]
    await services.admin.set_marks({"BTCUSDT": D("20999.99")})
    await orders.on_marks({"BTCUSDT": D("20999.99")})
    kinds = [orjson.loads(m)["e"] for m in sink.messages]
    assert kinds == ["ORDER_TRADE_UPDATE", "TRADE_LITE", "ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE"]
    filled = orjson.loads(sink.messages[-1])["o"]
    assert (filled["x"], filled["X"], filled["L"], filled["m"]) == (
        "TRADE",
        "FILLED",
        "21000",
        True,
    )
    assert not services.registry.account("carol").account.orders


async def test_a_market_fill_streams_trade_lite_new_account_update_trade(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    sink = FakeSink()
    streams = services.api.streams
    services.registry.subscribe(streams.on_state_changed)
    assert streams.attach(streams.start(_key(services, "carol"), "carol", 0), sink, 0)
    await place(rest, services, symbol="BTCUSDT", side="SELL", type="MARKET", quantity="1")
    events = [orjson.loads(m) for m in sink.messages]
    assert [e["e"] for e in events] == [
        "TRADE_LITE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE",
    ]  # fmt: skip
    assert [events[1]["o"]["x"], events[3]["o"]["x"]] == ["NEW", "TRADE"]
    assert events[2]["a"]["m"] == "ORDER"


async def test_refusals_write_nothing_and_carry_binances_codes(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    cases = [
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET", "quantity": "1"}, -4120),
        ({"symbol": "BTCUSDT", "side": "UP", "type": "MARKET", "quantity": "1"}, -1117),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1",
          "price": "1"}, -1102),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1",
          "price": "1"}, -1106),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0"}, -4003),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1e400"}, -1100),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "-1"}, -1100),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "500"}, -2019),
        ({"symbol": "NOPEUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"}, -1121),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1",
          "newClientOrderId": "bad id!"}, -1100),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
          "quantity": "0.01", "price": "21000.001"}, -1111),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX",
          "quantity": "0.01", "price": "22000"}, -5022),
    ]  # fmt: skip
    before = await ledger(services)
    for params, code in cases:
        response = await call(rest, services, ORDER, "carol", params)
        status, error = refusal(response)
        assert (status, error["code"]) == (400, code), (params, error)
    assert await ledger(services) == before


async def test_the_orders_window_refuses_with_1015_past_its_limit(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    for _ in range(300):
        await orders.counter.decide("carol", (1, 1), services.clock.now_ms())
    response = await place(
        rest, services, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01"
    )
    message = "Too many new orders; current limit is 300 orders per 10 SECOND."
    assert refusal(response) == (429, {"code": -1015, "msg": message})
    assert response.headers["X-MBX-ORDER-COUNT-10S"] == "300"


async def test_order_place_over_the_ws_api_answers_once_committed(
    services: Services, orders: OrderService
) -> None:
    params: dict[str, Any] = {
        "apiKey": HMAC_KEY, "symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
        "quantity": 0.005, "newOrderRespType": "RESULT", "timestamp": services.clock.now_ms(),
    }  # fmt: skip
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac_signature(HMAC_SECRET, payload.encode())
    frame = orjson.dumps({"id": "p1", "method": "order.place", "params": params})
    answered: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    conn = Connection("127.0.0.1", 0)
    services.api.submit(conn, frame, lambda response, status: answered.set_result(response))
    reply = orjson.loads(await asyncio.wait_for(answered, 5))
    assert reply["status"] == 200, reply
    assert reply["result"]["status"] == "FILLED" and reply["result"]["origQty"] == "0.005"
    assert [r["rateLimitType"] for r in reply["rateLimits"]] == [
        "REQUEST_WEIGHT",
        "ORDERS",
        "ORDERS",
    ]
    alice = services.registry.account("alice").account.position("BTCUSDT", "BOTH")  # type: ignore[arg-type]
    assert alice.amount == D("0.005")


async def test_a_stop_market_algo_triggers_on_the_mark_and_closes(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    placed = body(
        await call(
            rest, services, ("POST", "/fapi/v1/algoOrder"), "carol",
            {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL",
             "type": "STOP_MARKET", "triggerPrice": "20000", "closePosition": "true"},
        )
    )  # fmt: skip
    assert placed["algoStatus"] == "NEW" and placed["triggerPrice"] == "20000.00"
    await services.admin.set_marks({"BTCUSDT": D("19999")})
    await orders.on_marks({"BTCUSDT": D("19999")})
    account = services.registry.account("carol").account
    assert not account.algos
    assert account.position("BTCUSDT", "BOTH").amount == 0  # type: ignore[arg-type]
    queried = body(
        await call(
            rest, services, ("GET", "/fapi/v1/algoOrder"), "carol",
            {"algoId": str(placed["algoId"])},
        )
    )  # fmt: skip
    assert queried["algoStatus"] == "FINISHED" and queried["actualOrderId"] != ""


async def test_batch_orders_answer_each_item_in_place(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    batch = orjson.dumps(
        [
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "quantity": "0.010", "price": "20000"},
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "quantity": "0.010", "price": "20000.001"},
        ]
    ).decode()  # fmt: skip
    answers = body(
        await call(
            rest, services, ("POST", "/fapi/v1/batchOrders"), "carol", {"batchOrders": batch}
        )
    )
    assert answers[0]["status"] == "NEW"
    assert answers[1] == {
        "code": -1111,
        "msg": "Precision is over the maximum defined for this asset.",
    }
    six = orjson.dumps([{"symbol": "BTCUSDT"}] * 6).decode()
    response = await call(
        rest, services, ("POST", "/fapi/v1/batchOrders"), "carol", {"batchOrders": six}
    )
    assert refusal(response) == (
        400,
        {"code": -4082, "msg": "Invalid number of batch place orders: 6"},
    )


def _key(services: Services, account: str) -> str:
    return services.registry.account(account).keys[0]


async def test_a_gtd_order_expires_when_its_date_comes(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    until = services.clock.now_ms() + 700_000
    placed = body(
        await place(
            rest, services, symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTD",
            quantity="0.010", price="20000", goodTillDate=str(until),
        )
    )  # fmt: skip
    assert placed["goodTillDate"] == until
    await orders.expire()
    assert services.registry.account("carol").account.orders  # not yet
    services.clock.advance(700_000)
    await orders.expire()
    assert not services.registry.account("carol").account.orders
    early = await place(
        rest, services, symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTD",
        quantity="0.010", price="20000", goodTillDate=str(services.clock.now_ms() + 500_000),
    )  # fmt: skip
    assert refusal(early)[1]["code"] == -5040


async def test_open_orders_weighs_1_for_a_symbol_and_40_for_all(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    route = ("GET", "/fapi/v1/openOrders")
    first = await call(rest, services, route, "carol", {"symbol": "BTCUSDT"})
    everything = await call(rest, services, route, "carol", {})
    used = [int(r.headers["X-MBX-USED-WEIGHT-1M"]) for r in (first, everything)]
    assert used[1] - used[0] == 40
