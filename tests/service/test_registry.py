"""The registry, the one owner of the served state: every change comes in as committed
store changes through ``apply_committed`` and goes out as one ``StateChanged``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from posrisk.engine import Fill, Market, Side, WalletTransfer
from posrisk.protocol import hmac_signature
from posrisk.service.registry import Registry, StateChanged, delta_changes
from posrisk.service.secrets import SecretBox
from posrisk.store import (
    AccountRecord,
    AppendEvent,
    Delta,
    KeyRecord,
    LedgerRecord,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    StoreError,
)

D = Decimal
DEPOSIT = WalletTransfer("USDT", D(1000), 5)
FILL = Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000"), time=6)


def key(api_key: str = "aliceKey1", revoked_at: int | None = None) -> KeyRecord:
    return KeyRecord(api_key, "alice", "hmac", "not-a-real-secret", None, 1, revoked_at)


def told(registry: Registry) -> list[StateChanged]:
    changes: list[StateChanged] = []
    registry.subscribe(changes.append)
    return changes


def test_a_commit_is_folded_through_the_engine_and_told_once() -> None:
    registry = Registry(Market.default())
    changes = told(registry)
    changed = registry.apply_committed(
        [
            NewAccount("alice", 1),
            NewKey(key()),
            AppendEvent("alice", DEPOSIT, 5),
            AppendEvent("alice", FILL, 6),
            SetMarks({"BTCUSDT": D("21000")}, 7),
        ],
        revision=3,
    )
    assert changes == [changed]
    assert (changed.local, changed.revision, changed.accounts) == (True, 3, ("alice",))
    assert [(item.account, item.time) for item in changed.applied] == [("alice", 5), ("alice", 6)]
    assert changed.marks == {"BTCUSDT": D("21000")}
    entry = registry.account("alice")
    assert entry.version == 2 and entry.keys == ["aliceKey1"]
    assert entry.account.positions[("BTCUSDT", FILL.position_side)].amount == D("0.010")
    assert changed.applied[-1].applied.account is entry.account
    assert (registry.revision, registry.marks_version) == (3, 1)


def test_nothing_changed_tells_nobody() -> None:
    registry = Registry(Market.default())
    changes = told(registry)
    registry.apply_committed([SetMeta("demo", "1")])
    assert changes == []


def test_a_revocation_is_told_once_even_when_it_comes_again() -> None:
    registry = Registry(Market.default())
    registry.apply_committed([NewAccount("alice", 1), NewKey(key())], revision=1)
    changes = told(registry)
    registry.apply_committed([RevokeKey("aliceKey1", 9)], revision=2, local=False)
    registry.apply_committed([RevokeKey("aliceKey1", 10)], revision=3, local=False)
    assert [c.revoked for c in changes] == [("aliceKey1",), ()]
    assert registry.keys["aliceKey1"].revoked_at == 9
    assert [c.local for c in changes] == [False, False]


def test_what_another_gateway_committed_becomes_the_same_changes() -> None:
    registry = Registry(Market.default())
    registry.apply_committed([NewAccount("alice", 1), NewKey(key())], revision=1)
    delta = Delta(
        4,
        accounts=(AccountRecord(2, "bob", 2),),
        keys=(key(revoked_at=8), KeyRecord("bobKey1", "bob", "hmac", "s", None, 2)),
        ledger=(LedgerRecord(7, "alice", 5, DEPOSIT),),
    )
    assert delta_changes(delta, registry.keys) == [
        NewAccount("bob", 2),
        RevokeKey("aliceKey1", 8),
        NewKey(KeyRecord("bobKey1", "bob", "hmac", "s", None, 2)),
        AppendEvent("alice", DEPOSIT, 5),
    ]


def test_a_sealed_secret_is_opened_as_it_comes_in() -> None:
    box = SecretBox(b"k" * 32, "a test database")
    registry = Registry(Market.default(), box)
    sealed = registry.sealed(key())
    assert sealed.secret != "not-a-real-secret"
    registry.apply_committed([NewAccount("alice", 1), NewKey(sealed)])
    signature = hmac_signature("not-a-real-secret", b"timestamp=1")
    assert registry.keys["aliceKey1"].credential.verify_payload(b"timestamp=1", signature)


def test_a_ledger_event_the_market_now_refuses_names_itself() -> None:
    registry = Registry(Market.default())
    registry.apply_committed([NewAccount("alice", 1)])
    unknown = Fill("NOPEUSDT", Side.BUY, D("1"), D("1"), time=6)
    with pytest.raises(StoreError, match=r"the Fill of account 'alice' at 6 is refused"):
        registry.apply_committed([AppendEvent("alice", unknown, 6)])
