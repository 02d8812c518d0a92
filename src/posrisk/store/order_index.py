"""The order index: the ``orders``, ``trades`` and ``algo_orders`` tables, kept by the
commit that appends each order event to the ledger, and the reads the order queries make
of them (see ``plan``).

The ledger stays the truth (an account is its fold); these tables answer "this account's
orders of this symbol" without replaying it. An order's row holds it as its latest event
left it; a trade's row holds the whole event that made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from ..engine import AlgoOrder, AlgoStatus, AlgoUpdate, Event, Order, OrderStatus, OrderUpdate
from .order_codec import decode_algo, decode_order, decode_order_update, encode_algo, encode_order
from .plan import Dialect, Plan

__all__ = [
    "OrderReads",
    "index_event",
    "read_algo_order",
    "read_algo_orders",
    "read_order",
    "read_orders",
    "read_trades",
]

T = TypeVar("T")


def index_event(dialect: Dialect, account: int, event: Event, time: int, body: str) -> Plan[None]:
    """Keep the index of ``event`` (appended for ``account``'s id at ``time`` with ledger
    ``body``): an order or algo order upserted by its id, a trade inserted. Other events
    touch nothing."""
    match event:
        case OrderUpdate(order=order):
            yield dialect.query(
                "INSERT INTO orders (order_id, account_id, client_order_id, symbol, status, "
                "time, update_time, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, "
                "update_time = excluded.update_time, body = excluded.body",
                order.order_id,
                account,
                order.client_order_id,
                order.symbol,
                OrderStatus(order.status).value,
                order.time,
                order.update_time,
                encode_order(order),
            )
            if event.trade is not None:
                yield dialect.query(
                    "INSERT INTO trades (trade_id, account_id, order_id, symbol, time, body) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    event.trade.trade_id,
                    account,
                    order.order_id,
                    order.symbol,
                    time,
                    body,
                )
        case AlgoUpdate(algo=algo):
            yield dialect.query(
                "INSERT INTO algo_orders (algo_id, account_id, client_algo_id, symbol, status, "
                "create_time, update_time, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (algo_id) DO UPDATE SET status = excluded.status, "
                "update_time = excluded.update_time, body = excluded.body",
                algo.algo_id,
                account,
                algo.client_algo_id,
                algo.symbol,
                AlgoStatus(algo.status).value,
                algo.create_time,
                algo.update_time,
                encode_algo(algo),
            )


def _window(
    table: str, id_column: str, time_column: str, filters: Sequence[tuple[str, Any]]
) -> str:
    """``SELECT body[, time]`` of one account's rows of ``table`` in one symbol, the
    ``filters`` given (a column and comparison each, ``?`` for its value), by id."""
    where = "".join(f" AND t.{condition}" for condition, _ in filters)
    return (
        f"SELECT t.body, t.{time_column} FROM {table} t JOIN accounts a ON a.id = t.account_id "
        f"WHERE a.name = ? AND t.symbol = ?{where} ORDER BY t.{id_column} LIMIT ?"
    )


def _filters(
    id_column: str, time_column: str, from_id: int | None, start: int | None, end: int | None
) -> list[tuple[str, Any]]:
    found = [(f"{id_column} >= ?", from_id), (f"{time_column} >= ?", start)]
    found.append((f"{time_column} <= ?", end))
    return [(condition, value) for condition, value in found if value is not None]


def read_order(
    dialect: Dialect,
    account: str,
    symbol: str,
    order_id: int | None,
    client_order_id: str | None,
) -> Plan[Order | None]:
    """``account``'s order on ``symbol`` with ``order_id``, else the latest with
    ``client_order_id``; None when there is none."""
    key: int | str
    if order_id is not None:
        where, key, latest = "t.order_id = ?", order_id, ""
    elif client_order_id is not None:
        where, key = "t.client_order_id = ?", client_order_id
        latest = " ORDER BY t.time DESC, t.order_id DESC"
    else:
        raise ValueError("an order is found by order_id or client_order_id")
    rows = yield dialect.query(
        "SELECT t.body FROM orders t JOIN accounts a ON a.id = t.account_id "
        f"WHERE a.name = ? AND t.symbol = ? AND {where}{latest} LIMIT 1",
        account,
        symbol,
        key,
    )
    return decode_order(rows[0][0]) if rows else None


def read_orders(
    dialect: Dialect,
    account: str,
    symbol: str,
    from_id: int | None,
    start: int | None,
    end: int | None,
    limit: int,
) -> Plan[tuple[Order, ...]]:
    """At most ``limit`` of ``account``'s orders on ``symbol`` by id: ids from
    ``from_id``, placed (``time``) in ``[start, end]``."""
    filters = _filters("order_id", "time", from_id, start, end)
    rows = yield dialect.query(
        _window("orders", "order_id", "time", filters),
        account,
        symbol,
        *(value for _, value in filters),
        limit,
    )
    return tuple(decode_order(body) for body, _ in rows)


def read_trades(
    dialect: Dialect,
    account: str,
    symbol: str,
    order_id: int | None,
    from_id: int | None,
    start: int | None,
    end: int | None,
    limit: int,
) -> Plan[tuple[OrderUpdate, ...]]:
    """At most ``limit`` of ``account``'s trades on ``symbol`` by trade id, each as the
    order event that made it: of ``order_id``, ids from ``from_id``, timed in
    ``[start, end]``."""
    filters = _filters("trade_id", "time", from_id, start, end)
    if order_id is not None:
        filters.insert(0, ("order_id = ?", order_id))
    rows = yield dialect.query(
        _window("trades", "trade_id", "time", filters),
        account,
        symbol,
        *(value for _, value in filters),
        limit,
    )
    return tuple(decode_order_update(body, int(time)) for body, time in rows)


def read_algo_order(
    dialect: Dialect, account: str, algo_id: int | None, client_algo_id: str | None
) -> Plan[AlgoOrder | None]:
    """``account``'s algo order ``algo_id``, else the latest with ``client_algo_id``."""
    key: int | str
    if algo_id is not None:
        where, key, latest = "t.algo_id = ?", algo_id, ""
    elif client_algo_id is not None:
        where, key = "t.client_algo_id = ?", client_algo_id
        latest = " ORDER BY t.create_time DESC, t.algo_id DESC"
    else:
        raise ValueError("an algo order is found by algo_id or client_algo_id")
    rows = yield dialect.query(
        "SELECT t.body FROM algo_orders t JOIN accounts a ON a.id = t.account_id "
        f"WHERE a.name = ? AND {where}{latest} LIMIT 1",
        account,
        key,
    )
    return decode_algo(rows[0][0]) if rows else None


