"""The REST API served on the WS port, keyed by (method, path): the routes ccxt,
python-binance and Binance's SDK need, from the same engine as the WS API.

Binance's REST rules, kept here for every route:

- Params: a GET's come from its query; a POST, PUT or DELETE's from its query and its
  ``application/x-www-form-urlencoded`` body (a body of another Content-Type is ignored).
  A name in both parts: the query's value wins; a name twice in one part: -1101; at most
  ``MAX_PARAMS`` in all. Values are percent-decoded once. Names match in any case, as
  Binance's do (``SYMBOL`` is ``symbol``; ccxt sends ``orderidlist``).
- The API key comes in the ``X-MBX-APIKEY`` header. A signed request (USER_DATA, TRADE)
  signs totalParams: the query as sent followed by the body as sent, each without its
  ``signature`` pair (``protocol.total_params_payloads`` lists the accepted forms).
- REST and WS share one per-IP REQUEST_WEIGHT counter, charged before the route runs.
- A route that awaits (a settings write: the store) runs after the same IP's earlier
  ones are done: one IP's burst waits in its own queue, never in the one write path's
  ahead of every other IP's writes.
- Every answer is JSON with ``X-MBX-USED-WEIGHT-1M``; a refusal is ``{"code", "msg"}`` with
  the status of its code, 429 -1003 and 418 also carry ``Retry-After``. An unknown path, or
  a method the path lacks: 404 -5000.

A route is ``handler(rest, request, now_ms)``; it returns bytes (sent as they are) or a
value orjson writes, or an awaitable of either (a route that writes answers once the
store has its change). Other modules add their routes to ``ROUTES``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload
from urllib.parse import unquote_plus

import orjson

from ..engine import EngineError, Symbol
from ..protocol import (
    MAX_PARAMS,
    Allow,
    WireError,
    read_api_key,
    total_params_payloads,
)
from .account_routes import ACCOUNT_ROUTES
from .admin import AdminService
from .api import ApiService
from .exchange_info import ExchangeInfo
from .funding_routes import FUNDING_ROUTES
from .income_routes import INCOME_ROUTES
from .inputs import known_symbol
from .listen_key_routes import LISTEN_KEY_ROUTES
from .market_routes import MARKET_ROUTES
from .order_routes import ORDER_ROUTES
from .registry import AccountEntry, KeyEntry
from .spot import all_coins, margin_pairs
from .views import position_rows

__all__ = [
    "METHODS",
    "ROUTES",
    "HttpResponse",
    "Params",
    "RestRequest",
    "RestService",
    "Route",
    "Weight",
    "error_response",
    "leverage_bracket_json",
    "request_params",
]

log = logging.getLogger("posrisk.rest")

# The methods a route may have; any other is answered 404 -5000.
METHODS = ("GET", "POST", "PUT", "DELETE")
_FORM = "application/x-www-form-urlencoded"
# What a route returns that cannot be awaited (checked first: it is most answers).
_PLAIN = (bytes, dict, list)
_T = TypeVar("_T")


class Params(dict[str, str]):
    """A request's params, each name as sent, looked up in any case: the name as asked
    first, else the one sent in another case (``get("orderIdList")`` finds
    ``orderidlist``). ``put`` replaces a value sent under the name in another case."""

    __slots__ = ("_names",)

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, str] = {}  # lower-cased name -> the name as sent

    def put(self, name: str, value: str) -> None:
        sent = self._names.get(name.lower())
        if sent is not None and sent != name:
            dict.__delitem__(self, sent)
        self._names[name.lower()] = name
        dict.__setitem__(self, name, value)

    def _sent(self, name: object) -> str | None:
        if not isinstance(name, str):
            return None
        return name if dict.__contains__(self, name) else self._names.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return self._sent(name) is not None

    def __getitem__(self, name: str) -> str:
        sent = self._sent(name)
        if sent is None:
            raise KeyError(name)
        return dict.__getitem__(self, sent)

    @overload
    def get(self, name: str, default: None = None, /) -> str | None: ...
    @overload
    def get(self, name: str, default: str, /) -> str: ...
    @overload
    def get(self, name: str, default: _T, /) -> str | _T: ...
    def get(self, name: str, default: object = None, /) -> object:
        sent = self._sent(name)
        return default if sent is None else dict.__getitem__(self, sent)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One REST request as a route sees it."""

    method: str  # GET POST PUT DELETE
    path: str
    query: str  # raw, as sent
    body: bytes  # raw, as sent
    headers: Mapping[str, str]  # header names lower-cased
    ip: str
    # Query and form body merged, percent-decoded once; the query wins; names in any case.
    params: Params
    # Headers the route adds to its answer, success or refusal alike (a placing route's
    # X-MBX-ORDER-COUNT-10S and -1M); the answer's weight header is already in it.
    reply_headers: dict[str, str] = field(default_factory=dict)


