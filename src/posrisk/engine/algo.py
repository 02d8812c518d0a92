"""Conditional orders of the Algo service: placed, triggered into a regular order,
canceled, expired.

Binance moved STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET and
TRAILING_STOP_MARKET to ``POST /fapi/v1/algoOrder`` (``algoOrder.place``) in 2025-12. An
algo order carries no margin until it triggers (``algo_triggers`` says when); then the
regular order it sends (``triggered_request``) goes through the checks and matching of
any order. Every function is pure: the service applies the ``AlgoUpdate`` they return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from .account import Account, check_quantity_precision, sides_for
from .algo_errors import (
    AlgoIdMissing,
    GoodTillDateInvalid,
    InvalidActivationPrice,
    InvalidOrderType,
    InvalidWorkingType,
    MandatoryParamMissing,
    ParamNotRequired,
    ParamsCombinationInvalid,
    PriceMatchTypeUnsupported,
    StopOrderTriggering,
    StopPriceNotPositive,
)
from .algo_triggers import algo_on_mark, is_triggered, trailing_trigger_price, trigger_bounds
from .errors import (
    ClientOrderIdDuplicated,
    InvalidValue,
    MaxStopOrders,
    PositionSideMismatch,
    PrecisionOverMaximum,
    PriceNotPositive,
    QuantityNotPositive,
    QuantityWithClosePosition,
    UnknownOrder,
    WouldTriggerImmediately,
)
from .events import (
    AlgoOrder,
    AlgoStatus,
    AlgoUpdate,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    TimeInForce,
)
from .filters import check_min_notional, check_order_filters, check_percent_price, check_price
from .market import Market, Symbol
from .numbers import ZERO
from .order_request import OrderRequest

__all__ = [
    "ALGO_TYPES",
    "MAX_NUM_ALGO_ORDERS",
    "AlgoRequest",
    "algo_on_mark",
    "algo_status_update",
    "cancel_algo",
    "close_position_quantity",
    "expired_algos",
    "is_triggered",
    "place_algo",
    "trailing_trigger_price",
    "trigger_bounds",
    "triggered_request",
]

ALGO_TYPES = frozenset(
    {
        OrderType.STOP,
        OrderType.STOP_MARKET,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TRAILING_STOP_MARKET,
    }
)
# exchangeInfo's MAX_NUM_ALGO_ORDERS: open algo orders per symbol and account.
MAX_NUM_ALGO_ORDERS = 10

_LIMIT_TYPES = frozenset({OrderType.STOP, OrderType.TAKE_PROFIT})
_CLOSE_POSITION_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})
_WORKING_TYPES = frozenset({"CONTRACT_PRICE", "MARK_PRICE"})
# Refused on place since 2025-10-23 (no code documented: decided -1130).
_REMOVED_PRICE_MATCHES = frozenset({"OPPONENT_10", "OPPONENT_20"})
_MIN_CALLBACK_RATE = Decimal("0.1")
_MAX_CALLBACK_RATE = Decimal(10)
_GTD_MIN_AHEAD_MS = 600_000
_GTD_LIMIT_MS = 253402300799000


@dataclass(frozen=True, slots=True)
class AlgoRequest:
    """``algoOrder.place`` / ``POST /fapi/v1/algoOrder`` once the service has read its
    parameters: each value of its type, ``None`` when not sent; whether the combination
    is allowed is ``place_algo``'s to check. ``callback_rate`` is in percent (1 = 1%)."""

    symbol: str
    side: Side
    order_type: OrderType
    client_algo_id: str
    position_side: PositionSide | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    close_position: bool = False
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False
    activate_price: Decimal | None = None
    callback_rate: Decimal | None = None
    price_match: str = "NONE"
    self_trade_prevention: str = "EXPIRE_MAKER"
    good_till_date: int = 0


