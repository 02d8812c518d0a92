"""A symbol's order filters, as ``exchangeInfo`` publishes them and placement enforces them.

``filters_for(symbol)`` derives them from the symbol's precisions: ``tickSize`` =
``minPrice`` = 10^-pricePrecision, ``stepSize`` = ``minQty`` = 10^-quantityPrecision (a
precision that is not known counts as 8 decimals), ``maxPrice`` = ``maxQty`` = 10 000 000,
200 open orders and 10 algo orders per symbol, MIN_NOTIONAL 5 and PERCENT_PRICE
1.0500 / 0.9500. ``service.exchange_info`` publishes exactly these values, so what a
client reads is what is enforced.

The checks raise the ``EngineError`` Binance answers with, first failure wins, in the
order Binance meets them: precision (-1111), quantity ≤ 0 (-4003), price ≤ 0 (-4001),
PRICE_FILTER (-4013, -4002, -4014), LOT_SIZE or MARKET_LOT_SIZE (-4004, -4005, -4023),
PERCENT_PRICE against the mark (-4016, -4024), MIN_NOTIONAL on the opening quantity
(-4164), MAX_NUM_ORDERS (-2025) / MAX_NUM_ALGO_ORDERS (-4045).

``top_of_book`` is the bid and ask a symbol trades at: the mark widened by the slippage
and put on ticks, the ask rounded up and the bid down.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from functools import cache

from .account import Account
from .errors import (
    MaxOpenOrders,
    MaxStopOrders,
    NotionalTooSmall,
    PrecisionOverMaximum,
    PriceAboveMax,
    PriceAboveMultiplierCap,
    PriceBelowMin,
    PriceBelowMultiplierFloor,
    PriceNotOnTick,
    PriceNotPositive,
    QuantityAboveMax,
    QuantityBelowMin,
    QuantityNotOnStep,
    QuantityNotPositive,
)
from .events import Side
from .market import Symbol
from .numbers import CONTEXT, ONE, ZERO, fmt_exact

__all__ = [
    "UNKNOWN_PRECISION",
    "SymbolFilters",
    "ceil_tick",
    "check_max_algo_orders",
    "check_max_orders",
    "check_min_notional",
    "check_order_filters",
    "check_percent_price",
    "check_price",
    "check_price_decimals",
    "check_quantity",
    "check_quantity_decimals",
    "filters_for",
    "floor_tick",
    "top_of_book",
]

# The decimals of a symbol whose precision is not known (tickSize/stepSize 1e-8).
UNKNOWN_PRECISION = 8
_MAX_PRICE = Decimal("10000000")
_MAX_QTY = Decimal("10000000")


@dataclass(frozen=True, slots=True)
class SymbolFilters:
    """One symbol's filters (``exchangeInfo``'s ``filters[]``) and the precisions they
    come from (``pricePrecision``, ``quantityPrecision``)."""

    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step_size: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    price_precision: int = UNKNOWN_PRECISION
    quantity_precision: int = UNKNOWN_PRECISION
    max_num_orders: int = 200
    max_num_algo_orders: int = 10
    min_notional: Decimal = Decimal(5)
    multiplier_up: Decimal = Decimal("1.0500")
    multiplier_down: Decimal = Decimal("0.9500")
    multiplier_decimal: int = 4


def filters_for(symbol: Symbol) -> SymbolFilters:
    """``symbol``'s filters (one shared value per pair of precisions)."""
    price = symbol.price_precision
    quantity = symbol.quantity_precision
    return _filters(
        UNKNOWN_PRECISION if price is None else price,
        UNKNOWN_PRECISION if quantity is None else quantity,
    )


@cache
def _filters(price_precision: int, quantity_precision: int) -> SymbolFilters:
    tick = ONE.scaleb(-price_precision)
    step = ONE.scaleb(-quantity_precision)
    return SymbolFilters(
        tick_size=tick,
        min_price=tick,
        max_price=_MAX_PRICE,
        step_size=step,
        min_qty=step,
        max_qty=_MAX_QTY,
        market_step_size=step,
        market_min_qty=step,
        market_max_qty=_MAX_QTY,
        price_precision=price_precision,
        quantity_precision=quantity_precision,
    )


