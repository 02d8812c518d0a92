"""The SQLite ledger: schema and migrations, round trips, all-or-nothing commits, the lock."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from posrisk.engine import (
    Event,
    Fill,
    IsolatedMarginTransfer,
    MarginType,
    PositionMode,
    PositionSide,
    SetAutoAddMargin,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    WalletTransfer,
)
from posrisk.protocol import generate_ed25519
from posrisk.store import (
    AccountRecord,
    AppendEvent,
    Change,
    DatabaseBusy,
    DatabaseLock,
    KeyRecord,
    LedgerRecord,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    Snapshot,
    SQLiteStore,
    StoreError,
)
from posrisk.store.schema import migrations

D = Decimal
LATEST = migrations()[-1][0]
# Obviously fake test credentials.
HMAC_SECRET = "test-secret-not-a-real-one"
ED_PUBLIC = generate_ed25519()[1]


@pytest_asyncio.fixture
async def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest_asyncio.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(db_path)
    await store.open()
    yield store
    if store._db is not None:  # unless the test closed it (close() is not idempotent)
        await store.close()


async def reopened(path: Path) -> Snapshot:
    """What a fresh process would load from ``path``."""
    fresh = SQLiteStore(path)
    await fresh.open()
    try:
        return await fresh.load()
    finally:
        await fresh.close()


def table_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


# -- schema ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_open_creates_the_schema_at_the_latest_version(
    store: SQLiteStore, db_path: Path
) -> None:
    assert await store.schema_version() == LATEST
    assert await store.has_accounts() is False
    tables = {
        name
        for (name,) in table_rows(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert {"schema_version", "accounts", "api_keys", "ledger", "marks", "meta"} <= tables
    assert await store.load() == Snapshot((), (), (), {}, {})


@pytest.mark.asyncio
async def test_reopening_applies_no_migration_twice(db_path: Path) -> None:
    for _ in range(3):
        store = SQLiteStore(db_path)
        await store.open()
        assert await store.schema_version() == LATEST
        await store.close()
    assert table_rows(db_path, "SELECT version FROM schema_version ORDER BY version") == [
        (version,) for version, _ in migrations()
    ]


@pytest.mark.asyncio
async def test_a_database_newer_than_this_posrisk_is_refused(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    await store.open()
    await store.close()
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO schema_version VALUES (?)", (LATEST + 98,))
    newer = SQLiteStore(db_path)
    with pytest.raises(StoreError) as refused:
        await newer.open()
    await newer.close()
    assert str(refused.value) == (
        f"{db_path} has schema version {LATEST + 98}, newer than this posrisk ({LATEST}); "
        "upgrade posrisk"
    )


@pytest.mark.asyncio
async def test_a_refused_open_leaves_the_store_closed(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    await store.open()
    await store.close()
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO schema_version VALUES (?)", (LATEST + 1,))
    newer = SQLiteStore(db_path)
    with pytest.raises(StoreError):
        await newer.open()
    try:
        with pytest.raises(StoreError, match="is not open"):
            await newer.has_accounts()
    finally:
        await newer.close()


@pytest.mark.asyncio
async def test_a_closed_store_refuses_reads(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    with pytest.raises(StoreError, match=r"ledger\.db is not open$"):
        await store.load()
    await store.close()


@pytest.mark.asyncio
async def test_wal_journal_and_full_synchronous(store: SQLiteStore, db_path: Path) -> None:
    # synchronous is a property of the connection, not of the file: ask the store's own.
    connection = store._conn()
    assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    await store.close()
    # WAL is written into the file and outlives the connection.
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# -- round trips ----------------------------------------------------------------------

EVENTS_ALICE: list[Event] = [
    SetPositionMode(PositionMode.HEDGE, 1_000),
    SetMarginType("BTCUSDT", MarginType.ISOLATED, 1_001),
    SetLeverage("BTCUSDT", 10, 1_002),
    SetAutoAddMargin("BTCUSDT", True, 1_003),
    WalletTransfer("USDT", D("10000"), 1_004),
    Fill("BTCUSDT", Side.BUY, D("0.001"), D("22185.2"), PositionSide.LONG, D("0.0088"), 1_005),
    IsolatedMarginTransfer("BTCUSDT", D("5"), PositionSide.LONG, 1_006),
]


def full_batch() -> list[Change]:
    hmac = KeyRecord("aliceHmac01", "alice", "hmac", HMAC_SECRET, None, 900)
    ed = KeyRecord("aliceEd01", "alice", "ed25519", None, ED_PUBLIC, 901)
    bob_key = KeyRecord("bobHmac01", "bob", "hmac", "bob-fake-secret", None, 902)
    changes: list[Change] = [
        NewAccount("alice", 800),
        NewAccount("bob", 801),
        NewKey(hmac),
        NewKey(ed),
        NewKey(bob_key),
        RevokeKey("aliceEd01", 950),
    ]
    # Interleave the two accounts' ledgers: seq order is commit order, across accounts.
    for index, event in enumerate(EVENTS_ALICE):
        changes.append(AppendEvent("alice", event, event.time))
        if index == 3:
            bob = WalletTransfer("USDC", D("2.53267053"), 1_003)
            changes.append(AppendEvent("bob", bob, bob.time))
    changes.append(SetMarks({"BTCUSDT": D("21123.05052574"), "ETHUSDT": D("950")}, 1_100))
    changes.append(SetMeta("admin_token", "not-a-real-token"))
    return changes


@pytest.mark.asyncio
async def test_commit_then_load_round_trips_everything(store: SQLiteStore, db_path: Path) -> None:
    await store.commit(full_batch())
    expected_ledger = [
        LedgerRecord(1, "alice", 1_000, EVENTS_ALICE[0]),
        LedgerRecord(2, "alice", 1_001, EVENTS_ALICE[1]),
        LedgerRecord(3, "alice", 1_002, EVENTS_ALICE[2]),
        LedgerRecord(4, "alice", 1_003, EVENTS_ALICE[3]),
        LedgerRecord(5, "bob", 1_003, WalletTransfer("USDC", D("2.53267053"), 1_003)),
        LedgerRecord(6, "alice", 1_004, EVENTS_ALICE[4]),
        LedgerRecord(7, "alice", 1_005, EVENTS_ALICE[5]),
        LedgerRecord(8, "alice", 1_006, EVENTS_ALICE[6]),
    ]
    expected = Snapshot(
        accounts=(AccountRecord(1, "alice", 800), AccountRecord(2, "bob", 801)),
        keys=(
            KeyRecord("aliceHmac01", "alice", "hmac", HMAC_SECRET, None, 900, None),
            KeyRecord("aliceEd01", "alice", "ed25519", None, ED_PUBLIC, 901, 950),
            KeyRecord("bobHmac01", "bob", "hmac", "bob-fake-secret", None, 902, None),
        ),
        ledger=tuple(expected_ledger),
        marks={"BTCUSDT": D("21123.05052574"), "ETHUSDT": D("950")},
        meta={"admin_token": "not-a-real-token"},
        revision=1,  # one commit
    )
    assert await store.load() == expected
    assert await store.has_accounts() is True
    await store.close()
    # A restart reads exactly the same.
    assert await reopened(db_path) == expected


@pytest.mark.asyncio
async def test_loaded_numbers_keep_their_exact_digits(store: SQLiteStore) -> None:
    await store.commit(
        [
            NewAccount("alice", 1),
            AppendEvent("alice", Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000.00")), 7),
            SetMarks({"BTCUSDT": D("21000.10")}, 8),
        ]
    )
    snapshot = await store.load()
    fill = snapshot.ledger[0].event
    assert isinstance(fill, Fill)
    assert (str(fill.qty), str(fill.price), fill.time) == ("0.010", "20000.00", 7)
    assert str(snapshot.marks["BTCUSDT"]) == "21000.10"


@pytest.mark.asyncio
async def test_marks_and_meta_are_upserted(store: SQLiteStore) -> None:
    await store.commit([SetMarks({"BTCUSDT": D("1"), "ETHUSDT": D("2")}, 1)])
    await store.commit([SetMarks({"BTCUSDT": D("3")}, 2), SetMeta("k", "v1")])
    await store.commit([SetMeta("k", "v2")])
    snapshot = await store.load()
    assert snapshot.marks == {"BTCUSDT": D("3"), "ETHUSDT": D("2")}
    assert snapshot.meta == {"k": "v2"}


@pytest.mark.asyncio
async def test_revoking_keeps_the_key_with_its_revocation_time(store: SQLiteStore) -> None:
    key = KeyRecord("k1", "alice", "hmac", HMAC_SECRET, None, 10)
    await store.commit([NewAccount("alice", 1), NewKey(key)])
    await store.commit([RevokeKey("k1", 55)])
    (loaded,) = (await store.load()).keys
    assert loaded == KeyRecord("k1", "alice", "hmac", HMAC_SECRET, None, 10, 55)


# -- all or nothing -------------------------------------------------------------------


async def seeded(store: SQLiteStore) -> Snapshot:
    await store.commit(
        [
            NewAccount("alice", 1),
            NewKey(KeyRecord("k1", "alice", "hmac", HMAC_SECRET, None, 2)),
            AppendEvent("alice", WalletTransfer("USDT", D("100"), 3), 3),
            SetMarks({"BTCUSDT": D("20000")}, 4),
        ]
    )
    return await store.load()


@pytest.mark.asyncio
async def test_a_batch_failing_on_an_unknown_account_writes_nothing(
    store: SQLiteStore, db_path: Path
) -> None:
    before = await seeded(store)
    batch: list[Change] = [
        NewAccount("bob", 10),
        NewKey(KeyRecord("k2", "bob", "hmac", "bob-fake-secret", None, 10)),
        AppendEvent("alice", WalletTransfer("USDT", D("5"), 11), 11),
        AppendEvent("bob", WalletTransfer("USDT", D("5"), 11), 11),
        SetMarks({"BTCUSDT": D("1"), "ETHUSDT": D("2")}, 12),
        SetMeta("k", "v"),
        AppendEvent("nobody", WalletTransfer("USDT", D("5"), 13), 13),
    ]
    with pytest.raises(StoreError, match=r"^no account named 'nobody'$"):
        await store.commit(batch)
    assert await store.load() == before
    await store.close()
    assert await reopened(db_path) == before


@pytest.mark.asyncio
async def test_a_batch_failing_on_a_duplicate_account_writes_nothing(
    store: SQLiteStore, db_path: Path
) -> None:
    before = await seeded(store)
    batch: list[Change] = [
        NewAccount("bob", 10),
        AppendEvent("alice", WalletTransfer("USDT", D("5"), 11), 11),
        SetMarks({"BTCUSDT": D("1")}, 12),
        NewAccount("alice", 13),
    ]
    with pytest.raises(StoreError) as refused:
        await store.commit(batch)
    assert str(refused.value) == (
        f"{db_path}: write failed: UNIQUE constraint failed: accounts.name"
    )
    assert await store.load() == before
    await store.close()
    assert await reopened(db_path) == before


@pytest.mark.asyncio
async def test_a_batch_failing_on_a_duplicate_api_key_writes_nothing(
    store: SQLiteStore,
) -> None:
    before = await seeded(store)
    with pytest.raises(StoreError, match=r"UNIQUE constraint failed: api_keys\.api_key$"):
        await store.commit(
            [
                AppendEvent("alice", WalletTransfer("USDT", D("5"), 11), 11),
                NewKey(KeyRecord("k1", "alice", "hmac", "other-fake", None, 12)),
            ]
        )
    assert await store.load() == before


@pytest.mark.asyncio
async def test_the_store_keeps_working_after_a_refused_batch(store: SQLiteStore) -> None:
    before = await seeded(store)
    with pytest.raises(StoreError):
        await store.commit([NewAccount("alice", 9)])
    await store.commit([AppendEvent("alice", WalletTransfer("USDT", D("1"), 20), 20)])
    after = await store.load()
    assert after.ledger == (
        *before.ledger,
        LedgerRecord(2, "alice", 20, WalletTransfer("USDT", D("1"), 20)),
    )


@pytest.mark.asyncio
async def test_reset_empties_every_table_but_keeps_the_schema(
    store: SQLiteStore, db_path: Path
) -> None:
    await store.commit(full_batch())
    await store.reset()
    # The revision never goes back: gateways holding a later one must not skip new rows.
    empty = Snapshot((), (), (), {}, {}, revision=1)
    assert await store.load() == empty
    assert await store.has_accounts() is False
    assert await store.schema_version() == LATEST
    await store.close()
    assert await reopened(db_path) == empty


@pytest.mark.asyncio
async def test_an_in_memory_store_works_for_tests() -> None:
    store = SQLiteStore(":memory:")
    await store.open()
    await store.commit([NewAccount("alice", 1)])
    assert (await store.load()).accounts == (AccountRecord(1, "alice", 1),)
    await store.close()


# -- the lock -------------------------------------------------------------------------


def busy_message(db_path: Path, pid: int) -> str:
    return (
        f"{db_path} is held by a running posrisk server (pid {pid}); "
        "stop it first, or send the change through its admin API"
    )


def test_a_second_lock_on_the_same_database_is_refused_naming_the_pid(db_path: Path) -> None:
    first = DatabaseLock(db_path)
    first.acquire()
    try:
        assert first.path == db_path.with_name("ledger.db.lock")
        assert first.path.read_text() == str(os.getpid())
        with pytest.raises(DatabaseBusy) as refused:
            DatabaseLock(db_path).acquire()
        assert str(refused.value) == busy_message(db_path, os.getpid())
        assert isinstance(refused.value, StoreError)
    finally:
        first.release()


def test_a_released_lock_can_be_acquired_again(db_path: Path) -> None:
    first = DatabaseLock(db_path)
    first.acquire()
    first.release()
    first.release()  # releasing twice is harmless
    with DatabaseLock(db_path) as second:
        assert second.path.read_text() == str(os.getpid())
        with pytest.raises(DatabaseBusy):
            DatabaseLock(db_path).acquire()
    # The context manager released it.
    again = DatabaseLock(db_path)
    again.acquire()
    again.release()


def test_locks_on_different_databases_are_independent(tmp_path: Path) -> None:
    with DatabaseLock(tmp_path / "a.db"), DatabaseLock(tmp_path / "b.db") as b:
        assert b.path == tmp_path / "b.db.lock"
