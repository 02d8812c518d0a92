"""Hostile params to the public market-data reads, REST and WS API, in the service layer.

What is thrown (Hypothesis): to ``premiumIndex``, ``fundingInfo``, ``fundingRate``,
``ticker/price`` (v1, v2), ``ticker/bookTicker``, ``ticker/24hr``, ``markPriceKlines``
and ``klines`` — query strings of the routes' own params (and near-misses: ``SYMBOL``,
``xsymbol``, ``Limit``) with hostile values: huge, negative, float, exponent, unicode and
full-width digits, empty, percent-encoded junk, LONG bounds and past them, repeated
params; ``limit=1500`` klines on every symbol and every interval with the widest window;
to WS ``ticker.price`` and ``ticker.book``, JSON params of any type.

What must hold: every answer is a 200 with rows (a list, or one symbol's object) or a 400
``{"code","msg"}`` refusal with one of Binance's codes for bad params — never a 500; the
weight charged is the documented one, by what the route answers: the one-symbol weight
only when it answers one symbol (``symbol=`` or ``xsymbol=1`` answer every symbol and
weigh as that), klines by ``limit``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posrisk.engine.klines import INTERVALS
from posrisk.service.api import Connection
from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.kline_routes import kline_weight
from posrisk.service.rest import HttpResponse, RestService

from ..service.conftest import Services
from ..service.conftest import services as services  # the fixture

pytestmark = pytest.mark.asyncio

NOW = 1_700_000_000_000
# Binance's codes for a request's params: malformed (not UTF-8), illegal chars,
# duplicate or too many, mandatory, interval, symbol, invalid value.
PARAM_CODES = {-1000, -1100, -1101, -1102, -1120, -1121, -1130}
# path → REQUEST_WEIGHT (with symbol, without); klines by limit.
BY_SYMBOL = {
    "/fapi/v1/premiumIndex": (1, 10),
    "/fapi/v1/ticker/price": (1, 2),
    "/fapi/v2/ticker/price": (1, 2),
    "/fapi/v1/ticker/bookTicker": (2, 5),
    "/fapi/v1/ticker/24hr": (1, 40),
}
FIXED = {"/fapi/v1/fundingInfo": 0, "/fapi/v1/fundingRate": 1}
KLINES = ["/fapi/v1/klines", "/fapi/v1/markPriceKlines"]
PATHS = [*BY_SYMBOL, *FIXED, *KLINES]
LONG_MAX = 2**63 - 1
# A fresh IP for each example: its weight header is that request's weight alone.
_IPS = (f"10.{i // 62500 % 250}.{i // 250 % 250}.{i % 250}" for i in itertools.count(1))

hostile_values = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "-1",
            "1.5",
            "1e3",
            "1E+3",
            "0x10",
            " 1",
            "1 ",
            "+1",
            "１０",
            "٣",
            "99",
            "100",
            "499",
            "500",
            "1000",
            "1001",
            "1500",
            "1501",
            "10000",
            str(LONG_MAX),
            str(LONG_MAX + 1),
            str(10**30),
            "-" + str(LONG_MAX + 1),
            "BTCUSDT",
            "btcusdt",
            "ETHUSDT",
            "NOPEUSDT",
            "BTCUSDT ",
            "€",
            "%00",
            "%ff",
            "%E2%82%AC",
            "null",
            "[]",
            "{}",
            "1m",
            "1M",
            "1w",
            "3d",
            "2m",
            "1h%00",
        ]
    ),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=30).map(lambda t: quote(t, safe="")),
)
names = st.sampled_from(
    [
        "symbol", "interval", "limit", "startTime", "endTime", "page", "SYMBOL", "Limit",
        "xsymbol", "symbolx", "pair", "contractType", "timestamp",
    ]
)  # fmt: skip


@st.composite
def queries(draw: Any) -> str:
    pairs = draw(st.lists(st.tuples(names, hostile_values), max_size=6))
    return "&".join(f"{name}={value}" for name, value in pairs)


def _rest(services: Services) -> RestService:
    return RestService(services.api, ExchangeInfo(services.api.market), services.admin)


async def _answer(rest: RestService, path: str, query: str, ip: str) -> HttpResponse:
    response = rest.handle("GET", path, query, {}, b"", ip)
    if not isinstance(response, HttpResponse):
        response = await response
    return response


def _check(response: HttpResponse) -> Any:
    """Rows, or a refusal with one of Binance's param codes; never anything else."""
    assert response.headers["Content-Type"] == "application/json"
    decoded = orjson.loads(response.body)
    if response.status == 200:
        assert isinstance(decoded, list | dict)
        if isinstance(decoded, dict):
            assert "code" not in decoded
        return decoded
    assert response.status == 400, (response.status, decoded)
    assert set(decoded) == {"code", "msg"} and decoded["code"] in PARAM_CODES, decoded
    assert isinstance(decoded["msg"], str) and decoded["msg"]
    return decoded


def _by_limit(found: int | None, query: str) -> int:
    """Binance's klines weight of the ``limit`` the route read (any case), or the default's."""
    sent = [v for k, v in (p.partition("=")[::2] for p in query.split("&")) if k.lower() == "limit"]
    limit = int(sent[0]) if sent and sent[0].isdigit() else 500
    assert found is None or found <= limit
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def _one_symbol(answer: Any) -> bool:
    return isinstance(answer, dict) and "symbol" in answer


