"""The in-memory state every request is served from: accounts, API keys and marks.

It is rebuilt at start by folding the stored ledger through the engine, and afterwards
changed only by the admin service, after the store has committed the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from ..engine import Account, AccountRisk, Applied, EngineError, Market, apply
from ..protocol import Credential, HmacCredential, PublicKeyCredential
from ..store import Delta, KeyRecord, LedgerRecord, Snapshot, StoreError
from .errors import UnknownAccount
from .secrets import SecretBox, SecretError

__all__ = ["AccountEntry", "Caught", "KeyEntry", "Registry", "credential_for"]


@dataclass(slots=True)
class AccountEntry:
    """One account: its engine state and a version that moves with every change."""

    name: str
    created_at: int
    account: Account = field(default_factory=Account)
    version: int = 0
    # API keys of this account, in creation order.
    keys: list[str] = field(default_factory=list)
    # Serialised rows served for this account (see ``service.views``), valid while
    # (version, marks version) equals ``rows_key``.
    rows: dict[tuple[bool, str | None], Any] = field(default_factory=dict)
    rows_key: tuple[int, int] = (-1, -1)
    risk: AccountRisk | None = None


@dataclass(slots=True)
class Caught:
    """What ``Registry.apply_delta`` changed: ledger entries applied, keys revoked."""

    applied: list[tuple[LedgerRecord, Applied]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)


@dataclass(slots=True)
class KeyEntry:
    api_key: str
    account: str
    kind: str
    credential: Credential
    created_at: int
    revoked_at: int | None = None

    def __repr__(self) -> str:
        return f"KeyEntry({self.api_key!r}, account={self.account!r}, kind={self.kind!r})"


def credential_for(record: KeyRecord) -> Credential:
    if record.kind == "hmac":
        assert record.secret is not None
        return HmacCredential(record.secret)
    assert record.public_key is not None
    return PublicKeyCredential(record.public_key)


class Registry:
    """Accounts by name, keys by API key, marks by symbol."""

    def __init__(self, market: Market, box: SecretBox | None = None) -> None:
        self.market = market
        # Seals HMAC secrets for the store and opens them when loading (None: plaintext).
        self.box = box
        self.accounts: dict[str, AccountEntry] = {}
        self.keys: dict[str, KeyEntry] = {}
        # Read-only outside ``update_marks``: cached rows depend on ``marks_version``.
        self.marks: dict[str, Decimal] = {}
        self.marks_version = 0
        # The store revision the accounts and keys reflect (see ``store.Delta``).
        self.revision = 0
        # Told of marks moved in this process (not of marks that came from other gateways).
        self.mark_listeners: list[Callable[[Mapping[str, Decimal]], None]] = []

    def __repr__(self) -> str:
        return f"<Registry {len(self.accounts)} accounts, {len(self.keys)} keys>"

    @classmethod
    def from_snapshot(
        cls, snapshot: Snapshot, market: Market, box: SecretBox | None = None
    ) -> Registry:
        """Replay the ledger; an entry the engine now refuses stops the start, named."""
        registry = cls(market, box)
        registry.apply_delta(
            Delta(snapshot.revision, snapshot.accounts, snapshot.keys, snapshot.ledger)
        )
        registry.update_marks(
            {symbol: price for symbol, price in snapshot.marks.items() if symbol in market}
        )
        return registry

    def apply_delta(self, delta: Delta) -> Caught:
        """Fold what the store committed after ``self.revision`` into the served state:
        new accounts, new keys, revocations and ledger entries, in commit order."""
        caught = Caught()
        for record in delta.accounts:
            if record.name not in self.accounts:
                self.accounts[record.name] = AccountEntry(record.name, record.created_at)
        for key in delta.keys:
            known = self.keys.get(key.api_key)
            if known is None:
                self.add_key(self._opened(key))
            elif key.revoked_at is not None and known.revoked_at is None:
                known.revoked_at = key.revoked_at
                caught.revoked.append(key.api_key)
        for entry in delta.ledger:
            state = self.accounts[entry.account]
            try:
                applied = apply(state.account, entry.event, self.market)
            except EngineError as e:
                raise StoreError(
                    f"ledger entry {entry.seq} of account {entry.account!r} is refused by this "
                    f"market's rules ({e}); was the market data changed?"
                ) from None
            state.account = applied.account
            state.version += 1
            caught.applied.append((entry, applied))
        self.revision = max(self.revision, delta.revision)
        return caught

    def _opened(self, key: KeyRecord) -> KeyRecord:
        """The key with its HMAC secret unsealed (stored sealed with the master key)."""
        if key.kind != "hmac" or key.secret is None or self.box is None:
            return key
        try:
            return replace(key, secret=self.box.open(key.secret, key.api_key))
        except SecretError as e:
            raise StoreError(str(e)) from None

    def update_marks(self, marks: Mapping[str, Decimal], *, local: bool = True) -> None:
        """Move marks; ``local=False`` for marks another gateway moved (not passed on)."""
        self.marks.update(marks)
        self.marks_version += 1
        if local:
            for listener in self.mark_listeners:
                listener(marks)

    def account(self, name: str) -> AccountEntry:
        try:
            return self.accounts[name]
        except KeyError:
            raise UnknownAccount(name) from None

    def add_key(self, record: KeyRecord) -> KeyEntry:
        entry = KeyEntry(
            record.api_key,
            record.account,
            record.kind,
            credential_for(record),
            record.created_at,
            record.revoked_at,
        )
        self.keys[record.api_key] = entry
        self.accounts[record.account].keys.append(record.api_key)
        return entry