def _decimals_over(value: Decimal, precision: int) -> bool:
    scaled = value.scaleb(precision)
    return scaled != scaled.to_integral_value()


def _off_grid(value: Decimal, start: Decimal, step: Decimal) -> bool:
    with localcontext(CONTEXT):
        return (value - start) % step != 0


def check_price_decimals(symbol: Symbol, price: Decimal) -> None:
    """-1111 when ``price`` has more decimals than the symbol's pricePrecision."""
    precision = filters_for(symbol).price_precision
    if _decimals_over(price, precision):
        raise PrecisionOverMaximum(
            f"{symbol.name} prices have at most {precision} decimals, got {price}"
        )


def check_quantity_decimals(symbol: Symbol, qty: Decimal) -> None:
    """-1111 when ``qty`` has more decimals than the symbol's quantityPrecision."""
    precision = filters_for(symbol).quantity_precision
    if _decimals_over(qty, precision):
        raise PrecisionOverMaximum(
            f"{symbol.name} quantities have at most {precision} decimals, got {qty}"
        )


def _price_filter(symbol: Symbol, filters: SymbolFilters, price: Decimal) -> None:
    if price < filters.min_price:
        raise PriceBelowMin(f"{symbol.name} price {price} < minPrice {filters.min_price}")
    if price > filters.max_price:
        raise PriceAboveMax(f"{symbol.name} price {price} > maxPrice {filters.max_price}")
    if _off_grid(price, filters.min_price, filters.tick_size):
        raise PriceNotOnTick(f"{symbol.name} price {price}, tickSize {filters.tick_size}")


def _lot_size(symbol: Symbol, filters: SymbolFilters, qty: Decimal, *, market: bool) -> None:
    name = "MARKET_LOT_SIZE" if market else "LOT_SIZE"
    least = filters.market_min_qty if market else filters.min_qty
    most = filters.market_max_qty if market else filters.max_qty
    step = filters.market_step_size if market else filters.step_size
    if qty < least:
        raise QuantityBelowMin(f"{symbol.name} quantity {qty} < {name} minQty {least}")
    if qty > most:
        raise QuantityAboveMax(f"{symbol.name} quantity {qty} > {name} maxQty {most}")
    if _off_grid(qty, least, step):
        raise QuantityNotOnStep(f"{symbol.name} quantity {qty}, {name} stepSize {step}")


def check_price(symbol: Symbol, price: Decimal) -> None:
    """A limit price: -1111 (decimals over pricePrecision), -4001 (≤ 0), then
    PRICE_FILTER: -4013 (< minPrice), -4002 (> maxPrice), -4014 (off the tick grid from
    minPrice)."""
    check_price_decimals(symbol, price)
    if price <= 0:
        raise PriceNotPositive(f"price {price}")
    _price_filter(symbol, filters_for(symbol), price)


def check_quantity(symbol: Symbol, qty: Decimal, *, market: bool) -> None:
    """A quantity: -1111 (decimals over quantityPrecision), -4003 (≤ 0), then LOT_SIZE
    (``market`` False) or MARKET_LOT_SIZE: -4004 (< minQty), -4005 (> maxQty), -4023
    (off the step grid from minQty)."""
    check_quantity_decimals(symbol, qty)
    if qty <= 0:
        raise QuantityNotPositive(f"quantity {qty}")
    _lot_size(symbol, filters_for(symbol), qty, market=market)


