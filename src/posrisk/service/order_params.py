"""An order's params as sent (REST strings or WS API JSON values) read into the engine's
``OrderRequest``, refused in Binance's order with Binance's codes: symbol (-1121), side
(-1117), type (-1116; a conditional type -4120: the Algo service takes those),
timeInForce (-1115), newOrderRespType (-1136), what a type needs or must not have (-1102,
-1106, lowercase names as captured), price with priceMatch (-1128), goodTillDate (-5040),
positionSide (-4060), newClientOrderId (-1100). What depends on the account and the
mark — position side in the account's mode, duplicates, filters, margin — is the
engine's (``engine.placement``, ``engine.matching``).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping

from ..engine import Market, OrderRequest, OrderType, PositionSide, Side, TimeInForce
from ..protocol import WireError, read_bool, read_decimal, read_long
from .inputs import known_symbol

__all__ = [
    "CLIENT_ID_RANGE",
    "CONDITIONAL_TYPES",
    "new_client_id",
    "read_client_id",
    "read_enum",
    "read_order_request",
    "read_position_side",
    "read_price_match",
    "read_price_match_sent",
    "read_response_type",
    "read_side",
    "read_time_in_force",
]

Params = Mapping[str, object]

CLIENT_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
_CLIENT_ID_CHARS = frozenset(string.ascii_letters + string.digits + ".:/_-")
_BASE62 = string.ascii_letters + string.digits
CONDITIONAL_TYPES = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
PRICE_MATCHES = frozenset(
    {"NONE", "OPPONENT", "OPPONENT_5", "QUEUE", "QUEUE_5", "QUEUE_10", "QUEUE_20"}
)
# Refused on place and modify since 2025-10-23 (no code documented: decided -1130).
_RETIRED_MATCHES = frozenset({"OPPONENT_10", "OPPONENT_20"})
STP_MODES = frozenset({"NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"})
RESPONSE_TYPES = frozenset({"ACK", "RESULT"})
# goodTillDate: more than 600 s ahead, before 253402300799000 (year 9999).
_GTD_LEAD_MS = 600_000
_GTD_LIMIT = 253_402_300_799_000


def new_client_id() -> str:
    """Binance's default client order id: 22 random base62 characters."""
    # One draw from the OS for the whole id (a secrets.choice per character made 22
    # getrandom calls per order: several % of a placement's time); 62**22 > 2**130.
    number = secrets.randbits(131)
    characters = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        characters.append(_BASE62[digit])
    return "".join(characters)


def read_enum(params: Params, name: str) -> str | None:
    """A string param as sent (None when not sent); anything but a string is -1130."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WireError.invalid_value(name)
    return value


def read_client_id(params: Params, name: str) -> str | None:
    """A client order id as sent, checked against ``CLIENT_ID_RANGE`` (-1100)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 36 or set(value) - _CLIENT_ID_CHARS:
        raise WireError.illegal_chars(name, CLIENT_ID_RANGE)
    return value


def read_response_type(params: Params) -> str:
    """``newOrderRespType``: ACK (the default) or RESULT, else -1136."""
    value = read_enum(params, "newOrderRespType") or "ACK"
    if value not in RESPONSE_TYPES:
        raise WireError.invalid_resp_type()
    return value


def read_side(params: Params) -> Side:
    value = read_enum(params, "side")
    if value is None:
        raise WireError.mandatory_param("side")
    if value not in ("BUY", "SELL"):
        raise WireError.invalid_side()
    return Side(value)


def _type(params: Params) -> OrderType:
    value = read_enum(params, "type")
    if value is None:
        raise WireError.mandatory_param("type")
    if value in CONDITIONAL_TYPES:
        raise WireError.use_algo_endpoint()
    if value not in ("LIMIT", "MARKET"):
        raise WireError.invalid_order_type()
    return OrderType(value)


def read_time_in_force(params: Params) -> TimeInForce | None:
    value = read_enum(params, "timeInForce")
    if value is None:
        return None
    if value not in TimeInForce.__members__:  # RPI too: there is no RPI book (decided)
        raise WireError.invalid_time_in_force()
    return TimeInForce(value)


def read_position_side(params: Params) -> PositionSide | None:
    value = read_enum(params, "positionSide")
    if value is None:
        return None
    if value not in PositionSide.__members__:
        raise WireError.invalid_position_side()
    return PositionSide(value)


def read_price_match(params: Params) -> str:
    """``priceMatch`` (NONE when not sent), a value Binance accepts, else -1130."""
    value = read_price_match_sent(params)
    if value not in PRICE_MATCHES:
        raise WireError.invalid_value("priceMatch")
    return value


def read_price_match_sent(params: Params) -> str:
    """``priceMatch`` as sent (NONE when not sent): a known name, else -1130."""
    value = read_enum(params, "priceMatch") or "NONE"
    if value not in PRICE_MATCHES | _RETIRED_MATCHES:
        raise WireError.invalid_value("priceMatch")
    return value


def _good_till_date(params: Params, tif: TimeInForce | None, now: int) -> int:
    if tif is not TimeInForce.GTD:
        return 0
    value = read_long(params, "goodTillDate", required=True)
    assert value is not None
    value -= value % 1000  # Binance keeps whole seconds
    if not now + _GTD_LEAD_MS < value < _GTD_LIMIT:
        raise WireError.good_till_date()
    return value


def read_order_request(params: Params, market: Market, now: int) -> OrderRequest:
    """The typed placement of ``order.place`` / ``POST /fapi/v1/order``."""
    symbol = known_symbol(params, market, required=True)
    side = read_side(params)
    order_type = _type(params)
    tif = read_time_in_force(params)
    read_response_type(params)
    quantity = read_decimal(params, "quantity", required=False)
    price = read_decimal(params, "price", required=False)
    match = read_enum(params, "priceMatch")
    if order_type is OrderType.LIMIT:
        if tif is None:
            raise WireError.mandatory_param("timeinforce")
        if quantity is None:
            raise WireError.mandatory_param("quantity")
        if price is None and match in (None, "NONE"):
            raise WireError.mandatory_param("price")
    else:
        if quantity is None:
            raise WireError.mandatory_param("quantity")
        if price is not None:
            raise WireError.not_required("price")
        if tif is not None:
            raise WireError.not_required("timeinforce")
    if price is not None and match not in (None, "NONE"):
        raise WireError.bad_combination()
    if match in _RETIRED_MATCHES:
        raise WireError.invalid_value("priceMatch")
    price_match = read_price_match(params)
    stp = read_enum(params, "selfTradePreventionMode") or "EXPIRE_MAKER"
    if stp not in STP_MODES:
        raise WireError.invalid_value("selfTradePreventionMode")
    good_till = _good_till_date(params, tif, now)
    position_side = read_position_side(params)
    reduce_only = read_bool(params, "reduceOnly", False)
    client_id = read_client_id(params, "newClientOrderId") or new_client_id()
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=order_type,
        client_order_id=client_id,
        quantity=quantity,
        price=price,
        position_side=position_side,
        time_in_force=tif,
        reduce_only=reduce_only,
        price_match=price_match,
        self_trade_prevention=stp,
        good_till_date=good_till,
    )
