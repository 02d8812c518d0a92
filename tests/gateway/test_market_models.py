"""The funding and market data answers, read raw off a served posrisk, against the strict
pydantic models of Binance's SDK (binance_sdk_derivatives_trading_usds_futures): every
field one the model knows (nothing left in ``additional_properties``), every value of the
model's type (its ``StrictStr``/``StrictInt``/``StrictBool`` do not coerce), and the
model's dump equal to what was sent. premiumIndex, fundingRate, fundingInfo, ticker/24hr,
ticker/price (v1, v2), bookTicker, klines and markPriceKlines (the SDK hands their rows
over untyped: the row's 12 fields are checked here), income; and the stream events
markPriceUpdate, !markPrice@arr, bookTicker and !bookTicker.

The server: the known scenario, BTCUSDT on a 4-hour interval (so fundingInfo lists it),
the clock moved past a funding time so fundingRate and the income hold settlements."""

from __future__ import annotations

import asyncio
import contextlib
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
from posrisk.protocol import canonical_payload, hmac_signature

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server
from .test_funding_rates import public
from .test_market_streams import gate, stream_url, until
from .test_third_party_market import clear_of_funding_times

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

MODELS = "binance_sdk_derivatives_trading_usds_futures.rest_api.models"
STREAM_MODELS = "binance_sdk_derivatives_trading_usds_futures.websocket_streams.models"
HOUR = 3_600_000


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, clock=clear_of_funding_times())
    assert running.rates is not None and running.clock_control is not None
    await running.rates.set({"BTCUSDT": {"intervalHours": 4}})
    await running.clock_control.advance(8 * HOUR)  # one or two funding times of each
    yield running
    await running.stop()


def model(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(module), name)


def strict(cls: Any, payload: dict[str, Any]) -> Any:
    """``payload`` as ``cls`` reads it: every field known, typed, and dumped back alike."""
    parsed = cls.from_dict(payload)
    assert parsed.additional_properties == {}, f"{cls.__name__}: unknown fields"
    assert parsed.to_dict() == payload
    return parsed


def strict_rows(cls: Any, rows: list[dict[str, Any]]) -> list[Any]:
    assert rows, "nothing to check"
    return [strict(cls, row) for row in rows]


