"""GET /fapi/v1/fundingRate: the settlements of the past, ascending, 8-decimal strings;
the last ``limit`` without times, the first from ``startTime``; Binance's refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.rest import HttpResponse, RestService

from .conftest import Services

pytestmark = pytest.mark.asyncio
D = Decimal
H8 = 8 * 3_600_000
T0 = 1_699_977_600_000  # 2023-11-14 16:00 UTC, a funding time before the clock's now


async def _get(services: Services, query: str = "", ip: str = "10.3.0.1") -> HttpResponse:
    rest = RestService(services.api, ExchangeInfo(services.api.market), services.admin)
    response = rest.handle("GET", "/fapi/v1/fundingRate", query, {}, b"", ip)
    if not isinstance(response, HttpResponse):
        response = await response
    return response


async def _rows(services: Services, query: str = "") -> Any:
    response = await _get(services, query)
    assert response.status == 200, response.body
    return orjson.loads(response.body)


async def _history(services: Services, count: int) -> None:
    store = services.store
    for n in range(count):
        time = T0 - (count - 1 - n) * H8
        await store.claim_funding("BTCUSDT", time, D("0.0001"), D("34287.546199631"), time)
        await store.claim_funding("ETHUSDT", time, D("-0.0375"), D("950"), time)


async def test_rows_are_binances_ascending_with_8_decimal_strings(services: Services) -> None:
    await _history(services, 3)
    response = await _get(services, "symbol=BTCUSDT&limit=2")
    assert (response.status, response.headers["X-MBX-USED-WEIGHT-1M"]) == (200, "1")
    assert orjson.loads(response.body) == [
        {
            "symbol": "BTCUSDT",
            "fundingRate": "0.00010000",
            "fundingTime": T0 - H8,
            "markPrice": "34287.54619963",
        },
        {
            "symbol": "BTCUSDT",
            "fundingRate": "0.00010000",
            "fundingTime": T0,
            "markPrice": "34287.54619963",
        },
    ]
    every = await _rows(services)
    assert [(r["fundingTime"], r["symbol"]) for r in every][:2] == [
        (T0 - 2 * H8, "BTCUSDT"),
        (T0 - 2 * H8, "ETHUSDT"),
    ]
    assert every[1]["fundingRate"] == "-0.03750000"


async def test_without_times_the_last_limit_with_start_time_the_first(services: Services) -> None:
    await _history(services, 150)
    default = await _rows(services, "symbol=BTCUSDT")
    assert len(default) == 100 and default[-1]["fundingTime"] == T0  # the newest 100
    first = await _rows(services, f"symbol=BTCUSDT&startTime={T0 - 149 * H8}&limit=3")
    assert [r["fundingTime"] for r in first] == [T0 - 149 * H8, T0 - 148 * H8, T0 - 147 * H8]
    until = await _rows(services, f"symbol=BTCUSDT&endTime={T0 - H8}&limit=2")
    assert [r["fundingTime"] for r in until] == [T0 - 2 * H8, T0 - H8]
    window = await _rows(services, f"symbol=ETHUSDT&startTime={T0 - H8}&endTime={T0 - H8}")
    assert [r["fundingTime"] for r in window] == [T0 - H8]  # both inclusive
    assert await _rows(services, "symbol=BNBUSDT") == []
    assert len(await _rows(services, "limit=1000")) == 300


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", -1130),
        ("limit=1001", -1130),
        ("limit=x", -1100),
        ("startTime=2&endTime=1", -1130),
        ("symbol=NOPEUSDT", -1121),
    ],
)
async def test_bad_parameters_get_binances_errors(
    services: Services, query: str, code: int
) -> None:
    response = await _get(services, query)
    assert response.status == 400
    assert orjson.loads(response.body)["code"] == code
