"""What every store does, tested on SQLite and PostgreSQL alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from posrisk.engine import (
    Fill,
    FundingFee,
    IsolatedMarginTransfer,
    PositionSide,
    SetPositionMode,
    Side,
    WalletTransfer,
)
from posrisk.engine.events import PositionMode
from posrisk.store import (
    AccountRecord,
    AppendEvent,
    KeyRecord,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    StaleRevision,
    StoreError,
)
from posrisk.store.schema import migrations

pytestmark = pytest.mark.asyncio
D = Decimal


async def test_an_empty_store_at_the_latest_schema(any_store: Any) -> None:
    assert await any_store.schema_version() == migrations()[-1][0]
    assert not await any_store.has_accounts()
    snapshot = await any_store.load()
    assert (snapshot.accounts, snapshot.keys, snapshot.ledger, dict(snapshot.marks)) == (
        (),
        (),
        (),
        {},
    )


async def test_everything_round_trips_in_order(any_store: Any) -> None:
    fill = Fill("BTCUSDT", Side.BUY, D("0.001"), D("22185.2"), PositionSide.LONG, D("0.0088"), 5)
    await any_store.commit(
        [
            NewAccount("alice", 1),
            NewAccount("bob", 2),
            NewKey(KeyRecord("zKey", "alice", "hmac", "enc:v1:xyz", None, 3)),
            NewKey(KeyRecord("aKey", "bob", "ed25519", None, "-----BEGIN PUBLIC KEY-----", 3)),
            AppendEvent("bob", SetPositionMode(PositionMode.HEDGE, 4), 4),
            AppendEvent("alice", WalletTransfer("USDT", D("-0.00000001"), 4), 4),
            AppendEvent("bob", fill, 5),
            SetMarks({"BTCUSDT": D("21123.05052574")}, 6),
            SetMeta("demo", "1"),
        ]
    )
    await any_store.commit([RevokeKey("zKey", 9), SetMarks({"BTCUSDT": D("1.5")}, 10)])
    snapshot = await any_store.load()
    assert snapshot.accounts == (
        AccountRecord(snapshot.accounts[0].id, "alice", 1),
        AccountRecord(snapshot.accounts[1].id, "bob", 2),
    )
    assert [(k.api_key, k.account, k.kind, k.revoked_at) for k in snapshot.keys] == [
        ("zKey", "alice", "hmac", 9),
        ("aKey", "bob", "ed25519", None),
    ]  # creation order
    assert [(r.account, r.event) for r in snapshot.ledger] == [
        ("bob", SetPositionMode(PositionMode.HEDGE, 4)),
        ("alice", WalletTransfer("USDT", D("-0.00000001"), 4)),
        ("bob", fill),
    ]
    assert dict(snapshot.marks) == {"BTCUSDT": D("1.5")}
    assert dict(snapshot.meta) == {"demo": "1"}
    assert await any_store.has_accounts()


async def test_a_failing_batch_leaves_nothing(any_store: Any) -> None:
    await any_store.commit([NewAccount("alice", 1)])
    for bad in (
        [NewAccount("carol", 2), AppendEvent("nobody", WalletTransfer("USDT", D(1)), 2)],
        [NewAccount("dave", 3), NewAccount("alice", 3)],
    ):
        with pytest.raises(StoreError):
            await any_store.commit(bad)
    snapshot = await any_store.load()
    assert [a.name for a in snapshot.accounts] == ["alice"]
    assert snapshot.ledger == ()


async def test_reset_empties_the_store(any_store: Any) -> None:
    await any_store.commit([NewAccount("alice", 1), SetMarks({"BTCUSDT": D(1)}, 1)])
    await any_store.reset()
    assert not await any_store.has_accounts()
    assert dict((await any_store.load()).marks) == {}


async def test_every_ledger_commit_moves_the_revision_by_one(any_store: Any) -> None:
    assert (await any_store.load()).revision == 0
    assert await any_store.commit([NewAccount("alice", 1)]) == 1
    assert await any_store.commit([AppendEvent("alice", WalletTransfer("USDT", D(5)), 2)]) == 2
    # Marks and meta are upserts any process may repeat: they move nothing.
    assert await any_store.commit([SetMarks({"BTCUSDT": D(1)}, 3), SetMeta("k", "v")]) is None
    assert (await any_store.load()).revision == 2


async def test_a_commit_expecting_an_old_revision_is_stale_and_writes_nothing(
    any_store: Any,
) -> None:
    await any_store.commit([NewAccount("alice", 1)], expect=0)
    with pytest.raises(StaleRevision, match="moved past revision 0"):
        await any_store.commit(
            [NewAccount("bob", 2), AppendEvent("alice", WalletTransfer("USDT", D(5)), 2)],
            expect=0,
        )
    snapshot = await any_store.load()
    assert ([a.name for a in snapshot.accounts], snapshot.ledger, snapshot.revision) == (
        ["alice"],
        (),
        1,
    )
    assert await any_store.commit([NewAccount("bob", 2)], expect=1) == 2


async def test_changes_since_holds_exactly_what_was_committed_after(any_store: Any) -> None:
    fill = Fill("BTCUSDT", Side.BUY, D("0.001"), D("22185.2"), PositionSide.BOTH, D(0), 5)
    await any_store.commit(
        [
            NewAccount("alice", 1),
            NewKey(KeyRecord("old", "alice", "hmac", "s", None, 1)),
            AppendEvent("alice", WalletTransfer("USDT", D(100), 1), 1),
        ]
    )
    seen = (await any_store.load()).revision
    await any_store.commit([NewAccount("bob", 2), AppendEvent("alice", fill, 5)])
    await any_store.commit(
        [RevokeKey("old", 6), NewKey(KeyRecord("new", "bob", "hmac", "t", None, 6))]
    )
    delta = await any_store.changes_since(seen)
    assert delta.revision == seen + 2
    assert [a.name for a in delta.accounts] == ["bob"]
    assert [(k.api_key, k.account, k.revoked_at) for k in delta.keys] == [
        ("old", "alice", 6),
        ("new", "bob", None),
    ]
    assert [(r.account, r.event) for r in delta.ledger] == [("alice", fill)]
    nothing = await any_store.changes_since(delta.revision)
    assert (nothing.revision, nothing.accounts, nothing.keys, nothing.ledger) == (
        delta.revision,
        (),
        (),
        (),
    )


async def test_account_events_reads_one_accounts_entries_of_one_kind_in_a_window(
    any_store: Any,
) -> None:
    def moved(amount: str, time: int) -> IsolatedMarginTransfer:
        return IsolatedMarginTransfer("ETHUSDT", D(amount), PositionSide.BOTH, time)

    await any_store.commit(
        [
            NewAccount("alice", 1),
            NewAccount("bob", 1),
            AppendEvent("alice", WalletTransfer("USDT", D("100"), 10), 10),
            AppendEvent("alice", moved("5", 30), 30),
            AppendEvent("bob", moved("7", 20), 20),
            AppendEvent("alice", moved("-2", 20), 20),
            AppendEvent("alice", moved("1", 40), 40),
        ]
    )
    found = await any_store.account_events("alice", IsolatedMarginTransfer, 0, 2**62, limit=10)
    assert [(r.account, r.time, r.event) for r in found] == [
        ("alice", 20, moved("-2", 20)),
        ("alice", 30, moved("5", 30)),
        ("alice", 40, moved("1", 40)),
    ]
    window = await any_store.account_events("alice", IsolatedMarginTransfer, 20, 30, limit=10)
    assert [r.time for r in window] == [20, 30]
    assert await any_store.account_events("carol", IsolatedMarginTransfer, 0, 99, limit=10) == ()
    deposits = await any_store.account_events("alice", WalletTransfer, 0, 2**62, limit=10)
    assert [r.event.amount for r in deposits] == [D("100")]
    # At most ``limit`` are read: the oldest, or the newest; by time either way.
    oldest = await any_store.account_events("alice", IsolatedMarginTransfer, 0, 99, limit=2)
    assert [r.time for r in oldest] == [20, 30]
    newest = await any_store.account_events(
        "alice", IsolatedMarginTransfer, 0, 99, limit=2, newest_first=True
    )
    assert [r.time for r in newest] == [30, 40]


async def test_a_funding_settlement_is_a_ledger_row_of_the_current_schema(any_store: Any) -> None:
    # The fees are ledger rows (the settlement table only coordinates the gateways); their
    # income rows are the income table's.
    settlement = FundingFee(
        "BTCUSDT",
        28_800_000,
        D("0.0001"),
        D("92000"),
        ((PositionSide.LONG, D("-0.0276")), (PositionSide.SHORT, D("0.0092"))),
        28_800_000,
    )
    await any_store.commit(
        [NewAccount("alice", 1), AppendEvent("alice", settlement, settlement.time)]
    )
    assert await any_store.schema_version() == migrations()[-1][0]
    snapshot = await any_store.load()
    assert [(r.account, r.event) for r in snapshot.ledger] == [("alice", settlement)]
