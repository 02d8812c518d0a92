"""``GET /fapi/v1/income`` (USER_DATA, weight 30): the account's income rows from the
income table (``store.income``), ascending by time.

Params as Binance: ``symbol`` (-1121 when not listed), ``incomeType`` (any of Binance's
types, ``engine.income.IncomeType``; others -1130), ``startTime``/``endTime`` (inclusive),
``page`` (from 1), ``limit`` (100 by default, 1 to 1000; else -1130). Decided where
Binance is silent: without either time the last 7 days; ``startTime`` alone runs to the
newest row, ``endTime`` alone covers the 7 days before it; a window may be any length
(posrisk keeps every row, where Binance keeps three months); ``startTime`` after
``endTime`` finds nothing; ``page`` below 1 is -1130. Paging is bounded (``MAX_DEPTH``):
a page starting past the 100,000th row of its window answers ``[]`` when the window holds
no more rows than that, else -1130 for ``page`` (narrow the window with ``startTime``),
so no request reads further into the index than 100,000 rows, whatever ``page`` says.

``INCOME_ROUTES`` joins ``rest.ROUTES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..engine import Market
from ..engine.income import IncomeType, income_row
from ..protocol import WireError, read_long
from ..store import IncomeQuery, Store
from .inputs import known_symbol

if TYPE_CHECKING:
    from .rest import RestRequest, RestService, Route, Weight

__all__ = [
    "DEFAULT_LIMIT",
    "INCOME_ROUTES",
    "MAX_DEPTH",
    "MAX_LIMIT",
    "WEEK_MS",
    "income",
    "income_query",
]

Params = Mapping[str, object]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# The rows a page may skip: deeper, one row past them is probed (is the page empty?).
MAX_DEPTH = 100_000
WEEK_MS = 7 * 24 * 3600 * 1000
# The end of a window that runs to the newest row (a LONG's largest value).
_NEWEST = 2**63 - 1
_TYPES = frozenset(kind.value for kind in IncomeType)


@dataclass(frozen=True, slots=True)
class _Window:
    start: int
    end: int


def _window(params: Params, now: int) -> _Window:
    start = read_long(params, "startTime", required=False)
    end = read_long(params, "endTime", required=False)
    if start is None and end is None:
        return _Window(now - WEEK_MS, now)
    if start is None:
        assert end is not None
        return _Window(end - WEEK_MS, end)
    return _Window(start, _NEWEST if end is None else end)


def _bounded(params: Params, name: str, default: int, low: int, high: int) -> int:
    value = read_long(params, name, required=False)
    if value is None:
        return default
    if not low <= value <= high:
        raise WireError.invalid_value(name)
    return value


def _income_type(params: Params) -> str | None:
    value = params.get("incomeType")
    if value is None or value == "":
        return None
    if value not in _TYPES:
        raise WireError.invalid_value("incomeType")
    return str(value)


def income_query(params: Params, market: Market, now: int) -> IncomeQuery:
    """The rows a request asks for, or Binance's refusal of its params."""
    symbol = known_symbol(params, market)
    income_type = _income_type(params)
    window = _window(params, now)
    limit = _bounded(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = _bounded(params, "page", 1, 1, _NEWEST // MAX_LIMIT)
    return IncomeQuery(window.start, window.end, limit, (page - 1) * limit, symbol, income_type)


async def income(store: Store, account: str, query: IncomeQuery) -> list[dict[str, Any]]:
    """The wire rows ``query`` finds of ``account``; a page past ``MAX_DEPTH`` rows is
    empty when the window ends before them, else refused (never scanned to)."""
    if query.offset > MAX_DEPTH:
        if await store.income(account, replace(query, limit=1, offset=MAX_DEPTH)):
            raise WireError.invalid_value("page")
        return []
    found = await store.income(account, query)
    return [income_row(record.entry, record.tran_id, record.time) for record in found]


def _route(rest: RestService, request: RestRequest, now: int) -> Any:
    entry = rest.authenticate(request, now)
    query = income_query(request.params, rest.api.market, now)
    return income(rest.writer().store, entry.name, query)


# (method, path) → (handler, REQUEST_WEIGHT)
INCOME_ROUTES: dict[tuple[str, str], tuple[Route, Weight]] = {
    ("GET", "/fapi/v1/income"): (_route, 30),
}
