"""ticker/24hr, markPriceKlines and klines over REST from the marks' history: Binance's
fields and rows, the weights (1 / 40; by limit), and Binance's refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.kline_routes import kline_weight
from posrisk.service.rest import HttpResponse, RestService

from .conftest import Services

pytestmark = pytest.mark.asyncio

NOW = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
MINUTE = 60_000
OPEN_MINUTE = NOW - NOW % MINUTE


def _get(services: Services, path: str, query: str = "", ip: str = "10.3.0.1") -> HttpResponse:
    rest = RestService(services.api, ExchangeInfo(services.api.market))
    response = rest.handle("GET", path, query, {}, b"", ip)
    assert isinstance(response, HttpResponse)
    return response


def _body(response: HttpResponse) -> Any:
    return orjson.loads(response.body)


def _weight(response: HttpResponse) -> int:
    return int(response.headers["X-MBX-USED-WEIGHT-1M"])


async def _walk(services: Services) -> None:
    """BTCUSDT: 21123.05052574 at NOW (loaded), 21500.5 a minute on, 20900 3 minutes on."""
    for minutes, mark in ((1, "21500.5"), (3, "20900")):
        services.clock.now = NOW + minutes * MINUTE
        await services.admin.set_marks({"BTCUSDT": Decimal(mark)})
    services.clock.now = NOW + 3 * MINUTE + 30_000


async def test_ticker_24hr_for_one_symbol(services: Services) -> None:
    await _walk(services)
    response = _get(services, "/fapi/v1/ticker/24hr", "symbol=BTCUSDT")
    assert (response.status, _weight(response)) == (200, 1)
    now = services.clock.now
    assert _body(response) == {
        "symbol": "BTCUSDT",
        "priceChange": "-223.05",
        "priceChangePercent": "-1.056",
        "weightedAvgPrice": "21271.49",  # by time, each mark from its minute on
        "lastPrice": "20900.00",
        "lastQty": "0",
        "openPrice": "21123.05",
        "highPrice": "21500.50",
        "lowPrice": "20900.00",
        "volume": "0",
        "quoteVolume": "0",
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": -1,
        "lastId": -1,
        "count": 3,
    }


async def test_ticker_24hr_for_every_marked_symbol_weighs_40(services: Services) -> None:
    response = _get(services, "/fapi/v1/ticker/24hr")
    assert _weight(response) == 40
    rows = _body(response)
    assert [row["symbol"] for row in rows] == ["BTCUSDT", "ETHUSDT"]
    assert rows[1]["lastPrice"] == rows[1]["openPrice"] == "950.00"
    assert rows[1]["priceChange"] == "0.00" and rows[1]["priceChangePercent"] == "0.000"


async def test_a_symbol_without_a_mark_is_zeros(services: Services) -> None:
    row = _body(_get(services, "/fapi/v1/ticker/24hr", "symbol=BNBUSDT"))
    assert float(row["lastPrice"]) == 0 and row["priceChangePercent"] == "0.000"
    assert _body(_get(services, "/fapi/v1/markPriceKlines", "symbol=BNBUSDT&interval=1m")) == []


async def test_mark_price_klines_rows_as_binance(services: Services) -> None:
    await _walk(services)
    response = _get(services, "/fapi/v1/markPriceKlines", "symbol=BTCUSDT&interval=1m")
    assert (response.status, _weight(response)) == (200, 5)  # limit 500 by default
    rows = _body(response)
    assert [row[0] for row in rows] == [OPEN_MINUTE + k * MINUTE for k in range(4)]
    assert rows[0] == [
        OPEN_MINUTE,
        "21123.05052574",
        "21123.05052574",
        "21123.05052574",
        "21123.05052574",
        "0",
        OPEN_MINUTE + MINUTE - 1,
        "0",
        1,
        "0",
        "0",
        "0",
    ]
    assert rows[1][1:5] == ["21123.05052574", "21500.50000000", "21123.05052574", "21500.50000000"]
    assert rows[2][1:5] == ["21500.50000000"] * 4 and rows[2][8] == 0  # carried
    five = _body(_get(services, "/fapi/v1/markPriceKlines", "symbol=BTCUSDT&interval=5m"))
    assert [row[1:5] for row in five] == [  # 22:10 and 22:15
        ["21123.05052574", "21500.50000000", "21123.05052574", "21500.50000000"],
        ["21500.50000000", "21500.50000000", "20900.00000000", "20900.00000000"],
    ]


async def test_klines_are_the_mark_at_the_tick_without_volume(services: Services) -> None:
    await _walk(services)
    query = f"symbol=BTCUSDT&interval=1m&startTime={OPEN_MINUTE}&limit=2"
    response = _get(services, "/fapi/v1/klines", query)
    assert _weight(response) == 1
    rows = _body(response)
    assert rows == [
        [OPEN_MINUTE, *["21123.05"] * 4, "0", OPEN_MINUTE + MINUTE - 1, "0", 0, "0", "0", "0"],
        [
            OPEN_MINUTE + MINUTE,
            "21123.05",
            "21500.50",
            "21123.05",
            "21500.50",
            "0",
            OPEN_MINUTE + 2 * MINUTE - 1,
            "0",
            0,
            "0",
            "0",
            "0",
        ],
    ]
    for interval in ("1h", "4h", "1d", "3d", "1w", "1M"):
        [row] = _body(_get(services, "/fapi/v1/klines", f"symbol=BTCUSDT&interval={interval}"))
        assert row[4] == "20900.00"


@pytest.mark.parametrize(
    ("query", "code", "msg"),
    [
        ("interval=1m", -1102, "Mandatory parameter 'symbol' was not sent"),
        ("symbol=NOPEUSDT&interval=1m", -1121, "Invalid symbol."),
        ("symbol=BTCUSDT", -1102, "Mandatory parameter 'interval' was not sent"),
        ("symbol=BTCUSDT&interval=2m", -1120, "Invalid interval."),
        ("symbol=BTCUSDT&interval=1M&limit=1501", -1130, "parameter 'limit'"),
        ("symbol=BTCUSDT&interval=1m&limit=0", -1130, "parameter 'limit'"),
        ("symbol=BTCUSDT&interval=1m&startTime=2&endTime=1", -1130, "parameter 'startTime'"),
        ("symbol=BTCUSDT&interval=1m&startTime=-1", -1100, "startTime"),
    ],
)
@pytest.mark.parametrize("path", ["/fapi/v1/klines", "/fapi/v1/markPriceKlines"])
async def test_refusals_as_binance(
    services: Services, path: str, query: str, code: int, msg: str
) -> None:
    response = _get(services, path, query)
    body = _body(response)
    assert (response.status, body["code"]) == (400, code)
    assert msg in body["msg"]


async def test_kline_weight_by_limit() -> None:
    assert [kline_weight(f"limit={n}", b"") for n in (1, 99, 100, 499, 500, 1000, 1001)] == [
        1,
        1,
        2,
        2,
        5,
        5,
        10,
    ]
    assert kline_weight("", b"") == kline_weight("limit=x", b"") == 5
