"""How changes become rows: SQLite and PostgreSQL write the same rows for the same changes."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posrisk.engine import (
    AlgoOrder,
    AlgoStatus,
    AlgoUpdate,
    Execution,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionMode,
    PositionSide,
    SetPositionMode,
    Side,
    Trade,
    WalletTransfer,
)
from posrisk.store import (
    AppendEvent,
    Change,
    KeyRecord,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    SQLiteStore,
    StoreError,
)
from posrisk.store.plan import POSTGRES, SQLITE, Batch, Query
from posrisk.store.writes import write_changes

from .conftest import fresh_postgres

D = Decimal

# Every table, each in creation order, with every column a reader could depend on.
TABLES = {
    "accounts": "SELECT id, name, created_at, revision FROM accounts ORDER BY id",
    "api_keys": "SELECT api_key, account_id, kind, secret, public_key, created_at, revoked_at, "
    "revision FROM api_keys ORDER BY {key_order}",
    "ledger": "SELECT seq, account_id, time, kind, body, revision FROM ledger ORDER BY seq",
    "marks": "SELECT symbol, price, time FROM marks ORDER BY symbol",
    "meta": "SELECT key, value FROM meta ORDER BY key",
    "revision": "SELECT n FROM revision",
    "orders": "SELECT order_id, account_id, client_order_id, symbol, status, time, update_time, "
    "body FROM orders ORDER BY order_id",
    "trades": "SELECT trade_id, account_id, order_id, symbol, time, body FROM trades "
    "ORDER BY trade_id",
    "algo_orders": "SELECT algo_id, account_id, client_algo_id, symbol, status, create_time, "
    "update_time, body FROM algo_orders ORDER BY algo_id",
}

PLACED = Order(1000000001, "abc", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.001"), D("50000"))
FILLED = replace(
    PLACED, status=OrderStatus.FILLED, executed_qty=D("0.001"), cum_quote=D("50"), update_time=8
)
STOP = AlgoOrder(7, "s", "BTCUSDT", Side.SELL, OrderType.STOP_MARKET, D("0.001"), D("40000"))

COMMITS: list[list[Change]] = [
    [
        NewAccount("alice", 1),
        NewAccount("bob", 2),
        NewKey(KeyRecord("zKey", "alice", "hmac", "enc:v1:xyz", None, 3)),
        NewKey(KeyRecord("aKey", "bob", "ed25519", None, "-----BEGIN PUBLIC KEY-----", 3)),
        AppendEvent("bob", SetPositionMode(PositionMode.HEDGE, 4), 4),
        AppendEvent("alice", WalletTransfer("USDT", D("-0.00000001"), 4), 4),
        # Marks below 1e-6 are where str() (1E-7) and plain digits differ.
        SetMarks({"BTCUSDT": D("21123.05052574"), "TINYUSDT": D("0.00000010")}, 5),
        SetMeta("demo", "1"),
    ],
    [
        AppendEvent(
            "bob",
            Fill("BTCUSDT", Side.BUY, D("0.001"), D("22185.2"), PositionSide.LONG, D("0.0088"), 6),
            6,
        ),
        RevokeKey("zKey", 7),
        SetMarks({"BTCUSDT": D("950"), "ETHUSDT": D("0.0000001")}, 8),
        SetMeta("demo", "2"),
        AppendEvent("alice", OrderUpdate(PLACED, Execution.NEW, time=7), 7),
        AppendEvent("alice", AlgoUpdate(STOP, 7), 7),
    ],
    [
        AppendEvent(
            "alice",
            OrderUpdate(FILLED, Execution.TRADE, Trade(5, D("0.001"), D("50000"), D("0.01"), True)),
            8,
        ),
        AppendEvent("alice", AlgoUpdate(replace(STOP, status=AlgoStatus.CANCELED), 9), 9),
    ],
    [SetMarks({"BTCUSDT": D("1.5")}, 9)],  # moves no revision
]


def sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(sql.format(key_order="rowid")).fetchall()
            for table, sql in TABLES.items()
        }


async def postgres_rows(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(row) for row in await db.fetch(sql.format(key_order="seq"))]
        for table, sql in TABLES.items()
    }


@pytest.mark.asyncio
async def test_both_backends_write_the_same_rows(tmp_path: Path) -> None:
    lite = SQLiteStore(tmp_path / "ledger.db")
    await lite.open()
    try:
        for changes in COMMITS:
            await lite.commit(changes)
    finally:
        await lite.close()
    async with fresh_postgres() as (store, db):
        for changes in COMMITS:
            await store.commit(changes)
        written = await postgres_rows(db)
    assert sqlite_rows(tmp_path / "ledger.db") == written
    # Decimals as plain digits, in the ledger and the marks alike.
    assert written["marks"] == [
        ("BTCUSDT", "1.5", 9),
        ("ETHUSDT", "0.0000001", 8),
        ("TINYUSDT", "0.00000010", 5),
    ]
    assert written["ledger"][1][3:5] == ("wallet", '{"asset":"USDT","amount":"-0.00000001"}')
    assert written["revision"] == [(3,)]
    # The order index: one row per order and algo order, as their latest events left them.
    assert [row[4] for row in written["orders"]] == ["FILLED"]
    assert [row[4] for row in written["algo_orders"]] == ["CANCELED"]
    assert [row[:5] for row in written["trades"]] == [(5, 1, 1000000001, "BTCUSDT", 8)]


def run(plan: Any, replies: list[list[tuple[Any, ...]]]) -> tuple[list[Any], Any]:
    """The steps ``plan`` takes when its statements return ``replies``, and its result."""
    steps = [next(plan)]
    try:
        for rows in replies:
            steps.append(plan.send(rows))
    except StopIteration as done:
        return steps, done.value
    raise AssertionError(f"the plan wanted more than {len(replies)} replies")


def test_one_plan_in_either_dialect() -> None:
    changes = [AppendEvent("alice", WalletTransfer("USDT", D(5), 1), 1)]
    replies: list[list[tuple[Any, ...]]] = [[(8,)], [(3,)], []]
    lite, revision = run(write_changes(SQLITE, changes, 7, "here"), replies)
    pg, same = run(write_changes(POSTGRES, changes, 7, "here"), replies)
    assert revision == same == 8
    assert [_values(step) for step in lite] == [_values(step) for step in pg]
    assert lite[0] == Query(
        "UPDATE revision SET n = n + 1 WHERE CAST(? AS BIGINT) IS NULL OR n = ? RETURNING n",
        (7, 7),
    )
    assert pg[0].sql.endswith("CAST($1 AS BIGINT) IS NULL OR n = $2 RETURNING n")
    assert _values(lite[2]) == ((3, 1, "wallet", '{"asset":"USDT","amount":"5"}', 8),)


def _values(step: Any) -> Any:
    return step.rows if isinstance(step, Batch) else step.args


def test_an_account_is_looked_up_once_per_commit() -> None:
    event = WalletTransfer("USDT", D(5), 1)
    changes = [AppendEvent("alice", event, 1), AppendEvent("alice", event, 2)]
    steps, _ = run(write_changes(SQLITE, changes, None, "here"), [[(1,)], [(3,)], [], []])
    # One lookup, then both ledger rows in one batch.
    assert [step.sql.split()[0] for step in steps] == ["UPDATE", "SELECT", "INSERT"]
    assert len(steps[2].rows) == 2


def test_an_unknown_account_is_named() -> None:
    changes = [AppendEvent("nobody", WalletTransfer("USDT", D(5), 1), 1)]
    with pytest.raises(StoreError, match="no account named 'nobody'"):
        run(write_changes(SQLITE, changes, None, "here"), [[(1,)], []])
