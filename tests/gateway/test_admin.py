"""The admin API over HTTP (SPEC §13): auth, every operation, refusals, live effects."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer
from posrisk.protocol import canonical_payload, load_private_key

from ..service.conftest import ED_KEY, HMAC_KEY, Keys
from .conftest import make_server
from .test_server import ask, signed

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

TOKEN = "test-admin-token-not-a-secret"


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, admin_token=TOKEN)
    yield running
    await running.stop()


async def call(
    server: PosriskServer,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = TOKEN,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, f"{server.admin_url}{path}", data=data, headers=headers
        ) as response,
    ):
        return response.status, await response.json()


async def test_every_request_needs_the_token(server: PosriskServer) -> None:
    unauthorized = (401, {"code": -1002, "msg": "You are not authorized to execute this request."})
    assert await call(server, "GET", "/accounts", token=None) == unauthorized
    assert await call(server, "GET", "/accounts", token="wrong") == unauthorized
    assert await call(server, "POST", "/accounts", {"name": "x"}, token="wrong") == unauthorized
    assert server.admin_url is not None and server.admin_url.startswith("http://127.0.0.1:")


async def test_accounts_keys_and_ledger_operations(server: PosriskServer) -> None:
    status, created = await call(
        server, "POST", "/accounts", {"name": "carol", "positionMode": "hedge"}
    )
    assert (status, created["name"], created["positionMode"]) == (201, "carol", "hedge")
    assert await call(server, "POST", "/accounts", {"name": "carol"}) == (
        409,
        {"code": -1130, "msg": "Account 'carol' already exists."},
    )
    status, key = await call(server, "POST", "/accounts/carol/keys", {"type": "hmac"})
    assert status == 201 and len(key["secret"]) == 64 and key["type"] == "hmac"
    status, ed = await call(server, "POST", "/accounts/carol/keys", {"type": "ed25519"})
    assert status == 201 and "PRIVATE KEY" in ed["privateKey"] and "PUBLIC KEY" in ed["publicKey"]
    status, keys = await call(server, "GET", "/accounts/carol/keys")
    assert [k["type"] for k in keys] == ["hmac", "ed25519"]

    status, after = await call(
        server, "POST", "/accounts/carol/wallet", {"asset": "USDT", "amount": "1000"}
    )
    assert status == 200 and after["balances"][0]["walletBalance"] == "1000.00000000"
    status, after = await call(
        server,
        "POST",
        "/accounts/carol/settings",
        {"symbols": {"BTCUSDT": {"leverage": 10, "marginType": "isolated"}}},
    )
    assert status == 200
    status, after = await call(
        server,
        "POST",
        "/accounts/carol/fills",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "positionSide": "LONG",
            "qty": "0.010",
            "price": "20000",
            "fee": "0.08",
        },
    )
    assert status == 200
    [position] = after["positions"]
    assert (position["positionAmt"], position["isolatedWallet"]) == ("0.010", "19.92000000")
    status, after = await call(
        server,
        "POST",
        "/accounts/carol/isolated-margin",
        {"symbol": "BTCUSDT", "positionSide": "LONG", "amount": "5"},
    )
    assert after["positions"][0]["isolatedWallet"] == "24.92000000"
    status, accounts = await call(server, "GET", "/accounts")
    assert [a["name"] for a in accounts] == ["alice", "bob", "carol"]

    status, revoked = await call(server, "DELETE", f"/accounts/carol/keys/{key['apiKey']}")
    assert (status, revoked) == (200, {"apiKey": key["apiKey"], "revoked": True})
    assert (await call(server, "DELETE", "/accounts/carol/keys/nope"))[1]["code"] == -2015


async def test_commission_is_put_per_account(server: PosriskServer) -> None:
    rates = {"maker": "0.0001", "symbols": {"ETHUSDT": {"taker": "0.0004"}}}
    assert await call(server, "PUT", "/accounts/alice/commission", rates) == (
        200,
        {
            "name": "alice",
            "commission": {
                "maker": "0.0001",
                "taker": "0.0005",
                "symbols": {"ETHUSDT": {"taker": "0.0004"}},
            },
        },
    )
    status, body = await call(server, "PUT", "/accounts/alice/commission", {"maker": "2"})
    assert (status, body["code"]) == (400, -1130)
    status, body = await call(server, "PUT", "/accounts/nobody/commission", {})
    assert (status, body["code"]) == (404, -1130)
    entry = server.registry.accounts["alice"]
    assert (entry.account.commission.maker, entry.account.commission.symbols[0][0]) == (
        Decimal("0.0001"),
        "ETHUSDT",
    )


async def test_refusals(server: PosriskServer) -> None:
    assert await call(server, "POST", "/accounts", raw=b"{not json") == (
        400,
        {"code": -1000, "msg": "Malformed request: not valid JSON."},
    )
    status, body = await call(server, "POST", "/accounts", [1, 2])
    assert (status, body["code"]) == (400, -1130)
    status, body = await call(
        server,
        "POST",
        "/accounts/alice/fills",
        {"symbol": "BTCUSDT", "side": "BUY", "qty": "1", "price": "1", "positionSide": "LONG"},
    )
    assert (status, body["code"]) == (400, -4061)
    assert body["msg"].startswith("Order's position side does not match user's setting.")
    status, body = await call(server, "GET", "/accounts/nobody")
    assert (status, body) == (404, {"code": -1130, "msg": "Account 'nobody' does not exist."})
    status, body = await call(server, "PUT", "/marks", {"NOPEUSDT": "1"})
    assert (status, body["code"]) == (400, -1121)
    assert (await call(server, "GET", "/nothing"))[0] == 404
    status, body = await call(server, "PATCH", "/marks", {})
    assert (status, body["code"]) == (405, -1000)


async def test_a_mark_change_moves_every_row_and_sends_no_account_update(
    server: PosriskServer,
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        start = await ask(ws, "userDataStream.start", {"apiKey": HMAC_KEY})
        base = server.ws_url.replace("/ws-fapi/v1", "")
        async with websockets.connect(f"{base}/ws/{start['result']['listenKey']}") as stream:
            status, marks = await call(server, "PUT", "/marks", {"BTCUSDT": "25000"})
            assert status == 200 and marks["BTCUSDT"] == "25000"
            [btc] = (await ask(ws, "account.position", signed(symbol="BTCUSDT")))["result"]
            assert (btc["markPrice"], btc["unRealizedProfit"]) == ("25000.00000000", "50.00000000")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(stream.recv(), 0.2)
            # A fill through the admin API does reach the stream.
            await call(
                server,
                "POST",
                "/accounts/alice/fills",
                {"symbol": "BTCUSDT", "side": "SELL", "qty": "0.010", "price": "25000"},
            )
            update = json.loads(await asyncio.wait_for(stream.recv(), 5))
            assert update["a"]["m"] == "ORDER" and update["a"]["P"][0]["pa"] == "0"


async def test_revoking_a_key_ends_its_live_session_at_once(
    server: PosriskServer, keys: Keys
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        params: dict[str, Any] = {"apiKey": ED_KEY, "timestamp": int(time.time() * 1000)}
        params["signature"] = load_private_key(keys.ed25519_private).sign(canonical_payload(params))
        assert (await ask(ws, "session.logon", params))["status"] == 200
        assert (await call(server, "DELETE", f"/accounts/alice/keys/{ED_KEY}"))[0] == 200
        reply = await ask(ws, "account.position", {"timestamp": int(time.time() * 1000)})
        assert (reply["id"], reply["status"], reply["error"]["code"]) == (None, 401, -2015)


async def test_a_scenario_through_the_admin_api(server: PosriskServer) -> None:
    document = {
        "accounts": [{"name": "dave", "deposits": {"USDT": "50"}}],
        "marks": {"ETHUSDT": "1000"},
    }
    assert await call(server, "POST", "/scenarios", document) == (201, {"accounts": ["dave"]})
    status, body = await call(server, "POST", "/scenarios", document)
    assert (status, body["code"]) == (400, -1130)
    assert "dave" in body["msg"]
    assert (await call(server, "GET", "/marks"))[1]["ETHUSDT"] == "1000"


async def test_open_orders_are_listed_and_canceled_and_the_stream_hears_it(
    server: PosriskServer,
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        placed = []
        for price in ("20000", "19000"):
            params = signed(
                symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                quantity="0.010", price=price,
            )  # fmt: skip
            reply = await ask(ws, "order.place", params)
            assert reply["status"] == 200, reply
            placed.append(reply["result"]["orderId"])
        status, listed = await call(server, "GET", "/accounts/alice/orders")
        assert status == 200 and [o["orderId"] for o in listed["orders"]] == placed
        assert listed["orders"][0]["price"] == "20000.00" and listed["algoOrders"] == []
        status, body = await call(server, "GET", "/accounts/alice/orders?symbol=NOPEUSDT")
        assert (status, body["code"]) == (400, -1121)
        status, body = await call(server, "DELETE", "/accounts/alice/orders?orderId=x")
        assert (status, body["code"]) == (400, -1130)
        status, body = await call(server, "DELETE", "/accounts/alice/orders?orderId=42")
        assert (status, body["code"]) == (400, -2011)

        start = await ask(ws, "userDataStream.start", {"apiKey": HMAC_KEY})
        base = server.ws_url.replace("/ws-fapi/v1", "")
        async with websockets.connect(f"{base}/ws/{start['result']['listenKey']}") as stream:
            path = f"/accounts/alice/orders?symbol=BTCUSDT&orderId={placed[1]}"
            status, answer = await call(server, "DELETE", path)
            assert status == 200 and [o["status"] for o in answer["orders"]] == ["CANCELED"]
            update = json.loads(await asyncio.wait_for(stream.recv(), 5))
            assert update["e"] == "ORDER_TRADE_UPDATE"
            assert (update["o"]["i"], update["o"]["x"], update["o"]["X"]) == (
                placed[1], "CANCELED", "CANCELED",
            )  # fmt: skip
            status, answer = await call(server, "DELETE", "/accounts/alice/orders")
            assert [o["orderId"] for o in answer["orders"]] == placed[:1]
        assert not server.registry.accounts["alice"].account.orders
        assert await call(server, "GET", "/accounts/alice/orders") == (
            200,
            {"orders": [], "algoOrders": []},
        )


async def test_the_clock_is_read_and_moved_forward_and_clients_keep_their_own(
    server: PosriskServer,
) -> None:
    status, before = await call(server, "GET", "/clock")
    assert status == 200 and before["advancedMs"] == 0
    assert abs(before["time"] - int(time.time() * 1000)) < 60_000
    status, moved = await call(server, "POST", "/clock", {"advanceMs": 8 * 3_600_000})
    assert status == 200 and moved["advancedMs"] == 8 * 3_600_000
    assert moved["time"] - before["time"] >= 8 * 3_600_000
    assert (await call(server, "GET", "/clock"))[1]["advancedMs"] == 8 * 3_600_000
    for body in ({"advanceMs": -1}, {"advanceMs": "8h"}, {}, {"advanceMs": 1, "x": 2}):
        status, refusal = await call(server, "POST", "/clock", body)
        assert status == 400 and refusal["code"] in (-1130, -1102), refusal
    # A client stamping with the machine's clock (as ccxt and the SDK do) is still served,
    # and so is one that synced with the server's time.
    async with websockets.connect(server.ws_url) as ws:
        for stamp in (int(time.time() * 1000), int(time.time() * 1000) + 8 * 3_600_000):
            params = signed(timestamp=stamp)
            reply = await ask(ws, "account.position", params)
            assert reply["status"] == 200, reply
