"""The in-memory state every request is served from, and its one owner.

``Registry`` holds accounts, API keys and marks. It changes in one way only:
``apply_committed(changes)`` folds store ``Change``s through the engine, after the store has
committed them, and tells its subscribers once with one ``StateChanged``. Everything that
moves the state takes that door: this process's writes (``AdminService``), what other
gateways committed (catch-up, as a ``Delta`` turned into changes by ``delta_changes``),
the ledger replayed at start, scenario loads, liquidations, and marks — from the admin, a
feed tick (saved within seconds, SPEC §12) or another gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, NamedTuple

from ..engine import (
    Account,
    AccountRisk,
    AlgoUpdate,
    Applied,
    EngineError,
    Event,
    Market,
    OrderUpdate,
    apply,
)
from ..protocol import Credential, HmacCredential, PublicKeyCredential
from ..store import (
    AppendEvent,
    Change,
    Delta,
    KeyRecord,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    Snapshot,
    StoreError,
)
from .errors import UnknownAccount
from .secrets import SecretBox, SecretError

__all__ = [
    "AccountChanged",
    "AccountEntry",
    "KeyEntry",
    "LedgerIds",
    "NextIds",
    "Registry",
    "StateChanged",
    "credential_for",
    "delta_changes",
]


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
    rows: dict[tuple[object, ...], Any] = field(default_factory=dict)
    rows_key: tuple[int, int] = (-1, -1)
    risk: AccountRisk | None = None


class AccountChanged(NamedTuple):
    """One ledger event applied to ``account`` (``time``: when it happened)."""

    account: str
    applied: Applied
    time: int
    event: Event | None = None


# Binance's ids start here: orderId, trade id, algoId (persisted: the ledger holds them).
FIRST_ID = 1_000_000_001


@dataclass(slots=True)
class LedgerIds:
    """The highest orderId, trade id and algoId the ledger holds; new ones come after
    (``next_ids``). Planning under the write lock against the latest state keeps them
    unique across gateways: a plan made stale by another gateway's commit is made again."""

    order: int = FIRST_ID - 1
    trade: int = FIRST_ID - 1
    algo: int = FIRST_ID - 1

    def saw(self, event: Event) -> None:
        if isinstance(event, OrderUpdate):
            self.order = max(self.order, event.order.order_id)
            if event.trade is not None:
                self.trade = max(self.trade, event.trade.trade_id)
        elif isinstance(event, AlgoUpdate):
            self.algo = max(self.algo, event.algo.algo_id)
            self.order = max(self.order, event.algo.actual_order_id)

    def next_ids(self) -> NextIds:
        return NextIds(self.order, self.trade, self.algo)


@dataclass(slots=True)
class NextIds:
    """Ids for one plan, after those the ledger holds (an ``engine.IdSource``)."""

    order: int
    trade: int
    algo: int

    def next_order_id(self) -> int:
        self.order += 1
        return self.order

    def next_trade_id(self) -> int:
        self.trade += 1
        return self.trade

    def next_algo_id(self) -> int:
        self.algo += 1
        return self.algo


@dataclass(frozen=True, slots=True)
class StateChanged:
    """What one ``apply_committed`` did to the served state.

    ``local``: made by this process (the bus passes local changes on to the others);
    ``revision``: the store revision the state now reflects, when the commit moved it.
    """

    local: bool
    revision: int | None = None
    accounts: tuple[str, ...] = ()
    applied: tuple[AccountChanged, ...] = ()
    revoked: tuple[str, ...] = ()
    marks: Mapping[str, Decimal] = field(default_factory=dict)


