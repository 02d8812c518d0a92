"""The wire shapes of orders: the order objects of the REST and WS API answers, the algo
objects, ``userTrades`` rows, and the ``ORDER_TRADE_UPDATE``, ``TRADE_LITE`` and
``ALGO_UPDATE`` events, with Binance's string formats.

Every function is pure: it reads an order as the engine holds it (``Order``, ``Trade``,
``OrderUpdate``, ``AlgoOrder``) and the ``Symbol`` it trades. Dicts come in Binance's key
order. Answers write prices at the symbol's pricePrecision and quantities at its
quantityPrecision (8 where unknown), padded; events write numbers normalized
(``"0.02"``, ``"46.26"``, ``"0"``), as 2026 captures do — except ``TRADE_LITE``, padded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from .events import (
    AlgoOrder,
    Order,
    OrderType,
    OrderUpdate,
    Side,
    Trade,
)
from .market import Symbol
from .numbers import ZERO, fmt_money, fmt_money_or_zero, fmt_normalized, fmt_quantity, to_money

__all__ = [
    "ORDER_OBJECT_KINDS",
    "algo_cancel_answer",
    "algo_object",
    "algo_update_event",
    "order_object",
    "order_trade_update",
    "trade_lite",
    "user_trade_row",
]

Row = dict[str, Any]

ORDER_OBJECT_KINDS: Final = frozenset({"place", "query", "cancel", "modify"})
"""What ``order_object`` answers: ``order.place`` (and POST order, batch items),
``order.status`` (GET order, openOrder(s), allOrders), ``order.cancel``, ``order.modify``."""

# Where a symbol publishes no precision, Binance's 8 decimals.
_DEFAULT_PRECISION = 8
_TRAILING = OrderType.TRAILING_STOP_MARKET
# avgPrice of an order that has not traded, as a 2024 WS capture writes it.
_NO_AVERAGE = "0.00"


def _precisions(symbol: Symbol) -> tuple[int, int]:
    """(pricePrecision, quantityPrecision), 8 where the symbol has none."""
    price = symbol.price_precision
    quantity = symbol.quantity_precision
    return (
        _DEFAULT_PRECISION if price is None else price,
        _DEFAULT_PRECISION if quantity is None else quantity,
    )


def _fixed(value: Decimal, decimals: int) -> str:
    """``value`` cut toward zero at exactly ``decimals`` decimals (``"42088.00"``)."""
    return fmt_quantity(value, decimals)


def _time_in_force(order: Order) -> str:
    """The timeInForce Binance shows: ``GTE_GTC`` for a closePosition order, ``GTC`` for a
    MARKET one, else the order's own."""
    if order.close_position:
        return "GTE_GTC"
    if order.type is OrderType.MARKET:
        return "GTC"
    return order.time_in_force.value


def order_object(order: Order, symbol: Symbol, kind: str, *, modify_id: int | None = None) -> Row:
    """The order object an answer carries (``kind`` in ``ORDER_OBJECT_KINDS``):

    - ``place``: what ``order.place``, POST order and its batch items return (ACK: the
      order as accepted; RESULT: after matching);
    - ``query``: without ``cumQty``, with ``time`` (GET order, openOrder(s), allOrders);
    - ``cancel``: without ``avgPrice``;
    - ``modify``: with ``pair``, ``cumBase`` (decided: = cumQuote) and ``modifyId`` when
      the request sent one.
    """
    if kind not in ORDER_OBJECT_KINDS:
        raise ValueError(f"order_object kind {kind!r} is not one of {sorted(ORDER_OBJECT_KINDS)}")
    price_decimals, quantity_decimals = _precisions(symbol)
    executed = _fixed(order.executed_qty, quantity_decimals)
    cum_quote = _fixed(order.cum_quote, price_decimals + quantity_decimals)
    average = (
        _fixed(order.avg_price, price_decimals + quantity_decimals)
        if order.executed_qty
        else _NO_AVERAGE
    )
    row: Row = {"orderId": order.order_id, "symbol": order.symbol}
    if kind == "modify":
        row["pair"] = order.symbol
    row["status"] = order.status.value
    row["clientOrderId"] = order.client_order_id
    if kind == "modify" and modify_id is not None:
        row["modifyId"] = modify_id
    row["price"] = _fixed(order.price, price_decimals)
    if kind != "cancel":
        row["avgPrice"] = average
    row["origQty"] = _fixed(order.quantity, quantity_decimals)
    row["executedQty"] = executed
    if kind != "query":
        row["cumQty"] = executed
    row["cumQuote"] = cum_quote
    if kind == "modify":
        row["cumBase"] = cum_quote
    row.update(
        {
            "timeInForce": _time_in_force(order),
            "type": order.type.value,
            "reduceOnly": order.reduce_only,
            "closePosition": order.close_position,
            "side": order.side.value,
            "positionSide": order.position_side.value,
            "stopPrice": _fixed(order.stop_price, price_decimals),
            "workingType": order.working_type,
            "priceProtect": order.price_protect,
            "origType": order.original_type.value,
            "priceMatch": order.price_match,
            "selfTradePreventionMode": order.self_trade_prevention,
            "goodTillDate": order.good_till_date,
        }
    )
    if kind == "query":
        row["time"] = order.time
    row["updateTime"] = order.update_time
    return row


