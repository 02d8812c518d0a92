"""GET ``/fapi/v1/fundingRate``: the funding settlements of the past (public: no key).

Rows ``{"symbol", "fundingRate", "fundingTime", "markPrice"}`` in ascending funding time,
read from the store's settlements (``FundingService`` claims them): every symbol's, or
``symbol``'s (-1121 when not listed). ``limit`` 100 by default, 1..1000 (else -1130);
``startTime`` and ``endTime`` inclusive. Decided where Binance's doc is silent or
contradicts itself: with ``startTime``, the first ``limit`` from it (up to ``endTime``);
without, the last ``limit`` up to ``endTime`` (now) — the doc's "most recent 200" without
times contradicts its own default of 100, so ``limit`` rules; ``startTime`` after
``endTime`` is -1130. A settlement is listed once claimed (it is being paid).

Weight: Binance counts this route in a pool of 500 per 5 minutes per IP that it shares with
``fundingInfo``; that pool is not modelled, the route costs REQUEST_WEIGHT 1.
``FUNDING_ROUTES`` joins ``rest.ROUTES``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine.funding import funding_rate_row
from ..protocol import WireError, read_long
from .inputs import known_symbol

if TYPE_CHECKING:
    from .rest import RestRequest, RestService, Route, Weight

__all__ = ["DEFAULT_LIMIT", "FUNDING_ROUTES", "MAX_LIMIT", "funding_rates"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def funding_rates(rest: RestService, request: RestRequest, now: int) -> Any:
    """``/fapi/v1/fundingRate``."""
    params = request.params
    symbol = known_symbol(params, rest.api.market)
    start = read_long(params, "startTime", required=False)
    end = read_long(params, "endTime", required=False)
    limit = read_long(params, "limit", required=False)
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise WireError.invalid_value("limit")
    end = now if end is None else end
    if start is not None and start > end:
        raise WireError.invalid_value("startTime")
    if rest.admin is None:  # a read-only server settles nothing
        return []
    rows = await rest.admin.store.funding_history(
        symbol, 0 if start is None else start, end, limit=limit, newest_first=start is None
    )
    return [funding_rate_row(r.symbol, r.funding_time, r.rate, r.mark) for r in rows]


# (method, path) → (handler, REQUEST_WEIGHT)
FUNDING_ROUTES: dict[tuple[str, str], tuple[Route, Weight]] = {
    ("GET", "/fapi/v1/fundingRate"): (funding_rates, 1),
}