# Told of every change of the served state, once per ``apply_committed``.
StateListener = Callable[[StateChanged], None]


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
    """Accounts by name, keys by API key, marks by symbol: read by everyone, changed only
    through ``apply_committed``."""

    def __init__(self, market: Market, box: SecretBox | None = None) -> None:
        self.market = market
        # Seals HMAC secrets for the store and opens them when loading (None: plaintext).
        self.box = box
        self.accounts: dict[str, AccountEntry] = {}
        self.keys: dict[str, KeyEntry] = {}
        # Cached rows depend on ``marks_version``, which moves with every mark change.
        self.marks: dict[str, Decimal] = {}
        self.marks_version = 0
        # Meta values loaded or committed through here (funding settings), and a version
        # that moves with each (bans are written to the store directly, not seen here).
        self.meta: dict[str, str] = {}
        self.meta_version = 0
        # The store revision the accounts and keys reflect (see ``store.Delta``).
        self.revision = 0
        # The highest ids the ledger holds (orders, trades, algo orders).
        self.ids = LedgerIds()
        self._listeners: list[StateListener] = []

    def __repr__(self) -> str:
        return f"<Registry {len(self.accounts)} accounts, {len(self.keys)} keys>"

    @classmethod
    def from_snapshot(
        cls, snapshot: Snapshot, market: Market, box: SecretBox | None = None
    ) -> Registry:
        """Replay the ledger; an entry the engine now refuses stops the start, named."""
        registry = cls(market, box)
        delta = Delta(snapshot.revision, snapshot.accounts, snapshot.keys, snapshot.ledger)
        known = {symbol: price for symbol, price in snapshot.marks.items() if symbol in market}
        changes: list[Change] = [*delta_changes(delta, registry.keys), SetMarks(known, 0)]
        changes += [SetMeta(key, value) for key, value in snapshot.meta.items()]
        registry.apply_committed(changes, snapshot.revision, local=False)
        return registry

    def subscribe(self, listener: StateListener) -> None:
        """Tell ``listener`` of every change from now on (streams, dashboard, bus)."""
        self._listeners.append(listener)

    def apply_committed(
        self, changes: Sequence[Change], revision: int | None = None, *, local: bool = True
    ) -> StateChanged:
        """Fold committed ``changes`` into the served state, in order, then tell the
        subscribers once. ``revision``: where the commit left the store (None: marks or
        meta only). A ledger event the engine refuses here was committed under other rules:
        ``StoreError``, naming it (only a changed market can do that)."""
        accounts: list[str] = []
        applied: list[AccountChanged] = []
        revoked: list[str] = []
        marks: dict[str, Decimal] = {}
        for change in changes:
            match change:
                case NewAccount(name, created_at):
                    if name not in self.accounts:
                        self.accounts[name] = AccountEntry(name, created_at)
                        accounts.append(name)
                case NewKey(key):
                    if key.api_key not in self.keys:
                        self._add_key(self._opened(key))
                case RevokeKey(api_key, time):
                    entry = self.keys.get(api_key)
                    if entry is not None and entry.revoked_at is None:
                        entry.revoked_at = time
                        revoked.append(api_key)
                case AppendEvent(account, event, time):
                    applied.append(AccountChanged(account, self._apply(change), time, event))
                    self.ids.saw(event)
                case SetMarks(moved):
                    marks.update(moved)
                case SetMeta(key, value):
                    self.meta[key] = value
                    self.meta_version += 1
        if marks:
            self.marks.update(marks)
            self.marks_version += 1
        if revision is not None:
            self.revision = max(self.revision, revision)
        changed = StateChanged(
            local, revision, tuple(accounts), tuple(applied), tuple(revoked), marks
        )
        if revision is not None or accounts or applied or revoked or marks:
            for listener in self._listeners:
                listener(changed)
        return changed

    def _apply(self, change: AppendEvent) -> Applied:
        state = self.accounts[change.account]
        try:
            applied = apply(state.account, change.event, self.market)
        except EngineError as e:
            raise StoreError(
                f"the {type(change.event).__name__} of account {change.account!r} at "
                f"{change.time} is refused by this market's rules ({e}); was the market data "
                "changed?"
            ) from None
        state.account = applied.account
        state.version += 1
        return applied

    def _opened(self, key: KeyRecord) -> KeyRecord:
        """The key with its HMAC secret unsealed (stored sealed with the master key)."""
        if key.kind != "hmac" or key.secret is None or self.box is None:
            return key
        try:
            return replace(key, secret=self.box.open(key.secret, key.api_key))
        except SecretError as e:
            raise StoreError(str(e)) from None

    def sealed(self, record: KeyRecord) -> KeyRecord:
        """The record as stored: an HMAC secret sealed with the master key."""
        if record.kind != "hmac" or record.secret is None or self.box is None:
            return record
        return replace(record, secret=self.box.seal(record.secret, record.api_key))

    def account(self, name: str) -> AccountEntry:
        try:
            return self.accounts[name]
        except KeyError:
            raise UnknownAccount(name) from None

    def _add_key(self, record: KeyRecord) -> None:
        self.keys[record.api_key] = KeyEntry(
            record.api_key,
            record.account,
            record.kind,
            credential_for(record),
            record.created_at,
            record.revoked_at,
        )
        self.accounts[record.account].keys.append(record.api_key)


def delta_changes(delta: Delta, known: Mapping[str, KeyEntry]) -> list[Change]:
    """What another process committed (a ``Delta`` read back from the store) as the
    changes that made it: accounts, then keys created or revoked, then ledger events."""
    changes: list[Change] = [NewAccount(a.name, a.created_at) for a in delta.accounts]
    for key in delta.keys:
        if key.api_key not in known:
            changes.append(NewKey(key))
        elif key.revoked_at is not None:
            changes.append(RevokeKey(key.api_key, key.revoked_at))
    changes.extend(AppendEvent(e.account, e.event, e.time) for e in delta.ledger)
    return changes
