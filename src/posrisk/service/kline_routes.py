"""Candles and 24-hour statistics over REST, from the marks' history (``MarkHistory``).

- GET ``/fapi/v1/ticker/24hr`` (``symbol?``): Binance's fields; prices at the symbol's
  tick (as ``ticker/price``), volumes ``"0"``, no trades (``lastQty`` ``"0"``,
  ``firstId``/``lastId`` -1, ``count`` the marks recorded in the window).
- GET ``/fapi/v1/markPriceKlines`` and ``/fapi/v1/klines`` (``symbol, interval,
  startTime?, endTime?, limit?`` 500 ≤ 1500): Binance's row arrays. Both are drawn from
  the mark (decided: there are no trades): ``markPriceKlines`` prices with 8 decimals and
  the marks counted in the 9th field as Binance counts its mark updates; ``klines`` prices
  at the tick, volumes ``"0"`` and no trades.

Refusals as Binance's: ``symbol`` missing -1102, unknown -1121; ``interval`` missing
-1102, not one of Binance's -1120; ``limit`` outside 1–1500 and ``startTime`` after
``endTime`` -1130. REQUEST_WEIGHT as Binance's: 1 / 40 for the ticker, by ``limit`` for
klines (``KLINE_ROUTES``). The USDⓈ-M WS API has no klines method: none here either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..engine import Symbol
from ..engine.klines import (
    INTERVALS,
    Candle,
    DayStats,
    MinuteBuckets,
    Span,
    candles,
    day_stats,
    span,
)
from ..engine.market_views import kline_row, mark_kline_row, ticker_24hr_row
from ..protocol import WireError, read_long
from .inputs import known_symbol
from .mark_history import MarkHistory

if TYPE_CHECKING:
    from .api import ApiService
    from .rest import RestRequest, RestService, Route, Weight

__all__ = [
    "DEFAULT_KLINES",
    "KLINE_ROUTES",
    "MAX_KLINES",
    "DayTickers",
    "kline_weight",
    "klines",
    "mark_price_klines",
    "ticker_24hr",
]

Params = Mapping[str, object]
DEFAULT_KLINES = 500
MAX_KLINES = 1500


class DayTickers:
    """Every marked symbol's ``ticker/24hr`` row, computed at most once a second while the
    history does not move (without this, many IPs asking at weight 40 each could keep a
    core busy); the buckets inside each window, which do not change within a minute,
    summed once a minute per symbol rather than on every answer. An answer is at most
    ``TTL_MS`` old (its ``closeTime`` is when it was computed); a mark moving makes the
    next one fresh. ``computed`` counts the answers computed and ``summed`` the spans
    summed (tests)."""

    TTL_MS = 1000

    def __init__(self, history: MarkHistory) -> None:
        self.history = history
        self.computed = 0
        self.summed = 0
        self._key: tuple[int, int] | None = None
        self._rows: list[dict[str, Any]] = []
        # Per symbol: the last span summed, by its first and last minute and length.
        self._spans: dict[str, tuple[tuple[int, int, int], Span | None]] = {}

    def stats(self, name: str, now: int) -> DayStats:
        """``name``'s 24 hours at ``now``, its window's inner buckets summed once."""
        kept = self._spans

        def span_of(buckets: MinuteBuckets, lo: int, hi: int) -> Span | None:
            if lo >= hi:
                return None
            key = (buckets.minutes[lo], buckets.minutes[hi - 1], hi - lo)
            held = kept.get(name)
            if held is not None and held[0] == key:
                return held[1]
            self.summed += 1
            found = span(buckets, lo, hi)
            kept[name] = (key, found)
            return found

        return day_stats(self.history.buckets(name), now, span_of)

    def rows(self, api: ApiService, now: int) -> list[dict[str, Any]]:
        key = (now // self.TTL_MS, self.history.version)
        if key != self._key:
            marks = api.registry.marks
            self._rows = [
                ticker_24hr_row(symbol, self.stats(symbol.name, now))
                for symbol in api.market
                if symbol.name in marks
            ]
            self._key = key
            self.computed += 1
        return self._rows


def ticker_24hr(api: ApiService, params: Params, now: int) -> Any:
    """``/fapi/v1/ticker/24hr``: one symbol's row, or every symbol's with a mark (from
    ``MarketStreams.day_tickers``: at most a second old)."""
    streams = api.market_streams
    name = known_symbol(params, api.market)
    if name is not None:
        return ticker_24hr_row(api.market[name], streams.day_tickers.stats(name, now))
    return streams.day_tickers.rows(api, now)


def _read_klines(api: ApiService, params: Params, now: int) -> tuple[Symbol, list[Candle]]:
    name = known_symbol(params, api.market, required=True)
    interval = params.get("interval")
    if interval in (None, ""):
        raise WireError.mandatory_param("interval")
    if interval not in INTERVALS:
        raise WireError.invalid_interval()
    start = read_long(params, "startTime", required=False)
    end = read_long(params, "endTime", required=False)
    limit = read_long(params, "limit", required=False)
    limit = DEFAULT_KLINES if limit is None else limit
    if not 1 <= limit <= MAX_KLINES:
        raise WireError.invalid_value("limit")
    if start is not None and end is not None and start > end:
        raise WireError.invalid_value("startTime")
    buckets = api.market_streams.history.buckets(name)
    found = candles(buckets, str(interval), now, start_time=start, end_time=end, limit=limit)
    return api.market[name], found


def mark_price_klines(api: ApiService, params: Params, now: int) -> list[list[Any]]:
    """``/fapi/v1/markPriceKlines``: Binance's rows, prices with 8 decimals."""
    return [mark_kline_row(c) for c in _read_klines(api, params, now)[1]]


def klines(api: ApiService, params: Params, now: int) -> list[list[Any]]:
    """``/fapi/v1/klines``: the mark's candles at the tick, no volume, no trades."""
    symbol, found = _read_klines(api, params, now)
    return [kline_row(c, symbol) for c in found]


def kline_weight(query: str, body: bytes) -> int:
    """Binance's REQUEST_WEIGHT of a klines request, by ``limit``: [1, 100) 1, [100, 500)
    2, [500, 1000] 5, more 10 (not a number: the default's). ``limit`` in any case, as the
    route reads it: ``Limit=1500`` is 1,500 candles and weighs 10."""
    sent = next((value for name, value in parse_qsl(query) if name.lower() == "limit"), "")
    limit = int(sent) if sent.isdigit() and len(sent) < 10 else DEFAULT_KLINES
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    return 5 if limit <= 1000 else 10


def _rest(operation: Callable[[ApiService, Params, int], Any]) -> Route:
    def route(rest: RestService, request: RestRequest, now: int) -> Any:
        return operation(rest.api, request.params, now)

    return route


# (method, path) → (handler, REQUEST_WEIGHT); joins ``market_routes.MARKET_ROUTES``.
KLINE_ROUTES: dict[tuple[str, str], tuple[Route, Weight]] = {
    ("GET", "/fapi/v1/ticker/24hr"): (_rest(ticker_24hr), (1, 40)),
    ("GET", "/fapi/v1/markPriceKlines"): (_rest(mark_price_klines), kline_weight),
    ("GET", "/fapi/v1/klines"): (_rest(klines), kline_weight),
}
