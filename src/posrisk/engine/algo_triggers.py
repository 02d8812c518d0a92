"""When a conditional order fires: the mark against its trigger, and a trailing order's
activation and the extreme it follows.

Decided: both working types read the mark (``priceProtect`` is inert).

- STOP, STOP_MARKET: BUY when ``M ≥ triggerPrice``, SELL when ``M ≤ triggerPrice``;
- TAKE_PROFIT, TAKE_PROFIT_MARKET: BUY when ``M ≤ triggerPrice``, SELL when ``M ≥``;
- TRAILING_STOP_MARKET: active once the mark reaches ``activatePrice`` (BUY ``M ≤``,
  SELL ``M ≥``; none sent: at once, at the placement mark), then BUY when
  ``M ≥ lowest × (1 + callbackRate/100)``, SELL when ``M ≤ highest × (1 − callbackRate/100)``,
  the lowest/highest mark since activation kept in ``AlgoOrder.extreme``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from .events import AlgoOrder, OrderType, Side
from .numbers import ONE

__all__ = ["algo_on_mark", "is_triggered", "trailing_trigger_price", "trigger_bounds"]

_STOPS = frozenset({OrderType.STOP, OrderType.STOP_MARKET})
_TAKE_PROFITS = frozenset({OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_MARKET})
_HUNDRED = Decimal(100)


def algo_on_mark(algo: AlgoOrder, mark: Decimal, *, now: int) -> AlgoOrder | None:
    """``algo`` after the mark ``mark``, or None when it did not change: a trailing order
    activates when the mark reaches activatePrice (or at its first mark when it has none)
    and then keeps the lowest (BUY) / highest (SELL) mark. Other types keep no state.
    ``update_time`` stays: Binance sends no ALGO_UPDATE for these moves."""
    del now  # the moves leave updateTime as it is
    if algo.order_type is not OrderType.TRAILING_STOP_MARKET:
        return None
    buy = algo.side is Side.BUY
    if not algo.extreme:
        activate = algo.activate_price
        if activate and (mark > activate if buy else mark < activate):
            return None
        return replace(algo, extreme=mark)
    if mark < algo.extreme if buy else mark > algo.extreme:
        return replace(algo, extreme=mark)
    return None


def trailing_trigger_price(algo: AlgoOrder) -> Decimal | None:
    """Where an active trailing order fires: lowest × (1 + rate/100) for BUY, highest ×
    (1 − rate/100) for SELL; None before activation (or for another type)."""
    if algo.order_type is not OrderType.TRAILING_STOP_MARKET or not algo.extreme:
        return None
    step = algo.callback_rate / _HUNDRED
    return algo.extreme * (ONE + step if algo.side is Side.BUY else ONE - step)


def trigger_bounds(algo: AlgoOrder) -> tuple[Decimal | None, Decimal | None]:
    """``(fires_at_or_above, fires_at_or_below)``: the mark at or above which, and the one
    at or below which, ``algo`` triggers (one of them None). A trailing order moves with
    the marks: ``(None, None)``, to be looked at on every mark of its symbol."""
    kind = algo.order_type
    rising = (kind in _STOPS) == (algo.side is Side.BUY)
    if kind not in _STOPS and kind not in _TAKE_PROFITS:
        return None, None
    return (algo.trigger_price, None) if rising else (None, algo.trigger_price)


def is_triggered(algo: AlgoOrder, mark: Decimal) -> bool:
    """Whether ``algo`` fires at ``mark`` (for a trailing order: after ``algo_on_mark``
    took this mark into its extreme)."""
    if algo.order_type is OrderType.TRAILING_STOP_MARKET:
        fires_at = trailing_trigger_price(algo)
        if fires_at is None:
            return False
        return mark >= fires_at if algo.side is Side.BUY else mark <= fires_at
    above, below = trigger_bounds(algo)
    if above is not None:
        return mark >= above
    return below is not None and mark <= below