def _actual_type(algo: AlgoOrder) -> str:
    """The type of the regular order an algo order places when it triggers."""
    if algo.order_type in (OrderType.STOP, OrderType.TAKE_PROFIT):
        return OrderType.LIMIT.value
    return OrderType.MARKET.value


def algo_object(algo: AlgoOrder, symbol: Symbol, *, query: bool) -> Row:
    """An algo order as ``algoOrder`` answers it (POST algoOrder, ``algoOrder.place``;
    ``query``: GET algoOrder, openAlgoOrders, allAlgoOrders, which add the ``actual*`` fields
    of the order it placed: ``actualOrderId`` ``""`` and zeros until it triggers;
    ``actualType`` only once triggered, as Binance documents). Trailing stops add
    ``activatePrice`` and ``callbackRate``."""
    price_decimals, quantity_decimals = _precisions(symbol)
    row: Row = {
        "algoId": algo.algo_id,
        "clientAlgoId": algo.client_algo_id,
        "algoType": "CONDITIONAL",
        "orderType": algo.order_type.value,
        "symbol": algo.symbol,
        "side": algo.side.value,
        "positionSide": algo.position_side.value,
        "timeInForce": algo.time_in_force.value,
        "quantity": _fixed(algo.quantity, quantity_decimals),
        "algoStatus": algo.status.value,
    }
    if query:
        triggered = algo.actual_order_id != 0
        row["actualOrderId"] = str(algo.actual_order_id) if triggered else ""
        row["actualPrice"] = _fixed(algo.actual_price, price_decimals)
        if triggered:
            row["actualType"] = _actual_type(algo)
        row["actualQty"] = _fixed(algo.actual_qty, quantity_decimals)
    row.update(
        {
            "triggerPrice": _fixed(algo.trigger_price, price_decimals),
            "price": _fixed(algo.price, price_decimals),
            "icebergQuantity": None,
            "selfTradePreventionMode": algo.self_trade_prevention,
            "workingType": algo.working_type,
            "priceMatch": algo.price_match,
            "closePosition": algo.close_position,
            "priceProtect": algo.price_protect,
            "reduceOnly": algo.reduce_only,
        }
    )
    if algo.order_type is _TRAILING:
        row["activatePrice"] = _fixed(algo.activate_price, price_decimals)
        row["callbackRate"] = fmt_normalized(algo.callback_rate)
    row["createTime"] = algo.create_time
    row["updateTime"] = algo.update_time
    row["triggerTime"] = algo.trigger_time
    row["goodTillDate"] = algo.good_till_date
    return row


def algo_cancel_answer(algo: AlgoOrder) -> Row:
    """What DELETE algoOrder and ``algoOrder.cancel`` return (``code`` a string, as captured)."""
    return {
        "algoId": algo.algo_id,
        "clientAlgoId": algo.client_algo_id,
        "code": "200",
        "msg": "success",
    }


def _trade_of(update: OrderUpdate) -> Trade:
    if update.trade is None:
        raise ValueError(
            f"order {update.order.order_id}: a {update.execution.value} update has no trade"
        )
    return update.trade


def user_trade_row(update: OrderUpdate, symbol: Symbol) -> Row:
    """One ``GET /fapi/v1/userTrades`` row from the update that made the trade (its order as
    after the trade): the commission positive at 8 decimals, as the wallet paid it."""
    trade = _trade_of(update)
    order = update.order
    price_decimals, quantity_decimals = _precisions(symbol)
    return {
        "buyer": order.side is Side.BUY,
        "commission": fmt_money(to_money(trade.fee)),
        "commissionAsset": symbol.margin_asset,
        "id": trade.trade_id,
        "maker": trade.maker,
        "orderId": order.order_id,
        "price": _fixed(trade.price, price_decimals),
        "qty": _fixed(trade.quantity, quantity_decimals),
        "quoteQty": _fixed(trade.quantity * trade.price, price_decimals + quantity_decimals),
        "realizedPnl": fmt_money_or_zero(trade.realized_pnl),
        "side": order.side.value,
        "positionSide": order.position_side.value,
        "symbol": order.symbol,
        "time": update.time,
    }


