"""Orders to and from JSON: the ledger bodies of ``OrderUpdate`` (kind ``order``) and
``AlgoUpdate`` (kind ``algo``), and the bodies of the order index tables.

Names are Binance's (``origQty``, ``executedQty``, ``algoStatus``, ...); decimals are
plain-digit strings, never floats. A field holding its default is left out (a decimal
only when its digits are the default's: ``0.00`` is written) and restored on decode, so
an order's many untouched fields cost nothing in the ledger. Times of the updates are the
ledger row's, as for every event.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from ..engine import (
    AlgoOrder,
    AlgoStatus,
    AlgoUpdate,
    Execution,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionSide,
    Side,
    TimeInForce,
    Trade,
)
from ..engine.numbers import fmt_exact

__all__ = [
    "decode_algo",
    "decode_algo_update",
    "decode_order",
    "decode_order_update",
    "encode_algo",
    "encode_algo_update",
    "encode_order",
    "encode_order_update",
]

T = TypeVar("T")

# How a field's value becomes JSON and back.
_Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]
_DEC: _Codec = (fmt_exact, Decimal)
_STR: _Codec = (str, str)
_INT: _Codec = (int, int)
_BOOL: _Codec = (bool, bool)


def _enum(kind: type[StrEnum]) -> _Codec:
    return (lambda value: kind(value).value, kind)


_ORDER: dict[str, tuple[str, _Codec]] = {
    "order_id": ("orderId", _INT),
    "client_order_id": ("clientOrderId", _STR),
    "symbol": ("symbol", _STR),
    "side": ("side", _enum(Side)),
    "type": ("type", _enum(OrderType)),
    "quantity": ("origQty", _DEC),
    "price": ("price", _DEC),
    "position_side": ("positionSide", _enum(PositionSide)),
    "time_in_force": ("timeInForce", _enum(TimeInForce)),
    "reduce_only": ("reduceOnly", _BOOL),
    "close_position": ("closePosition", _BOOL),
    "orig_type": ("origType", _enum(OrderType)),  # None, its default, is never written
    "stop_price": ("stopPrice", _DEC),
    "working_type": ("workingType", _STR),
    "price_protect": ("priceProtect", _BOOL),
    "price_match": ("priceMatch", _STR),
    "self_trade_prevention": ("selfTradePreventionMode", _STR),
    "good_till_date": ("goodTillDate", _INT),
    "status": ("status", _enum(OrderStatus)),
    "executed_qty": ("executedQty", _DEC),
    "cum_quote": ("cumQuote", _DEC),
    "time": ("time", _INT),
    "update_time": ("updateTime", _INT),
    "modify_count": ("modifyCount", _INT),
    "activate_price": ("activatePrice", _DEC),
    "callback_rate": ("callbackRate", _DEC),
}

_TRADE: dict[str, tuple[str, _Codec]] = {
    "trade_id": ("id", _INT),
    "quantity": ("qty", _DEC),
    "price": ("price", _DEC),
    "fee": ("commission", _DEC),
    "maker": ("maker", _BOOL),
    "realized_pnl": ("realizedPnl", _DEC),
}

_ALGO: dict[str, tuple[str, _Codec]] = {
    "algo_id": ("algoId", _INT),
    "client_algo_id": ("clientAlgoId", _STR),
    "symbol": ("symbol", _STR),
    "side": ("side", _enum(Side)),
    "order_type": ("orderType", _enum(OrderType)),
    "quantity": ("quantity", _DEC),
    "trigger_price": ("triggerPrice", _DEC),
    "price": ("price", _DEC),
    "position_side": ("positionSide", _enum(PositionSide)),
    "time_in_force": ("timeInForce", _enum(TimeInForce)),
    "reduce_only": ("reduceOnly", _BOOL),
    "close_position": ("closePosition", _BOOL),
    "working_type": ("workingType", _STR),
    "price_protect": ("priceProtect", _BOOL),
    "price_match": ("priceMatch", _STR),
    "self_trade_prevention": ("selfTradePreventionMode", _STR),
    "good_till_date": ("goodTillDate", _INT),
    "activate_price": ("activatePrice", _DEC),
    "callback_rate": ("callbackRate", _DEC),
    "extreme": ("extreme", _DEC),
    "status": ("algoStatus", _enum(AlgoStatus)),
    "reject_reason": ("rejectReason", _STR),
    "create_time": ("createTime", _INT),
    "update_time": ("updateTime", _INT),
    "trigger_time": ("triggerTime", _INT),
    "actual_order_id": ("actualOrderId", _INT),
    "actual_price": ("actualPrice", _DEC),
    "actual_qty": ("actualQty", _DEC),
}


def _is_default(value: Any, default: Any) -> bool:
    if type(value) is not type(default) or value != default:
        return False
    return not isinstance(value, Decimal) or value.as_tuple() == default.as_tuple()


def _encode(value: Any, spec: dict[str, tuple[str, _Codec]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in dataclasses.fields(value):
        name, (encode, _) = spec[field.name]
        held = getattr(value, field.name)
        if not _is_default(held, field.default):  # MISSING (required) is never a default
            data[name] = encode(held)
    return data


def _decode(kind: Callable[..., T], data: dict[str, Any], spec: dict[str, tuple[str, _Codec]]) -> T:
    return kind(
        **{attr: decode(data[name]) for attr, (name, (_, decode)) in spec.items() if name in data}
    )


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def encode_order(order: Order) -> str:
    """An order as the JSON the ``orders`` table keeps."""
    return _dumps(_encode(order, _ORDER))


def decode_order(body: str) -> Order:
    return _decode(Order, json.loads(body), _ORDER)


def encode_algo(algo: AlgoOrder) -> str:
    """An algo order as the JSON the ``algo_orders`` table keeps."""
    return _dumps(_encode(algo, _ALGO))


def decode_algo(body: str) -> AlgoOrder:
    return _decode(AlgoOrder, json.loads(body), _ALGO)


def encode_order_update(update: OrderUpdate) -> str:
    """``{"order":{…},"x":"TRADE","trade":{…},"er":0}``, ``trade`` and ``er`` only when set."""
    data: dict[str, Any] = {
        "order": _encode(update.order, _ORDER),
        "x": Execution(update.execution).value,
    }
    if update.trade is not None:
        data["trade"] = _encode(update.trade, _TRADE)
    if update.expire_reason:
        data["er"] = update.expire_reason
    return _dumps(data)


def decode_order_update(body: str, time: int) -> OrderUpdate:
    data = json.loads(body)
    trade = data.get("trade")
    return OrderUpdate(
        _decode(Order, data["order"], _ORDER),
        Execution(data["x"]),
        None if trade is None else _decode(Trade, trade, _TRADE),
        int(data.get("er", 0)),
        time,
    )


def encode_algo_update(update: AlgoUpdate) -> str:
    return encode_algo(update.algo)


def decode_algo_update(body: str, time: int) -> AlgoUpdate:
    return AlgoUpdate(decode_algo(body), time)
