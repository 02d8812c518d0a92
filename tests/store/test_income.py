"""The income table on every backend: written with its ledger row, read by window,
symbol, type and page, rebuilt once over a ledger older than the table (the migration asks,
the next start replays), ids kept across restarts."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from posrisk.app import load_admin
from posrisk.engine import (
    Event,
    Fill,
    MarginType,
    Market,
    PositionSide,
    SetMarginType,
    Side,
    WalletTransfer,
)
from posrisk.engine.income import IncomeEntry, IncomeType, tran_id
from posrisk.service.clock import ManualClock
from posrisk.store import (
    INCOME_REBUILD,
    AddIncome,
    AppendEvent,
    IncomeQuery,
    NewAccount,
    SQLiteStore,
)
from posrisk.store.codec import encode_event
from posrisk.store.copy import copy_database
from posrisk.store.postgres import PostgresStore
from posrisk.store.schema import migrations, statements

from .conftest import POSTGRES_DSN, postgres_schema

pytestmark = pytest.mark.asyncio

D = Decimal
EVERY = IncomeQuery(0, 2**63 - 1, 1000)
PNL = IncomeEntry(0, IncomeType.REALIZED_PNL, D("4"), "USDT", "BTCUSDT", 7)
FEE = IncomeEntry(1, IncomeType.COMMISSION, D("-0.0336"), "USDT", "BTCUSDT", 7)
DEPOSIT = IncomeEntry(0, IncomeType.TRANSFER, D("1000"), "USDT")
# An account's history whose income needs the engine: an operator fill closing at a profit.
HISTORY: list[Event] = [
    WalletTransfer("USDT", D("1000"), 10),
    SetMarginType("ETHUSDT", MarginType.ISOLATED, 11),
    Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000"), fee=D("0.08"), time=12),
    Fill("BTCUSDT", Side.SELL, D("0.004"), D("21000"), fee=D("0.0336"), time=13),
    Fill("ETHUSDT", Side.SELL, D("1"), D("1000"), PositionSide.BOTH, D("0.4"), 14),
]


async def test_entries_are_written_with_their_row_and_read_by_time(any_store: Any) -> None:
    fill = Fill("BTCUSDT", Side.SELL, D("0.004"), D("21000"), time=20)
    await any_store.commit(
        [
            NewAccount("alice", 1),
            NewAccount("bob", 1),
            AppendEvent("alice", WalletTransfer("USDT", D("1000"), 20), 20, (DEPOSIT,)),
            AppendEvent("alice", fill, 30, (PNL, FEE)),
            AppendEvent("bob", WalletTransfer("USDT", D("1000"), 25), 25, (DEPOSIT,)),
        ]
    )
    found = await any_store.income("alice", EVERY)
    seqs = [r.tran_id // 10 for r in found]
    assert [(r.time, r.entry) for r in found] == [(20, DEPOSIT), (30, PNL), (30, FEE)]
    assert [r.tran_id for r in found] == [
        tran_id(seqs[0], 0),
        tran_id(seqs[1], 0),
        seqs[1] * 10 + 1,
    ]
    # A rebuild writes only what is missing.
    again = AddIncome("alice", seqs[1], 30, (PNL, FEE))
    assert await any_store.commit([again, again]) is None
    assert await any_store.income("alice", EVERY) == found
    query = IncomeQuery
    assert await any_store.income("alice", query(21, 30, 10, symbol="BTCUSDT")) == found[1:]
    assert await any_store.income("alice", query(0, 99, 10, income_type="COMMISSION")) == found[2:]
    assert await any_store.income("alice", query(0, 99, 1, offset=1)) == found[1:2]
    assert await any_store.income("alice", query(0, 29, 10)) == found[:1]
    assert [r.entry for r in await any_store.income("bob", EVERY)] == [DEPOSIT]
    await any_store.reset()
    assert await any_store.income("alice", EVERY) == ()


def _old_sqlite(path: Path) -> None:
    """A database at schema 3 (before the income table) holding ``HISTORY``."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, sql in migrations():
            if version > 3:
                break
            for statement in statements(sql):
                db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (?)", (version,))
        db.execute("INSERT INTO accounts (id, name, created_at) VALUES (1, 'alice', 1)")
        db.executemany(
            "INSERT INTO ledger (account_id, time, kind, body) VALUES (1, ?, ?, ?)",
            [(e.time, *encode_event(e)) for e in HISTORY],
        )


