"""Market data from the marks, in the shapes Binance answers them: ``premiumIndex``,
``ticker/price``, ``ticker/bookTicker`` and ``fundingInfo`` rows.

posrisk has no index, no trade tape and no order book, only marks. Decided: the index
price, the estimated settle price and the last price are the mark; the book's best bid
and ask are ``top_of_book`` around it, each as deep as MARKET_LOT_SIZE ``maxQty``. A
symbol without a mark is answered with zeros (lists leave it out: the caller's choice).

Formats, as Binance writes them: premiumIndex prices and rates with 8 decimals (JSON
strings), times as integers; ticker prices at the symbol's tick (``"92000.10"``), book
quantities at its step; fundingInfo's cap and floor with 8 decimals and the interval as
an integer.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

from .filters import filters_for, top_of_book
from .funding import FundingSchedule, SymbolFunding, next_funding_time
from .klines import Candle, DayStats, scaled_text, scaled_to_decimal
from .market import Symbol
from .numbers import CONTEXT, ZERO

__all__ = [
    "book_ticker_row",
    "funding_info_rows",
    "kline_row",
    "mark_kline_row",
    "premium_index_row",
    "ticker_24hr_row",
    "ticker_price_row",
]

_Q8 = Decimal("1E-8")


def _fmt8(value: Decimal) -> str:
    """8 decimals, half-even (``0.0001`` → ``"0.00010000"``), zero unsigned."""
    quantized = value.quantize(_Q8, ROUND_HALF_EVEN, CONTEXT)
    return format(quantized if quantized else quantized.copy_abs(), "f")


def _on_grid(value: Decimal, unit: Decimal, rounding: str) -> str:
    quantized = (value / unit).to_integral_value(rounding, CONTEXT) * unit
    return format(quantized.quantize(unit, context=CONTEXT), "f")


def premium_index_row(
    symbol: str,
    mark: Decimal | None,
    funding: SymbolFunding,
    now: int,
    index: Decimal | None = None,
) -> dict[str, Any]:
    """One ``/fapi/v1/premiumIndex`` row: the mark as mark and estimated settle price, and
    as index price unless ``index`` is known (a mark source's), the (clamped) rate due at
    the next funding time, the interest rate."""
    price = _fmt8(ZERO if mark is None else mark)
    return {
        "symbol": symbol,
        "markPrice": price,
        "indexPrice": price if index is None or mark is None else _fmt8(index),
        "estimatedSettlePrice": price,
        "lastFundingRate": _fmt8(funding.clamped_rate),
        "interestRate": _fmt8(funding.interest_rate),
        "nextFundingTime": next_funding_time(now, funding.interval_hours),
        "time": now,
    }


def ticker_price_row(symbol: Symbol, mark: Decimal | None, now: int) -> dict[str, Any]:
    """One ``ticker/price`` row: the mark rounded half-even to the symbol's tick."""
    tick = filters_for(symbol).tick_size
    price = _on_grid(ZERO if mark is None else mark, tick, ROUND_HALF_EVEN)
    return {"symbol": symbol.name, "price": price, "time": now}


def book_ticker_row(
    symbol: Symbol, mark: Decimal | None, now: int, slippage: Decimal
) -> dict[str, Any]:
    """One ``ticker/bookTicker`` row: ``top_of_book``'s bid and ask around the mark, each
    MARKET_LOT_SIZE ``maxQty`` deep (zeros without a mark)."""
    filters = filters_for(symbol)
    tick, step = filters.tick_size, filters.market_step_size
    if mark is None:
        bid = ask = ZERO
        depth = ZERO
    else:
        bid, ask = top_of_book(symbol, mark, slippage)
        depth = filters.market_max_qty
    qty = _on_grid(depth, step, ROUND_DOWN)
    return {
        "symbol": symbol.name,
        "bidPrice": _on_grid(bid, tick, ROUND_DOWN),
        "bidQty": qty,
        "askPrice": _on_grid(ask, tick, ROUND_DOWN),
        "askQty": qty,
        "time": now,
    }


def funding_info_rows(schedule: FundingSchedule, market: Iterable[Symbol]) -> list[dict[str, Any]]:
    """``/fapi/v1/fundingInfo``: the listed symbols whose funding differs from the
    defaults (interval, cap or floor), in the market's order; Binance leaves the others
    out."""
    rows = []
    for symbol in market:
        funding = schedule.of(symbol.name)
        if funding.is_default:
            continue
        rows.append(
            {
                "symbol": symbol.name,
                "adjustedFundingRateCap": _fmt8(funding.cap),
                "adjustedFundingRateFloor": _fmt8(funding.floor),
                "fundingIntervalHours": funding.interval_hours,
                "disclaimer": False,
            }
        )
    return rows


_Q3 = Decimal("0.001")


def _percent(change: int, opened: int) -> str:
    """``priceChangePercent``: 3 decimals, half-even (``"-95.960"``)."""
    if opened == 0:
        return "0.000"
    ratio = Decimal(change * 100) / Decimal(opened)
    quantized = ratio.quantize(_Q3, ROUND_HALF_EVEN, CONTEXT)
    return format(quantized if quantized else quantized.copy_abs(), "f")


def ticker_24hr_row(symbol: Symbol, stats: DayStats) -> dict[str, Any]:
    """One ``ticker/24hr`` row: the mark's 24 hours (``DayStats``, prices scaled by 1e8)
    rounded half-even to the symbol's tick, as ``ticker/price`` rounds the mark; there
    are no trades, so no volume and no trade ids."""
    tick = filters_for(symbol).tick_size

    def at_tick(value: int) -> str:
        return _scaled_at_tick(value, tick)

    last, opened = at_tick(stats.last), at_tick(stats.open)
    change = Decimal(last) - Decimal(opened)
    return {
        "symbol": symbol.name,
        "priceChange": format(change.quantize(tick, context=CONTEXT), "f"),
        "priceChangePercent": _percent(stats.last - stats.open, stats.open),
        "weightedAvgPrice": at_tick(stats.weighted_average),
        "lastPrice": last,
        "lastQty": "0",
        "openPrice": opened,
        "highPrice": at_tick(stats.high),
        "lowPrice": at_tick(stats.low),
        "volume": "0",
        "quoteVolume": "0",
        "openTime": stats.open_time,
        "closeTime": stats.close_time,
        "firstId": -1,
        "lastId": -1,
        "count": stats.count,
    }


def _scaled_at_tick(value: int, tick: Decimal) -> str:
    """A price scaled by 1e8 (the history's), rounded half-even to ``tick``."""
    return _on_grid(scaled_to_decimal(value), tick, ROUND_HALF_EVEN)


def mark_kline_row(candle: Candle) -> list[Any]:
    """A ``markPriceKlines`` row: Binance's 12 fields, prices with 8 decimals, no volume;
    the count is the mark's changes in the candle."""
    return [
        candle.open_time,
        scaled_text(candle.open),
        scaled_text(candle.high),
        scaled_text(candle.low),
        scaled_text(candle.close),
        "0",
        candle.close_time,
        "0",
        candle.count,
        "0",
        "0",
        "0",
    ]


def kline_row(candle: Candle, symbol: Symbol) -> list[Any]:
    """A ``klines`` row drawn from the mark (there are no trades): prices at the symbol's
    tick, no volume, 0 trades."""
    tick = filters_for(symbol).tick_size
    row = mark_kline_row(candle)
    row[1:5] = [
        _scaled_at_tick(v, tick) for v in (candle.open, candle.high, candle.low, candle.close)
    ]
    row[8] = 0
    return row