def trade_lite(update: OrderUpdate, symbol: Symbol, *, time: int) -> Row:
    """The ``TRADE_LITE`` event of a fill: padded numbers (quantities at quantityPrecision,
    prices at pricePrecision, a MARKET order's price ``"0.00"``), as both captures show."""
    trade = _trade_of(update)
    order = update.order
    price_decimals, quantity_decimals = _precisions(symbol)
    return {
        "e": "TRADE_LITE",
        "E": time,
        "T": time,
        "s": order.symbol,
        "q": _fixed(order.quantity, quantity_decimals),
        "p": _fixed(order.price, price_decimals),
        "m": trade.maker,
        "c": order.client_order_id,
        "S": order.side.value,
        "L": _fixed(trade.price, price_decimals),
        "l": _fixed(trade.quantity, quantity_decimals),
        "t": trade.trade_id,
        "i": order.order_id,
    }


def order_trade_update(
    update: OrderUpdate,
    symbol: Symbol,
    *,
    bid_notional: Decimal,
    ask_notional: Decimal,
    time: int,
) -> Row:
    """The ``ORDER_TRADE_UPDATE`` of an order update; ``bid_notional``/``ask_notional`` are
    the open BUY/SELL notional of the order's position side *after* it. ``E`` = ``T`` =
    ``time`` (decided). Every field, in the order Binance's field table lists them
    (``AP``, ``cr`` last, trailing stops only); numbers normalized."""
    order = update.order
    trade = update.trade
    average = order.avg_price if order.executed_qty else ZERO
    o: Row = {
        "s": order.symbol,
        "c": order.client_order_id,
        "S": order.side.value,
        "ps": order.position_side.value,
        "o": order.type.value,
        "ot": order.original_type.value,
        "f": _time_in_force(order),
        "q": fmt_normalized(order.quantity),
        "p": fmt_normalized(order.price),
        "sp": fmt_normalized(order.stop_price),
        "ap": fmt_normalized(average),
        "x": update.execution.value,
        "X": order.status.value,
        "i": order.order_id,
        "t": trade.trade_id if trade else 0,
        "T": time,
        "l": fmt_normalized(trade.quantity) if trade else "0",
        "z": fmt_normalized(order.executed_qty),
        "L": fmt_normalized(trade.price) if trade else "0",
        "n": fmt_normalized(to_money(trade.fee)) if trade else "0",
        "N": symbol.margin_asset,
        "rp": fmt_normalized(trade.realized_pnl) if trade else "0",
        "b": fmt_normalized(bid_notional),
        "a": fmt_normalized(ask_notional),
        "m": trade.maker if trade else False,
        "R": order.reduce_only,
        "cp": order.close_position,
        "pP": order.price_protect,
        "wt": order.working_type,
        "V": order.self_trade_prevention,
        "pm": order.price_match,
        "gtd": order.good_till_date,
        "si": 0,
        "ss": 0,
        "er": str(update.expire_reason),
    }
    if order.original_type is _TRAILING:  # trailing stops only
        o["AP"] = fmt_normalized(order.activate_price)
        o["cr"] = fmt_normalized(order.callback_rate)
    return {"e": "ORDER_TRADE_UPDATE", "E": time, "T": time, "o": o}


def algo_update_event(algo: AlgoOrder, symbol: Symbol, *, time: int) -> Row:
    """The ``ALGO_UPDATE`` of an algo order's change: normalized numbers; before it
    triggers ``ai`` ``""``, ``act`` ``"0"``, ``ap``/``aq`` ``"0.00000"``; ``rm`` the
    refusal's message when REJECTED; ``ia`` whether a trailing stop is activated."""
    triggered = algo.actual_order_id != 0
    if triggered:
        order_id = str(algo.actual_order_id)
        actual_type = _actual_type(algo)
        actual_price = fmt_normalized(algo.actual_price)
        actual_qty = fmt_normalized(algo.actual_qty)
    else:
        order_id, actual_type, actual_price, actual_qty = "", "0", "0.00000", "0.00000"
    o: Row = {
        "caid": algo.client_algo_id,
        "aid": algo.algo_id,
        "at": "CONDITIONAL",
        "o": algo.order_type.value,
        "s": algo.symbol,
        "S": algo.side.value,
        "ps": algo.position_side.value,
        "f": algo.time_in_force.value,
        "q": fmt_normalized(algo.quantity),
        "X": algo.status.value,
        "ai": order_id,
        "ap": actual_price,
        "aq": actual_qty,
        "act": actual_type,
        "tp": fmt_normalized(algo.trigger_price),
        "p": fmt_normalized(algo.price),
        "V": algo.self_trade_prevention,
        "wt": algo.working_type,
        "pm": algo.price_match,
        "cp": algo.close_position,
        "pP": algo.price_protect,
        "R": algo.reduce_only,
        "tt": algo.trigger_time,
        "gtd": algo.good_till_date,
        "rm": algo.reject_reason,
        "ia": algo.order_type is _TRAILING and algo.extreme != ZERO,
    }
    return {"e": "ALGO_UPDATE", "T": time, "E": time, "o": o}