def place_algo(
    account: Account,
    request: AlgoRequest,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    algo_id: int,
    now: int,
) -> AlgoUpdate:
    """The new algo order ``request`` places, or the first refusal, in Binance's order:
    -1121 symbol, -1116 type, -4031 workingType; -1102 a mandatory parameter
    (``triggerPrice``, or trailing ``callbackRate`` 0.1–10; ``price`` of STOP/TAKE_PROFIT
    unless priceMatch; ``quantity`` unless closePosition); -1128 price with priceMatch,
    -5038 priceMatch on a market type, -1130 OPPONENT_10/20, -5040 GTD's date; -4061
    positionSide, -1106 reduceOnly in hedge mode; -4116 the clientAlgoId of an open algo;
    closePosition only on STOP_MARKET/TAKE_PROFIT_MARKET (-1106), without quantity (-4137)
    or reduceOnly (-1106), not BUY LONG / SELL SHORT (-4061); -1111, -4003, -4001, -4006,
    -4135 the numbers; the filters a regular order meets (``_check_filters``); -2021
    already triggered at the mark; -4045 the symbol's open algo
    orders full. No margin check: an algo order holds none until it triggers.
    """
    symbol = market[request.symbol]
    _check_type(request)
    _check_mandatory(request)
    good_till_date = _check_options(request, now)
    position_side = _position_side(account, request)
    _check_client_id(account, request)
    _check_close_position(request, position_side)
    _check_numbers(symbol, request)
    mark = marks.get(request.symbol)
    _check_filters(symbol, request, mark)
    algo = _new_algo(request, position_side, good_till_date, mark, algo_id, now)
    _check_not_triggered(algo, mark)
    open_on_symbol = sum(1 for a in account.algos.values() if a.symbol == request.symbol)
    if open_on_symbol >= MAX_NUM_ALGO_ORDERS:
        raise MaxStopOrders(f"{open_on_symbol} open algo orders on {request.symbol}")
    return AlgoUpdate(algo, now)


def _check_type(request: AlgoRequest) -> None:
    if request.order_type not in ALGO_TYPES:
        raise InvalidOrderType(f"{request.order_type.value} is not a conditional type")
    if request.working_type not in _WORKING_TYPES:
        raise InvalidWorkingType(request.working_type)


def _check_mandatory(request: AlgoRequest) -> None:
    kind = request.order_type
    if kind is OrderType.TRAILING_STOP_MARKET:
        rate = request.callback_rate
        if rate is None or not _MIN_CALLBACK_RATE <= rate <= _MAX_CALLBACK_RATE:
            raise MandatoryParamMissing("callbackRate", f"{rate} is not in [0.1, 10]")
    elif request.trigger_price is None:
        raise MandatoryParamMissing("triggerPrice", f"{kind.value} needs it")
    if kind in _LIMIT_TYPES and request.price is None and request.price_match == "NONE":
        raise MandatoryParamMissing("price", f"{kind.value} needs it")
    if request.quantity is None and not (request.close_position and kind in _CLOSE_POSITION_TYPES):
        raise MandatoryParamMissing("quantity", "needed unless closePosition")


def _check_options(request: AlgoRequest, now: int) -> int:
    """The optional parameters' combinations; the goodTillDate kept (0 unless GTD)."""
    if request.price_match != "NONE":
        if request.price is not None:
            raise ParamsCombinationInvalid("price with priceMatch")
        if request.order_type not in _LIMIT_TYPES:
            raise PriceMatchTypeUnsupported(f"priceMatch on {request.order_type.value}")
        if request.price_match in _REMOVED_PRICE_MATCHES:
            raise InvalidValue("priceMatch", f"{request.price_match} is not accepted")
    if request.time_in_force is not TimeInForce.GTD:
        return 0
    good_till_date = request.good_till_date - request.good_till_date % 1000
    if not now + _GTD_MIN_AHEAD_MS < good_till_date < _GTD_LIMIT_MS:
        raise GoodTillDateInvalid(f"goodTillDate {request.good_till_date} at {now}")
    return good_till_date


