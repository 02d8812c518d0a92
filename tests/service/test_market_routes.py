"""Market data from the marks over REST and the WS API: rows, weights, -1121, symbols
without a mark, the funding schedule and the order service's slippage."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.service.api import Connection
from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.funding_rates import FundingRates
from posrisk.service.rest import HttpResponse, RestService

from .conftest import Services

pytestmark = pytest.mark.asyncio

NOW = 1_700_000_000_000
NEXT_FUNDING = 1_700_006_400_000  # 2023-11-15 00:00 UTC, the next 8 h mark


def _get(services: Services, path: str, query: str = "", ip: str = "10.2.0.1") -> HttpResponse:
    rest = RestService(services.api, ExchangeInfo(services.api.market))
    response = rest.handle("GET", path, query, {}, b"", ip)
    assert isinstance(response, HttpResponse)
    return response


def _weight(response: HttpResponse) -> int:
    return int(response.headers["X-MBX-USED-WEIGHT-1M"])


def _ws(services: Services, method: str, params: dict[str, Any], ip: str) -> Any:
    frame = {"id": "m1", "method": method, "params": params}
    return json.loads(services.api.handle(Connection(ip, NOW), json.dumps(frame)))


async def test_premium_index_for_one_symbol_and_for_all(services: Services) -> None:
    one = _get(services, "/fapi/v1/premiumIndex", "symbol=BTCUSDT", ip="10.2.0.1")
    assert (one.status, _weight(one)) == (200, 1)
    assert orjson.loads(one.body) == {
        "symbol": "BTCUSDT",
        "markPrice": "21123.05052574",
        "indexPrice": "21123.05052574",
        "estimatedSettlePrice": "21123.05052574",
        "lastFundingRate": "0.00010000",
        "interestRate": "0.00010000",
        "nextFundingTime": NEXT_FUNDING,
        "time": NOW,
    }
    every = _get(services, "/fapi/v1/premiumIndex", ip="10.2.0.2")
    assert _weight(every) == 10
    rows = orjson.loads(every.body)
    assert [row["symbol"] for row in rows] == ["BTCUSDT", "ETHUSDT"]  # only the marked ones
    assert rows[1]["markPrice"] == "950.00000000"


async def test_a_symbol_without_a_mark_is_zeros_alone(services: Services) -> None:
    assert "BNBUSDT" in services.api.market and "BNBUSDT" not in services.registry.marks
    row = orjson.loads(_get(services, "/fapi/v1/premiumIndex", "symbol=BNBUSDT").body)
    assert row["markPrice"] == row["indexPrice"] == "0.00000000"
    price = orjson.loads(_get(services, "/fapi/v1/ticker/price", "symbol=BNBUSDT").body)
    assert float(price["price"]) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/fapi/v1/premiumIndex",
        "/fapi/v1/ticker/price",
        "/fapi/v2/ticker/price",
        "/fapi/v1/ticker/bookTicker",
    ],
)
async def test_an_unknown_symbol_is_1121(services: Services, path: str) -> None:
    response = _get(services, path, "symbol=NOPEUSDT")
    assert (response.status, orjson.loads(response.body)) == (
        400,
        {"code": -1121, "msg": "Invalid symbol."},
    )


async def test_the_funding_schedule_drives_rates_and_funding_info(services: Services) -> None:
    assert orjson.loads(_get(services, "/fapi/v1/fundingInfo").body) == []
    services.api.rates = FundingRates(services.registry, services.clock, admin=services.admin)
    await services.api.rates.set({"BTCUSDT": {"rate": "0.0003", "intervalHours": 4}})
    row = orjson.loads(_get(services, "/fapi/v1/premiumIndex", "symbol=BTCUSDT").body)
    assert (row["lastFundingRate"], row["nextFundingTime"]) == ("0.00030000", NEXT_FUNDING)
    info = _get(services, "/fapi/v1/fundingInfo", ip="10.2.0.9")
    assert _weight(info) == 0
    assert orjson.loads(info.body) == [
        {
            "symbol": "BTCUSDT",
            "adjustedFundingRateCap": "0.02000000",
            "adjustedFundingRateFloor": "-0.02000000",
            "fundingIntervalHours": 4,
            "disclaimer": False,
        }
    ]


@pytest.mark.parametrize("path", ["/fapi/v1/ticker/price", "/fapi/v2/ticker/price"])
async def test_ticker_price_is_the_mark_on_the_tick(services: Services, path: str) -> None:
    one = _get(services, path, "symbol=BTCUSDT", ip="10.3.0.1")
    assert (_weight(one), orjson.loads(one.body)) == (
        1,
        {"symbol": "BTCUSDT", "price": "21123.05", "time": NOW},
    )
    every = _get(services, path, ip="10.3.0.2")
    assert _weight(every) == 2
    assert [row["price"] for row in orjson.loads(every.body)] == ["21123.05", "950.00"]


async def test_book_ticker_with_and_without_slippage(services: Services) -> None:
    one = _get(services, "/fapi/v1/ticker/bookTicker", "symbol=ETHUSDT", ip="10.4.0.1")
    assert (_weight(one), orjson.loads(one.body)) == (
        2,
        {
            "symbol": "ETHUSDT",
            "bidPrice": "950.00",
            "bidQty": "10000000.000",
            "askPrice": "950.00",
            "askQty": "10000000.000",
            "time": NOW,
        },
    )
    every = _get(services, "/fapi/v1/ticker/bookTicker", ip="10.4.0.2")
    assert _weight(every) == 5 and len(orjson.loads(every.body)) == 2

    class Orders:  # the one attribute the book reads of the order service
        slippage = Decimal("0.001")

    services.api.orders = Orders()  # type: ignore[assignment]
    row = orjson.loads(_get(services, "/fapi/v1/ticker/bookTicker", "symbol=ETHUSDT").body)
    assert (row["bidPrice"], row["askPrice"]) == ("949.05", "950.95")


async def test_ws_ticker_price_and_book_weigh_by_symbol(services: Services) -> None:
    price = _ws(services, "ticker.price", {"symbol": "BTCUSDT"}, "10.5.0.1")
    assert price["status"] == 200
    assert price["result"] == {"symbol": "BTCUSDT", "price": "21123.05", "time": NOW}
    assert price["rateLimits"][0]["count"] == 1
    every = _ws(services, "ticker.price", {}, "10.5.0.2")
    assert every["rateLimits"][0]["count"] == 2 and len(every["result"]) == 2
    book = _ws(services, "ticker.book", {"symbol": "ETHUSDT"}, "10.5.0.3")
    assert book["rateLimits"][0]["count"] == 2
    assert list(book["result"])[:2] == ["lastUpdateId", "symbol"]
    assert book["result"]["lastUpdateId"] == services.registry.marks_version
    assert book["result"]["bidPrice"] == "950.00"
    books = _ws(services, "ticker.book", {}, "10.5.0.4")
    assert books["rateLimits"][0]["count"] == 5 and len(books["result"]) == 2
    unknown = _ws(services, "ticker.price", {"symbol": "NOPEUSDT"}, "10.5.0.5")
    assert (unknown["status"], unknown["error"]["code"]) == (400, -1121)
