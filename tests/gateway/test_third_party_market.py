"""Real Binance clients reading market data from the marks off a posrisk server, each
unchanged but for its base URLs: ccxt ``fetch_mark_price``, ``fetch_mark_prices``,
``fetch_funding_rate``, ``fetch_funding_rates``, python-binance
``futures_mark_price``, ``futures_symbol_ticker``, ``futures_orderbook_ticker`` and the
SDK's ``mark_price``, ``symbol_price_ticker`` (its strict models read every field)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer
from posrisk.engine.funding import next_funding_time
from posrisk.service.clock import OffsetClock

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server
from .test_third_party_clients import ccxt_client, close_python_binance, python_binance

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

# The known scenario's marks.
BTC_MARK, ETH_MARK = "21123.05052574", "950"
HOUR = 3_600_000


def clear_of_funding_times() -> OffsetClock:
    """A server clock an hour past a funding time of every interval of 2 hours or more, so
    none falls between what a test works out and what the server answers, unless the test
    moves the clock (the machine's clock would need hours to reach the next)."""
    clock = OffsetClock()
    clock.advance(-(clock.now_ms() - HOUR) % (8 * HOUR))
    return clock


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, clock=clear_of_funding_times())
    yield running
    await running.stop()


async def test_ccxt_fetch_mark_price(server: PosriskServer) -> None:
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    try:
        ticker = await exchange.fetch_mark_price("BTC/USDT:USDT")
        assert (ticker["symbol"], ticker["markPrice"], ticker["indexPrice"]) == (
            "BTC/USDT:USDT",
            float(BTC_MARK),
            float(BTC_MARK),
        )
        funding = await exchange.fetch_funding_rate("ETH/USDT:USDT")
        assert (funding["fundingRate"], funding["markPrice"]) == (0.0001, 950.0)
        assert funding["fundingTimestamp"] % (8 * 3_600_000) == 0  # ccxt: the next one
    finally:
        await exchange.close()


async def test_python_binance_mark_price_and_tickers(server: PosriskServer) -> None:
    client = python_binance(server, HMAC_KEY, api_secret=HMAC_SECRET)
    try:
        mark = await client.futures_mark_price(symbol="BTCUSDT")
        assert (mark["markPrice"], mark["lastFundingRate"]) == ("21123.05052574", "0.00010000")
        marks = await client.futures_mark_price()
        assert [row["symbol"] for row in marks] == ["BTCUSDT", "ETHUSDT"]
        price = await client.futures_symbol_ticker(symbol="BTCUSDT")
        assert price["price"] == "21123.05"
        book = await client.futures_orderbook_ticker(symbol="ETHUSDT")
        assert (book["bidPrice"], book["askPrice"]) == ("950.00", "950.00")
    finally:
        await close_python_binance(client)


def _sdk_rest(server: PosriskServer) -> Any:
    from binance_common.configuration import ConfigurationRestAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    config = ConfigurationRestAPI(base_path=server.http_url)
    return DerivativesTradingUsdsFutures(config_rest_api=config).rest_api


async def test_binance_sdk_mark_price_and_symbol_price_ticker(server: PosriskServer) -> None:
    rest = _sdk_rest(server)  # a blocking client: its calls run off the server's loop
    one = (await asyncio.to_thread(rest.mark_price, symbol="BTCUSDT")).data().actual_instance
    assert (one.mark_price, one.index_price, one.interest_rate) == (
        BTC_MARK,
        BTC_MARK,
        "0.00010000",
    )
    every = (await asyncio.to_thread(rest.mark_price)).data().actual_instance
    assert [row.symbol for row in every] == ["BTCUSDT", "ETHUSDT"]
    price = (await asyncio.to_thread(rest.symbol_price_ticker, symbol="ETHUSDT")).data()
    assert price.actual_instance.price == "950.00"
    book = (await asyncio.to_thread(rest.symbol_order_book_ticker, symbol="BTCUSDT")).data()
    assert book.actual_instance.bid_price == "21123.05"


async def test_ccxt_fetch_mark_prices_and_funding_rates(server: PosriskServer) -> None:
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    try:
        marks = await exchange.fetch_mark_prices()  # GET /fapi/v1/premiumIndex, every symbol
        assert {symbol: row["markPrice"] for symbol, row in marks.items()} == {
            "BTC/USDT:USDT": float(BTC_MARK),
            "ETH/USDT:USDT": float(ETH_MARK),
        }
        rates = await exchange.fetch_funding_rates()
        due = next_funding_time(server.clock.now_ms(), 8)  # the default interval
        assert {
            symbol: (row["markPrice"], row["fundingRate"], row["fundingTimestamp"])
            for symbol, row in rates.items()
        } == {
            "BTC/USDT:USDT": (float(BTC_MARK), 0.0001, due),
            "ETH/USDT:USDT": (float(ETH_MARK), 0.0001, due),
        }
    finally:
        await exchange.close()
