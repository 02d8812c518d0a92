"""What the store keeps and the changes it commits, as plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ..engine import Event

__all__ = [
    "AccountRecord",
    "AppendEvent",
    "Change",
    "KeyRecord",
    "LedgerRecord",
    "NewAccount",
    "NewKey",
    "RevokeKey",
    "SetMarks",
    "SetMeta",
    "Snapshot",
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
    account: str
    event: Event
    time: int


@dataclass(frozen=True, slots=True)
class SetMarks:
    marks: Mapping[str, Decimal]
    time: int


@dataclass(frozen=True, slots=True)
class SetMeta:
    key: str
    value: str


Change = NewAccount | NewKey | RevokeKey | AppendEvent | SetMarks | SetMeta
