"""The store's records and changes."""

from __future__ import annotations

from decimal import Decimal

from posrisk.engine import WalletTransfer
from posrisk.store import (
    AppendEvent,
    KeyRecord,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    moves_revision,
)

KEY = KeyRecord("k1", "alice", "hmac", "not-a-real-secret", None, 1)


def test_ledger_changes_move_the_revision_and_upserts_do_not() -> None:
    for change in (
        NewAccount("alice", 1),
        NewKey(KEY),
        RevokeKey("k1", 2),
        AppendEvent("alice", WalletTransfer("USDT", Decimal(1), 1), 1),
    ):
        assert moves_revision([SetMeta("k", "v"), change])
    assert not moves_revision([SetMarks({"BTCUSDT": Decimal(1)}, 1), SetMeta("k", "v")])
    assert not moves_revision([])


def test_a_key_never_shows_its_secret() -> None:
    assert "not-a-real-secret" not in repr(KEY)
    assert "not-a-real-secret" not in repr(NewKey(KEY))
