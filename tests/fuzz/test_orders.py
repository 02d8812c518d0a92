"""A red-team pass on the order surface, through ``RestService.handle`` and the WS API's
``submit`` as the gateways call them: hostile quantities and prices (REST form values and
WS API JSON numbers), prices off the tick, another account's order ids, client id
collisions, a cancel racing a fill, a flood of resting orders from one account (the open
orders cap, then the ORDERS window), hostile ``batchOrders`` JSON, and a Hypothesis
property over random order params.

What must hold: every answer is a 200 order object or a ``{"code","msg"}`` refusal with a
Binance code (never -1001, an exception the service did not expect); a refusal writes
nothing; another account's order is never touched.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import posrisk
from posrisk.engine import Market, OrderStatus
from posrisk.protocol import LimitRules, canonical_payload, hmac_signature
from posrisk.protocol.limits import RequestWeightLimiter
from posrisk.service.admin import AdminService
from posrisk.service.api import ApiService, Connection
from posrisk.service.clock import ManualClock
from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.orders import OrderService
from posrisk.service.registry import Registry
from posrisk.service.rest import HttpResponse, RestService
from posrisk.store import SQLiteStore

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys, Services, known_scenario, services
from ..service.test_account_routes import CAROL, DANA, call, ledger
from ..service.test_account_routes import rest as rest  # the fixture

__all__ = ["services"]

ORDER = ("POST", "/fapi/v1/order")
CANCEL = ("DELETE", "/fapi/v1/order")
QUERY = ("GET", "/fapi/v1/order")
MODIFY = ("PUT", "/fapi/v1/order")
BATCH = ("POST", "/fapi/v1/batchOrders")
D = Decimal
# Every code a refusal may carry: the Binance codes the service knows (any -1xxx..-5xxx
# its source names), but -1001, the answer to an exception it did not expect.
SOURCE = Path(posrisk.__file__).parent
CODES = frozenset(
    int(code)
    for path in SOURCE.rglob("*.py")
    for code in re.findall(r"(?<![\w.])-[1-5]\d{3}\b", path.read_text())
) - {-1001}
LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
HOSTILE_NUMBERS = [
    "0", "-1", "-0", "-0.010", "1e400", "1E-400", "1e3", "NaN", "nan", "-NaN", "sNaN",
    "Infinity", "-Infinity", "inf", "1" + "0" * 400, "0." + "0" * 400 + "1",
    "9" * 60 + ".5", "0.0000000001", "", " ", " 0.010", "0.010 ", "0,010", "0x10", "1_0",
    "١٠", "+0.010", ".", "0.010.0", "--1", "0.01e", "\x00", "0.010\n",
]  # fmt: skip


@pytest_asyncio.fixture
async def orders(rest: RestService, services: Services) -> AsyncIterator[OrderService]:
    service = OrderService(services.admin)
    services.api.orders = service
    yield service


def decoded(response: HttpResponse) -> Any:
    return orjson.loads(response.body)


def check_answer(response: HttpResponse) -> Any:
    """A 200 order (or algo order) object or list, or a ``{"code","msg"}`` refusal with a
    Binance code."""
    answer = decoded(response)
    if response.status == 200:
        assert isinstance(answer, (dict, list)), answer
        if isinstance(answer, dict):
            assert "orderId" in answer or "algoId" in answer, answer
        return answer
    assert response.status in (400, 429), (response.status, answer)
    assert set(answer) == {"code", "msg"}, answer
    assert answer["code"] in CODES, answer
    assert isinstance(answer["msg"], str) and answer["msg"]
    return answer


async def refused_writing_nothing(
    services: Services, request: Any, codes: frozenset[int] = CODES
) -> int:
    """Await ``request``; it must be refused with one of ``codes``, the ledger unchanged."""
    before = await ledger(services)
    response = await request
    answer = check_answer(response)
    assert response.status != 200, answer
    assert answer["code"] in codes, answer
    assert await ledger(services) == before
    return int(answer["code"])


# -- numbers ---------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("value", HOSTILE_NUMBERS, ids=repr)
async def test_hostile_quantities_in_a_form_are_refused_and_write_nothing(
    rest: RestService, services: Services, orders: OrderService, value: str
) -> None:
    params = {**LIMIT, "price": "20000", "quantity": value}
    await refused_writing_nothing(services, call(rest, services, ORDER, "carol", params))


@pytest.mark.asyncio
@pytest.mark.parametrize("value", HOSTILE_NUMBERS, ids=repr)
async def test_hostile_prices_in_a_form_are_refused_and_write_nothing(
    rest: RestService, services: Services, orders: OrderService, value: str
) -> None:
    params = {**LIMIT, "quantity": "0.010", "price": value}
    await refused_writing_nothing(services, call(rest, services, ORDER, "carol", params))


@pytest.mark.asyncio
@pytest.mark.parametrize("price", ["20000.001", "20000.005", "19999.999", "0.011", "1e-3"])
async def test_a_price_off_the_tick_is_refused(
    rest: RestService, services: Services, orders: OrderService, price: str
) -> None:
    params = {**LIMIT, "quantity": "0.010", "price": price}
    code = await refused_writing_nothing(services, call(rest, services, ORDER, "carol", params))
    assert code in (-4014, -1111, -1100), code


def ws_frame(params_json: str, request_id: str = "w1") -> bytes:
    return f'{{"id":"{request_id}","method":"order.place","params":{params_json}}}'.encode()


def ws_params(services: Services, quantity_json: str) -> str:
    """order.place params with ``quantity`` written as the JSON text ``quantity_json``,
    signed as a client would sign them (over the values as read from the JSON, so the
    number itself is judged), or over the text when JSON cannot hold it."""
    fields = {
        "apiKey": f'"{HMAC_KEY}"', "price": '"20000"', "quantity": quantity_json,
        "side": '"BUY"', "symbol": '"BTCUSDT"', "timeInForce": '"GTC"',
        "timestamp": str(services.clock.now_ms()), "type": '"LIMIT"',
    }  # fmt: skip
    text = "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"
    try:
        payload = canonical_payload(json.loads(text, parse_constant=_refuse))
    except ValueError:  # NaN, Infinity: no reader takes it; sign the text
        payload = "&".join(f"{k}={v}" for k, v in sorted(fields.items())).encode()
    return text[:-1] + f',"signature":"{hmac_signature(HMAC_SECRET, payload)}"}}'


def _refuse(name: str) -> object:
    raise ValueError(name)


async def ws_answer(services: Services, frame: bytes) -> dict[str, Any]:
    answered: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    services.api.submit(
        Connection("127.0.0.1", 0), frame, lambda response, _status: answered.set_result(response)
    )
    reply = orjson.loads(await asyncio.wait_for(answered, 5))
    assert isinstance(reply, dict)
    return reply


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "number",
    ["0", "-1", "-0.0", "1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity",
     "1" + "0" * 400, "0." + "0" * 300 + "1", "123456789012345678901234567890", "1e3",
     "0.0000001", "true", "null", "[0.01]", '{"v":0.01}'],
    ids=repr,
)  # fmt: skip
async def test_hostile_json_quantities_over_the_ws_api_are_refused_and_write_nothing(
    services: Services, orders: OrderService, number: str
) -> None:
    before = await ledger(services)
    reply = await ws_answer(services, ws_frame(ws_params(services, number)))
    assert reply["status"] in (400, 429), reply
    assert reply["error"]["code"] in CODES - {-1022}, reply  # judged, not the signature
    assert await ledger(services) == before
    assert not services.registry.account("alice").account.orders


# -- other accounts, client ids --------------------------------------------------------


async def resting(rest: RestService, services: Services, account: str, **extra: str) -> Any:
    params = {**LIMIT, "quantity": "0.010", "price": "20000", **extra}
    response = await call(rest, services, ORDER, account, params)
    placed = check_answer(response)
    assert response.status == 200 and placed["status"] == "NEW", placed
    return placed


@pytest.mark.asyncio
async def test_another_accounts_order_id_is_unknown_and_never_touched(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    theirs = await resting(rest, services, "alice", newClientOrderId="alice-1")
    by_id = {"symbol": "BTCUSDT", "orderId": str(theirs["orderId"])}
    by_client = {"symbol": "BTCUSDT", "origClientOrderId": "alice-1"}
    for params in (by_id, by_client):
        cancel = call(rest, services, CANCEL, "carol", params)
        assert await refused_writing_nothing(services, cancel) == -2011
        query = call(rest, services, QUERY, "carol", params)
        assert await refused_writing_nothing(services, query) == -2013
        modify = call(
            rest, services, MODIFY, "carol",
            {**params, "side": "BUY", "quantity": "0.020", "price": "20100"},
        )  # fmt: skip
        assert await refused_writing_nothing(services, modify) in (-2011, -2013)
    batch = orjson.dumps([by_id["orderId"]]).decode()
    answer = check_answer(
        await call(
            rest, services, ("DELETE", "/fapi/v1/batchOrders"), "carol",
            {"symbol": "BTCUSDT", "orderIdList": batch},
        )
    )  # fmt: skip
    assert isinstance(answer, list) and answer[0]["code"] == -2011, answer
    all_open = call(
        rest, services, ("DELETE", "/fapi/v1/allOpenOrders"), "carol", {"symbol": "BTCUSDT"}
    )
    assert decoded(await all_open)["code"] == 200  # Binance's answer: done, for carol's none
    [order] = services.registry.account("alice").account.orders.values()
    assert order.order_id == theirs["orderId"] and order.status is OrderStatus.NEW
    assert (order.quantity, order.price) == (D("0.010"), D("20000"))


@pytest.mark.asyncio
async def test_a_client_id_open_in_the_account_is_refused_but_free_in_another(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    await resting(rest, services, "carol", newClientOrderId="same-id")
    again = call(
        rest, services, ORDER, "carol", {**LIMIT, "quantity": "0.010", "price": "19000",
                                           "newClientOrderId": "same-id"},
    )  # fmt: skip
    assert await refused_writing_nothing(services, again) == -4116
    await resting(rest, services, "alice", newClientOrderId="same-id")
    [mine] = services.registry.account("carol").account.orders.values()
    assert mine.price == D("20000")


# -- a cancel racing a fill --------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("cancel_first", [True, False])
async def test_a_cancel_and_a_crossing_mark_at_once_one_wins(
    rest: RestService, services: Services, orders: OrderService, cancel_first: bool
) -> None:
    placed = await resting(rest, services, "carol", price="21000")
    before = services.registry.account("carol").account.position("BTCUSDT", "BOTH")  # type: ignore[arg-type]
    await services.admin.set_marks({"BTCUSDT": D("20990")})
    cancel = call(
        rest, services, CANCEL, "carol", {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])}
    )
    fill = orders.on_marks({"BTCUSDT": D("20990")})
    if cancel_first:
        response, _ = await asyncio.gather(cancel, fill)
    else:
        _, response = await asyncio.gather(fill, cancel)
    answer = check_answer(response)
    after = services.registry.account("carol").account.position("BTCUSDT", "BOTH")  # type: ignore[arg-type]
    stored = await services.store.order(
        "carol", "BTCUSDT", order_id=placed["orderId"], client_order_id=None
    )
    assert stored is not None and not services.registry.account("carol").account.orders
    if response.status == 200:
        assert answer["status"] == "CANCELED" and stored.status is OrderStatus.CANCELED
        assert after.amount == before.amount and orders.fills == 0
    else:
        assert answer["code"] == -2011
        assert stored.status is OrderStatus.FILLED and orders.fills == 1
        assert after.amount == before.amount + D("0.010")


# -- floods --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_flood_of_resting_orders_meets_the_open_order_cap_then_the_orders_window(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    for n in range(200):
        await resting(rest, services, "carol", quantity="0.005", price=str(15000 + n))
    over = call(rest, services, ORDER, "carol", {**LIMIT, "quantity": "0.005", "price": "14000"})
    assert await refused_writing_nothing(services, over) == -2025
    assert len(services.registry.account("carol").account.orders) == 200
    eth = {**LIMIT, "symbol": "ETHUSDT", "quantity": "0.050", "price": "900"}
    for _ in range(99):  # 201 counted so far (the capped one passed authentication)
        check_answer(await call(rest, services, ORDER, "carol", eth))
    flood = call(rest, services, ORDER, "carol", eth)
    assert await refused_writing_nothing(services, flood) == -1015
    assert len(services.registry.account("carol").account.orders) == 299
    services.clock.advance(60_000)
    assert check_answer(await call(rest, services, ORDER, "carol", eth))["status"] == "NEW"


# -- batchOrders -------------------------------------------------------------------------

ONE = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
       "quantity": "0.010", "price": "20000"}  # fmt: skip
HOSTILE_BATCHES = [
    "", "[]", "{}", "null", "1", '"x"', "[null]", "[1,2]", '["a"]', "[[]]", "[[[[[[]]]]]]",
    "[" * 10_000 + "]" * 10_000, "[" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000,
    orjson.dumps([ONE] * 6).decode(), orjson.dumps([ONE] * 10_000).decode(),
    orjson.dumps([{**ONE, "quantity": ["0.01"]}]).decode(),
    orjson.dumps([{**ONE, "price": {"$gt": 0}}]).decode(),
    orjson.dumps([{**ONE, "symbol": None}]).decode(),
    orjson.dumps([{**ONE, "side": True}]).decode(),
    '[{"symbol":"BTCUSDT","quantity":1e400}]', '[{"quantity":NaN}]',
    '[{"symbol":"BTCUSDT","symbol":"ETHUSDT"}]', "[" + '"' + "x" * 100_000 + '"]',
    orjson.dumps([{**ONE, "newClientOrderId": "\u202e" * 40}]).decode(),
    "[" + ",".join(["{}"] * 5) + "]",
]  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize("batch", HOSTILE_BATCHES, ids=lambda b: repr(b[:40]))
async def test_hostile_batch_orders_json_answers_codes_and_places_nothing(
    rest: RestService, services: Services, orders: OrderService, batch: str
) -> None:
    before = await ledger(services)
    answer = check_answer(await call(rest, services, BATCH, "carol", {"batchOrders": batch}))
    if isinstance(answer, list):
        for item in answer:
            assert set(item) == {"code", "msg"} and item["code"] in CODES, item
    assert await ledger(services) == before
    assert not services.registry.account("carol").account.orders


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "batch",
    [orjson.dumps([{**ONE, "quantity": 0.01}]).decode(),  # a JSON number, read as its text
     orjson.dumps([ONE | {f"extra{i}": i for i in range(1000)}]).decode()],  # unknown: ignored
    ids=["number", "extra"],
)  # fmt: skip
async def test_batch_orders_that_binance_takes_place_the_order(
    rest: RestService, services: Services, orders: OrderService, batch: str
) -> None:
    [answer] = check_answer(await call(rest, services, BATCH, "carol", {"batchOrders": batch}))
    assert (answer["status"], answer["origQty"], answer["price"]) == ("NEW", "0.010", "20000.00")


# -- a property over random params --------------------------------------------------------

TYPES = ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TRAILING_STOP_MARKET",
         "LIQUIDATION", "limit", "", "ICEBERG"]  # fmt: skip
VALUES: dict[str, st.SearchStrategy[str]] = {
    "symbol": st.sampled_from(["BTCUSDT", "ETHUSDT", "btcusdt", "NOPE", "", "BTCUSDT "]),
    "side": st.sampled_from(["BUY", "SELL", "buy", "HOLD", ""]),
    "type": st.sampled_from(TYPES),
    "quantity": st.sampled_from(["0.001", "0.010", "1", "1000000", *HOSTILE_NUMBERS]),
    "price": st.sampled_from(["20000", "21500", "20000.1", "20000.01", *HOSTILE_NUMBERS]),
    "timeInForce": st.sampled_from(["GTC", "IOC", "FOK", "GTX", "GTD", "DAY", ""]),
    "positionSide": st.sampled_from(["BOTH", "LONG", "SHORT", "both", ""]),
    "reduceOnly": st.sampled_from(["true", "false", "TRUE", "1", ""]),
    "newClientOrderId": st.sampled_from(["c-1", "c-1", "x" * 37, "sp ace", "\u202e", ""]),
    "newOrderRespType": st.sampled_from(["ACK", "RESULT", "FULL", ""]),
    "priceMatch": st.sampled_from(["NONE", "OPPONENT", "QUEUE_5", "OPPONENT_10", "X"]),
    "selfTradePreventionMode": st.sampled_from(["NONE", "EXPIRE_TAKER", "X"]),
    "goodTillDate": st.sampled_from(["0", "1700000700000", "-1", "1e20", "9" * 30]),
    "stopPrice": st.sampled_from(["20000", "-1", "NaN"]),
    "closePosition": st.sampled_from(["true", "false", "x"]),
    "recvWindow": st.sampled_from(["5000", "60001", "-1", "NaN"]),
}


@st.composite
def order_params(draw: st.DrawFn) -> dict[str, str]:
    well_formed = draw(st.booleans())  # then one or two changes, to get past the first checks
    most = 2 if well_formed else len(VALUES)
    names = draw(st.sets(st.sampled_from(sorted(VALUES)), max_size=most))
    params = {name: draw(VALUES[name]) for name in sorted(names)}
    return {**ONE, **params} if well_formed else params


class World:
    """The services fixture's world with carol and dana, built once for the property,
    on its own loop."""

    def __init__(self, keys: Keys) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock(1_700_000_000_000)
        self.store = SQLiteStore(":memory:")
        self.loop.run_until_complete(self.store.open())
        self.registry = Registry(Market.default())
        admin = AdminService(self.store, self.registry, self.clock)
        scenario = known_scenario(keys)
        scenario["accounts"] += [
            {"name": "carol", "keys": [{"type": "hmac", "apiKey": CAROL[0], "secret": CAROL[1]}],
             "deposits": {"USDT": "10000"}},
            {"name": "dana", "keys": [{"type": "hmac", "apiKey": DANA[0], "secret": DANA[1]}]},
        ]  # fmt: skip
        self.loop.run_until_complete(admin.load_scenario(scenario))
        limiter = RequestWeightLimiter(LimitRules(request_weight=10**15))
        api = ApiService(self.registry, limiter, self.clock)
        api.orders = OrderService(admin)
        self.services = Services(self.clock, self.registry, admin, api, limiter, self.store)
        self.rest = RestService(api, ExchangeInfo(api.market), admin)


@pytest.fixture(scope="module")
def world(keys: Keys) -> Iterator[World]:
    built = World(keys)
    yield built
    built.loop.run_until_complete(built.store.close())
    built.loop.close()


@settings(
    max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(params=order_params(), account=st.sampled_from(["carol", "dana", "alice", "bob"]))
def test_random_order_params_answer_an_order_or_a_refusal_that_writes_nothing(
    world: World, params: dict[str, str], account: str
) -> None:
    async def attempt() -> None:
        world.clock.advance(10_000)  # a fresh ORDERS window: -1015 is the flood test's
        before = await ledger(world.services)
        response = await call(world.rest, world.services, ORDER, account, params)
        answer = check_answer(response)
        event(f"{response.status} {answer.get('code', answer.get('status'))}")
        if response.status != 200:
            assert await ledger(world.services) == before, answer

    world.loop.run_until_complete(attempt())


# -- more of the surface: modify, batches, algo orders, the WS API's cancel ---------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("quantity", "price"),
    [("0", "20000"), ("NaN", "20000"), ("1e400", "20000"), ("-1", "20000"),
     ("0.0001", "20000"), ("99999999", "20000"), ("0.010", "0"), ("0.010", "NaN"),
     ("0.010", "30000"), ("0.010", "20000.001"), ("1" + "0" * 300, "1" + "0" * 300)],
)  # fmt: skip
async def test_a_hostile_modification_is_refused_and_leaves_the_order_as_it_was(
    rest: RestService, services: Services, orders: OrderService, quantity: str, price: str
) -> None:
    placed = await resting(rest, services, "carol")
    params = {"symbol": "BTCUSDT", "orderId": str(placed["orderId"]), "side": "BUY"}
    params |= {"quantity": quantity, "price": price}
    await refused_writing_nothing(services, call(rest, services, MODIFY, "carol", params))
    [order] = services.registry.account("carol").account.orders.values()
    assert (order.quantity, order.price, order.modify_count) == (D("0.010"), D("20000"), 0)


@pytest.mark.asyncio
async def test_a_batch_naming_one_client_id_twice_places_the_first_only(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    batch = [{**ONE, "newClientOrderId": "twice"}, {**ONE, "newClientOrderId": "twice"}]
    first, second = check_answer(
        await call(rest, services, BATCH, "carol", {"batchOrders": orjson.dumps(batch).decode()})
    )
    assert first["status"] == "NEW" and second == {
        "code": -4116,
        "msg": "ClientOrderId is duplicated.",
    }
    assert len(services.registry.account("carol").account.orders) == 1


ALGO = ("POST", "/fapi/v1/algoOrder")
STOP = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
        "quantity": "0.010"}  # fmt: skip


@pytest.mark.asyncio
async def test_a_flood_of_algo_orders_meets_the_stop_order_cap(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    for n in range(10):
        check_answer(
            await call(rest, services, ALGO, "carol", {**STOP, "triggerPrice": str(15000 + n)})
        )
    over = call(rest, services, ALGO, "carol", {**STOP, "triggerPrice": "14000"})
    assert await refused_writing_nothing(services, over) == -4045
    assert len(services.registry.account("carol").account.algos) == 10


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["triggerPrice", "quantity"])
@pytest.mark.parametrize("value", ["0", "NaN", "-1", "1e400", "1" + "0" * 50, ""], ids=repr)
async def test_hostile_algo_order_numbers_are_refused_and_write_nothing(
    rest: RestService, services: Services, orders: OrderService, name: str, value: str
) -> None:
    params = {**STOP, "triggerPrice": "15000", name: value}
    await refused_writing_nothing(services, call(rest, services, ALGO, "carol", params))
    assert not services.registry.account("carol").account.algos


@pytest.mark.asyncio
async def test_order_cancel_over_the_ws_api_for_another_accounts_order_is_2011(
    rest: RestService, services: Services, orders: OrderService
) -> None:
    theirs = await resting(rest, services, "carol")
    params: dict[str, Any] = {
        "apiKey": HMAC_KEY, "symbol": "BTCUSDT", "orderId": theirs["orderId"],
        "timestamp": services.clock.now_ms(),
    }  # fmt: skip
    params["signature"] = hmac_signature(HMAC_SECRET, canonical_payload(params))
    frame = orjson.dumps({"id": "c1", "method": "order.cancel", "params": params})
    before = await ledger(services)
    reply = await ws_answer(services, frame)
    assert (reply["status"], reply["error"]["code"]) == (400, -2011), reply
    assert await ledger(services) == before
    [order] = services.registry.account("carol").account.orders.values()
    assert order.order_id == theirs["orderId"] and order.status is OrderStatus.NEW
