"""A scenario account's resting orders: ``"orders": [{"symbol", "side", "type": "LIMIT",
"timeInForce": "GTC", "quantity", "price", "positionSide"?, "reduceOnly"?,
"clientOrderId"?}]``.

Each is placed as the account owner's would be (``engine.place_order``: filters, position
side, reduce-only, margin, a duplicated client id), in the document's order, after the
account's fills, at the scenario's marks over the server's. A scenario states orders
that rest: one the marks would fill at once is refused (state it as a fill), and so is
anything but a GTC or GTX LIMIT. Ids come after the ledger's, as every order's.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..engine import (
    Account,
    Event,
    IdSource,
    InvalidValue,
    Market,
    OrderRequest,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    parse_decimal,
    place_order,
)
from .inputs import check_fields
from .order_params import new_client_id

__all__ = ["ORDER_FIELDS", "order_request", "place_resting"]

ORDER_FIELDS = {
    "symbol",
    "side",
    "type",
    "timeInForce",
    "quantity",
    "price",
    "positionSide",
    "reduceOnly",
    "clientOrderId",
}
_REQUIRED = {"symbol", "side", "quantity", "price"}
_RESTING = {TimeInForce.GTC, TimeInForce.GTX}


def _choice(spec: Mapping[str, Any], name: str, default: str, allowed: set[str]) -> str:
    value = spec.get(name, default)
    if value not in allowed:
        raise InvalidValue(name, f"'{name}' must be one of {sorted(allowed)}, got {value!r}")
    assert isinstance(value, str)
    return value


def order_request(spec: object, where: str, market: Market) -> OrderRequest:
    """The placement one scenario order asks for; ``InvalidValue`` names what is wrong."""
    check_fields(spec, where, ORDER_FIELDS, _REQUIRED)
    assert isinstance(spec, Mapping)
    symbol = spec["symbol"]
    if not isinstance(symbol, str):
        raise InvalidValue("symbol", "'symbol' must be a string")
    market[symbol]  # -1121
    _choice(spec, "type", "LIMIT", {"LIMIT"})
    tif = _choice(spec, "timeInForce", "GTC", {t.value for t in _RESTING})
    side = _choice(spec, "side", "", {s.value for s in Side})
    position_side = spec.get("positionSide")
    if position_side is not None:
        position_side = _choice(spec, "positionSide", "", {p.value for p in PositionSide})
    reduce_only = spec.get("reduceOnly", False)
    if not isinstance(reduce_only, bool):
        raise InvalidValue("reduceOnly", "'reduceOnly' must be true or false")
    client_id = spec.get("clientOrderId", new_client_id())
    if not isinstance(client_id, str):
        raise InvalidValue("clientOrderId", "'clientOrderId' must be a string")
    return OrderRequest(
        symbol=symbol,
        side=Side(side),
        type=OrderType.LIMIT,
        client_order_id=client_id,
        quantity=parse_decimal(spec["quantity"], "quantity"),
        price=parse_decimal(spec["price"], "price"),
        position_side=None if position_side is None else PositionSide(position_side),
        time_in_force=TimeInForce(tif),
        reduce_only=reduce_only,
    )


def place_resting(
    spec: object,
    where: str,
    state: Account,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    ids: IdSource,
    now: int,
) -> Event:
    """The NEW update of one scenario order placed on ``state``; an engine refusal as the
    owner's placement would get it, and ``InvalidValue`` for an order the marks would fill
    at once."""
    request = order_request(spec, where, market)
    first, *rest = place_order(state, request, market, marks, ids=ids, now=now).events
    if rest:
        raise InvalidValue(
            "price",
            f"{request.side.value} at {request.price} would fill at once at the marks; "
            "a scenario's orders rest (state a fill instead)",
        )
    return first