def _position_side(account: Account, request: AlgoRequest) -> PositionSide:
    hedge = account.position_mode is PositionMode.HEDGE
    side = request.position_side
    if side is None:
        side = PositionSide.BOTH
    if side not in sides_for(account.position_mode):
        raise PositionSideMismatch(f"positionSide {side.value} in {account.position_mode} mode")
    if hedge and request.reduce_only:
        raise ParamNotRequired("reduceOnly", "reduceOnly is not sent in hedge mode")
    return side


def _check_client_id(account: Account, request: AlgoRequest) -> None:
    if any(a.client_algo_id == request.client_algo_id for a in account.algos.values()):
        raise ClientOrderIdDuplicated(f"an open algo order has {request.client_algo_id!r}")


def _check_close_position(request: AlgoRequest, side: PositionSide) -> None:
    if not request.close_position:
        return
    if request.order_type not in _CLOSE_POSITION_TYPES:
        raise ParamNotRequired("closePosition", f"not with {request.order_type.value}")
    if request.quantity is not None:
        raise QuantityWithClosePosition(f"quantity {request.quantity} with closePosition")
    if request.reduce_only:
        raise ParamNotRequired("reduceOnly", "closePosition already reduces only")
    opening = PositionSide.LONG if request.side is Side.BUY else PositionSide.SHORT
    if side is opening:
        raise PositionSideMismatch(f"closePosition {request.side.value} {side.value} would open")


def _check_numbers(symbol: Symbol, request: AlgoRequest) -> None:
    if request.quantity is not None:
        check_quantity_precision(symbol, request.quantity)
    prices = (request.price, request.trigger_price, request.activate_price)
    for price in prices:
        if price is not None:
            _check_price_precision(symbol, price)
    if request.quantity is not None and request.quantity <= 0:
        raise QuantityNotPositive(f"quantity {request.quantity}")
    if request.price is not None and request.price <= 0:
        raise PriceNotPositive(f"price {request.price}")
    if request.trigger_price is not None and request.trigger_price <= 0:
        raise StopPriceNotPositive(f"triggerPrice {request.trigger_price}")
    if request.activate_price is not None and request.activate_price <= 0:
        raise InvalidActivationPrice(f"activatePrice {request.activate_price}")


def _check_filters(symbol: Symbol, request: AlgoRequest, mark: Decimal | None) -> None:
    """The filters a regular order meets, on what the algo order will send: its quantity
    (LOT_SIZE for STOP/TAKE_PROFIT, MARKET_LOT_SIZE for the market types), its prices on
    the tick grid (PRICE_FILTER), a limit price within PERCENT_PRICE of the mark, and
    MIN_NOTIONAL at the price it would trade at, unless it only closes."""
    limit = request.order_type in _LIMIT_TYPES
    price = request.price if limit else None
    if request.quantity is not None:
        check_order_filters(symbol, request.quantity, price, market=not limit)
    elif price is not None:
        check_price(symbol, price)
    trailing = request.order_type is OrderType.TRAILING_STOP_MARKET
    trigger = None if trailing else request.trigger_price  # a trailing one has none
    activate = request.activate_price if trailing else None
    for other in (trigger, activate):
        if other is not None:
            check_price(symbol, other)
    if price is not None:
        check_percent_price(symbol, request.side, price, mark)
    closes = request.reduce_only or request.close_position
    at = price or trigger or activate or mark
    if request.quantity is not None and not closes and at:
        check_min_notional(symbol, request.quantity, at)


def _check_price_precision(symbol: Symbol, price: Decimal) -> None:
    precision = symbol.price_precision
    if precision is not None:
        scaled = price.scaleb(precision)
        if scaled != scaled.to_integral_value():
            raise PrecisionOverMaximum(
                f"{symbol.name} prices have at most {precision} decimals, got {price}"
            )


