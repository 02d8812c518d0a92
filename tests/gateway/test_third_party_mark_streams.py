"""Real Binance clients reading the 24-hour ticker, mark klines and mark price streams off
a posrisk server, each unchanged but for its base URLs: ccxt ``fetch_ticker``,
``fetch_tickers``, ``fetch_ohlcv`` (mark) and ``watch_mark_price`` (ccxt.pro);
python-binance's ``futures_ticker``, ``futures_mark_price_klines`` and mark price socket;
the SDK's ``ticker24hr_price_change_statistics``, ``mark_price_kline_candlestick_data``
and ``mark_price_stream`` (its strict models read every field). Stream pushes come from
the injected sleep, released by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer
from posrisk.engine.klines import INTERVALS

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys
from ..service.test_market_streams import GatedSleep
from .conftest import make_server
from .test_market_streams import gate
from .test_stream_routes import base
from .test_third_party_clients import ccxt_client, close_python_binance, python_binance
from .test_third_party_market import BTC_MARK, _sdk_rest

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

T = TypeVar("T")


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


async def pumped(sleep: GatedSleep, waiting: Awaitable[T], ticks: int = 100) -> T:
    """Await ``waiting`` while releasing one tick at a time (each wait bounded)."""
    task = asyncio.ensure_future(waiting)
    for _ in range(ticks):
        done, _ = await asyncio.wait({task}, timeout=0.1)
        if done:
            return task.result()
        await sleep.release()
    task.cancel()
    raise AssertionError("no push reached the client")


async def test_ccxt_ticker_tickers_mark_ohlcv_and_watch_mark_price(server: PosriskServer) -> None:
    sleep = gate(server)
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    exchange.urls["api"]["ws"]["linear"] = base(server) + "/ws"  # → /market/ws/<n>
    try:
        ticker = await exchange.fetch_ticker("BTC/USDT:USDT")
        assert (ticker["symbol"], ticker["last"], ticker["open"]) == (
            "BTC/USDT:USDT",
            21123.05,
            21123.05,
        )
        assert (ticker["baseVolume"], ticker["percentage"]) == (0.0, 0.0)
        tickers = await exchange.fetch_tickers()
        assert {"BTC/USDT:USDT", "ETH/USDT:USDT"} <= set(tickers)
        candles = await exchange.fetch_ohlcv("BTC/USDT:USDT", "1m", params={"price": "mark"})
        assert candles[-1][1:] == [float(BTC_MARK)] * 4 + [0.0]
        hourly = await exchange.fetch_ohlcv("ETH/USDT:USDT", "1h", limit=10)
        assert hourly[-1][4] == 950.0
        mark = await pumped(sleep, exchange.watch_mark_price("BTC/USDT:USDT"))
        assert (mark["symbol"], mark["markPrice"]) == ("BTC/USDT:USDT", float(BTC_MARK))
    finally:
        await exchange.close()


async def test_python_binance_ticker_klines_and_mark_price_socket(server: PosriskServer) -> None:
    from binance.ws.streams import BinanceSocketManager

    sleep = gate(server)
    client = python_binance(server, HMAC_KEY, api_secret=HMAC_SECRET)
    try:
        ticker = await client.futures_ticker(symbol="ETHUSDT")
        assert (ticker["lastPrice"], ticker["volume"]) == ("950.00", "0")
        rows = await client.futures_mark_price_klines(symbol="BTCUSDT", interval="1m", limit=1)
        assert [row[4] for row in rows] == [BTC_MARK]
        manager = BinanceSocketManager(client)
        manager.FSTREAM_URL = base(server) + "/"  # it appends market/stream?streams=
        socket = manager.symbol_mark_price_socket("BTCUSDT")
        socket.TIMEOUT = 1  # its exit waits for the read loop's recv timeout
        async with socket:
            message = await pumped(sleep, socket.recv())
        assert message["stream"] == "btcusdt@markPrice@1s"
        assert (message["data"]["e"], message["data"]["p"]) == ("markPriceUpdate", BTC_MARK)
    finally:
        await close_python_binance(client)


async def test_binance_sdk_ticker_mark_klines_and_mark_price_stream(
    server: PosriskServer,
) -> None:
    from binance_common.configuration import ConfigurationWebSocketStreams
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )
    from binance_sdk_derivatives_trading_usds_futures.rest_api.models import enums as rest_enums
    from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models import enums

    assert {e.value for e in rest_enums.KlineCandlestickDataIntervalEnum} == set(INTERVALS)
    rest = _sdk_rest(server)  # a blocking client: its calls run off the server's loop
    one = await asyncio.to_thread(rest.ticker24hr_price_change_statistics, symbol="BTCUSDT")
    row = one.data().actual_instance
    assert (row.symbol, row.last_price, row.count) == ("BTCUSDT", "21123.05", 1)
    every = await asyncio.to_thread(rest.ticker24hr_price_change_statistics)
    assert [r.symbol for r in every.data().actual_instance] == ["BTCUSDT", "ETHUSDT"]
    interval = rest_enums.MarkPriceKlineCandlestickDataIntervalEnum.INTERVAL_1m
    klines = await asyncio.to_thread(
        rest.mark_price_kline_candlestick_data, symbol="BTCUSDT", interval=interval
    )
    assert klines.data()[-1][4] == BTC_MARK

    sleep = gate(server)
    config = ConfigurationWebSocketStreams(stream_url=base(server))
    client = DerivativesTradingUsdsFutures(config_ws_streams=config)
    connection = await client.websocket_streams.create_connection()  # type: ignore[no-untyped-call]
    try:
        updates: asyncio.Queue[Any] = asyncio.Queue()
        speed = enums.MarkPriceStreamUpdateSpeedEnum.UPDATE_SPEED_1s.value
        stream = await connection.mark_price_stream(symbol="btcusdt", update_speed=speed)
        stream.on("message", updates.put_nowait)
        update = await pumped(sleep, updates.get())
        assert (update.e, update.s, update.p, update.i, update.r) == (
            "markPriceUpdate",
            "BTCUSDT",
            BTC_MARK,
            BTC_MARK,
            "0.00010000",
        )
    finally:
        await connection.close_connection(close_session=True)
