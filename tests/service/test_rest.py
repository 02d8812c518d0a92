"""The REST GETs without a socket: ``RestService.handle(path, query, headers, ip)`` over a
real ``ApiService`` and an in-memory registry — routes, REST signing, errors, weights."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from posrisk.engine import account_position_rows, account_position_v2_rows
from posrisk.protocol import LimitRules, hmac_signature
from posrisk.protocol.limits import RequestWeightLimiter
from posrisk.service.api import ApiService
from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.rest import ROUTES, HttpResponse, RestService

from .conftest import HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, Services

pytestmark = pytest.mark.asyncio

IP = "10.0.0.7"


def rest_of(services: Services, api: ApiService | None = None) -> RestService:
    api = api or services.api
    return RestService(api, ExchangeInfo(api.market))


def signed_query(
    services: Services, secret: str = HMAC_SECRET, query: str = "", timestamp: int | None = None
) -> str:
    """``query`` plus a timestamp, signed as sent (REST signs the query string unsorted)."""
    stamp = services.clock.now_ms() if timestamp is None else timestamp
    sent = f"{query}&timestamp={stamp}" if query else f"timestamp={stamp}"
    return f"{sent}&signature={hmac_signature(secret, sent.encode())}"


def body(response: HttpResponse) -> Any:
    return orjson.loads(response.body)


async def test_time_and_ping_answer_with_the_weight_used(services: Services) -> None:
    rest = rest_of(services)
    response = rest.handle("/fapi/v1/time", "", {}, IP)
    assert (response.status, body(response)) == (200, {"serverTime": services.clock.now_ms()})
    assert response.headers == {
        "X-MBX-USED-WEIGHT-1M": "1",
        "Content-Type": "application/json",
    }
    ping = rest.handle("/api/v3/ping", "", {}, IP)
    assert (ping.status, ping.body, ping.headers["X-MBX-USED-WEIGHT-1M"]) == (200, b"{}", "2")
    assert rest.handles("/fapi/v1/ping") and not rest.handles("/fapi/v1/nothing")


async def test_position_risk_serves_the_engines_rows(services: Services) -> None:
    rest = rest_of(services)
    registry = services.registry
    alice = registry.account("alice").account
    headers = {"X-MBX-APIKEY": HMAC_KEY}

    v2 = rest.handle("/fapi/v2/positionRisk", signed_query(services), headers, IP)
    assert v2.status == 200 and v2.headers["X-MBX-USED-WEIGHT-1M"] == "5"
    every = account_position_rows(alice, registry.market, registry.marks)
    assert body(v2) == orjson.loads(orjson.dumps(every))

    v3 = rest.handle("/fapi/v3/positionRisk", signed_query(services), headers, IP)
    rows = body(v3)
    assert rows == orjson.loads(
        orjson.dumps(account_position_v2_rows(alice, registry.market, registry.marks))
    )
    assert [(r["symbol"], r["positionAmt"]) for r in rows] == [
        ("BTCUSDT", "0.010"),
        ("ETHUSDT", "-1.000"),
    ]


async def test_position_risk_for_one_symbol(services: Services) -> None:
    rest = rest_of(services)
    query = signed_query(services, HEDGE_SECRET, "symbol=BTCUSDT")
    rows = body(rest.handle("/fapi/v2/positionRisk", query, {"X-MBX-APIKEY": HEDGE_KEY}, IP))
    assert [(r["positionSide"], r["liquidationPrice"]) for r in rows] == [
        ("LONG", "19731.45529116"),
        ("SHORT", "0"),
    ]


async def test_leverage_brackets_for_one_symbol_or_all(services: Services) -> None:
    rest = rest_of(services)
    headers = {"X-MBX-APIKEY": HMAC_KEY}
    one = body(
        rest.handle(
            "/fapi/v1/leverageBracket", signed_query(services, query="symbol=BTCUSDT"), headers, IP
        )
    )
    assert (one["symbol"], one["notionalCoef"]) == ("BTCUSDT", 1.0)
    assert one["brackets"][0]["initialLeverage"] == 125
    every = body(rest.handle("/fapi/v1/leverageBracket", signed_query(services), headers, IP))
    assert len(every) == len(services.registry.market)
    assert one in every


async def test_refusals_are_code_and_msg_with_their_status(services: Services) -> None:
    rest = rest_of(services)
    headers = {"X-MBX-APIKEY": HMAC_KEY}

    def refusal(query: str, sent: dict[str, str] = headers) -> tuple[int, Any]:
        response = rest.handle("/fapi/v2/positionRisk", query, sent, IP)
        assert response.headers["Content-Type"] == "application/json"
        return response.status, body(response)

    good = signed_query(services, query="symbol=BTCUSDT")
    assert refusal(good, {}) == (401, {"code": -2014, "msg": "API-key format invalid."})
    assert refusal(good + "0")[1]["code"] == -1022  # the signature no longer matches
    unknown = signed_query(services, query="symbol=BTCUSDX")
    assert refusal(unknown) == (400, {"code": -1121, "msg": "Invalid symbol."})
    assert refusal("a=1&a=2")[1]["code"] == -1101
    many = "&".join(f"p{i}=1" for i in range(101))
    assert refusal(many) == (
        400,
        {"code": -1101, "msg": "Too many parameters; expected '100' and received '101'."},
    )
    revoked_soon = signed_query(services, HEDGE_SECRET)
    await services.admin.revoke_key("bob", HEDGE_KEY)
    assert refusal(revoked_soon, {"X-MBX-APIKEY": HEDGE_KEY})[1]["code"] == -2015


async def test_a_query_signed_in_another_order_is_refused(services: Services) -> None:
    # REST signs the query as sent: the WS API's sorted payload is not what was signed.
    rest = rest_of(services)
    stamp = services.clock.now_ms()
    sent = f"timestamp={stamp}&symbol=BTCUSDT"
    signature = hmac_signature(HMAC_SECRET, f"symbol=BTCUSDT&timestamp={stamp}".encode())
    response = rest.handle(
        "/fapi/v2/positionRisk", f"{sent}&signature={signature}", {"X-MBX-APIKEY": HMAC_KEY}, IP
    )
    assert (response.status, body(response)["code"]) == (400, -1022)


async def test_over_the_weight_a_429_that_says_when_to_retry(services: Services) -> None:
    limiter = RequestWeightLimiter(LimitRules(request_weight=6))
    api = ApiService(services.registry, limiter, services.clock)
    rest = rest_of(services, api)
    assert rest.handle("/fapi/v1/time", "", {}, IP).status == 200
    assert rest.handle("/fapi/v2/positionRisk", "", {}, IP).status == 401  # charged all the same
    refused = rest.handle("/fapi/v1/time", "", {}, IP)
    assert refused.status == 429 and body(refused)["code"] == -1003
    assert refused.headers["X-MBX-USED-WEIGHT-1M"] == "6"  # a refusal adds no weight
    assert int(refused.headers["Retry-After"]) > 0
    assert rest.handle("/fapi/v1/time", "", {}, "10.0.0.8").status == 200  # per IP


async def test_a_bug_in_a_route_costs_one_500_and_is_counted(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setitem(ROUTES, "/fapi/v1/time", (broken, 1))
    rest = rest_of(services)
    response = rest.handle("/fapi/v1/time", "", {}, IP)
    assert (response.status, body(response)) == (
        500,
        {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."},
    )
    assert rest.handle("/fapi/v1/ping", "", {}, IP).status == 200
    requests = services.api.metrics.requests
    assert (requests[("/fapi/v1/time", 500)], requests[("/fapi/v1/ping", 200)]) == (1, 1)