def _new_algo(
    request: AlgoRequest,
    side: PositionSide,
    good_till_date: int,
    mark: Decimal | None,
    algo_id: int,
    now: int,
) -> AlgoOrder:
    trailing = request.order_type is OrderType.TRAILING_STOP_MARKET
    # Trailing without activatePrice is active at once, from the placement mark.
    extreme = mark if trailing and request.activate_price is None and mark is not None else ZERO
    return AlgoOrder(
        algo_id=algo_id,
        client_algo_id=request.client_algo_id,
        symbol=request.symbol,
        side=request.side,
        order_type=request.order_type,
        quantity=request.quantity if request.quantity is not None else ZERO,
        trigger_price=_or_zero(None if trailing else request.trigger_price),
        price=_or_zero(request.price if request.order_type in _LIMIT_TYPES else None),
        position_side=side,
        time_in_force=request.time_in_force or TimeInForce.GTC,
        reduce_only=request.reduce_only,
        close_position=request.close_position,
        working_type=request.working_type,
        price_protect=request.price_protect,
        price_match=request.price_match,
        self_trade_prevention=request.self_trade_prevention,
        good_till_date=good_till_date,
        activate_price=_or_zero(request.activate_price if trailing else None),
        callback_rate=_or_zero(request.callback_rate if trailing else None),
        extreme=extreme,
        create_time=now,
        update_time=now,
    )


def _or_zero(value: Decimal | None) -> Decimal:
    return value if value is not None else ZERO


def _check_not_triggered(algo: AlgoOrder, mark: Decimal | None) -> None:
    """-2021 when ``algo`` would trigger at once: at the mark, or (trailing) an
    activatePrice already reached (BUY: not below the mark, SELL: not above)."""
    if mark is None:
        return
    if algo.order_type is OrderType.TRAILING_STOP_MARKET:
        activate = algo.activate_price
        if activate and (activate >= mark if algo.side is Side.BUY else activate <= mark):
            raise WouldTriggerImmediately(f"activatePrice {activate} at mark {mark}")
    elif is_triggered(algo, mark):
        raise WouldTriggerImmediately(f"triggerPrice {algo.trigger_price} at mark {mark}")


def close_position_quantity(algo: AlgoOrder, account: Account) -> Decimal:
    """The whole side a closePosition order closes: |positionAmt| of its side (``BOTH``
    in one-way mode, ``LONG``/``SHORT`` in hedge mode)."""
    return abs(account.position(algo.symbol, algo.position_side).amount)


def triggered_request(algo: AlgoOrder, account: Account) -> OrderRequest:
    """The regular order a triggered ``algo`` sends: MARKET for STOP_MARKET,
    TAKE_PROFIT_MARKET and TRAILING_STOP_MARKET, else LIMIT at its price (or priceMatch)
    and timeInForce; clientOrderId = clientAlgoId; closePosition: the whole side, reduce
    only. It carries the algo's type (origType), trigger (stopPrice; trailing: the price it
    fired at), workingType and priceProtect."""
    market_type = algo.order_type not in _LIMIT_TYPES
    quantity = close_position_quantity(algo, account) if algo.close_position else algo.quantity
    price_matched = algo.price_match != "NONE"
    stop_price = trailing_trigger_price(algo) if algo.extreme else algo.trigger_price
    return OrderRequest(
        symbol=algo.symbol,
        side=algo.side,
        type=OrderType.MARKET if market_type else OrderType.LIMIT,
        client_order_id=algo.client_algo_id,
        quantity=quantity,
        price=None if market_type or price_matched else algo.price,
        position_side=algo.position_side,
        time_in_force=None if market_type else algo.time_in_force,
        reduce_only=algo.reduce_only or algo.close_position,
        price_match="NONE" if market_type else algo.price_match,
        self_trade_prevention=algo.self_trade_prevention,
        good_till_date=algo.good_till_date,
        close_position=algo.close_position,
        orig_type=algo.order_type,
        stop_price=stop_price if stop_price is not None else ZERO,
        working_type=algo.working_type,
        price_protect=algo.price_protect,
        activate_price=algo.activate_price,
        callback_rate=algo.callback_rate,
    )


