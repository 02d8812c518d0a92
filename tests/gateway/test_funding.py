"""Funding on a served posrisk: ACCOUNT_UPDATE FUNDING_FEE on the user stream (cross: the
balance only, ``"P":[]``; isolated: the balance and that side), and the settlement history
read by real clients unchanged but for their base URLs: ccxt
``fetch_funding_rate_history``, python-binance ``futures_funding_rate`` and the SDK's
``get_funding_rate_history``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer
from posrisk.service.clock import ManualClock

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server
from .test_third_party_clients import ccxt_client, close_python_binance, python_binance
from .test_third_party_market import _sdk_rest
from .test_user_streams import listen_key

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

T = 1_700_006_400_000  # 2023-11-15 00:00 UTC, the first funding time after the clock's start


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, clock=ManualClock(1_700_000_000_000))
    yield running
    await running.stop()


async def settle(server: PosriskServer, now: int) -> int:
    assert server.funding is not None and isinstance(server.clock, ManualClock)
    server.clock.now = now
    return await server.funding.settle_due()


async def next_event(stream: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(stream.recv(), 5))  # type: ignore[no-any-return]


async def test_funding_fees_reach_the_user_stream_in_binances_shapes(
    server: PosriskServer,
) -> None:
    key = await listen_key(server)
    base = server.ws_url.replace("/ws-fapi/v1", "")
    async with websockets.connect(f"{base}/ws/{key}") as stream:
        await asyncio.sleep(0.05)
        # alice: BTCUSDT cross long 0.010, ETHUSDT isolated short 1 (marks 21123.05…, 950).
        assert await settle(server, T + 200) == 2
        cross = await next_event(stream)
        assert (cross["e"], cross["E"], cross["T"]) == ("ACCOUNT_UPDATE", T, T)
        assert cross["a"]["m"] == "FUNDING_FEE"
        assert cross["a"]["P"] == []
        [balance] = cross["a"]["B"]
        assert (balance["a"], balance["bc"]) == ("USDT", "-0.02112305")
        isolated = await next_event(stream)
        assert isolated["a"]["m"] == "FUNDING_FEE"
        assert isolated["a"]["B"][0]["bc"] == "0.095"
        [position] = isolated["a"]["P"]
        assert (position["s"], position["ps"], position["pa"]) == ("ETHUSDT", "BOTH", "-1")
        assert await settle(server, T + 400) == 0  # once
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(stream.recv(), 0.3)


async def test_real_clients_read_the_funding_history(server: PosriskServer) -> None:
    assert await settle(server, T + 200) == 2
    assert await settle(server, T + 8 * 3_600_000 + 200) == 2
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    try:
        history = await exchange.fetch_funding_rate_history("BTC/USDT:USDT")
        assert [(h["timestamp"], h["fundingRate"]) for h in history] == [
            (T, 0.0001),
            (T + 8 * 3_600_000, 0.0001),
        ]
        since = await exchange.fetch_funding_rate_history("ETH/USDT:USDT", since=T + 1, limit=5)
        assert [h["timestamp"] for h in since] == [T + 8 * 3_600_000]
    finally:
        await exchange.close()
    client = python_binance(server, HMAC_KEY, api_secret=HMAC_SECRET)
    try:
        rows = await client.futures_funding_rate(symbol="BTCUSDT", limit=1)
        assert rows == [
            {
                "symbol": "BTCUSDT",
                "fundingRate": "0.00010000",
                "fundingTime": T + 8 * 3_600_000,
                "markPrice": "21123.05052574",
            }
        ]
    finally:
        await close_python_binance(client)
    rest = _sdk_rest(server)  # a blocking client: its calls run off the server's loop
    answer = await asyncio.to_thread(rest.get_funding_rate_history, symbol="ETHUSDT")
    rows = answer.data()
    assert [(r.symbol, r.funding_rate, r.funding_time, r.mark_price) for r in rows] == [
        ("ETHUSDT", "0.00010000", T, "950.00000000"),
        ("ETHUSDT", "0.00010000", T + 8 * 3_600_000, "950.00000000"),
    ]
