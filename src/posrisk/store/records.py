"""What the store keeps and the changes it commits, as plain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ..engine import Event
from ..engine.income import IncomeEntry

__all__ = [
    "AccountRecord",
    "AddIncome",
    "AppendEvent",
    "Change",
    "Delta",
    "FundingSettlement",
    "KeyRecord",
    "LedgerRecord",
    "NewAccount",
    "NewKey",
    "PutFundingSettlement",
    "RevokeKey",
    "SetMarks",
    "SetMeta",
    "Snapshot",
    "moves_revision",
]


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: int
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An API key. ``secret`` for HMAC keys, ``public_key`` (PEM) for Ed25519 and RSA."""

    api_key: str
    account: str
    kind: str
    secret: str | None
    public_key: str | None
    created_at: int
    revoked_at: int | None = None

    def __repr__(self) -> str:  # never show a secret, even in a traceback
        return (
            f"KeyRecord(api_key={self.api_key!r}, account={self.account!r}, kind={self.kind!r}, "
            f"revoked_at={self.revoked_at!r})"
        )


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    seq: int
    account: str
    time: int
    event: Event


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a server loads at start: state is the fold of ``ledger``."""

    accounts: tuple[AccountRecord, ...]
    keys: tuple[KeyRecord, ...]
    ledger: tuple[LedgerRecord, ...]
    marks: Mapping[str, Decimal]
    meta: Mapping[str, str] = field(default_factory=dict)
    # The store's revision this snapshot reflects (see ``Delta``).
    revision: int = 0


@dataclass(frozen=True, slots=True)
class FundingSettlement:
    """A funding settlement of ``symbol`` at ``funding_time``: the rate and mark its first
    claimer wrote (every gateway settles with them), when it was claimed, and when every
    account had been settled (None: not yet, someone may resume it)."""

    symbol: str
    funding_time: int
    rate: Decimal
    mark: Decimal
    claimed_at: int
    finished_at: int | None = None


@dataclass(frozen=True, slots=True)
class Delta:
    """What was committed after a revision: accounts created, keys created or revoked, and
    ledger entries, each in commit order; ``revision`` is the store's revision they lead to.

    Every commit holding a ``NewAccount``, ``NewKey``, ``RevokeKey`` or ``AppendEvent``
    moves the store's revision by one and stamps the rows it writes with it; marks and
    meta do not (they are upserts that any process may repeat).
    """

    revision: int
    accounts: tuple[AccountRecord, ...] = ()
    keys: tuple[KeyRecord, ...] = ()
    ledger: tuple[LedgerRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class NewAccount:
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class NewKey:
    key: KeyRecord


@dataclass(frozen=True, slots=True)
class RevokeKey:
    api_key: str
    time: int


@dataclass(frozen=True, slots=True)
class AppendEvent:
    """A ledger event; ``income`` the entries it makes (``engine.income_entries``, which
    the writer computes against the account before it), stored with it."""

    account: str
    event: Event
    time: int
    income: tuple[IncomeEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class AddIncome:
    """Income entries of the stored ledger row ``seq`` (at ``time``), found by replaying
    the ledger: written unless they are there already; moves no revision."""

    account: str
    seq: int
    time: int
    entries: tuple[IncomeEntry, ...]


@dataclass(frozen=True, slots=True)
class SetMarks:
    marks: Mapping[str, Decimal]
    time: int


@dataclass(frozen=True, slots=True)
class SetMeta:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class PutFundingSettlement:
    """A funding settlement row written as it is (``db copy``); claims and finishes go
    through the store's own operations (``funding``)."""

    settlement: FundingSettlement


Change = (
    NewAccount
    | NewKey
    | RevokeKey
    | AppendEvent
    | SetMarks
    | SetMeta
    | PutFundingSettlement
    | AddIncome
)


def moves_revision(changes: Sequence[Change]) -> bool:
    """Whether committing ``changes`` moves the store's revision (see ``Delta``)."""
    return any(isinstance(c, NewAccount | NewKey | RevokeKey | AppendEvent) for c in changes)
