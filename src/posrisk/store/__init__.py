"""The durable ledger: accounts, API keys, ledger events and marks.

A ``Store`` is async; the embedded default is ``SQLiteStore``. State is never stored as
such: an account is the fold of its ledger events through ``posrisk.engine.apply``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Protocol

from ..engine import AlgoOrder, Order, OrderUpdate
from .files import DatabaseMissing, check_database_file
from .funding import FUNDING_FROM, FundingClaim
from .income import INCOME_REBUILD, IncomeQuery, IncomeRecord
from .records import (
    AccountRecord,
    AddIncome,
    AppendEvent,
    Change,
    Delta,
    FundingSettlement,
    KeyRecord,
    LedgerRecord,
    NewAccount,
    NewKey,
    PutFundingSettlement,
    RevokeKey,
    SetMarks,
    SetMeta,
    Snapshot,
    moves_revision,
)
from .sqlite import DatabaseBusy, DatabaseLock, SQLiteStore, StaleRevision, StoreError

__all__ = [
    "FUNDING_FROM",
    "INCOME_REBUILD",
    "AccountRecord",
    "AddIncome",
    "AppendEvent",
    "Change",
    "DatabaseBusy",
    "DatabaseLock",
    "DatabaseMissing",
    "Delta",
    "FundingClaim",
    "FundingSettlement",
    "IncomeQuery",
    "IncomeRecord",
    "KeyRecord",
    "LedgerRecord",
    "NewAccount",
    "NewKey",
    "PutFundingSettlement",
    "RevokeKey",
    "SQLiteStore",
    "SetMarks",
    "SetMeta",
    "Snapshot",
    "StaleRevision",
    "Store",
    "StoreError",
    "check_database_file",
    "moves_revision",
]


class Store(Protocol):
    """What the service needs of a database."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def load(self) -> Snapshot: ...
    async def has_accounts(self) -> bool: ...
    async def changes_since(self, revision: int) -> Delta: ...
    async def account_events(
        self,
        account: str,
        event_type: type,
        start: int,
        end: int,
        *,
        limit: int,
        newest_first: bool = False,
    ) -> tuple[LedgerRecord, ...]: ...
    async def commit(
        self, changes: Sequence[Change], *, expect: int | None = None
    ) -> int | None: ...
    def alone(self) -> AbstractAsyncContextManager[None]:
        """Hold back every other process's revision-moving commits until the block ends
        (this store's own go through): a writer that keeps losing to other gateways
        catches up, plans and commits in it, and cannot be stale."""
        ...

    async def meta(self, prefix: str) -> dict[str, str]:
        """The meta values whose keys start with ``prefix``."""
        ...

    async def reset(self) -> None: ...
    async def schema_version(self) -> int: ...

    # The order index (``order_index``): one account's orders, trades and algo orders.
    async def order(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order | None: ...
    async def orders(
        self,
        account: str,
        symbol: str,
        *,
        from_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int,
    ) -> tuple[Order, ...]: ...
    async def trades(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int,
    ) -> tuple[OrderUpdate, ...]: ...
    # The income table (``income``): one account's income rows, by time.
    async def income(self, account: str, query: IncomeQuery) -> tuple[IncomeRecord, ...]: ...
    async def algo_order(
        self, account: str, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder | None: ...
    # Funding settlements (``funding``): claimed once, finished, their history.
    async def claim_funding(
        self, symbol: str, funding_time: int, rate: Decimal, mark: Decimal, now: int
    ) -> FundingClaim: ...
    async def finish_funding(self, symbol: str, funding_time: int, now: int) -> None: ...
    async def renew_funding(
        self, symbol: str, funding_time: int, claimed_at: int, now: int
    ) -> bool: ...
    async def unfinished_funding(self) -> tuple[FundingSettlement, ...]: ...
    async def last_funding(self) -> dict[str, int]: ...
    async def funding_history(
        self,
        symbol: str | None,
        start: int,
        end: int,
        *,
        limit: int,
        newest_first: bool = False,
    ) -> tuple[FundingSettlement, ...]: ...
    async def funding_from(self, now: int) -> int: ...

    async def algo_orders(
        self,
        account: str,
        symbol: str,
        *,
        from_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int,
    ) -> tuple[AlgoOrder, ...]: ...
