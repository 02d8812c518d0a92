"""An algo order's params as sent (REST strings or WS API JSON values) read into the
engine's ``AlgoRequest``: ``algoType`` must be CONDITIONAL (-1130), ``type`` one of the
five conditional types (-1116; LIMIT and MARKET belong to ``order``), the enums and
numbers of their types (-1117, -1115, -4060, -1100, -1130); whether the combination is
allowed, and everything that depends on the account and the mark, is the engine's
(``engine.place_algo``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..engine import AlgoRequest, Market, OrderType
from ..protocol import WireError, read_bool, read_decimal, read_long
from .inputs import known_symbol
from .order_params import (
    CONDITIONAL_TYPES,
    new_client_id,
    read_client_id,
    read_enum,
    read_position_side,
    read_price_match_sent,
    read_side,
    read_time_in_force,
)

__all__ = ["read_algo_request"]

Params = Mapping[str, object]


def _algo_type(params: Params) -> OrderType:
    algo_type = read_enum(params, "algoType")
    if algo_type is None:
        raise WireError.mandatory_param("algotype")
    if algo_type != "CONDITIONAL":
        raise WireError.invalid_value("algoType")
    value = read_enum(params, "type")
    if value is None:
        raise WireError.mandatory_param("type")
    if value not in CONDITIONAL_TYPES:
        raise WireError.invalid_order_type()
    return OrderType(value)


def read_algo_request(params: Params, market: Market) -> AlgoRequest:
    """The typed placement of ``algoOrder.place`` / ``POST /fapi/v1/algoOrder``."""
    symbol = known_symbol(params, market, required=True)
    side = read_side(params)
    order_type = _algo_type(params)
    working = read_enum(params, "workingType") or "CONTRACT_PRICE"
    return AlgoRequest(
        symbol=symbol,
        side=side,
        order_type=order_type,
        client_algo_id=read_client_id(params, "clientAlgoId") or new_client_id(),
        position_side=read_position_side(params),
        quantity=read_decimal(params, "quantity", required=False),
        price=read_decimal(params, "price", required=False),
        trigger_price=read_decimal(params, "triggerPrice", required=False),
        time_in_force=read_time_in_force(params),
        reduce_only=read_bool(params, "reduceOnly", False),
        close_position=read_bool(params, "closePosition", False),
        working_type=working,
        price_protect=read_bool(params, "priceProtect", False),
        activate_price=read_decimal(params, "activatePrice", required=False),
        callback_rate=read_decimal(params, "callbackRate", required=False),
        price_match=read_price_match_sent(params),
        self_trade_prevention=read_enum(params, "selfTradePreventionMode") or "EXPIRE_MAKER",
        good_till_date=read_long(params, "goodTillDate", required=False) or 0,
    )