async def signed_get(server: PosriskServer, path: str, **params: Any) -> Any:
    params = {**params, "timestamp": int(time.time() * 1000)}
    payload = canonical_payload(params)
    query = f"{payload.decode()}&signature={hmac_signature(HMAC_SECRET, payload)}"
    async with (
        aiohttp.ClientSession(headers={"X-MBX-APIKEY": HMAC_KEY}) as session,
        session.get(f"{server.http_url}{path}?{query}") as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


@pytest.mark.parametrize(
    ("path", "one", "inner"),
    [
        ("/fapi/v1/premiumIndex", "MarkPriceResponse1", "MarkPriceResponse2Inner"),
        (
            "/fapi/v1/ticker/24hr",
            "Ticker24hrPriceChangeStatisticsResponse1",
            "Ticker24hrPriceChangeStatisticsResponse2Inner",
        ),
        ("/fapi/v1/ticker/price", "SymbolPriceTickerResponse1", "SymbolPriceTickerResponse2Inner"),
        (
            "/fapi/v2/ticker/price",
            "SymbolPriceTickerV2Response1",
            "SymbolPriceTickerResponse2Inner",
        ),
        (
            "/fapi/v1/ticker/bookTicker",
            "SymbolOrderBookTickerResponse1",
            "SymbolOrderBookTickerResponse2Inner",
        ),
    ],
)
async def test_one_symbol_and_every_symbol_as_the_sdk_reads_them(
    server: PosriskServer, path: str, one: str, inner: str
) -> None:
    single = await public(server, f"{path}?symbol=BTCUSDT")
    assert strict(model(MODELS, one), single).symbol == "BTCUSDT"
    every = strict_rows(model(MODELS, inner), await public(server, path))
    assert [row.symbol for row in every] == ["BTCUSDT", "ETHUSDT"]


async def test_premium_index_holds_the_next_funding_time_and_rate(server: PosriskServer) -> None:
    row = strict(
        model(MODELS, "MarkPriceResponse1"),
        await public(server, "/fapi/v1/premiumIndex?symbol=BTCUSDT"),
    )
    now = server.clock.now_ms()
    assert row.next_funding_time == (now // (4 * HOUR) + 1) * 4 * HOUR
    assert (row.mark_price, row.last_funding_rate, row.interest_rate) == (
        "21123.05052574",
        "0.00010000",
        "0.00010000",
    )


async def test_funding_rate_and_funding_info(server: PosriskServer) -> None:
    history = strict_rows(
        model(MODELS, "GetFundingRateHistoryResponseInner"),
        await public(server, "/fapi/v1/fundingRate?symbol=ETHUSDT"),
    )
    [settled] = history  # eight hours cross one 8-hour funding time
    assert settled.funding_time % (8 * HOUR) == 0 and settled.mark_price == "950.00000000"
    [info] = strict_rows(
        model(MODELS, "GetFundingRateInfoResponseInner"),
        await public(server, "/fapi/v1/fundingInfo"),
    )
    assert (info.symbol, info.funding_interval_hours, info.disclaimer) == ("BTCUSDT", 4, False)


async def test_income_rows(server: PosriskServer) -> None:
    rows = strict_rows(
        model(MODELS, "GetIncomeHistoryResponseInner"),
        await signed_get(server, "/fapi/v1/income", incomeType="FUNDING_FEE"),
    )
    assert {row.symbol for row in rows} == {"BTCUSDT", "ETHUSDT"}
    assert all(isinstance(row.tran_id, int) and row.trade_id == "" for row in rows)
    eth = [row.income for row in rows if row.symbol == "ETHUSDT"]
    assert eth == ["0.09500000"]  # short 1 at 950, rate 0.0001: received


@pytest.mark.parametrize("path", ["/fapi/v1/klines", "/fapi/v1/markPriceKlines"])
async def test_kline_rows(server: PosriskServer, path: str) -> None:
    # The SDK hands rows of rows over as parsed JSON (its kline models take no rows):
    # Binance's documented row is checked here instead.
    rows = await public(server, f"{path}?symbol=ETHUSDT&interval=1h&limit=3")
    assert len(rows) == 3
    for row in rows:
        assert len(row) == 12
        ints, texts = [row[i] for i in (0, 6, 8)], [row[i] for i in (1, 2, 3, 4, 5, 7, 9, 10, 11)]
        assert all(type(value) is int for value in ints), row
        assert all(isinstance(value, str) for value in texts), row
    close = "950.00" if path.endswith("/klines") else "950.00000000"
    assert rows[-1][4] == close


async def test_stream_events(server: PosriskServer) -> None:
    sleep = gate(server)
    names = "btcusdt@markPrice@1s/!markPrice@arr@1s/ethusdt@bookTicker/!bookTicker"
    seen: dict[str, Any] = {}
    async with websockets.connect(stream_url(server, f"/market/stream?streams={names}")) as ws:
        assert server.gateway is not None and server.admin is not None
        streams = server.gateway.api.market_streams
        await until(lambda: "4 subscribers" in repr(streams))
        await server.admin.set_marks({"ETHUSDT": Decimal("960")})
        for _ in range(10):  # !bookTicker comes every fifth tick
            await sleep.release()
            with contextlib.suppress(TimeoutError):
                while True:  # what the tick pushed, until the socket is quiet
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                    seen.setdefault(frame["stream"], frame["data"])
            if len(seen) == 4:
                break
    assert set(seen) == set(names.split("/"))
    mark = strict(model(STREAM_MODELS, "MarkPriceStreamResponse"), seen["btcusdt@markPrice@1s"])
    assert (mark.e, mark.p, mark.r) == ("markPriceUpdate", "21123.05052574", "0.00010000")
    rows = strict_rows(
        model(STREAM_MODELS, "MarkPriceStreamForAllMarketResponseInner"),
        seen["!markPrice@arr@1s"],
    )
    assert [(row.s, row.p) for row in rows] == [
        ("BTCUSDT", "21123.05052574"),
        ("ETHUSDT", "960.00000000"),
    ]
    book = strict(
        model(STREAM_MODELS, "IndividualSymbolBookTickerStreamsResponse"),
        seen["ethusdt@bookTicker"],
    )
    assert (book.e, book.s, book.b, book.a) == ("bookTicker", "ETHUSDT", "960.00", "960.00")
    every = strict(model(STREAM_MODELS, "AllBookTickersStreamResponse"), seen["!bookTicker"])
    assert every.e == "bookTicker"
