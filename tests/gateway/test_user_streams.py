"""User data streams over real sockets (SPEC §8): listenKeys, ACCOUNT_UPDATE, expiry."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer
from posrisk.engine import (
    Fill,
    IsolatedMarginTransfer,
    MarginType,
    SetLeverage,
    SetMarginType,
    Side,
)
from posrisk.gateway.server import GatewaySettings
from posrisk.service.clock import ManualClock

from ..service.conftest import HMAC_KEY, Keys
from .conftest import make_server
from .test_server import ask, signed

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

D = Decimal


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


async def listen_key(server: PosriskServer, api_key: str = HMAC_KEY) -> str:
    async with websockets.connect(server.ws_url) as ws:
        reply = await ask(ws, "userDataStream.start", {"apiKey": api_key})
    assert reply["status"] == 200, reply
    key = reply["result"]["listenKey"]
    assert isinstance(key, str) and len(key) == 64
    return key


async def next_event(stream: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(stream.recv(), 5))  # type: ignore[no-any-return]


async def test_start_ping_stop(server: PosriskServer) -> None:
    async with websockets.connect(server.ws_url) as ws:
        first = await ask(ws, "userDataStream.start", {"apiKey": HMAC_KEY})
        again = await ask(ws, "userDataStream.start", {"apiKey": HMAC_KEY})
        assert first["result"] == again["result"]  # an active key is returned again
        assert first["rateLimits"][0]["count"] == 5 + 1
        ping = await ask(ws, "userDataStream.ping", {"apiKey": HMAC_KEY})
        assert ping["result"] == first["result"]
        assert (await ask(ws, "userDataStream.stop", {"apiKey": HMAC_KEY}))["result"] == {}
        gone = await ask(ws, "userDataStream.ping", {"apiKey": HMAC_KEY})
        assert (gone["status"], gone["error"]) == (
            400,
            {"code": -1125, "msg": "This listenKey does not exist."},
        )
        missing = await ask(ws, "userDataStream.start", {})
        assert missing["error"]["code"] == -1102
        unknown = await ask(ws, "userDataStream.start", {"apiKey": "noSuchKey9"})
        assert unknown["error"]["code"] == -2015


async def test_an_unknown_listen_key_is_refused_at_the_handshake(server: PosriskServer) -> None:
    url = server.ws_url.replace("/ws-fapi/v1", "/ws/" + "x" * 64)
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    assert refused.value.response.status_code == 400
    assert json.loads(refused.value.response.body) == {
        "code": -1125,
        "msg": "This listenKey does not exist.",
    }


async def test_every_stream_of_the_account_gets_each_update(server: PosriskServer) -> None:
    assert server.admin is not None
    key = await listen_key(server)
    base = server.ws_url.replace("/ws-fapi/v1", "")
    async with (
        websockets.connect(f"{base}/ws/{key}") as one,
        websockets.connect(f"{base}/private/ws/{key}") as two,
    ):
        await asyncio.sleep(0.05)  # both attached
        await server.admin.fill(
            "alice", Fill("BTCUSDT", Side.BUY, D("0.005"), D("21000"), fee=D("0.042"))
        )
        events = [await next_event(one), await next_event(two)]
        assert events[0] == events[1]
        event = events[0]
        assert event["e"] == "ACCOUNT_UPDATE" and isinstance(event["E"], int)
        assert event["a"]["m"] == "ORDER"
        # wallet 1000 − 0.042 fee; cross = wallet − ETH's isolated 100
        assert event["a"]["B"] == [
            {"a": "USDT", "wb": "999.95800000", "cw": "899.95800000", "bc": "0"}
        ]
        [position] = event["a"]["P"]
        assert position == {
            "s": "BTCUSDT",
            "pa": "0.015",
            "ep": "20333.3333333333",
            "cr": "0",
            "up": "11.84575788",
            "mt": "cross",
            "iw": "0",
            "ps": "BOTH",
            "ma": "USDT",
            "bep": "20336.1333333333",
        }

        await server.admin.wallet("alice", "USDT", D("25"))
        deposit = await next_event(one)
        assert deposit["a"]["m"] == "DEPOSIT"
        assert deposit["a"]["B"][0]["bc"] == "25" and deposit["a"]["P"] == []
        await next_event(two)

        await server.admin.isolated_margin("alice", IsolatedMarginTransfer("ETHUSDT", D("5")))
        transfer = await next_event(one)
        assert transfer["a"]["m"] == "MARGIN_TRANSFER"
        assert transfer["a"]["P"][0]["iw"] == "105.00000000"
        await next_event(two)

        # A leverage set sends ACCOUNT_CONFIG_UPDATE; a margin-type change sends its rows.
        await server.admin.apply_events(
            "alice", [SetLeverage("BTCUSDT", 5), SetMarginType("SOLUSDT", MarginType.ISOLATED)]
        )
        config = await next_event(one)
        assert config["e"] == "ACCOUNT_CONFIG_UPDATE" and config["E"] == config["T"]
        assert config["ac"] == {"s": "BTCUSDT", "l": 5}
        change = await next_event(one)
        assert change["a"]["m"] == "MARGIN_TYPE_CHANGE"
        assert change["a"]["P"][0]["s"] == "SOLUSDT" and change["a"]["P"][0]["mt"] == "isolated"
        # Another account's changes never reach these streams.
        await server.admin.wallet("bob", "USDT", D("1"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(one.recv(), 0.2)


async def test_updates_arrive_in_ledger_order_under_concurrent_fills(
    server: PosriskServer,
) -> None:
    assert server.admin is not None
    key = await listen_key(server)
    base = server.ws_url.replace("/ws-fapi/v1", "")
    async with websockets.connect(f"{base}/ws/{key}") as stream:
        await asyncio.sleep(0.05)
        fills = [
            Fill("BTCUSDT", Side.BUY if i % 3 else Side.SELL, D("0.001"), D(20000 + i))
            for i in range(40)
        ]
        await asyncio.gather(*(server.admin.fill("alice", f) for f in fills))
        amounts = [D((await next_event(stream))["a"]["P"][0]["pa"]) for _ in fills]
    # The ledger's order is the order the fills were committed in: the stream follows it.
    committed = [r.event for r in (await server.store.load()).ledger if r.account == "alice"]
    held, expected = D("0.010"), []
    for fill in committed[-40:]:
        assert isinstance(fill, Fill)
        held += fill.qty if fill.side is Side.BUY else -fill.qty
        expected.append(held)
    assert amounts == expected


async def test_listen_keys_expire_without_a_ping(tmp_path: Path, keys: Keys) -> None:
    clock = ManualClock(int(time.time() * 1000))
    running = await make_server(
        tmp_path,
        keys,
        clock=clock,
        listen_key_ttl_ms=60 * 60 * 1000,
        gateway=GatewaySettings(ping_interval_s=3600, pong_timeout_s=3600, listen_key_check_s=0.01),
    )
    try:
        key = await listen_key(running)
        base = running.ws_url.replace("/ws-fapi/v1", "")
        async with websockets.connect(f"{base}/ws/{key}") as stream:
            clock.advance(59 * 60 * 1000)
            async with websockets.connect(running.ws_url) as ws:  # a ping extends it
                params = {"apiKey": HMAC_KEY}
                assert (await ask(ws, "userDataStream.ping", params))["status"] == 200
            clock.advance(59 * 60 * 1000)
            await asyncio.sleep(0.05)
            assert running.streams is not None and running.streams.get(key, clock.now)
            clock.advance(60 * 1000 + 1)
            expired = await next_event(stream)
            assert expired == {"e": "listenKeyExpired", "E": clock.now, "listenKey": key}
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(stream.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    finally:
        await running.stop()


async def test_a_stream_client_comes_back_with_a_new_key(server: PosriskServer) -> None:
    assert server.admin is not None
    base = server.ws_url.replace("/ws-fapi/v1", "")
    key = await listen_key(server)
    async with websockets.connect(f"{base}/ws/{key}") as stream:
        await asyncio.sleep(0.05)
    async with websockets.connect(server.ws_url) as ws:
        await ask(ws, "userDataStream.stop", {"apiKey": HMAC_KEY})
    new_key = await listen_key(server)
    assert new_key != key
    async with websockets.connect(f"{base}/ws/{new_key}") as stream:
        await asyncio.sleep(0.05)
        await server.admin.wallet("alice", "USDT", D("2"))
        assert (await next_event(stream))["a"]["m"] == "DEPOSIT"


async def test_revoking_the_key_closes_its_streams(server: PosriskServer) -> None:
    assert server.admin is not None
    key = await listen_key(server, HMAC_KEY)
    base = server.ws_url.replace("/ws-fapi/v1", "")
    async with websockets.connect(f"{base}/ws/{key}") as stream:
        await asyncio.sleep(0.05)
        await server.admin.revoke_key("alice", HMAC_KEY)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(stream.recv(), 5)
    async with websockets.connect(server.ws_url) as ws:
        refused = await ask(ws, "account.position", signed())
        assert refused["error"]["code"] == -2015


async def test_a_logged_on_session_starts_a_stream_without_an_api_key(
    server: PosriskServer, keys: Keys
) -> None:
    from posrisk.protocol import canonical_payload, load_private_key

    from ..service.conftest import ED_KEY

    async with websockets.connect(server.ws_url) as ws:
        params: dict[str, Any] = {"apiKey": ED_KEY, "timestamp": int(time.time() * 1000)}
        params["signature"] = load_private_key(keys.ed25519_private).sign(canonical_payload(params))
        assert (await ask(ws, "session.logon", params))["status"] == 200
        reply = await ask(ws, "userDataStream.start", {})
        assert reply["status"] == 200 and len(reply["result"]["listenKey"]) == 64


async def test_a_liquidation_goes_out_on_the_stream(tmp_path: Path, keys: Keys) -> None:
    running = await make_server(tmp_path, keys, liquidate=True)
    try:
        assert running.admin is not None
        key = await listen_key(running)
        base = running.ws_url.replace("/ws-fapi/v1", "")
        async with websockets.connect(f"{base}/ws/{key}") as stream:
            await asyncio.sleep(0.05)
            # alice's isolated ETHUSDT short (1 @ 1000, wallet 100) is liquidated at
            # 1095.62: a mark of 1100 closes it at its bankruptcy price, 1100.
            await running.admin.set_marks({"ETHUSDT": D("1100")})
            event = await next_event(stream)
            assert event["a"]["m"] == "ORDER"
            [position] = event["a"]["P"]
            assert (position["s"], position["pa"], position["iw"]) == (
                "ETHUSDT",
                "0",
                "0",
            )
            assert event["a"]["B"][0]["wb"] == "900.00000000"
        async with websockets.connect(running.ws_url) as ws:
            rows = (await ask(ws, "v2/account.position", signed()))["result"]
            assert [r["symbol"] for r in rows] == ["BTCUSDT"]
    finally:
        await running.stop()
