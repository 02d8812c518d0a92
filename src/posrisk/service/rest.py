"""The REST GETs served on the WS port: what ccxt needs to load markets (exchangeInfo) and
to fetch positions over REST (leverageBracket), the server time,
and the REST twins of the WS method (``/fapi/v2/positionRisk`` = ``account.position``
rows, ``/fapi/v3/positionRisk`` = ``v2/account.position`` rows), from the same engine.

Binance's REST rules: the API key comes in the ``X-MBX-APIKEY`` header; the signature is
over the query string exactly as sent (not sorted), without the ``signature`` pair. REST
and WS share one per-IP REQUEST_WEIGHT counter. Errors are ``{"code", "msg"}`` with the
HTTP status of the code; every response carries ``X-MBX-USED-WEIGHT-1M``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from ..engine import EngineError, Symbol
from ..protocol import (
    MAX_PARAMS,
    Allow,
    WireError,
    read_api_key,
)
from .api import ApiService
from .exchange_info import ExchangeInfo
from .inputs import known_symbol
from .registry import AccountEntry
from .views import position_rows

__all__ = ["HttpResponse", "RestService"]

log = logging.getLogger("posrisk.rest")


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[["RestService", dict[str, str], str, Mapping[str, str], int], Any]


class RestService:
    """Answers the REST GETs; shares the WS API's registry, limiter and clock."""

    def __init__(self, api: ApiService, exchange_info: ExchangeInfo) -> None:
        self.api = api
        self.exchange_info = exchange_info
        # /fapi/v1/leverageBracket bodies, per symbol, as Binance writes them (JSON numbers).
        self.brackets = {symbol.name: leverage_bracket_json(symbol) for symbol in api.market}

    def __repr__(self) -> str:
        return f"<RestService {len(ROUTES)} routes>"

    def handles(self, path: str) -> bool:
        return path in ROUTES

    def handle(self, path: str, query: str, headers: Mapping[str, str], ip: str) -> HttpResponse:
        """Answer one GET of a REST path; counted in the metrics as WS API requests are
        (the path is the method label)."""
        started = time.perf_counter()
        response = self._answer(path, query, headers, ip)
        self.api.metrics.observe(path, response.status, time.perf_counter() - started)
        return response

    def _answer(self, path: str, query: str, headers: Mapping[str, str], ip: str) -> HttpResponse:
        route, weight = ROUTES[path]
        api = self.api
        now = api.clock.now_ms()
        decision = api.limiter.charge(ip, weight, now)
        used = {"X-MBX-USED-WEIGHT-1M": str(decision.count)}
        if not isinstance(decision, Allow):
            error = api.limit_error(decision, now)
            return _error(error, {**used, "Retry-After": str(error.retry_after_s(now))})
        try:
            params = _query_params(query)
            result = route(self, params, query, headers, now)
        except WireError as error:
            return _error(error, used)
        except EngineError as error:
            return _error(WireError.from_engine(error.code, error.msg), used)
        except Exception:
            log.exception("internal error answering GET %s", path)
            return _error(WireError.internal(), used)
        body = result if isinstance(result, bytes) else orjson.dumps(result)
        return HttpResponse(200, body, {**used, "Content-Type": "application/json"})

    def authenticate(
        self, params: dict[str, str], query: str, headers: Mapping[str, str], now: int
    ) -> AccountEntry:
        """REST rules: the key in ``X-MBX-APIKEY``, the signature over the query as sent."""
        api_key = read_api_key({"apiKey": headers.get("X-MBX-APIKEY") or ""})
        if api_key is None:
            raise WireError.api_key_format()
        payload = "&".join(p for p in query.split("&") if not p.startswith("signature="))
        return self.api.check_signed(
            api_key, params, now, lambda key, sig: key.verify_payload(payload.encode(), sig)
        )


def _query_params(query: str) -> dict[str, str]:
    """The query's params (at most ``MAX_PARAMS``, as over the WS API: -1101)."""
    received = query.count("&") + 1
    if received > MAX_PARAMS:
        raise WireError.too_many_params(MAX_PARAMS, received)
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise WireError.malformed_request("the query string is not valid") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise WireError.duplicate_param()
        params[name] = value
    return params


def _error(error: WireError, headers: dict[str, str]) -> HttpResponse:
    body: dict[str, Any] = {"code": error.code, "msg": error.msg}
    if error.data:
        body["data"] = error.data
    return HttpResponse(
        error.status, orjson.dumps(body), {**headers, "Content-Type": "application/json"}
    )


def _ping(rest: RestService, params: dict[str, str], query: str, headers: Any, now: int) -> Any:
    return b"{}"


def _time(rest: RestService, params: dict[str, str], query: str, headers: Any, now: int) -> Any:
    return {"serverTime": now}


def _exchange_info(
    rest: RestService, params: dict[str, str], query: str, headers: Any, now: int
) -> Any:
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


def _leverage_bracket(
    rest: RestService, params: dict[str, str], query: str, headers: Mapping[str, str], now: int
) -> Any:
    rest.authenticate(params, query, headers, now)
    symbol = known_symbol(params, rest.api.market)
    if symbol is not None:
        return rest.brackets[symbol]
    return b"[" + b",".join(rest.brackets.values()) + b"]"


def _position_risk_v2(
    rest: RestService, params: dict[str, str], query: str, headers: Mapping[str, str], now: int
) -> Any:
    entry = rest.authenticate(params, query, headers, now)
    symbol = known_symbol(params, rest.api.market)
    return orjson.dumps(position_rows(rest.api.registry, entry, False, symbol))


def _position_risk_v3(
    rest: RestService, params: dict[str, str], query: str, headers: Mapping[str, str], now: int
) -> Any:
    entry = rest.authenticate(params, query, headers, now)
    symbol = known_symbol(params, rest.api.market)
    return orjson.dumps(position_rows(rest.api.registry, entry, True, symbol))


# path → (handler, REQUEST_WEIGHT)
ROUTES: dict[str, tuple[Route, int]] = {
    "/fapi/v1/ping": (_ping, 1),
    "/fapi/v1/time": (_time, 1),
    # python-binance's AsyncClient.create() asks the spot API for these two.
    "/api/v3/ping": (_ping, 1),
    "/api/v3/time": (_time, 1),
    "/fapi/v1/leverageBracket": (_leverage_bracket, 1),
    "/fapi/v1/exchangeInfo": (_exchange_info, 1),
    "/fapi/v2/positionRisk": (_position_risk_v2, 5),
    "/fapi/v3/positionRisk": (_position_risk_v3, 5),
}
