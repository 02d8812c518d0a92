"""Market streams over real sockets: every path form (raw, combined, routed, subscribed),
combined framing, names not served acknowledged and silent, and subscribers forgotten on
unsubscription and disconnection. Pushes are driven by the injected sleep."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer

from ..service.conftest import Keys
from ..service.test_market_streams import GatedSleep
from .conftest import make_server

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


def gate(server: PosriskServer) -> GatedSleep:
    """Ticks come when the test releases them, never from the wall clock."""
    assert server.gateway is not None
    sleep = GatedSleep()
    server.gateway.api.market_streams.sleep = sleep
    return sleep


def stream_url(server: PosriskServer, path: str) -> str:
    return server.ws_url.replace("/ws-fapi/v1", path)


async def received(ws: Any) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached")


async def test_a_raw_mark_price_stream_on_every_path_form(server: PosriskServer) -> None:
    sleep = gate(server)
    for path in ("/market/ws/btcusdt@markPrice@1s", "/ws/btcusdt@markPrice@1s"):
        async with websockets.connect(stream_url(server, path)) as ws:
            await sleep.release()
            update = await received(ws)
            assert (update["e"], update["s"], update["p"]) == (
                "markPriceUpdate",
                "BTCUSDT",
                "21123.05052574",
            )
            assert set(update) == {"e", "E", "s", "p", "i", "P", "r", "T"}


async def test_combined_framing_and_book_ticker_on_a_mark_change(server: PosriskServer) -> None:
    sleep = gate(server)
    assert server.admin is not None
    path = "/stream?streams=ethusdt@bookTicker/!markPrice@arr@1s"
    async with websockets.connect(stream_url(server, path)) as ws:
        assert server.gateway is not None
        streams = server.gateway.api.market_streams
        await until(lambda: "2 subscribers" in repr(streams))
        await server.admin.set_marks({"ETHUSDT": Decimal("960")})
        book = await received(ws)
        assert book["stream"] == "ethusdt@bookTicker"
        assert (book["data"]["e"], book["data"]["b"], book["data"]["a"]) == (
            "bookTicker",
            "960.00",
            "960.00",
        )
        await sleep.release()
        every = await received(ws)
        assert every["stream"] == "!markPrice@arr@1s"
        assert [row["s"] for row in every["data"]] == ["BTCUSDT", "ETHUSDT"]
        assert every["data"][1]["p"] == "960.00000000"


async def test_subscribe_unsubscribe_and_names_not_served(server: PosriskServer) -> None:
    sleep = gate(server)
    assert server.gateway is not None
    streams = server.gateway.api.market_streams
    async with websockets.connect(stream_url(server, "/ws")) as ws:
        await ws.send(
            json.dumps(
                {
                    "method": "SUBSCRIBE",
                    "params": ["btcusdt@aggTrade", "btcusdt@markPrice"],
                    "id": 1,
                }
            )
        )
        assert await received(ws) == {"result": None, "id": 1}
        assert "1 subscribers" in repr(streams)  # the trade stream: acknowledged, silent
        await sleep.release(3)  # the 3 s stream: once in three ticks
        update = await received(ws)
        assert update["s"] == "BTCUSDT"
        await ws.send(
            json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@markPrice"], "id": 2})
        )
        assert await received(ws) == {"result": None, "id": 2}
        assert "0 subscribers" in repr(streams)
    async with websockets.connect(stream_url(server, "/market/ws/!markPrice@arr")) as ws:
        await until(lambda: "1 subscribers" in repr(streams))
    await until(lambda: "0 subscribers" in repr(streams))  # forgotten on disconnection


async def test_a_connection_with_a_market_stream_outlives_its_last_listen_key(
    server: PosriskServer,
) -> None:
    from ..service.conftest import HMAC_KEY
    from .test_server import ask
    from .test_user_streams import listen_key

    assert server.admin is not None
    key = await listen_key(server)
    path = f"/stream?streams={key}/btcusdt@bookTicker"
    async with websockets.connect(stream_url(server, path)) as stream:
        assert server.gateway is not None
        market = server.gateway.api.market_streams
        await until(lambda: "1 subscribers" in repr(market))
        async with websockets.connect(server.ws_url) as api:
            stopped = await ask(api, "userDataStream.stop", {"apiKey": HMAC_KEY})
            assert stopped["status"] == 200
        await server.admin.set_marks({"BTCUSDT": Decimal("30000")})
        book = await received(stream)  # still open, still delivering the market stream
        assert (book["stream"], book["data"]["b"]) == ("btcusdt@bookTicker", "30000.00")
