"""The durable ledger: accounts, API keys, ledger events and marks.

A ``Store`` is async; the embedded default is ``SQLiteStore``. State is never stored as
such: an account is the fold of its ledger events through ``posrisk.engine.apply``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .records import (
    AccountRecord,
    AppendEvent,
    Change,
    KeyRecord,
    LedgerRecord,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    Snapshot,
)
from .sqlite import DatabaseBusy, DatabaseLock, SQLiteStore, StoreError

__all__ = [
    "AccountRecord",
    "AppendEvent",
    "Change",
    "DatabaseBusy",
    "DatabaseLock",
    "KeyRecord",
    "LedgerRecord",
    "NewAccount",
    "NewKey",
    "RevokeKey",
    "SQLiteStore",
    "SetMarks",
    "SetMeta",
    "Snapshot",
    "Store",
    "StoreError",
]


class Store(Protocol):
    """What the service needs of a database."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def load(self) -> Snapshot: ...
    async def has_accounts(self) -> bool: ...
    async def commit(self, changes: Sequence[Change]) -> None: ...
    async def reset(self) -> None: ...
    async def schema_version(self) -> int: ...