async def _written_fresh(store: Any) -> list[Any]:
    """The income rows a current posrisk writes for ``HISTORY`` as it commits it."""
    admin, _ = await load_admin(store, None, Market.default(), ManualClock(99))
    await admin.create_account("alice")
    await admin.apply_events("alice", HISTORY, force=True)
    return list(await store.income("alice", EVERY))


async def test_a_sqlite_ledger_older_than_the_table_is_rebuilt_once(tmp_path: Path) -> None:
    _old_sqlite(tmp_path / "old.db")
    old = SQLiteStore(tmp_path / "old.db")
    await old.open()
    try:
        assert (await old.load()).meta[INCOME_REBUILD] == "1"
        assert await old.income("alice", EVERY) == ()
        await load_admin(old, None, Market.default(), ManualClock(99))
        rebuilt = list(await old.income("alice", EVERY))
        assert (await old.load()).meta[INCOME_REBUILD] == "0"
        await load_admin(old, None, Market.default(), ManualClock(99))  # nothing twice
        assert list(await old.income("alice", EVERY)) == rebuilt
    finally:
        await old.close()
    fresh = SQLiteStore(tmp_path / "fresh.db")
    await fresh.open()
    try:
        written = await _written_fresh(fresh)
        assert INCOME_REBUILD not in (await fresh.load()).meta  # a new database needs none
    finally:
        await fresh.close()
    assert rebuilt == written
    kinds = [(r.entry.income_type.value, r.entry.income) for r in written]
    assert kinds == [
        ("TRANSFER", D("1000")),
        ("COMMISSION", D("-0.08")),
        ("REALIZED_PNL", D("4.00000000")),
        ("COMMISSION", D("-0.0336")),
        ("COMMISSION", D("-0.4")),
    ]


async def test_a_postgres_ledger_older_than_the_table_is_rebuilt(tmp_path: Path) -> None:
    admin, schema = await postgres_schema()
    raw = await asyncpg.connect(POSTGRES_DSN, server_settings={"search_path": schema})
    store = PostgresStore(POSTGRES_DSN, schema=schema)
    try:
        await raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, sql in migrations("postgres"):
            if version > 3:
                break
            for statement in statements(sql):
                await raw.execute(statement)
            await raw.execute("INSERT INTO schema_version VALUES ($1)", version)
        await raw.execute("INSERT INTO accounts (id, name, created_at) VALUES (1, 'alice', 1)")
        await raw.executemany(
            "INSERT INTO ledger (account_id, time, kind, body) VALUES (1, $1, $2, $3)",
            [(e.time, *encode_event(e)) for e in HISTORY],
        )
        await store.open()
        await load_admin(store, None, Market.default(), ManualClock(99))
        rebuilt = list(await store.income("alice", EVERY))
        await store.reset()
        written = await _written_fresh(store)  # the ledger's seqs moved on: other ids
        assert [(r.time, r.entry) for r in rebuilt] == [(r.time, r.entry) for r in written]
        assert len(rebuilt) == 5
    finally:
        await store.close()
        await raw.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def test_tran_ids_are_the_same_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "posrisk.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        before = await _written_fresh(store)
    finally:
        await store.close()
    again = SQLiteStore(path)
    await again.open()
    try:
        await load_admin(again, None, Market.default(), ManualClock(100))
        assert list(await again.income("alice", EVERY)) == before
    finally:
        await again.close()


async def test_a_copy_writes_its_income_at_its_first_start(tmp_path: Path) -> None:
    source, target = SQLiteStore(tmp_path / "a.db"), SQLiteStore(tmp_path / "b.db")
    await source.open()
    await target.open()
    try:
        written = await _written_fresh(source)
        await copy_database(source, target, "b.db")
        assert await target.income("alice", EVERY) == ()
        await load_admin(target, None, Market.default(), ManualClock(100))
        copied = await target.income("alice", EVERY)
        assert [(r.time, r.entry) for r in copied] == [(r.time, r.entry) for r in written]
    finally:
        await source.close()
        await target.close()
