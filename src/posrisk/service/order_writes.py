"""The order writes of REST and the WS API, transport-free: each takes the service, the
authenticated account, the params as sent and the time, and returns the success body.
Placement and modification read their params into the engine's ``OrderRequest``
(``order_params``); a batch answers each item in place, a refusal as ``{"code","msg"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ..engine import EngineError, OrderRequest, OrderType, order_object
from ..protocol import WireError, read_decimal, read_long
from .inputs import known_symbol
from .order_params import (
    read_client_id,
    read_order_request,
    read_price_match,
    read_response_type,
    read_side,
)
from .orders import OrderService
from .registry import AccountEntry

__all__ = [
    "MAX_BATCH_CANCELS",
    "MAX_BATCH_ORDERS",
    "batch_cancel",
    "batch_modify",
    "batch_place",
    "cancel",
    "cancel_all",
    "modify",
    "order_ref",
    "place",
    "place_test",
]

Params = Mapping[str, object]
Body = Any

MAX_BATCH_ORDERS = 5
MAX_BATCH_CANCELS = 10
_CANCELED_ALL = {"code": 200, "msg": "The operation of cancel all open order is done."}


def order_ref(params: Params) -> tuple[int | None, str | None]:
    """(orderId, origClientOrderId) of an existing order; -1102 when neither is sent."""
    order_id = read_long(params, "orderId", required=False)
    client_id = read_client_id(params, "origClientOrderId")
    if order_id is None and client_id is None:
        raise WireError.mandatory_either("orderId", "origClientOrderId")
    return order_id, client_id


async def place(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    request = read_order_request(params, orders.market, now)
    response_type = read_response_type(params)
    placed = await orders.place(entry.name, request)
    order = placed.result if response_type == "RESULT" else placed.accepted
    return order_object(order, orders.market[order.symbol], "place")


def place_test(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    request = read_order_request(params, orders.market, now)
    read_response_type(params)
    order = orders.test(entry.name, request)
    return order_object(order, orders.market[order.symbol], "place")


async def cancel(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market, required=True)
    order_id, client_id = order_ref(params)
    order = await orders.cancel(entry.name, symbol, order_id=order_id, client_order_id=client_id)
    return order_object(order, orders.market[symbol], "cancel")


async def cancel_all(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market, required=True)
    await orders.cancel_all(entry.name, symbol)
    return _CANCELED_ALL


def _modify_request(orders: OrderService, params: Params) -> tuple[OrderRequest, int | None]:
    symbol = known_symbol(params, orders.market, required=True)
    side = read_side(params)
    order_id, client_id = order_ref(params)
    quantity = read_decimal(params, "quantity", required=True)
    match = read_price_match(params)
    price = read_decimal(params, "price", required=match == "NONE")
    if price is not None and match != "NONE":
        raise WireError.bad_combination()
    request = OrderRequest(
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT,
        client_order_id=client_id or "",
        quantity=quantity,
        price=price,
        price_match=match,
    )
    return request, order_id


async def modify(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    request, order_id = _modify_request(orders, params)
    modify_id = read_long(params, "modifyId", required=False)
    order = await orders.modify(entry.name, request, order_id)
    return order_object(order, orders.market[order.symbol], "modify", modify_id=modify_id)


def _batch(params: Params, name: str, most: int) -> list[Any]:
    """A JSON array param (a string over REST) of 1..``most`` items, else -4082."""
    raw = params.get(name)
    if raw is None or raw == "":
        raise WireError.mandatory_param(name)
    try:
        items = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    except orjson.JSONDecodeError:
        raise WireError.invalid_value(name) from None
    if not isinstance(items, list):
        raise WireError.invalid_value(name)
    if not 1 <= len(items) <= most:
        raise WireError.batch_size(len(items))
    return items


def _refusal(error: Exception) -> dict[str, Any]:
    if isinstance(error, WireError | EngineError):
        return {"code": error.code, "msg": error.msg}
    raise error


def _item(item: object) -> Params:
    if not isinstance(item, dict):
        raise WireError.invalid_value("batchOrders")
    return {
        str(k): v if isinstance(v, str | bool) or v is None else str(v) for k, v in item.items()
    }


async def batch_place(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    answers: list[Any] = []
    for item in _batch(params, "batchOrders", MAX_BATCH_ORDERS):
        try:
            answers.append(await place(orders, entry, _item(item), now))
        except (WireError, EngineError) as error:
            answers.append(_refusal(error))
    return answers


async def batch_modify(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    answers: list[Any] = []
    for item in _batch(params, "batchOrders", MAX_BATCH_ORDERS):
        try:
            answers.append(await modify(orders, entry, _item(item), now))
        except (WireError, EngineError) as error:
            answers.append(_refusal(error))
    return answers


async def batch_cancel(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market, required=True)
    if params.get("orderIdList") not in (None, ""):
        refs: list[tuple[int | None, str | None]] = [
            (read_long({"orderId": i}, "orderId", required=True), None)
            for i in _batch(params, "orderIdList", MAX_BATCH_CANCELS)
        ]
    elif params.get("origClientOrderIdList") not in (None, ""):
        refs = [
            (None, read_client_id({"origClientOrderId": c}, "origClientOrderId"))
            for c in _batch(params, "origClientOrderIdList", MAX_BATCH_CANCELS)
        ]
    else:
        raise WireError.mandatory_either("orderIdList", "origClientOrderIdList")
    answers: list[Any] = []
    for order_id, client_id in refs:
        try:
            order = await orders.cancel(
                entry.name, symbol, order_id=order_id, client_order_id=client_id
            )
            answers.append(order_object(order, orders.market[symbol], "cancel"))
        except (WireError, EngineError) as error:
            answers.append(_refusal(error))
    return answers
