"""The server over real sockets: the WS API, its error paths, REST, restarts, shutdown."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import websockets

from posrisk.app import PosriskServer
from posrisk.engine import Fill, Side
from posrisk.protocol import LimitRules, canonical_payload, hmac_signature
from posrisk.service.clock import ManualClock

from ..service.conftest import HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


def signed(api_key: str = HMAC_KEY, secret: str = HMAC_SECRET, **params: Any) -> dict[str, Any]:
    params = {"apiKey": api_key, "timestamp": int(time.time() * 1000), **params}
    params["signature"] = hmac_signature(secret, canonical_payload(params))
    return params


async def ask(
    ws: Any, method: str, params: dict[str, Any] | None = None, request_id: Any = "1"
) -> dict[str, Any]:
    frame: dict[str, Any] = {"id": request_id, "method": method}
    if params is not None:
        frame["params"] = params
    await ws.send(json.dumps(frame))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[no-any-return]


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"null")


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    return await asyncio.to_thread(http_get, url, headers)


async def test_account_position_over_a_socket(server: PosriskServer) -> None:
    async with websockets.connect(server.ws_url) as ws:
        reply = await ask(
            ws, "account.position", signed(HEDGE_KEY, HEDGE_SECRET, symbol="BTCUSDT"), "abc"
        )
        assert reply["id"] == "abc" and reply["status"] == 200
        assert reply["result"][0]["liquidationPrice"] == "19731.45529116"
        # The handshake cost 5, the request 5.
        assert reply["rateLimits"][0]["count"] == 10
        reply = await ask(ws, "v2/account.position", signed(), 42)
        assert reply["id"] == 42
        assert [r["symbol"] for r in reply["result"]] == ["BTCUSDT", "ETHUSDT"]


async def test_every_error_path_over_a_socket(server: PosriskServer) -> None:
    stale = int(time.time() * 1000) - 10_000
    async with websockets.connect(server.ws_url) as ws:
        cases: list[tuple[str, dict[str, Any] | None, int, int]] = [
            ("account.position", {**signed(), "signature": "ab" * 32}, 400, -1022),
            ("account.position", signed("noSuchKey1", "x"), 401, -2015),
            ("account.position", signed(timestamp=stale), 400, -1021),
            (
                "account.position",
                {k: v for k, v in signed().items() if k != "timestamp"},
                400,
                -1102,
            ),
            ("account.nothing", {}, 400, -1000),
            ("account.position", signed(symbol="DOGEBTC"), 400, -1121),
            ("account.position", signed(recvWindow=70000), 400, -1130),
        ]
        for method, params, status, code in cases:
            reply = await ask(ws, method, params, "e")
            assert (reply["id"], reply["status"], reply["error"]["code"]) == ("e", status, code)
        await ws.send("{malformed")
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (reply["id"], reply["status"], reply["error"]["code"]) == (None, 400, -1000)
        await ws.send(b"\x00\x01binary")
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert reply["error"]["code"] == -1000 and "binary" in reply["error"]["msg"]
        # The connection is still serving after all of that.
        assert (await ask(ws, "v2/account.position", signed()))["status"] == 200


async def test_return_rate_limits_false_on_the_url(server: PosriskServer) -> None:
    async with websockets.connect(server.ws_url + "?returnRateLimits=false") as ws:
        assert "rateLimits" not in await ask(ws, "v2/account.position", signed())
        reply = await ask(ws, "v2/account.position", signed(returnRateLimits=True))
        assert reply["rateLimits"][0]["count"] == 15


async def test_rest_endpoints(server: PosriskServer) -> None:
    base = server.http_url
    assert (await get(base + "/fapi/v1/ping"))[::2] == (200, {})
    status, headers, body = await get(base + "/fapi/v1/time")
    assert status == 200 and abs(body["serverTime"] - time.time() * 1000) < 60_000
    assert headers["X-MBX-USED-WEIGHT-1M"] == "2"
    status, _, info = await get(base + "/fapi/v1/exchangeInfo")
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    assert (btc["quantityPrecision"], btc["pricePrecision"], btc["marginAsset"]) == (3, 2, "USDT")
    assert len(info["symbols"]) == 345

    query = f"symbol=BTCUSDT&timestamp={int(time.time() * 1000)}"
    signature = hmac_signature(HEDGE_SECRET, query.encode())
    url = f"{base}/fapi/v2/positionRisk?{query}&signature={signature}"
    status, _, rows = await get(url, {"X-MBX-APIKEY": HEDGE_KEY})
    assert status == 200 and rows[0]["liquidationPrice"] == "19731.45529116"
    assert rows[0]["leverage"] == "20"  # the v1 row shape
    status, _, rows = await get(url.replace("/v2/", "/v3/"), {"X-MBX-APIKEY": HEDGE_KEY})
    assert status == 200 and [r["positionSide"] for r in rows] == ["LONG"]
    assert "marginAsset" in rows[0]

    assert (await get(url))[::2] == (401, {"code": -2014, "msg": "API-key format invalid."})
    status, _, body = await get(url + "0", {"X-MBX-APIKEY": HEDGE_KEY})
    assert (status, body["code"]) == (400, -1022)
    status, _, body = await get(f"{base}/fapi/v2/positionRisk?a=1&a=2", {"X-MBX-APIKEY": "k"})
    assert (status, body["code"]) == (400, -1101)
    many = "&".join(f"p{i}=1" for i in range(101))
    status, _, body = await get(f"{base}/fapi/v2/positionRisk?{many}", {"X-MBX-APIKEY": "k"})
    assert (status, body) == (
        400,
        {"code": -1101, "msg": "Too many parameters; expected '100' and received '101'."},
    )
    assert (await get(base + "/fapi/v1/nothing"))[0] == 404


async def test_exchange_info_tells_the_time_of_each_request(tmp_path: Path, keys: Keys) -> None:
    clock = ManualClock(1_700_000_000_000)
    server = await make_server(tmp_path, keys, clock=clock, limits=LimitRules(request_weight=1200))
    try:
        url = server.http_url + "/fapi/v1/exchangeInfo"
        first = (await get(url))[2]
        clock.advance(450_000)
        later = (await get(url))[2]
        assert (first["serverTime"], later["serverTime"]) == (1_700_000_000_000, 1_700_000_450_000)
        assert (await get(server.http_url + "/fapi/v1/time"))[2]["serverTime"] == clock.now
        assert {**first, "serverTime": 0} == {**later, "serverTime": 0}
        # The limit served is the one enforced (--weight-limit), not always Binance's 2400.
        assert first["rateLimits"][0] == {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": 1200,
        }
    finally:
        await server.stop()


async def test_a_restart_serves_the_same_positions(tmp_path: Path, keys: Keys) -> None:
    first = await make_server(tmp_path, keys)
    assert first.admin is not None
    await first.admin.fill("alice", Fill("BTCUSDT", Side.BUY, _d("0.005"), _d("21000")))
    async with websockets.connect(first.ws_url) as ws:
        before = (await ask(ws, "account.position", signed()))["result"]
    await first.stop()

    again = await make_server(tmp_path, keys, scenario=None)
    try:
        async with websockets.connect(again.ws_url) as ws:
            after = (await ask(ws, "account.position", signed()))["result"]
        assert after == before
        btc = next(r for r in after if r["symbol"] == "BTCUSDT")
        assert (btc["positionAmt"], btc["entryPrice"]) == ("0.015", "20333.3333333333")
    finally:
        await again.stop()


async def test_a_scenario_is_refused_for_a_database_with_accounts(
    tmp_path: Path, keys: Keys
) -> None:
    from posrisk.service.scenario import ScenarioError

    first = await make_server(tmp_path, keys)
    await first.stop()
    with pytest.raises(ScenarioError, match="already holds accounts"):
        await make_server(tmp_path, keys)
    reset = await make_server(tmp_path, keys, reset=True)
    await reset.stop()


async def test_graceful_shutdown_tells_clients(tmp_path: Path, keys: Keys) -> None:
    running = await make_server(tmp_path, keys)
    async with websockets.connect(running.ws_url) as ws:
        stopping = asyncio.ensure_future(running.stop())
        notice = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert notice["event"]["e"] == "serverShutdown"
        assert isinstance(notice["event"]["E"], int)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        await stopping


async def test_shutdown_ends_when_clients_answer_the_close(tmp_path: Path, keys: Keys) -> None:
    """The client's close reply ends the connection at once: shutdown does not wait out its
    grace period (here far longer than the test's timeout)."""
    running = await make_server(tmp_path, keys)
    gateway = running.gateway
    assert gateway is not None
    try:
        async with websockets.connect(running.ws_url) as ws:
            stopping = asyncio.ensure_future(gateway.shutdown(grace_s=600))
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            await asyncio.wait_for(stopping, 10)
    finally:
        await running.stop()


async def test_a_banned_ip_is_refused_at_the_handshake(tmp_path: Path, keys: Keys) -> None:
    rules = LimitRules(request_weight=10, ban_after_rejections=1)
    running = await make_server(tmp_path, keys, limits=rules)
    try:
        async with websockets.connect(running.ws_url) as ws:  # weight 5
            assert (await ask(ws, "v2/account.position", signed()))["status"] == 200  # 10
            assert (await ask(ws, "v2/account.position", signed()))["status"] == 429
            assert (await ask(ws, "v2/account.position", signed()))["status"] == 418
            # ... and the banned connection is closed after its 418 (SPEC §7).
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(running.ws_url):
                pass
        assert refused.value.response.status_code == 418
        status, _, body = await get(running.http_url + "/fapi/v1/time")
        assert (status, body["code"]) == (418, -1003)
    finally:
        await running.stop()


async def test_an_oversize_frame_closes_the_connection(server: PosriskServer) -> None:
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        await ws.send("x" * (2 << 20))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    async with websockets.connect(server.ws_url) as ws:  # the server is still serving
        assert (await ask(ws, "v2/account.position", signed()))["status"] == 200


def _d(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


async def test_health_and_metrics(server: PosriskServer) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await ask(ws, "v2/account.position", signed())
        await ask(ws, "v2/account.position", {**signed(), "signature": "0" * 64})
        await ask(ws, "nope.method", {})
        assert (await get(server.http_url + "/fapi/v1/time"))[0] == 200
        status, _, health = await get(server.http_url + "/health")
        assert status == 200
        assert (health["status"], health["accounts"], health["apiConnections"]) == ("ok", 2, 1)

        def metrics() -> str:
            with urllib.request.urlopen(server.http_url + "/metrics", timeout=5) as response:
                assert response.headers["Content-Type"].startswith("text/plain")
                return str(response.read().decode())

        text = await asyncio.to_thread(metrics)
    assert 'posrisk_requests_total{method="v2/account.position",status="200"} 1' in text
    assert 'posrisk_requests_total{method="v2/account.position",status="400"} 1' in text
    assert 'posrisk_requests_total{method="unknown",status="400"} 1' in text
    assert 'posrisk_requests_total{method="/fapi/v1/time",status="200"} 1' in text  # REST
    assert 'posrisk_request_seconds_count{method="v2/account.position"} 2' in text
    assert 'posrisk_request_seconds_bucket{method="v2/account.position",le="+Inf"} 2' in text
    assert "posrisk_api_connections 1" in text and "posrisk_banned_ips 0" in text