@settings(
    deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), query=queries())
async def test_hostile_params_get_rows_or_binances_refusal_and_the_documented_weight(
    services: Services, path: str, query: str
) -> None:
    response = await _answer(_rest(services), path, query, next(_IPS))
    answer = _check(response)
    weight = int(response.headers["X-MBX-USED-WEIGHT-1M"])
    if path in FIXED:
        assert weight == FIXED[path]
    elif path in KLINES and response.status == 200:  # by the candles it could hold
        assert weight == _by_limit(len(answer) if answer else None, query), (query, weight)
    elif path in KLINES:
        assert weight == kline_weight(query, b"")
    elif response.status == 200:  # by what it answered: one symbol, or every symbol
        one, every = BY_SYMBOL[path]
        assert weight == (one if _one_symbol(answer) else every), (query, weight)


@pytest.mark.parametrize("path", list(BY_SYMBOL))
@pytest.mark.parametrize("query", ["symbol=", "xsymbol=BTCUSDT", "Symbol=", "symbolx=1"])
async def test_every_symbols_answer_weighs_as_that_however_symbol_is_spelled(
    services: Services, path: str, query: str
) -> None:
    """``symbol=`` (empty) and names only containing ``symbol`` answered every symbol for
    the one-symbol weight: ``ticker/24hr`` at 1 instead of 40."""
    response = await _answer(_rest(services), path, query, "10.66.0.1")
    assert isinstance(_check(response), list)
    assert int(response.headers["X-MBX-USED-WEIGHT-1M"]) == BY_SYMBOL[path][1]


@pytest.mark.parametrize("path", KLINES)
@pytest.mark.parametrize("name", ["limit", "Limit", "LIMIT", "%6Cimit"])
async def test_klines_weigh_by_the_limit_read_in_any_case(
    services: Services, path: str, name: str
) -> None:
    """``Limit=1500`` made 1,500 candles for the default's weight (5, not 10)."""
    query = f"symbol=BTCUSDT&interval=1m&{name}=1500"
    response = await _answer(_rest(services), path, query, next(_IPS))
    assert isinstance(_check(response), list)
    assert int(response.headers["X-MBX-USED-WEIGHT-1M"]) == 10


@pytest.mark.parametrize("path", list(BY_SYMBOL))
async def test_a_symbol_sent_in_another_case_or_encoded_weighs_as_one(
    services: Services, path: str
) -> None:
    for i, query in enumerate(["SYMBOL=BTCUSDT", "%73ymbol=BTCUSDT"]):
        response = await _answer(_rest(services), path, query, f"10.67.0.{i}")
        assert _one_symbol(_check(response))
        assert int(response.headers["X-MBX-USED-WEIGHT-1M"]) == BY_SYMBOL[path][0]


@pytest.mark.parametrize("path", KLINES)
@pytest.mark.parametrize("interval", list(INTERVALS))
async def test_1500_candles_of_every_symbol_with_the_widest_window(
    services: Services, path: str, interval: str
) -> None:
    rest = _rest(services)
    for symbol in services.api.market:
        for window in ("", f"&startTime=0&endTime={LONG_MAX}", f"&endTime={LONG_MAX}"):
            query = f"symbol={symbol.name}&interval={interval}&limit=1500{window}"
            rows = _check(await _answer(rest, path, query, next(_IPS)))
            assert isinstance(rows, list) and len(rows) <= 1500


def _ws(services: Services, method: str, params: Any, ip: str) -> Any:
    frame: dict[str, Any] = {"id": "1", "method": method}
    if params is not ...:
        frame["params"] = params
    return json.loads(services.api.handle(Connection(ip, NOW), json.dumps(frame)))


symbols = st.sampled_from(["BTCUSDT", "ETHUSDT", "NOPEUSDT", "", "btcusdt"])
scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=12),
    symbols,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
symbol_params = st.dictionaries(st.sampled_from(["symbol", "SYMBOL", "x"]), json_values)


@settings(
    deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["ticker.price", "ticker.book"]),
    params=st.just(...) | json_values | symbol_params,
)  # fmt: skip
async def test_ws_market_methods_answer_rows_or_a_refusal_and_weigh_by_their_answer(
    services: Services, method: str, params: Any
) -> None:
    reply = _ws(services, method, params, next(_IPS))
    assert reply["status"] in (200, 400), reply
    count = reply["rateLimits"][0]["count"]
    one, every = {"ticker.price": (1, 2), "ticker.book": (2, 5)}[method]
    if reply["status"] == 200:
        result = reply["result"]
        assert count == (one if _one_symbol(result) else every), (params, count)
    else:
        assert isinstance(reply["error"]["code"], int) and reply["error"]["msg"]


@pytest.mark.parametrize("symbol", ["", None])
async def test_ws_an_empty_or_null_symbol_weighs_as_every_symbol(
    services: Services, symbol: str | None
) -> None:
    for method, every in (("ticker.price", 2), ("ticker.book", 5)):
        reply = _ws(services, method, {"symbol": symbol}, f"10.69.0.{every}")
        assert isinstance(reply["result"], list)
        assert reply["rateLimits"][0]["count"] == every
