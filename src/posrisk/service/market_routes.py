"""Market data from the marks over REST and the WS API (public: no key, no signature).

Decided: the estimated settle price and the last price are the mark, the index price too
unless the mark source tells one (``FundingRates.index_price``); rates come from the API
service's ``FundingRates`` (``ApiService.rates``; the defaults unless set: 0.0001 every
8 h), premiumIndex showing the rate the next funding time will use; the book's bid and
ask are the ones orders fill at (the order service's slippage around the mark, none on a
read-only server).

With ``symbol``: that symbol's row (-1121 when not listed; zeros when it has no mark
yet). Without: a list of every listed symbol that has a mark, in the market's order.

``MARKET_ROUTES`` (REST: (method, path) → (handler, REQUEST_WEIGHT with / without
``symbol``)) joins ``rest.ROUTES``; ``MARKET_METHODS`` joins ``api.METHODS``, weighed
by ``MARKET_METHOD_WEIGHTS`` (with ``symbol`` / without).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..engine import Symbol
from ..engine.market_views import (
    book_ticker_row,
    funding_info_rows,
    premium_index_row,
    ticker_price_row,
)
from ..engine.numbers import ZERO
from .inputs import known_symbol
from .kline_routes import KLINE_ROUTES

if TYPE_CHECKING:
    from .api import ApiService, Connection
    from .rest import RestRequest, RestService, Route, Weight

__all__ = [
    "MARKET_METHODS",
    "MARKET_METHOD_WEIGHTS",
    "MARKET_ROUTES",
    "book_tickers",
    "premium_index",
    "ticker_prices",
]

Params = Mapping[str, object]
# A row of one symbol, from the service, the symbol, its mark (None: none yet) and now.
RowOf = Callable[["ApiService", Symbol, Decimal | None, int], dict[str, Any]]


def _rows(api: ApiService, params: Params, now: int, row_of: RowOf) -> Any:
    """One symbol's row when ``symbol`` is sent, else every marked symbol's."""
    name = known_symbol(params, api.market)
    marks = api.registry.marks
    if name is not None:
        return row_of(api, api.market[name], marks.get(name), now)
    marked = (symbol for symbol in api.market if symbol.name in marks)
    return [row_of(api, symbol, marks[symbol.name], now) for symbol in marked]


def _premium(api: ApiService, symbol: Symbol, mark: Decimal | None, now: int) -> dict[str, Any]:
    rates = api.rates
    funding = rates.upcoming(symbol.name, now)
    return premium_index_row(symbol.name, mark, funding, now, rates.index_price(symbol.name))


def _price(api: ApiService, symbol: Symbol, mark: Decimal | None, now: int) -> dict[str, Any]:
    return ticker_price_row(symbol, mark, now)


def _book(api: ApiService, symbol: Symbol, mark: Decimal | None, now: int) -> dict[str, Any]:
    slippage = api.orders.slippage if api.orders is not None else ZERO
    return book_ticker_row(symbol, mark, now, slippage)


def _ws_book(api: ApiService, symbol: Symbol, mark: Decimal | None, now: int) -> dict[str, Any]:
    """The WS API's book row leads with ``lastUpdateId`` (the marks' version: it moves
    with every mark change)."""
    return {"lastUpdateId": api.registry.marks_version, **_book(api, symbol, mark, now)}


def premium_index(api: ApiService, params: Params, now: int) -> Any:
    """``/fapi/v1/premiumIndex``: mark, index and settle price, the funding rate due next."""
    return _rows(api, params, now, _premium)


def ticker_prices(api: ApiService, params: Params, now: int) -> Any:
    """``ticker/price`` (v1, v2) and WS ``ticker.price``: the mark on the tick."""
    return _rows(api, params, now, _price)


def book_tickers(api: ApiService, params: Params, now: int) -> Any:
    """``ticker/bookTicker``: the bid and ask orders fill at."""
    return _rows(api, params, now, _book)


def _rest(operation: Callable[[ApiService, Params, int], Any]) -> Route:
    def route(rest: RestService, request: RestRequest, now: int) -> Any:
        return operation(rest.api, request.params, now)

    return route


def _funding_info(rest: RestService, request: RestRequest, now: int) -> Any:
    return funding_info_rows(rest.api.rates.schedule(now), rest.api.market)


def _ws_price(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    return ticker_prices(service, params, now)


def _ws_book_ticker(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    return _rows(service, params, now, _ws_book)


# (method, path) → (handler, REQUEST_WEIGHT: with ``symbol``, without)
MARKET_ROUTES: dict[tuple[str, str], tuple[Route, Weight]] = {
    ("GET", "/fapi/v1/premiumIndex"): (_rest(premium_index), (1, 10)),
    # Binance: weight 0 (its own 500 per 5 minutes pool, not modelled).
    ("GET", "/fapi/v1/fundingInfo"): (_funding_info, 0),
    ("GET", "/fapi/v1/ticker/price"): (_rest(ticker_prices), (1, 2)),
    ("GET", "/fapi/v2/ticker/price"): (_rest(ticker_prices), (1, 2)),
    ("GET", "/fapi/v1/ticker/bookTicker"): (_rest(book_tickers), (2, 5)),
    # ticker/24hr and the klines, from the marks' history (``kline_routes``).
    **KLINE_ROUTES,
}

MARKET_METHODS = {
    "ticker.price": _ws_price,
    "ticker.book": _ws_book_ticker,
}

# WS API REQUEST_WEIGHT of the methods above: (with ``symbol``, without).
MARKET_METHOD_WEIGHTS: Mapping[str, tuple[int, int]] = {
    "ticker.price": (1, 2),
    "ticker.book": (2, 5),
}