Route = Callable[["RestService", RestRequest, int], Any]
# REQUEST_WEIGHT of a route: one figure, (with ``symbol``, without) for the routes whose
# weight depends on it (``openOrders``: 1 / 40), or a function of the raw query and body.
Weight = int | tuple[int, int] | Callable[[str, bytes], int]


class RestService:
    """Answers REST requests; shares the WS API's registry, limiter and clock."""

    def __init__(
        self, api: ApiService, exchange_info: ExchangeInfo, admin: AdminService | None = None
    ) -> None:
        self.api = api
        self.exchange_info = exchange_info
        # The one write path, for the account owner's settings (None: a read-only server).
        self.admin = admin
        # /fapi/v1/leverageBracket bodies, per symbol, as Binance writes them (JSON numbers).
        self.brackets = {symbol.name: leverage_bracket_json(symbol) for symbol in api.market}
        # Per IP with an awaiting route under way: (its turn, how many hold or await it).
        self._turns: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    def __repr__(self) -> str:
        return f"<RestService {len(ROUTES)} routes>"

    def handles(self, method: str, path: str) -> bool:
        return (method, path) in ROUTES

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        ip: str,
    ) -> HttpResponse | Awaitable[HttpResponse]:
        """Answer one request (an awaitable when its route is async); counted in the
        metrics as WS API requests are (the label is the path, after the method if not
        GET). An unknown route costs weight 1 and is answered 404 -5000."""
        started = time.perf_counter()
        found = ROUTES.get((method, path))
        label = path if method == "GET" else f"{method} {path}"
        route, weights = found if found is not None else (_invalid_path, 1)
        lowered = {name.lower(): value for name, value in headers.items()}
        try:
            params: Params | WireError = request_params(
                method, query, body, lowered.get("content-type")
            )
        except WireError as refused:
            params = refused
        weight = weights if isinstance(weights, int) else _by_symbol(weights, query, body, params)
        api = self.api
        now = api.clock.now_ms()
        decision = api.limiter.charge(ip, weight, now)
        used = {"X-MBX-USED-WEIGHT-1M": str(decision.count)}
        if not isinstance(decision, Allow):
            error = api.limit_error(decision, now)
            return self._done(label, started, found, error_response(error, used, now=now))
        try:
            if isinstance(params, WireError):
                raise params
            request = RestRequest(method, path, query, body, lowered, ip, params, used)
            result = route(self, request, now)
        except Exception as error:
            return self._done(label, started, found, _failure(error, now, used, label))
        if type(result) not in _PLAIN and inspect.isawaitable(result):
            return self._later(result, label, started, now, used, ip)
        return self._done(label, started, found, _success(result, used))

    async def _later(
        self,
        result: Awaitable[Any],
        label: str,
        started: float,
        now: int,
        used: dict[str, str],
        ip: str,
    ) -> HttpResponse:
        turn, users = self._turns.setdefault(ip, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with turn:  # the IP's earlier awaiting routes first
                response = _success(await result, used)
        except Exception as error:
            response = _failure(error, now, used, label)
        finally:
            users[0] -= 1
            if not users[0]:
                del self._turns[ip]
        return self._done(label, started, True, response)

    def _done(
        self, label: str, started: float, counted: object, response: HttpResponse
    ) -> HttpResponse:
        if counted is not None:  # unknown paths are not metric labels
            self.api.metrics.observe(label, response.status, time.perf_counter() - started)
        return response

    def authenticate(self, request: RestRequest, now: int) -> AccountEntry:
        """A USER_DATA or TRADE request's account: the key in ``X-MBX-APIKEY`` (401 -2014
        without one), then the WS API's checks with the signature over totalParams."""
        api_key = _header_key(request)
        body = request.body.decode("utf-8", "replace") if _is_form(request) else ""
        payloads = total_params_payloads(request.query, body)
        return self.api.check_signed(
            api_key, request.params, now, lambda key, sig: key.verify_payloads(payloads, sig)
        )

    def writer(self) -> AdminService:
        """The write path the settings routes commit through."""
        if self.admin is None:
            raise WireError.unsupported_operation()
        return self.admin

    def stream_key(self, request: RestRequest) -> KeyEntry:
        """A USER_STREAM request's key: ``X-MBX-APIKEY`` only (401 -2014 / -2015)."""
        api_key = _header_key(request)
        key = self.api.registry.keys.get(api_key)
        if key is None or key.revoked_at is not None:
            raise WireError.invalid_api_key()
        return key


def _header_key(request: RestRequest) -> str:
    api_key = read_api_key({"apiKey": request.headers.get("x-mbx-apikey") or ""})
    if api_key is None:
        raise WireError.api_key_format()
    return api_key


def _is_form(request: RestRequest) -> bool:
    return request.method != "GET" and _form_type(request.headers.get("content-type"))


def _form_type(content_type: str | None) -> bool:
    """A body is form params when sent as such, or with no Content-Type at all."""
    if content_type is None:
        return True
    return content_type.split(";", 1)[0].strip().lower() == _FORM


def request_params(method: str, query: str, body: bytes, content_type: str | None) -> Params:
    """The params of a request: the query's, and for other methods than GET a form body's
    too (the query wins); -1101 for a name twice in one part (in any case) or too many in
    all."""
    parts = [query]
    if method != "GET" and body and _form_type(content_type):
        parts.append(body.decode("utf-8", "replace"))
    received = sum(part.count("&") + 1 for part in parts if part)
    if received > MAX_PARAMS:
        raise WireError.too_many_params(MAX_PARAMS, received)
    params = Params()
    for part in reversed(parts):  # the body first: the query's values then replace its own
        for name, value in _part_params(part).items():
            params.put(name, value)
    return params


def _part_params(part: str) -> Params:
    """``name=value`` pairs, percent-decoded once (``+`` a space) where they need it."""
    params = Params()
    for pair in part.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in pair or "+" in pair:
            try:
                name = unquote_plus(name, errors="strict")
                value = unquote_plus(value, errors="strict")
            except UnicodeDecodeError:
                raise WireError.malformed_request("the parameters are not valid UTF-8") from None
        if name in params:
            raise WireError.duplicate_param()
        params.put(name, value)
    return params


def _success(result: Any, used: dict[str, str]) -> HttpResponse:
    body = result if isinstance(result, bytes) else orjson.dumps(result)
    return HttpResponse(200, body, {**used, "Content-Type": "application/json"})


def _failure(error: Exception, now: int, used: dict[str, str], label: str) -> HttpResponse:
    if isinstance(error, WireError):
        return error_response(error, used, now=now)
    if isinstance(error, EngineError):
        return error_response(WireError.from_engine(error.code, error.msg), used, now=now)
    log.error("internal error answering %s", label, exc_info=error)
    return error_response(WireError.internal(), used, now=now)


def error_response(
    error: WireError, headers: Mapping[str, str] | None = None, *, now: int | None = None
) -> HttpResponse:
    """Every HTTP refusal on the WS port: ``{"code", "msg"}`` only, with the error's
    status; given ``now``, a 429 -1003 or a 418 says when to retry (``Retry-After``)."""
    body = orjson.dumps({"code": error.code, "msg": error.msg})
    sent = {**(headers or {}), "Content-Type": "application/json"}
    if now is not None and error.code == -1003 and error.status in (418, 429):
        sent["Retry-After"] = str(error.retry_after_s(now))
    return HttpResponse(error.status, body, sent)


def _invalid_path(rest: RestService, request: RestRequest, now: int) -> Any:
    raise WireError.invalid_path(request.path, request.method)


def _ping(rest: RestService, request: RestRequest, now: int) -> Any:
    return b"{}"


def _time(rest: RestService, request: RestRequest, now: int) -> Any:
    return {"serverTime": now}


def _exchange_info(rest: RestService, request: RestRequest, now: int) -> Any:
    return rest.exchange_info.at(now)


def leverage_bracket_json(symbol: Symbol) -> bytes:
    """One symbol's brackets in ``/fapi/v1/leverageBracket``'s shape, numbers unquoted."""
    brackets = ",".join(
        f'{{"bracket":{b.bracket},"initialLeverage":{b.initial_leverage},'
        f'"notionalCap":{b.notional_cap},"notionalFloor":{b.notional_floor},'
        f'"maintMarginRatio":{b.maint_margin_ratio},"cum":{b.cum}}}'
        for b in symbol.brackets
    )
    return f'{{"symbol":"{symbol.name}","notionalCoef":1.0,"brackets":[{brackets}]}}'.encode()


def _leverage_bracket(rest: RestService, request: RestRequest, now: int) -> Any:
    rest.authenticate(request, now)
    symbol = known_symbol(request.params, rest.api.market)
    if symbol is not None:
        return rest.brackets[symbol]
    return b"[" + b",".join(rest.brackets.values()) + b"]"


def _position_risk_v2(rest: RestService, request: RestRequest, now: int) -> Any:
    entry = rest.authenticate(request, now)
    symbol = known_symbol(request.params, rest.api.market)
    return orjson.dumps(position_rows(rest.api.registry, entry, False, symbol))


def _position_risk_v3(rest: RestService, request: RestRequest, now: int) -> Any:
    entry = rest.authenticate(request, now)
    symbol = known_symbol(request.params, rest.api.market)
    return orjson.dumps(position_rows(rest.api.registry, entry, True, symbol))


# (method, path) → (handler, REQUEST_WEIGHT)
def _by_symbol(weights: Weight, query: str, body: bytes, params: Params | WireError) -> int:
    """The weight of a route that costs less for one symbol: whether the params the route
    reads hold a ``symbol`` (in any case, not empty: what makes it answer for one symbol;
    ``symbol=``, ``xsymbol=1`` are every symbol's answer and weigh as it); or its own
    rule's. Params refused: by the raw text, as the route answers nothing anyway."""
    if callable(weights):
        return weights(query, body)
    assert not isinstance(weights, int)
    if isinstance(params, WireError):
        sent = "symbol=" in query.lower() or b"symbol=" in body.lower()
    else:
        sent = params.get("symbol", "") != ""
    return weights[0] if sent else weights[1]


ROUTES: dict[tuple[str, str], tuple[Route, Weight]] = {
    ("GET", "/fapi/v1/ping"): (_ping, 1),
    ("GET", "/fapi/v1/time"): (_time, 1),
    # python-binance's constructor asks the spot API for these two.
    ("GET", "/api/v3/ping"): (_ping, 1),
    ("GET", "/api/v3/time"): (_time, 1),
    ("GET", "/fapi/v1/leverageBracket"): (_leverage_bracket, 1),
    ("GET", "/fapi/v1/exchangeInfo"): (_exchange_info, 1),
    ("GET", "/fapi/v2/positionRisk"): (_position_risk_v2, 5),
    ("GET", "/fapi/v3/positionRisk"): (_position_risk_v3, 5),
    **LISTEN_KEY_ROUTES,
    # ccxt's load_markets asks for both when it has a key.
    ("GET", "/sapi/v1/capital/config/getall"): (all_coins, 10),
    ("GET", "/sapi/v1/margin/allPairs"): (margin_pairs, 1),
    # The account, its balance and its settings (``account_routes``).
    **ACCOUNT_ROUTES,
    # Orders, trades (``order_routes``).
    **ORDER_ROUTES,
    # Market data from the marks (``market_routes``).
    **MARKET_ROUTES,
    **FUNDING_ROUTES,
    **INCOME_ROUTES,
}