def check_order_filters(
    symbol: Symbol, qty: Decimal, price: Decimal | None, *, market: bool
) -> None:
    """Every check of a quantity and (LIMIT) price in Binance's order: -1111 (price,
    then quantity), -4003, -4001, PRICE_FILTER, then LOT_SIZE / MARKET_LOT_SIZE. A MARKET
    order has no ``price`` (None)."""
    if price is not None:
        check_price_decimals(symbol, price)
    check_quantity_decimals(symbol, qty)
    if qty <= 0:
        raise QuantityNotPositive(f"quantity {qty}")
    filters = filters_for(symbol)
    if price is not None:
        if price <= 0:
            raise PriceNotPositive(f"price {price}")
        _price_filter(symbol, filters, price)
    _lot_size(symbol, filters, qty, market=market)


def check_percent_price(symbol: Symbol, side: Side, price: Decimal, mark: Decimal | None) -> None:
    """PERCENT_PRICE against the mark: a BUY above ``mark × multiplierUp`` is refused
    with -4016, a SELL below ``mark × multiplierDown`` with -4024. No mark (None or 0):
    no check."""
    if not mark:
        return
    filters = filters_for(symbol)
    with localcontext(CONTEXT):
        if side is Side.BUY:
            cap = mark * filters.multiplier_up
            if price > cap:
                raise PriceAboveMultiplierCap(f"{symbol.name} BUY at {price} > {cap}")
        else:
            floor = mark * filters.multiplier_down
            if price < floor:
                raise PriceBelowMultiplierFloor(f"{symbol.name} SELL at {price} < {floor}")


def check_min_notional(symbol: Symbol, opening_qty: Decimal, price: Decimal) -> None:
    """MIN_NOTIONAL: -4164 when an order's opening quantity × price is under the
    filter's notional. Closing quantity is exempt (an order that only closes passes)."""
    if opening_qty <= 0:
        return
    least = filters_for(symbol).min_notional
    with localcontext(CONTEXT):
        value = opening_qty * price
    if value < least:
        raise NotionalTooSmall(
            fmt_exact(least), f"{symbol.name} opening {opening_qty} at {price} is {value}"
        )


def check_max_orders(account: Account, symbol: Symbol) -> None:
    """MAX_NUM_ORDERS: -2025 when ``account`` already has the most open orders
    ``symbol`` allows (a new one would be one too many)."""
    limit = filters_for(symbol).max_num_orders
    count = sum(1 for o in account.orders.values() if o.symbol == symbol.name)
    if count >= limit:
        raise MaxOpenOrders(f"{count} open {symbol.name} orders, at most {limit}")


def check_max_algo_orders(account: Account, symbol: Symbol) -> None:
    """MAX_NUM_ALGO_ORDERS: -4045 when ``account`` already has the most open algo
    orders ``symbol`` allows."""
    limit = filters_for(symbol).max_num_algo_orders
    count = sum(1 for a in account.algos.values() if a.symbol == symbol.name)
    if count >= limit:
        raise MaxStopOrders(f"{count} open {symbol.name} algo orders, at most {limit}")


def ceil_tick(price: Decimal, tick: Decimal) -> Decimal:
    """``price`` rounded up to a multiple of ``tick`` (written with the tick's decimals)."""
    with localcontext(CONTEXT):
        return ((price / tick).to_integral_value(ROUND_CEILING) * tick).quantize(tick)


def floor_tick(price: Decimal, tick: Decimal) -> Decimal:
    """``price`` rounded down to a multiple of ``tick`` (written with the tick's decimals)."""
    with localcontext(CONTEXT):
        return ((price / tick).to_integral_value(ROUND_FLOOR) * tick).quantize(tick)


def top_of_book(symbol: Symbol, mark: Decimal, slippage: Decimal) -> tuple[Decimal, Decimal]:
    """(bid, ask) around ``mark``: ``ask = ceil_tick(mark × (1 + slippage))``, ``bid =
    floor_tick(mark × (1 − slippage))``, never below one tick. ``slippage`` is a fraction
    (bps / 10 000)."""
    tick = filters_for(symbol).tick_size
    with localcontext(CONTEXT):
        ask = ceil_tick(mark * (ONE + slippage), tick)
        bid = floor_tick(mark * (ONE - slippage), tick)
    if bid <= ZERO:
        bid = tick
    return bid, max(ask, tick)
