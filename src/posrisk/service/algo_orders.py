"""The account owner's conditional (algo) orders: placed and canceled through the one
write path, triggered by the marks (``OrderService.on_marks``), read back from the served
state (open ones) and the store (the rest).

Since 2025-12-09 Binance serves the five conditional types only here (``order`` answers
-4120). An algo order holds no margin until it triggers; then the regular order it sends
is checked and matched like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine import (
    Account,
    AlgoOrder,
    AlgoUpdate,
    Event,
    OrderNotFound,
    algo_cancel_answer,
    algo_object,
    cancel_algo,
    place_algo,
)
from ..protocol import WireError, read_long
from .algo_params import read_algo_request
from .inputs import known_symbol
from .order_params import read_client_id, read_enum
from .order_reads import DEFAULT_LIMIT, MAX_LIMIT, window
from .orders import OrderService
from .registry import AccountEntry

__all__ = [
    "algo_cancel",
    "algo_cancel_all",
    "algo_place",
    "algo_query",
    "all_algo_orders",
    "open_algo_orders",
]

Params = Mapping[str, object]
Body = Any
_CANCELED_ALL = {"code": 200, "msg": "The operation of cancel all open order is done."}


def _algo_ref(params: Params) -> tuple[int | None, str | None]:
    algo_id = read_long(params, "algoId", required=False)
    client_id = read_client_id(params, "clientAlgoId")
    if algo_id is None and client_id is None:
        raise WireError.mandatory_either("algoId", "clientAlgoId")
    return algo_id, client_id


async def algo_place(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    request = read_algo_request(params, orders.market)
    registry = orders.registry

    def plan(state: Account, at: int) -> list[Event]:
        ids = registry.ids.next_ids()
        return [
            place_algo(
                state, request, orders.market, registry.marks, algo_id=ids.next_algo_id(), now=at
            )
        ]

    (placed,) = await orders.admin.plan_events(entry.name, plan)
    assert isinstance(placed, AlgoUpdate)
    return algo_object(placed.algo, orders.market[placed.algo.symbol], query=False)


async def algo_cancel(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    algo_id, client_id = _algo_ref(params)

    def plan(state: Account, at: int) -> list[Event]:
        return [cancel_algo(state, algo_id=algo_id, client_algo_id=client_id, now=at)]

    (canceled,) = await orders.admin.plan_events(entry.name, plan)
    assert isinstance(canceled, AlgoUpdate)
    return algo_cancel_answer(canceled.algo)


async def algo_cancel_all(
    orders: OrderService, entry: AccountEntry, params: Params, now: int
) -> Body:
    symbol = known_symbol(params, orders.market, required=True)

    def plan(state: Account, at: int) -> list[Event]:
        return [
            cancel_algo(state, algo_id=a.algo_id, client_algo_id=None, now=at)
            for a in sorted(state.algos.values(), key=lambda a: a.algo_id)
            if a.symbol == symbol
        ]

    await orders.admin.plan_events(entry.name, plan)
    return _CANCELED_ALL


def _open(orders: OrderService, account: str) -> list[AlgoOrder]:
    algos = orders.registry.account(account).account.algos.values()
    return sorted(algos, key=lambda a: a.algo_id)


async def algo_query(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    algo_id, client_id = _algo_ref(params)
    for algo in _open(orders, entry.name):
        if algo.algo_id == algo_id or (algo_id is None and algo.client_algo_id == client_id):
            return algo_object(algo, orders.market[algo.symbol], query=True)
    found = await orders.admin.store.algo_order(
        entry.name, algo_id=algo_id, client_algo_id=client_id
    )
    if found is None:
        raise OrderNotFound(f"no algo order {algo_id or client_id!r}")
    return algo_object(found, orders.market[found.symbol], query=True)


def open_algo_orders(orders: OrderService, entry: AccountEntry, params: Params, now: int) -> Body:
    symbol = known_symbol(params, orders.market)
    algo_type = read_enum(params, "algoType")
    if algo_type not in (None, "CONDITIONAL"):
        raise WireError.invalid_value("algoType")
    algo_id = read_long(params, "algoId", required=False)
    return [
        algo_object(a, orders.market[a.symbol], query=True)
        for a in _open(orders, entry.name)
        if (symbol is None or a.symbol == symbol) and (algo_id is None or a.algo_id == algo_id)
    ]


async def all_algo_orders(
    orders: OrderService, entry: AccountEntry, params: Params, now: int
) -> Body:
    symbol = known_symbol(params, orders.market, required=True)
    from_id = read_long(params, "algoId", required=False)
    start, end = window(params, now, by_id=from_id is not None)
    limit = read_long(params, "limit", required=False) or DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise WireError.invalid_value("limit")
    found = await orders.admin.store.algo_orders(
        entry.name, symbol, from_id=from_id, start=start, end=end, limit=limit
    )
    market = orders.market[symbol]
    return [algo_object(a, market, query=True) for a in found]
