"""A damaged SQLite file is refused, named, and left as it was: an empty file, garbage
written into its pages, values that no longer read. Never a traceback, never a new database."""

from __future__ import annotations

import random
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from posrisk.engine import Execution, Fill, Order, OrderType, OrderUpdate, Side, WalletTransfer
from posrisk.store import AppendEvent, NewAccount, SetMarks, Snapshot, SQLiteStore, StoreError

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

D = Decimal
DAMAGED = "the file is damaged or not a posrisk database"


async def seeded(path: Path) -> Snapshot:
    store = SQLiteStore(path)
    await store.open()
    await store.commit(
        [
            NewAccount("alice", 1),
            AppendEvent("alice", WalletTransfer("USDT", D(1000), 1), 1),
            AppendEvent("alice", Fill("BTCUSDT", Side.BUY, D("0.01"), D(20000), time=2), 2),
            SetMarks({"BTCUSDT": D(21000)}, 3),
        ]
    )
    snapshot = await store.load()
    await store.close()
    return snapshot


async def load(path: Path) -> Snapshot:
    store = SQLiteStore(path)
    try:
        await store.open()
        return await store.load()
    finally:
        await store.close()


def page_of(path: Path, table: str) -> int:
    """Where ``table``'s b-tree root page starts in the file."""
    with sqlite3.connect(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    return int((root[0] - 1) * size)


async def test_an_empty_file_is_refused_not_seeded(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    store = SQLiteStore(path)
    with pytest.raises(StoreError) as refused:
        await store.open()
    await store.close()
    assert str(refused.value) == f"cannot open {path}: {DAMAGED} (the file is empty)"
    assert path.stat().st_size == 0


async def test_garbage_in_a_page_is_refused_at_open_and_the_file_left_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    await seeded(path)
    with path.open("r+b") as f:  # the ledger's b-tree page header, overwritten
        f.seek(page_of(path, "ledger"))
        f.write(b"\xde\xad\xbe\xef" * 16)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=f"^cannot open {path}: {DAMAGED} "):
        await load(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("UPDATE ledger SET body = '{\"asset\":' WHERE seq = 2", "ledger entry 2 is unreadable"),
        ("UPDATE ledger SET body = '{}' WHERE seq = 1", "ledger entry 1 is unreadable"),
        ("UPDATE marks SET price = 'lots'", "the mark price of 'BTCUSDT' is 'lots'"),
        ("UPDATE accounts SET name = CAST(x'616cff' AS TEXT)", "Could not decode to UTF-8"),
    ],
)
async def test_a_value_that_no_longer_reads_is_named(tmp_path: Path, sql: str, why: str) -> None:
    path = tmp_path / "ledger.db"
    await seeded(path)
    with sqlite3.connect(path) as db:
        db.execute(sql)
    with pytest.raises(StoreError) as refused:
        await load(path)
    assert str(refused.value).startswith(f"{path}: {DAMAGED} (")
    assert why in str(refused.value)


async def test_garbage_anywhere_is_refused_as_damaged_or_changes_nothing(tmp_path: Path) -> None:
    """Random bytes over every 512-byte stretch of a small database: each copy either
    loads exactly what was saved (the bytes fell on free space) or is refused as damaged."""
    original = tmp_path / "original.db"
    saved = await seeded(original)
    data = original.read_bytes()
    rng = random.Random(13)
    refused = 0
    for offset in range(0, len(data), 512):
        path = tmp_path / f"at{offset}.db"
        garbage = bytes(rng.randrange(256) for _ in range(rng.choice((4, 64))))
        path.write_bytes(data[:offset] + garbage + data[offset + len(garbage) :])
        try:
            assert await load(path) == saved, offset
        except StoreError as e:
            assert DAMAGED in str(e), (offset, str(e))
            refused += 1
    assert refused > 0


async def test_an_unreadable_order_row_is_named_damaged(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    store = SQLiteStore(path)
    await store.open()
    placed = Order(1, "abc", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.001"), D("50000"))
    await store.commit(
        [NewAccount("alice", 1), AppendEvent("alice", OrderUpdate(placed, Execution.NEW), 1)]
    )
    with sqlite3.connect(path) as db:
        db.execute("""UPDATE orders SET body = '{"orderId":"x"}'""")
    try:
        with pytest.raises(StoreError, match=f"{DAMAGED} .an order row is unreadable"):
            await store.orders("alice", "BTCUSDT", limit=5)
        with pytest.raises(ValueError, match="order_id or client_order_id"):  # not damage
            await store.order("alice", "BTCUSDT")
    finally:
        await store.close()
