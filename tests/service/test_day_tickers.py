"""The all-symbol ``ticker/24hr`` is computed at most once a second while no mark moves,
whoever asks: many IPs asking cost one computation (counted, not timed); a mark moving
or the next second makes a fresh one, equal to what a fresh computation gives."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from posrisk.engine.klines import day_stats
from posrisk.engine.market_views import ticker_24hr_row

from .conftest import Services
from .test_kline_routes import _get

pytestmark = pytest.mark.asyncio


def _fresh(services: Services) -> list[dict[str, object]]:
    api, now = services.api, services.clock.now
    history = api.market_streams.history
    return [
        ticker_24hr_row(symbol, day_stats(history.buckets(symbol.name), now))
        for symbol in api.market
        if symbol.name in api.registry.marks
    ]


async def test_many_ips_in_one_second_cost_one_computation(services: Services) -> None:
    tickers = services.api.market_streams.day_tickers
    services.clock.now = 1_700_000_100_000  # on a second
    before = tickers.computed
    for i in range(200):
        response = _get(services, "/fapi/v1/ticker/24hr", ip=f"10.7.0.{i}")
        assert response.status == 200
    assert tickers.computed == before + 1
    assert orjson.loads(response.body) == _fresh(services)
    services.clock.now += 999  # the same second: the same answer, at most 999 ms old
    _get(services, "/fapi/v1/ticker/24hr")
    assert tickers.computed == before + 1


async def test_a_mark_moving_or_the_next_second_makes_it_fresh(services: Services) -> None:
    tickers = services.api.market_streams.day_tickers
    services.clock.now = 1_700_000_100_000
    _get(services, "/fapi/v1/ticker/24hr")
    computed = tickers.computed
    await services.admin.set_marks({"BTCUSDT": Decimal("25000")})
    rows = orjson.loads(_get(services, "/fapi/v1/ticker/24hr").body)
    assert tickers.computed == computed + 1
    assert rows == _fresh(services) and rows[0]["lastPrice"] == "25000.00"
    services.clock.now += 1000
    rows = orjson.loads(_get(services, "/fapi/v1/ticker/24hr").body)
    assert tickers.computed == computed + 2
    assert rows == _fresh(services) and rows[0]["closeTime"] == services.clock.now


async def test_the_window_inside_is_summed_once_a_minute_per_symbol(
    services: Services,
) -> None:
    """A day of minutes, the marks moving every second after it: each answer computed
    afresh, but each symbol's inner buckets summed once until the minute turns."""
    tickers = services.api.market_streams.day_tickers
    start = 1_700_000_100_000 - 1_700_000_100_000 % 60_000
    for minute in range(1, 1441):
        services.clock.now = start + minute * 60_000
        await services.admin.set_marks({"BTCUSDT": Decimal(20000 + minute % 50)})
    marked = len(_fresh(services))
    services.clock.now += 1
    summed, computed = tickers.summed, tickers.computed
    for second in range(30):
        services.clock.now += 1000
        await services.admin.set_marks({"BTCUSDT": Decimal(21000 + second)})
        rows = orjson.loads(_get(services, "/fapi/v1/ticker/24hr").body)
        assert rows == _fresh(services)
    assert tickers.computed == computed + 30
    assert tickers.summed - summed <= marked
    services.clock.now += 60_000
    await services.admin.set_marks({"BTCUSDT": Decimal(22000)})
    _get(services, "/fapi/v1/ticker/24hr")
    assert tickers.summed - summed <= 2 * marked