# What each status may become: NEW → TRIGGERING → TRIGGERED → FINISHED, or it ends
# CANCELED, EXPIRED or REJECTED (the order it sent refused).
_NEXT_STATUSES: Mapping[AlgoStatus, frozenset[AlgoStatus]] = {
    AlgoStatus.NEW: frozenset(
        {AlgoStatus.TRIGGERING, AlgoStatus.CANCELED, AlgoStatus.EXPIRED, AlgoStatus.REJECTED}
    ),
    AlgoStatus.TRIGGERING: frozenset({AlgoStatus.TRIGGERED, AlgoStatus.REJECTED}),
    AlgoStatus.TRIGGERED: frozenset({AlgoStatus.FINISHED}),
}


def algo_status_update(
    algo: AlgoOrder,
    status: AlgoStatus,
    *,
    now: int,
    actual_order_id: int = 0,
    actual_price: Decimal = ZERO,
    actual_qty: Decimal = ZERO,
    reject_reason: str = "",
) -> AlgoUpdate:
    """``algo`` moved to ``status`` at ``now`` (TRIGGERING sets triggerTime); the actual
    order's id, price and quantity and a refusal's msg are kept when given."""
    if status not in _NEXT_STATUSES.get(algo.status, frozenset()):
        raise InvalidValue(
            "algoStatus", f"algo order {algo.algo_id} is {algo.status.value}, not {status.value}"
        )
    moved = replace(
        algo,
        status=status,
        update_time=now,
        trigger_time=now if status is AlgoStatus.TRIGGERING else algo.trigger_time,
        actual_order_id=actual_order_id or algo.actual_order_id,
        actual_price=actual_price or algo.actual_price,
        actual_qty=actual_qty or algo.actual_qty,
        reject_reason=reject_reason or algo.reject_reason,
    )
    return AlgoUpdate(moved, now)


def cancel_algo(
    account: Account, *, algo_id: int | None, client_algo_id: str | None, now: int
) -> AlgoUpdate:
    """The open algo order ``algo_id`` (it beats ``client_algo_id``) canceled; -1102 with
    neither, -2011 when no open algo order has it, -4117 while it is triggering."""
    if algo_id is None and client_algo_id is None:
        raise AlgoIdMissing()
    if algo_id is not None:
        found = account.algos.get(algo_id)
    else:
        found = next(
            (a for a in account.algos.values() if a.client_algo_id == client_algo_id), None
        )
    if found is None:
        raise UnknownOrder(f"no open algo order {algo_id or client_algo_id!r}")
    if found.status is AlgoStatus.TRIGGERING:
        raise StopOrderTriggering(f"algo order {found.algo_id} is sending its order")
    return algo_status_update(found, AlgoStatus.CANCELED, now=now)


def expired_algos(account: Account, now: int) -> list[AlgoUpdate]:
    """The untriggered algo orders that expire at ``now``, by createTime: GTD ones whose
    goodTillDate has come, and closing ones (reduceOnly, closePosition) whose side is flat."""
    updates = []
    for algo in sorted(account.algos.values(), key=lambda a: (a.create_time, a.algo_id)):
        if algo.status is not AlgoStatus.NEW:
            continue
        gtd_passed = algo.time_in_force is TimeInForce.GTD and now >= algo.good_till_date
        closing = algo.reduce_only or algo.close_position
        flat = not account.position(algo.symbol, algo.position_side).amount
        if gtd_passed or (closing and flat):
            updates.append(algo_status_update(algo, AlgoStatus.EXPIRED, now=now))
    return updates