def read_algo_orders(
    dialect: Dialect,
    account: str,
    symbol: str,
    from_id: int | None,
    start: int | None,
    end: int | None,
    limit: int,
) -> Plan[tuple[AlgoOrder, ...]]:
    """At most ``limit`` of ``account``'s algo orders on ``symbol`` by id: ids from
    ``from_id``, created in ``[start, end]``."""
    filters = _filters("algo_id", "create_time", from_id, start, end)
    rows = yield dialect.query(
        _window("algo_orders", "algo_id", "create_time", filters),
        account,
        symbol,
        *(value for _, value in filters),
        limit,
    )
    return tuple(decode_algo(body) for body, _ in rows)


class OrderReads:
    """The order reads of a store: each runs its plan in ``dialect`` through the store's
    ``_read_plan`` (one read of the open database)."""

    dialect: Dialect

    async def _read_plan(self, plan: Plan[T]) -> T:
        raise NotImplementedError

    async def order(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order | None:
        """``account``'s order by id, else the latest with that client id on ``symbol``."""
        if order_id is None and client_order_id is None:
            raise ValueError("an order is found by order_id or client_order_id")
        plan = read_order(self.dialect, account, symbol, order_id, client_order_id)
        return await self._read_plan(plan)

    async def orders(
        self,
        account: str,
        symbol: str,
        *,
        from_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int,
    ) -> tuple[Order, ...]:
        plan = read_orders(self.dialect, account, symbol, from_id, start, end, limit)
        return await self._read_plan(plan)

    async def trades(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int,
    ) -> tuple[OrderUpdate, ...]:
        plan = read_trades(self.dialect, account, symbol, order_id, from_id, start, end, limit)
        return await self._read_plan(plan)

    async def algo_order(
        self, account: str, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder | None:
        if algo_id is None and client_algo_id is None:
            raise ValueError("an algo order is found by algo_id or client_algo_id")
        plan = read_algo_order(self.dialect, account, algo_id, client_algo_id)
        return await self._read_plan(plan)

    async def algo_orders(
        self,
        account: str,
        symbol: str,
        *,
        from_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int,
    ) -> tuple[AlgoOrder, ...]:
        plan = read_algo_orders(self.dialect, account, symbol, from_id, start, end, limit)
        return await self._read_plan(plan)
