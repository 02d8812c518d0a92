"""The REST GETs without a socket: ``RestService.handle(path, query, headers, ip)`` over a
real ``ApiService`` and an in-memory registry — routes, REST signing, errors, weights."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import pytest

from posrisk.engine import (
    EngineError,
    Order,
    OrderType,
    Side,
    account_position_rows,
    account_position_v2_rows,
)
from posrisk.engine import errors as engine_errors
from posrisk.protocol import LimitRules, WireError, hmac_signature, load_private_key
from posrisk.protocol.limits import RequestWeightLimiter
from posrisk.service.api import ApiService
from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.rest import ROUTES, HttpResponse, RestRequest, RestService, request_params

from .conftest import ED_KEY, HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, Keys, Services

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


def get(
    rest: RestService,
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    ip: str = IP,
) -> HttpResponse:
    """A GET answered at once (every GET route here is synchronous)."""
    response = rest.handle("GET", path, query, headers or {}, b"", ip)
    assert isinstance(response, HttpResponse)
    return response


async def test_time_and_ping_answer_with_the_weight_used(services: Services) -> None:
    rest = rest_of(services)
    response = get(rest, "/fapi/v1/time", "", {})
    assert (response.status, body(response)) == (200, {"serverTime": services.clock.now_ms()})
    assert response.headers == {
        "X-MBX-USED-WEIGHT-1M": "1",
        "Content-Type": "application/json",
    }
    ping = get(rest, "/api/v3/ping", "", {})
    assert (ping.status, ping.body, ping.headers["X-MBX-USED-WEIGHT-1M"]) == (200, b"{}", "2")
    assert rest.handles("GET", "/fapi/v1/ping") and not rest.handles("POST", "/fapi/v1/ping")


async def test_position_risk_serves_the_engines_rows(services: Services) -> None:
    rest = rest_of(services)
    registry = services.registry
    alice = registry.account("alice").account
    headers = {"X-MBX-APIKEY": HMAC_KEY}

    v2 = get(rest, "/fapi/v2/positionRisk", signed_query(services), headers)
    assert v2.status == 200 and v2.headers["X-MBX-USED-WEIGHT-1M"] == "5"
    every = account_position_rows(alice, registry.market, registry.marks)
    assert body(v2) == orjson.loads(orjson.dumps(every))

    v3 = get(rest, "/fapi/v3/positionRisk", signed_query(services), headers)
    rows = body(v3)
    assert rows == orjson.loads(
        orjson.dumps(account_position_v2_rows(alice, registry.market, registry.marks))
    )
    assert [(r["symbol"], r["positionAmt"]) for r in rows] == [
        ("BTCUSDT", "0.010"),
        ("ETHUSDT", "-1.000"),
    ]


async def test_position_risk_v3_shows_what_open_orders_hold(services: Services) -> None:
    # A side kept only by an order is a zero row (Binance, measured 2026-07); the other
    # sides carry their orders' margin and notional.
    entry = services.registry.account("alice")
    orders = [
        Order(1, "a", "SOLUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.5"), Decimal("92.52")),
        Order(2, "b", "BTCUSDT", Side.SELL, OrderType.LIMIT, Decimal("0.004"), Decimal("99000")),
    ]
    entry.account = replace(entry.account, orders={o.order_id: o for o in orders})
    entry.version += 1
    headers = {"X-MBX-APIKEY": HMAC_KEY}
    rows = body(get(rest_of(services), "/fapi/v3/positionRisk", signed_query(services), headers))
    keys = ("symbol", "positionAmt", "openOrderInitialMargin", "bidNotional", "askNotional")
    picked = [tuple(r[k] for k in keys) for r in rows]
    assert picked == [
        # alice's BTCUSDT long 0.010: the SELL only closes, no margin.
        ("BTCUSDT", "0.010", "0", "0", "396"),
        ("ETHUSDT", "-1.000", "0", "0", "0"),
        # 0.5 × 92.52 / 20
        ("SOLUSDT", "0", "2.313", "46.26", "0"),
    ]


async def test_position_risk_for_one_symbol(services: Services) -> None:
    rest = rest_of(services)
    query = signed_query(services, HEDGE_SECRET, "symbol=BTCUSDT")
    rows = body(get(rest, "/fapi/v2/positionRisk", query, {"X-MBX-APIKEY": HEDGE_KEY}))
    assert [(r["positionSide"], r["liquidationPrice"]) for r in rows] == [
        ("LONG", "19731.45529116"),
        ("SHORT", "0"),
    ]


async def test_leverage_brackets_for_one_symbol_or_all(services: Services) -> None:
    rest = rest_of(services)
    headers = {"X-MBX-APIKEY": HMAC_KEY}
    one = body(
        get(
            rest,
            "/fapi/v1/leverageBracket",
            signed_query(services, query="symbol=BTCUSDT"),
            headers,
        )
    )
    assert (one["symbol"], one["notionalCoef"]) == ("BTCUSDT", 1.0)
    assert one["brackets"][0]["initialLeverage"] == 125
    every = body(get(rest, "/fapi/v1/leverageBracket", signed_query(services), headers))
    assert len(every) == len(services.registry.market)
    assert one in every


async def test_refusals_are_code_and_msg_with_their_status(services: Services) -> None:
    rest = rest_of(services)
    headers = {"X-MBX-APIKEY": HMAC_KEY}

    def refusal(query: str, sent: dict[str, str] = headers) -> tuple[int, Any]:
        response = get(rest, "/fapi/v2/positionRisk", query, sent)
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
    response = get(
        rest, "/fapi/v2/positionRisk", f"{sent}&signature={signature}", {"X-MBX-APIKEY": HMAC_KEY}
    )
    assert (response.status, body(response)["code"]) == (400, -1022)


async def test_over_the_weight_a_429_that_says_when_to_retry(services: Services) -> None:
    limiter = RequestWeightLimiter(LimitRules(request_weight=6))
    api = ApiService(services.registry, limiter, services.clock)
    rest = rest_of(services, api)
    assert get(rest, "/fapi/v1/time", "", {}).status == 200
    assert get(rest, "/fapi/v2/positionRisk", "", {}).status == 401  # charged all the same
    refused = get(rest, "/fapi/v1/time", "", {})
    assert refused.status == 429 and body(refused)["code"] == -1003
    assert refused.headers["X-MBX-USED-WEIGHT-1M"] == "6"  # a refusal adds no weight
    assert int(refused.headers["Retry-After"]) > 0
    assert get(rest, "/fapi/v1/time", "", {}, "10.0.0.8").status == 200  # per IP


async def test_a_bug_in_a_route_costs_one_500_and_is_counted(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setitem(ROUTES, ("GET", "/fapi/v1/time"), (broken, 1))
    rest = rest_of(services)
    response = get(rest, "/fapi/v1/time", "", {})
    assert (response.status, body(response)) == (
        500,
        {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."},
    )
    assert get(rest, "/fapi/v1/ping", "", {}).status == 200
    requests = services.api.metrics.requests
    assert (requests[("/fapi/v1/time", 500)], requests[("/fapi/v1/ping", 200)]) == (1, 1)


async def answer(rest: RestService, method: str, path: str, *args: Any) -> HttpResponse:
    """Any request: ``args`` are query, headers, body (as far as given); awaited if async."""
    defaults: tuple[Any, ...] = ("", {}, b"")
    query, headers, sent = (*args, *defaults[len(args) :])
    response = rest.handle(method, path, query, headers, sent, IP)
    if not isinstance(response, HttpResponse):
        response = await response
    return response


async def test_an_unknown_path_or_method_is_a_json_404_that_costs_one(services: Services) -> None:
    rest = rest_of(services)
    unknown = await answer(rest, "GET", "/fapi/v1/xyz")
    assert (unknown.status, body(unknown)) == (
        404,
        {"code": -5000, "msg": "Path /fapi/v1/xyz, Method GET is invalid"},
    )
    assert unknown.headers == {"X-MBX-USED-WEIGHT-1M": "1", "Content-Type": "application/json"}
    wrong = await answer(rest, "POST", "/fapi/v1/ping")
    assert (wrong.status, body(wrong)["msg"]) == (404, "Path /fapi/v1/ping, Method POST is invalid")
    patch = await answer(rest, "PATCH", "/fapi/v1/listenKey")
    assert (patch.status, body(patch)["code"]) == (404, -5000)
    assert patch.headers["X-MBX-USED-WEIGHT-1M"] == "3"


async def test_params_merge_query_and_form_body_with_the_query_winning() -> None:
    form = "application/x-www-form-urlencoded; charset=utf-8"
    params = request_params("POST", "a=1&b=%2B", b"b=2&c=x+y", form)
    assert params == {"a": "1", "b": "+", "c": "x y"}
    assert request_params("GET", "a=1", b"b=2", form) == {"a": "1"}  # a GET's body is not read
    assert request_params("DELETE", "a=1", b'{"b":2}', "application/json") == {"a": "1"}
    assert request_params("PUT", "", b"b=2", None) == {"b": "2"}  # no Content-Type: a form
    with pytest.raises(WireError) as twice:
        request_params("POST", "a=1", b"b=1&b=2", form)
    assert twice.value.code == -1101
    many = "&".join(f"p{i}=1" for i in range(60)).encode()
    with pytest.raises(WireError) as too_many:
        request_params("POST", "&".join(f"q{i}=1" for i in range(41)), many, form)
    assert too_many.value.msg == "Too many parameters; expected '100' and received '101'."


async def test_param_names_match_in_any_case() -> None:
    # Binance matches names in any case (ccxt sends ``orderidlist``); each keeps its case.
    form = "application/x-www-form-urlencoded"
    params = request_params("POST", "SYMBOL=BTCUSDT", b"symbol=ETHUSDT&Leverage=5", form)
    assert params == {"SYMBOL": "BTCUSDT", "Leverage": "5"}  # the query wins, in any case
    assert (params["symbol"], params.get("leverage"), params.get("LEVERAGE")) == (
        "BTCUSDT",
        "5",
        "5",
    )
    assert ("symbol" in params, "side" in params, params.get("side", "-")) == (True, False, "-")
    with pytest.raises(KeyError):
        params["side"]
    with pytest.raises(WireError) as twice:
        request_params("GET", "symbol=BTCUSDT&Symbol=ETHUSDT", b"", None)
    assert twice.value.code == -1101


async def signed_route(rest: RestService, request: RestRequest, now: int) -> Any:
    """A TRADE-like async route for the tests: who signed, and what it was told."""
    entry = rest.authenticate(request, now)
    await asyncio.sleep(0)
    return {"account": entry.name, "params": request.params}


@pytest.fixture
def signed_post(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ROUTES, ("POST", "/test/signed"), (signed_route, 1))


FORM = {"Content-Type": "application/x-www-form-urlencoded", "X-MBX-APIKEY": HMAC_KEY}


@pytest.mark.usefixtures("signed_post")
async def test_a_post_signs_query_then_body_as_sent(services: Services) -> None:
    rest = rest_of(services)
    stamp = services.clock.now_ms()
    query, sent = "symbol=BTCUSDT&side=BUY", f"quantity=1&timestamp={stamp}"
    signature = hmac_signature(HMAC_SECRET, (query + sent).encode())
    for q, b in (  # the signature in either part, in either case
        (f"{query}&signature={signature}", sent),
        (query, f"{sent}&signature={signature.upper()}"),
    ):
        ok = await answer(rest, "POST", "/test/signed", q, FORM, b.encode())
        assert (ok.status, body(ok)["account"]) == (200, "alice")
        assert body(ok)["params"]["quantity"] == "1"
    joined = hmac_signature(HMAC_SECRET, f"{query}&{sent}".encode())  # fallback (a)
    ok = await answer(
        rest, "POST", "/test/signed", query, FORM, f"{sent}&signature={joined}".encode()
    )
    assert ok.status == 200
    bad = await answer(
        rest, "POST", "/test/signed", query, FORM, f"{sent}&signature={'0' * 64}".encode()
    )
    assert (bad.status, body(bad)) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )


@pytest.mark.usefixtures("signed_post")
async def test_values_signed_raw_and_sent_encoded_are_accepted(services: Services) -> None:
    # python-binance signs ``clientOrderId=a b/c`` and sends it urlencoded.
    rest = rest_of(services)
    raw = f"newClientOrderId=a b/c&timestamp={services.clock.now_ms()}"
    signature = hmac_signature(HMAC_SECRET, raw.encode())
    sent = urlencode(dict(pair.split("=") for pair in raw.split("&"))) + f"&signature={signature}"
    ok = await answer(rest, "POST", "/test/signed", "", FORM, sent.encode())
    assert (ok.status, body(ok)["params"]["newClientOrderId"]) == (200, "a b/c")


@pytest.mark.usefixtures("signed_post")
async def test_an_ed25519_key_signs_the_body_too(services: Services, keys: Keys) -> None:
    rest = rest_of(services)
    sent = f"symbol=BTCUSDT&timestamp={services.clock.now_ms()}"
    signature = load_private_key(keys.ed25519_private).sign(sent.encode())
    headers = {**FORM, "X-MBX-APIKEY": ED_KEY}
    encoded = f"{sent}&signature={quote(signature, safe='')}".encode()
    ok = await answer(rest, "POST", "/test/signed", "", headers, encoded)
    assert (ok.status, body(ok)["account"]) == (200, "alice")


@pytest.mark.usefixtures("signed_post")
async def test_keys_missing_or_unknown_are_401(services: Services) -> None:
    rest = rest_of(services)
    no_key = await answer(rest, "POST", "/test/signed", "timestamp=1&signature=ab", {}, b"")
    assert (no_key.status, body(no_key)) == (401, {"code": -2014, "msg": "API-key format invalid."})
    sent = f"timestamp={services.clock.now_ms()}&signature={'0' * 64}"
    unknown = await answer(rest, "POST", "/test/signed", sent, {"x-mbx-apikey": "nobody"})
    assert (unknown.status, body(unknown)["code"]) == (401, -2015)


async def test_an_async_route_that_fails_costs_one_500(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setitem(ROUTES, ("PUT", "/test/broken"), (broken, 1))
    response = await answer(rest_of(services), "PUT", "/test/broken")
    assert (response.status, body(response)["code"]) == (500, -1001)
    assert services.api.metrics.requests[("PUT /test/broken", 500)] == 1


async def test_limit_refusals_carry_retry_after_and_no_data(services: Services) -> None:
    limiter = RequestWeightLimiter(LimitRules(request_weight=2, ban_after_rejections=1))
    api = ApiService(services.registry, limiter, services.clock)
    rest = rest_of(services, api)
    assert get(rest, "/fapi/v1/time").status == 200
    assert get(rest, "/fapi/v1/time").status == 200
    throttled = get(rest, "/fapi/v1/time")
    assert throttled.status == 429 and set(body(throttled)) == {"code", "msg"}
    assert throttled.headers["Retry-After"] == str(60 - services.clock.now_ms() // 1000 % 60)
    banned = get(rest, "/fapi/v1/time")
    assert banned.status == 418 and set(body(banned)) == {"code", "msg"}
    assert banned.headers["Retry-After"] == "120"  # the first ban lasts 2 minutes


async def test_listen_key_over_rest_shares_the_ws_registry(services: Services) -> None:
    rest = rest_of(services)
    key = {"X-MBX-APIKEY": HMAC_KEY}
    started = await answer(rest, "POST", "/fapi/v1/listenKey", "", key)
    listen_key = body(started)["listenKey"]
    assert started.status == 200 and len(listen_key) == 64
    assert services.api.listen_key_open(listen_key)
    again = await answer(rest, "POST", "/fapi/v1/listenKey", "", key)
    assert body(again) == {"listenKey": listen_key}  # the active one, extended
    kept = await answer(rest, "PUT", "/fapi/v1/listenKey", "listenKey=ignored", key)
    assert (kept.status, body(kept)) == (200, {"listenKey": listen_key})
    closed = await answer(rest, "DELETE", "/fapi/v1/listenKey", "", key)
    assert (closed.status, closed.body) == (200, b"{}")
    assert not services.api.listen_key_open(listen_key)
    gone = await answer(rest, "PUT", "/fapi/v1/listenKey", "", key)
    assert (gone.status, body(gone)) == (
        400,
        {"code": -1125, "msg": "This listenKey does not exist."},
    )
    assert gone.headers["X-MBX-USED-WEIGHT-1M"] == "5"
    assert (await answer(rest, "POST", "/fapi/v1/listenKey")).status == 401
    unknown = await answer(rest, "POST", "/fapi/v1/listenKey", "", {"X-MBX-APIKEY": "nobody1"})
    assert (unknown.status, body(unknown)["code"]) == (401, -2015)


async def test_the_spot_routes_clients_ask_for_at_start(services: Services) -> None:
    import ccxt

    rest = rest_of(services)
    assert body(get(rest, "/api/v3/ping")) == {}
    assert body(get(rest, "/api/v3/time")) == {"serverTime": services.clock.now_ms()}
    pairs = get(rest, "/sapi/v1/margin/allPairs")
    assert (pairs.status, pairs.body) == (200, b"[]")
    unsigned = get(rest, "/sapi/v1/capital/config/getall")
    assert (unsigned.status, body(unsigned)["code"]) == (401, -2014)
    coins = get(
        rest, "/sapi/v1/capital/config/getall", signed_query(services), {"X-MBX-APIKEY": HMAC_KEY}
    )
    assert coins.headers["X-MBX-USED-WEIGHT-1M"] == "23"  # 1 + 1 + 1 + 10 + 10
    entries = body(coins)
    assert [entry["coin"] for entry in entries] == list(services.registry.market.margin_assets)
    parsed = ccxt.binanceusdm().parse_currencies_custom(entries, None)
    assert parsed["USDT"]["name"] == "TetherUS" and parsed["USDT"]["active"] is True


async def test_a_route_adds_headers_to_its_answer_and_its_refusal(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def placing(rest: RestService, request: RestRequest, now: int) -> Any:
        request.reply_headers["X-MBX-ORDER-COUNT-10S"] = "1"
        if request.params.get("fail"):
            raise WireError.invalid_symbol()
        return {}

    monkeypatch.setitem(ROUTES, ("POST", "/test/order"), (placing, 0))
    rest = rest_of(services)
    ok = await answer(rest, "POST", "/test/order")
    assert ok.headers == {
        "X-MBX-USED-WEIGHT-1M": "0",
        "X-MBX-ORDER-COUNT-10S": "1",
        "Content-Type": "application/json",
    }
    refused = await answer(rest, "POST", "/test/order", "fail=1")
    assert (refused.status, refused.headers["X-MBX-ORDER-COUNT-10S"]) == (400, "1")


def every_refusal() -> list[EngineError]:
    """One instance of each engine refusal (the templated ones with their usual value)."""
    made: list[EngineError] = [engine_errors.InvalidLeverage(200), engine_errors.InvalidValue("x")]
    for name in engine_errors.__all__:
        kind = getattr(engine_errors, name)
        if kind not in (EngineError, engine_errors.InvalidLeverage, engine_errors.InvalidValue):
            made.append(kind("what exactly"))
    return made


@pytest.mark.parametrize("refusal", every_refusal(), ids=lambda e: type(e).__name__)
async def test_every_engine_refusal_is_answered_400_with_binances_text(
    services: Services, monkeypatch: pytest.MonkeyPatch, refusal: EngineError
) -> None:
    def refusing(*args: object) -> object:
        raise refusal

    monkeypatch.setitem(ROUTES, ("POST", "/test/refused"), (refusing, 1))
    response = await answer(rest_of(services), "POST", "/test/refused")
    assert (response.status, body(response)) == (400, {"code": refusal.code, "msg": refusal.msg})
