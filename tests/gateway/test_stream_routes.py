"""Every stream URL form Binance's clients dial, over real sockets: each opens and
delivers a user data stream raw or combined, subscription frames answer as Binance's do,
``events=`` keeps what it allows, and the handshake refuses what it must."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer
from posrisk.gateway.server import GatewaySettings
from posrisk.service.clock import ManualClock
from posrisk.service.streams import Sink

from ..service.conftest import HEDGE_KEY, HMAC_KEY, Keys
from .conftest import make_server
from .test_backpressure import until
from .test_user_streams import listen_key, next_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

D = Decimal
UNKNOWN_KEY = "x" * 64
HOUR_MS = 60 * 60 * 1000


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


def base(server: PosriskServer) -> str:
    return server.ws_url.replace("/ws-fapi/v1", "")


def sinks(server: PosriskServer, key: str) -> list[Sink]:
    assert server.streams is not None
    found = [k for k in server.streams.listen_keys() if k.key == key]
    return found[0].sinks if found else []


async def attached(server: PosriskServer, key: str, count: int = 1) -> None:
    await until(lambda: len(sinks(server, key)) == count)


async def ask(stream: Any, method: str, params: Any = None, request_id: Any = 1) -> Any:
    frame: dict[str, Any] = {"method": method, "id": request_id}
    if params is not None:
        frame["params"] = params
    await stream.send(json.dumps(frame))
    return await next_event(stream)


async def deposit(server: PosriskServer, amount: str, account: str = "alice") -> None:
    assert server.admin is not None
    await server.admin.wallet(account, "USDT", D(amount))


def assert_deposit(event: dict[str, Any], amount: str) -> None:
    assert event["e"] == "ACCOUNT_UPDATE" and event["a"]["m"] == "DEPOSIT"
    assert event["a"]["B"][0]["bc"] == amount


RAW_FORMS = ["/ws/{k}", "/private/ws/{k}", "/private/ws?listenKey={k}", "/market/ws/{k}"]
COMBINED_FORMS = [
    "/private/stream?listenKey={k}",
    "/stream?streams={k}",
    "/public/stream?streams={k}",
]


@pytest.mark.parametrize("form", RAW_FORMS + COMBINED_FORMS)
async def test_each_form_delivers_an_account_update(server: PosriskServer, form: str) -> None:
    key = await listen_key(server)
    async with websockets.connect(base(server) + form.format(k=key)) as stream:
        await attached(server, key)
        await deposit(server, "25")
        event = await next_event(stream)
        if form in COMBINED_FORMS:
            assert list(event) == ["stream", "data"] and event["stream"] == key
            event = event["data"]
        assert_deposit(event, "25")


async def test_the_sdk_subscribes_on_a_bare_private_stream(server: PosriskServer) -> None:
    key = await listen_key(server)
    async with websockets.connect(base(server) + "/private/stream") as stream:
        ids = [str(uuid.uuid4()) for _ in range(5)]
        assert await ask(stream, "SUBSCRIBE", [key], ids[0]) == {"result": None, "id": ids[0]}
        await attached(server, key)
        await deposit(server, "3")
        event = await next_event(stream)
        assert event["stream"] == key
        assert_deposit(event["data"], "3")
        assert await ask(stream, "LIST_SUBSCRIPTIONS", None, ids[1]) == {
            "result": [key],
            "id": ids[1],
        }
        assert await ask(stream, "UNSUBSCRIBE", [key], ids[2]) == {"result": None, "id": ids[2]}
        await attached(server, key, 0)
        await deposit(server, "4")  # not subscribed: not delivered
        assert await ask(stream, "SUBSCRIBE", [key], ids[3]) == {"result": None, "id": ids[3]}
        await attached(server, key)
        await deposit(server, "5")
        assert_deposit((await next_event(stream))["data"], "5")  # and never the 4
        assert await ask(stream, "GET_PROPERTY", ["combined"], ids[4]) == {
            "result": True,
            "id": ids[4],
        }


async def test_set_property_switches_a_raw_stream_to_combined(server: PosriskServer) -> None:
    key = await listen_key(server)
    async with websockets.connect(f"{base(server)}/ws/{key}") as stream:
        assert await ask(stream, "GET_PROPERTY", ["combined"], 1) == {"result": False, "id": 1}
        reply = await ask(stream, "SET_PROPERTY", ["combined", True], 2)
        assert reply == {"result": None, "id": 2}
        await attached(server, key)
        await deposit(server, "6")
        event = await next_event(stream)
        assert event["stream"] == key
        assert_deposit(event["data"], "6")
        assert await ask(stream, "SET_PROPERTY", ["combined", False], 3) == {
            "result": None,
            "id": 3,
        }
        await deposit(server, "7")
        assert_deposit(await next_event(stream), "7")


async def test_events_is_an_allow_list(server: PosriskServer) -> None:
    key = await listen_key(server)
    url = f"{base(server)}/private/ws?listenKey={key}"
    async with (
        websockets.connect(url + "&events=ACCOUNT_UPDATE/listenKeyExpired") as allowed,
        websockets.connect(url + "&events=ORDER_TRADE_UPDATE") as filtered,
    ):
        await attached(server, key, 2)
        await deposit(server, "8")
        assert_deposit(await next_event(allowed), "8")
        # Sent before the reply if it were sent at all: the reply comes first.
        assert await ask(filtered, "LIST_SUBSCRIPTIONS", None, 9) == {"result": [key], "id": 9}


async def test_one_connection_carries_two_accounts(server: PosriskServer) -> None:
    alice, bob = await listen_key(server, HMAC_KEY), await listen_key(server, HEDGE_KEY)
    assert server.admin is not None
    async with websockets.connect(f"{base(server)}/private/ws?listenKey={alice}/{bob}") as stream:
        await attached(server, alice)
        await attached(server, bob)
        await deposit(server, "1", "alice")
        await deposit(server, "2", "bob")
        assert_deposit(await next_event(stream), "1")
        assert_deposit(await next_event(stream), "2")
        # A key revoked takes its stream away; the connection lives while another remains.
        await server.admin.revoke_key("alice", HMAC_KEY)
        assert await ask(stream, "LIST_SUBSCRIPTIONS", None, 1) == {"result": [bob], "id": 1}
        await deposit(server, "3", "bob")
        assert_deposit(await next_event(stream), "3")
        await server.admin.revoke_key("bob", HEDGE_KEY)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(stream.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


@pytest.mark.parametrize(
    "form",
    [
        f"/ws/{UNKNOWN_KEY}",
        f"/private/ws/{UNKNOWN_KEY}",
        f"/private/ws?listenKey={UNKNOWN_KEY}",
        f"/private/stream?listenKey={UNKNOWN_KEY}",
        f"/stream?streams=btcusdt@markPrice/{UNKNOWN_KEY}",
    ],
)
async def test_an_unknown_listen_key_is_refused_at_the_handshake(
    server: PosriskServer, form: str
) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(base(server) + form):
            pass
    assert refused.value.response.status_code == 400
    assert json.loads(refused.value.response.body) == {
        "code": -1125,
        "msg": "This listenKey does not exist.",
    }


@pytest.mark.parametrize(
    ("form", "names"),
    [
        ("/market/ws/0", ["0"]),
        ("/public/ws/1", ["1"]),
        ("/ws", []),
        ("/ws/btcusdt@markPrice/btcusdt@bookTicker", ["btcusdt@markPrice", "btcusdt@bookTicker"]),
        ("/stream", []),
        ("/market/stream?streams=btcusdt@markPrice", ["btcusdt@markPrice"]),
        ("/public/stream", []),
        ("/private/stream", []),
    ],
)
async def test_market_forms_open_and_list_their_names(
    server: PosriskServer, form: str, names: list[str]
) -> None:
    async with websockets.connect(base(server) + form) as stream:
        assert await ask(stream, "LIST_SUBSCRIPTIONS", None, 4) == {"result": names, "id": 4}
        reply = await ask(stream, "SUBSCRIBE", ["ethusdt@markPrice", UNKNOWN_KEY], 5)
        assert reply == {"result": None, "id": 5}  # an unknown key too: acknowledged, silent
        listed = await ask(stream, "LIST_SUBSCRIPTIONS", None, 6)
        assert listed == {"result": [*names, "ethusdt@markPrice", UNKNOWN_KEY], "id": 6}


async def test_errors_on_the_wire(server: PosriskServer) -> None:
    async with websockets.connect(base(server) + "/market/ws/0") as stream:
        await stream.send("{not json")
        assert (await next_event(stream))["code"] == 3
        await stream.send(b'{"method":"LIST_SUBSCRIPTIONS","id":1}')  # a binary frame
        assert await next_event(stream) == {
            "code": 3,
            "msg": "Invalid JSON: expected value at line 1 column 1",
            "id": None,
        }
        assert await ask(stream, "SUBSCRIBE", "x", 2) == {
            "code": 2,
            "msg": "Invalid request: invalid type: expected a sequence of stream names",
            "id": 2,
        }
        assert await ask(stream, "PING", None, 3) == {
            "code": 2,
            "msg": "Invalid request: unknown variant PING, expected one of SUBSCRIBE, "
            "UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY",
            "id": 3,
        }
        assert await ask(stream, "SET_PROPERTY", ["combined", 1], 4) == {
            "code": 1,
            "msg": "Invalid value type: expected Boolean",
            "id": 4,
        }
        assert await ask(stream, "GET_PROPERTY", ["other"], 5) == {
            "code": 0,
            "msg": "Unknown property",
            "id": 5,
        }


async def test_the_1025th_stream_is_refused(server: PosriskServer) -> None:
    async with websockets.connect(base(server) + "/stream?streams=a/b") as stream:
        names = [f"s{i}@markPrice" for i in range(1021)]  # with a and b: 1023
        assert await ask(stream, "SUBSCRIBE", names, 1) == {"result": None, "id": 1}
        assert await ask(stream, "SUBSCRIBE", ["x", "y"], 2) == {
            "code": 2,
            "msg": "Invalid request: too many parameters",
            "id": 2,
        }
        assert await ask(stream, "SUBSCRIBE", ["x"], 3) == {"result": None, "id": 3}
        listed = await ask(stream, "LIST_SUBSCRIPTIONS", None, 4)
        assert len(listed["result"]) == 1024 and listed["result"][-1] == "x"


async def test_a_url_naming_1025_streams_is_refused(server: PosriskServer) -> None:
    names = "/".join(f"s{i}" for i in range(1025))
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{base(server)}/stream?streams={names}"):
            pass
    assert refused.value.response.status_code == 400
    assert json.loads(refused.value.response.body) == {
        "code": 2,
        "msg": "Invalid request: too many parameters",
    }


async def test_strict_routes_keep_binances_silence(tmp_path: Path, keys: Keys) -> None:
    settings = GatewaySettings(ping_interval_s=3600, pong_timeout_s=3600, strict_stream_routes=True)
    running = await make_server(tmp_path, keys, gateway=settings)
    try:
        key = await listen_key(running)
        url = base(running)
        async with (
            websockets.connect(f"{url}/market/ws/{key}") as silent,
            websockets.connect(f"{url}/private/ws/{key}") as private,
            websockets.connect(f"{url}/ws/{key}") as unrouted,
        ):
            await attached(running, key, 2)
            await deposit(running, "9")
            assert_deposit(await next_event(private), "9")
            assert_deposit(await next_event(unrouted), "9")
            assert await ask(silent, "LIST_SUBSCRIPTIONS", None, 1) == {"result": [key], "id": 1}
        # Silent, not checked: an unknown key on the wrong category opens.
        async with websockets.connect(f"{url}/public/ws/{UNKNOWN_KEY}") as stream:
            assert await ask(stream, "LIST_SUBSCRIPTIONS", None, 2) == {
                "result": [UNKNOWN_KEY],
                "id": 2,
            }
    finally:
        await running.stop()


async def test_an_expired_key_leaves_a_combined_connection(tmp_path: Path, keys: Keys) -> None:
    clock = ManualClock(int(time.time() * 1000))
    settings = GatewaySettings(ping_interval_s=3600, pong_timeout_s=3600, listen_key_check_s=0.01)
    running = await make_server(
        tmp_path, keys, clock=clock, listen_key_ttl_ms=HOUR_MS, gateway=settings
    )
    try:
        alice = await listen_key(running)
        async with websockets.connect(
            f"{base(running)}/private/stream?listenKey={alice}"
        ) as stream:
            await attached(running, alice)
            clock.advance(HOUR_MS // 2)
            bob = await listen_key(running, HEDGE_KEY)  # outlives alice's by half an hour
            assert await ask(stream, "SUBSCRIBE", [bob], 1) == {"result": None, "id": 1}
            await attached(running, bob)
            clock.advance(HOUR_MS // 2)
            assert await next_event(stream) == {
                "stream": alice,
                "data": {"e": "listenKeyExpired", "E": clock.now, "listenKey": alice},
            }
            assert await ask(stream, "LIST_SUBSCRIPTIONS", None, 2) == {"result": [bob], "id": 2}
            await deposit(running, "5", "bob")
            update = await next_event(stream)
            assert update["stream"] == bob
            assert_deposit(update["data"], "5")
            clock.advance(HOUR_MS // 2)
            assert (await next_event(stream))["data"]["listenKey"] == bob
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(stream.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    finally:
        await running.stop()
