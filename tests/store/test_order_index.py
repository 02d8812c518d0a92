"""The order index, tested on SQLite and PostgreSQL alike: kept by the commits that append
order events, read one account at a time."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from posrisk.engine import (
    AlgoOrder,
    AlgoStatus,
    AlgoUpdate,
    Execution,
    Market,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionSide,
    Side,
    Trade,
    WalletTransfer,
)
from posrisk.service.registry import Registry
from posrisk.store import AppendEvent, Change, NewAccount, SQLiteStore, StaleRevision, StoreError
from posrisk.store.codec import encode_event
from posrisk.store.postgres import PostgresStore
from posrisk.store.schema import migrations, statements

from .conftest import POSTGRES_DSN, postgres_schema

pytestmark = pytest.mark.asyncio
D = Decimal
FAR = 2**62

# Migrating from v2 runs every later migration too.
LATEST = migrations()[-1][0]


def order(order_id: int, client: str = "abc", symbol: str = "BTCUSDT", time: int = 10) -> Order:
    placed = Order(order_id, client, symbol, Side.BUY, OrderType.LIMIT, D("0.003"), D("50000"))
    return replace(placed, time=time, update_time=time)


def placed(o: Order) -> AppendEvent:
    return AppendEvent("alice", OrderUpdate(o, Execution.NEW, time=o.time), o.time)


def traded(o: Order, trade_id: int, qty: str, time: int) -> tuple[Order, AppendEvent]:
    """``o`` after a trade of ``qty`` at its price, and the event saying so."""
    executed = o.executed_qty + D(qty)
    after = replace(
        o,
        executed_qty=executed,
        cum_quote=o.cum_quote + D(qty) * o.price,
        status=OrderStatus.FILLED if executed == o.quantity else OrderStatus.PARTIALLY_FILLED,
        update_time=time,
    )
    trade = Trade(trade_id, D(qty), o.price, D(qty) * o.price * D("0.0002"), True)
    return after, AppendEvent("alice", OrderUpdate(after, Execution.TRADE, trade, time=time), time)


def algo(algo_id: int, client: str = "s1", symbol: str = "BTCUSDT", time: int = 10) -> AlgoOrder:
    made = AlgoOrder(algo_id, client, symbol, Side.SELL, OrderType.STOP_MARKET, D("1"), D("40000"))
    return replace(made, create_time=time, update_time=time)


async def seeded(store: Any, *changes: Change) -> None:
    await store.commit([NewAccount("alice", 1), NewAccount("bob", 1), *changes])


async def test_an_order_is_found_by_id_and_by_client_id(any_store: Any) -> None:
    first = order(1000000001)
    await seeded(any_store, placed(first))
    assert await any_store.order("alice", "BTCUSDT", order_id=1000000001) == first
    assert await any_store.order("alice", "BTCUSDT", client_order_id="abc") == first
    # Another symbol, another account, an unknown name: nothing.
    assert await any_store.order("alice", "ETHUSDT", order_id=1000000001) is None
    assert await any_store.order("bob", "BTCUSDT", order_id=1000000001) is None
    assert await any_store.order("nobody", "BTCUSDT", client_order_id="abc") is None
    with pytest.raises(ValueError, match="order_id or client_order_id"):
        await any_store.order("alice", "BTCUSDT")


async def test_an_order_row_follows_its_events_and_each_trade_is_kept(any_store: Any) -> None:
    new = order(7)
    partly, first = traded(new, 100, "0.001", 11)
    filled, second = traded(partly, 101, "0.002", 12)
    await seeded(any_store, placed(new))
    await any_store.commit([first])
    assert await any_store.order("alice", "BTCUSDT", order_id=7) == partly
    await any_store.commit([second])
    assert await any_store.order("alice", "BTCUSDT", order_id=7) == filled
    assert await any_store.orders("alice", "BTCUSDT", limit=10) == (filled,)
    trades = await any_store.trades("alice", "BTCUSDT", limit=10)
    assert trades == (first.event, second.event)
    assert await any_store.trades("alice", "BTCUSDT", order_id=7, from_id=101, limit=10) == (
        second.event,
    )
    assert await any_store.trades("alice", "BTCUSDT", order_id=8, limit=10) == ()
    assert await any_store.trades("bob", "BTCUSDT", limit=10) == ()
    # The ledger holds every event, as committed.
    assert [r.event for r in (await any_store.load()).ledger] == [
        placed(new).event,
        first.event,
        second.event,
    ]


async def test_a_client_id_finds_the_latest_order_that_used_it(any_store: Any) -> None:
    old = replace(order(1, time=10), status=OrderStatus.CANCELED, update_time=15)
    elsewhere = order(3, symbol="ETHUSDT", time=30)
    await seeded(any_store, placed(order(1, time=10)), placed(order(2, time=20)))
    await any_store.commit(
        [
            AppendEvent("alice", OrderUpdate(old, Execution.CANCELED, time=15), 15),
            placed(elsewhere),
            AppendEvent("bob", OrderUpdate(order(4, time=40), Execution.NEW, time=40), 40),
        ]
    )
    found = await any_store.order("alice", "BTCUSDT", client_order_id="abc")
    assert found is not None and found.order_id == 2
    assert await any_store.order("alice", "ETHUSDT", client_order_id="abc") == elsewhere
    assert await any_store.order("alice", "BTCUSDT", order_id=1) == old


async def test_orders_are_filtered_paged_and_bounded(any_store: Any) -> None:
    made = [order(i, client=f"c{i}", time=i * 10) for i in range(1, 8)]
    await seeded(any_store, *(placed(o) for o in made), placed(order(50, symbol="ETHUSDT")))

    async def ids(**window: Any) -> list[int]:
        found = await any_store.orders("alice", "BTCUSDT", **{"limit": 100, **window})
        return [o.order_id for o in found]

    assert await ids() == [1, 2, 3, 4, 5, 6, 7]
    assert await ids(limit=3) == [1, 2, 3]
    assert await ids(from_id=3, limit=3) == [3, 4, 5]
    assert await ids(from_id=6, limit=3) == [6, 7]
    assert await ids(start=20, end=40) == [2, 3, 4]
    assert await ids(start=55) == [6, 7]
    assert await ids(end=15) == [1]
    assert await ids(from_id=3, start=20, end=50, limit=2) == [3, 4]
    assert await any_store.orders("bob", "BTCUSDT", limit=10) == ()
    assert await any_store.orders("nobody", "BTCUSDT", limit=10) == ()


async def test_trades_are_filtered_paged_and_bounded(any_store: Any) -> None:
    events, current = [], order(1, time=1)
    current = replace(current, quantity=D("1"))
    for n in range(5):
        current, event = traded(current, 200 + n, "0.1", 100 + n)
        events.append(event)
    await seeded(any_store, placed(replace(order(1, time=1), quantity=D("1"))), *events)

    async def ids(**window: Any) -> list[int]:
        found = await any_store.trades("alice", "BTCUSDT", **{"limit": 100, **window})
        return [u.trade.trade_id for u in found if u.trade is not None]

    assert await ids() == [200, 201, 202, 203, 204]
    assert await ids(limit=2) == [200, 201]
    assert await ids(from_id=202, limit=2) == [202, 203]
    assert await ids(start=101, end=103) == [201, 202, 203]
    assert await ids(order_id=1, from_id=204) == [204]
    found = await any_store.trades("alice", "BTCUSDT", from_id=203, limit=1)
    assert found == (events[3].event,)


async def test_algo_orders_are_upserted_and_read(any_store: Any) -> None:
    made = [algo(i, client=f"s{i}", time=i * 10) for i in range(1, 5)]
    await seeded(any_store, *(AppendEvent("alice", AlgoUpdate(a, a.create_time), 1) for a in made))
    triggered = replace(made[0], status=AlgoStatus.FINISHED, update_time=99, actual_order_id=5)
    again = algo(9, client="s2", time=90)  # the client id reused, later
    await any_store.commit(
        [
            AppendEvent("alice", AlgoUpdate(triggered, 99), 99),
            AppendEvent("alice", AlgoUpdate(again, 90), 90),
            AppendEvent("bob", AlgoUpdate(algo(20), 10), 10),
        ]
    )
    assert await any_store.algo_order("alice", algo_id=1) == triggered
    assert await any_store.algo_order("alice", client_algo_id="s2") == again
    assert await any_store.algo_order("alice", algo_id=20) is None
    assert await any_store.algo_order("nobody", algo_id=1) is None

    async def ids(**window: Any) -> list[int]:
        found = await any_store.algo_orders("alice", "BTCUSDT", **{"limit": 100, **window})
        return [a.algo_id for a in found]

    assert await ids() == [1, 2, 3, 4, 9]
    assert await ids(limit=2, from_id=2) == [2, 3]
    assert await ids(start=20, end=40) == [2, 3, 4]
    assert await any_store.algo_orders("alice", "ETHUSDT", limit=10) == ()
    with pytest.raises(ValueError, match="algo_id or client_algo_id"):
        await any_store.algo_order("alice")


async def test_a_liquidation_order_is_stored_too(any_store: Any) -> None:
    liquidation = replace(
        Order(9, "autoclose-1", "BTCUSDT", Side.SELL, OrderType.LIQUIDATION, D("0.003")),
        status=OrderStatus.FILLED,
        executed_qty=D("0.003"),
        cum_quote=D("120.0"),
        time=50,
        update_time=50,
    )
    trade = Trade(300, D("0.003"), D("40000"), D("0.06"), False, D("-30"))
    update = OrderUpdate(liquidation, Execution.CALCULATED, trade, time=50)
    await seeded(any_store, AppendEvent("alice", update, 50))
    assert await any_store.order("alice", "BTCUSDT", order_id=9) == liquidation
    assert await any_store.trades("alice", "BTCUSDT", limit=5) == (update,)


async def test_a_failed_commit_writes_no_index_row(any_store: Any) -> None:
    await seeded(any_store)
    _, event = traded(order(1), 100, "0.001", 11)
    for bad in (
        [placed(order(1)), event, AppendEvent("nobody", WalletTransfer("USDT", D(1)), 2)],
        # A trade id twice: refused by the index itself.
        [placed(order(1)), AppendEvent("alice", AlgoUpdate(algo(1), 1), 1), event, event],
    ):
        with pytest.raises(StoreError):
            await any_store.commit(bad)
    with pytest.raises(StaleRevision):
        await any_store.commit([placed(order(1)), event], expect=0)
    assert await any_store.order("alice", "BTCUSDT", order_id=1) is None
    assert await any_store.orders("alice", "BTCUSDT", limit=10) == ()
    assert await any_store.trades("alice", "BTCUSDT", limit=10) == ()
    assert await any_store.algo_orders("alice", "BTCUSDT", limit=10) == ()
    assert (await any_store.load()).ledger == ()


async def test_reset_empties_the_index_too(any_store: Any) -> None:
    _, event = traded(order(1), 100, "0.001", 11)
    await seeded(any_store, placed(order(1)), event, AppendEvent("alice", AlgoUpdate(algo(1)), 1))
    await any_store.reset()
    await seeded(any_store)
    assert await any_store.orders("alice", "BTCUSDT", limit=10) == ()
    assert await any_store.trades("alice", "BTCUSDT", limit=10) == ()
    assert await any_store.algo_orders("alice", "BTCUSDT", limit=10) == ()


# -- a database of the previous version ---------------------------------------------------


def history() -> list[AppendEvent]:
    """Order events as a ledger of schema v2 could hold them (a version that wrote none,
    but the migration indexes whatever it finds)."""
    new = order(1)
    partly, first = traded(new, 100, "0.001", 11)
    _, second = traded(partly, 101, "0.002", 12)
    finished = replace(algo(5), status=AlgoStatus.FINISHED, update_time=30, actual_order_id=2)
    return [
        AppendEvent("alice", WalletTransfer("USDT", D("100"), 1), 1),
        placed(new),
        first,
        second,
        placed(order(2, time=20)),
        AppendEvent("alice", AlgoUpdate(algo(5), 10), 10),
        AppendEvent("alice", AlgoUpdate(finished, 30), 30),
    ]


INDEX = {
    "orders": "SELECT order_id, account_id, client_order_id, symbol, status, time, "
    "update_time, body FROM orders ORDER BY order_id",
    "trades": "SELECT trade_id, account_id, order_id, symbol, time, body FROM trades "
    "ORDER BY trade_id",
    "algo_orders": "SELECT algo_id, account_id, client_algo_id, symbol, status, create_time, "
    "update_time, body FROM algo_orders ORDER BY algo_id",
}


def v2_rows() -> list[tuple[int, str, str]]:
    return [(e.time, *encode_event(e.event)) for e in history()]


async def test_migrating_a_sqlite_database_indexes_its_order_events(tmp_path: Path) -> None:
    old = tmp_path / "v2.db"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, sql in migrations()[:2]:
            for statement in statements(sql):
                db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (?)", (version,))
        db.execute("INSERT INTO accounts (id, name, created_at) VALUES (1, 'alice', 1)")
        db.executemany(
            "INSERT INTO ledger (account_id, time, kind, body) VALUES (1, ?, ?, ?)", v2_rows()
        )
    fresh = SQLiteStore(tmp_path / "v3.db")
    await fresh.open()
    await fresh.commit([NewAccount("alice", 1), *history()])
    await fresh.close()
    migrated = SQLiteStore(old)
    await migrated.open()
    try:
        assert await migrated.schema_version() == migrations()[-1][0]
        assert len(await migrated.trades("alice", "BTCUSDT", limit=10)) == 2
    finally:
        await migrated.close()
    with sqlite3.connect(old) as was, sqlite3.connect(tmp_path / "v3.db") as new:
        for sql in INDEX.values():
            assert was.execute(sql).fetchall() == new.execute(sql).fetchall()
            assert was.execute(sql).fetchall()


async def test_migrating_a_postgres_database_indexes_its_order_events() -> None:
    admin, schema = await postgres_schema()
    raw = await asyncpg.connect(POSTGRES_DSN, server_settings={"search_path": schema})
    store = PostgresStore(POSTGRES_DSN, schema=schema)
    try:
        await raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, sql in migrations("postgres")[:2]:
            for statement in statements(sql):
                await raw.execute(statement)
            await raw.execute("INSERT INTO schema_version VALUES ($1)", version)
        await raw.execute("INSERT INTO accounts (id, name, created_at) VALUES (1, 'alice', 1)")
        await raw.executemany(
            "INSERT INTO ledger (account_id, time, kind, body) VALUES (1, $1, $2, $3)", v2_rows()
        )
        await store.open()
        assert await store.schema_version() == migrations()[-1][0]
        migrated = {table: [tuple(r) for r in await raw.fetch(sql)] for table, sql in INDEX.items()}
        await store.reset()
        await store.commit([NewAccount("alice", 1), *history()])
        account = await raw.fetchval("SELECT id FROM accounts")
        written = {table: [tuple(r) for r in await raw.fetch(sql)] for table, sql in INDEX.items()}
        for table, rows in migrated.items():  # account ids differ: the sequence moved on
            assert [(r[0], *r[2:]) for r in rows] == [(r[0], *r[2:]) for r in written[table]]
            assert rows and {r[1] for r in written[table]} == {account}
    finally:
        await raw.close()
        await store.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def test_a_restarted_store_replays_its_order_events_into_the_registry(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "ledger.db")
    await store.open()
    await store.commit([NewAccount("alice", 1), *history()])
    await store.close()
    again = SQLiteStore(tmp_path / "ledger.db")
    await again.open()
    try:
        snapshot = await again.load()
        assert [r.event for r in snapshot.ledger] == [e.event for e in history()]
        account = Registry.from_snapshot(snapshot, Market.default()).account("alice").account
        assert list(account.orders) == [2]  # order 1 filled, algo 5 finished
        assert account.algos == {}
        assert account.position("BTCUSDT", PositionSide.BOTH).amount == D("0.003")
    finally:
        await again.close()
