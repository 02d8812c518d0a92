"""The ledger in PostgreSQL (asyncpg), behind the same interface as ``SQLiteStore``.

Selected by ``posrisk serve --db postgresql://...``. The schema versions are SQLite's
(``migrations/postgres/`` holds the same migrations in PostgreSQL's dialect); migrations
run under an advisory lock, so many gateways can start at once. Every ``commit`` is one
transaction; PostgreSQL's own durability (fsync'd WAL on commit) stands behind it. A
database that cannot be reached or answers an error becomes a ``StoreError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from .errors import StoreError
from .funding import FundingStore
from .income import IncomeReads
from .order_index import OrderReads
from .plan import POSTGRES, Batch, Dialect, Plan, Rows
from .reads import read_account_events, read_delta, read_meta, read_snapshot
from .records import Change, Delta, LedgerRecord, Snapshot, moves_revision
from .schema import TABLES, migrations, statements
from .writes import write_changes

__all__ = ["PostgresStore"]

# pg_advisory_lock key: "posrisk" in ASCII, so migrations never run twice at once.
_MIGRATION_LOCK = 0x706F737269736B
# The write turn, an advisory lock per schema ("posr" and the schema's hash, the two-key
# form): every revision-moving commit holds it shared for its transaction; a writer that
# keeps losing holds it alone (``alone``).
_WRITE_TURN = "1886352242, hashtext(current_schema())"

T = TypeVar("T")


async def _run_plan(db: asyncpg.Connection, plan: Plan[T]) -> T:
    """Run ``plan`` (see ``plan``) on ``db``, in the caller's transaction."""
    try:
        step = next(plan)
        while True:
            rows: Rows = []
            if isinstance(step, Batch):
                await db.executemany(step.sql, step.rows)
            else:
                rows = await db.fetch(step.sql, *step.args)
            step = plan.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result


class PostgresStore(OrderReads, FundingStore, IncomeReads):
    """The ledger in a PostgreSQL database (optionally in its own ``schema``)."""

    dialect: Dialect = POSTGRES

    def __init__(self, dsn: str, *, schema: str | None = None, timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.schema = schema
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None
        # True while this store holds the write turn alone: its commits skip taking it.
        self._alone = False

    def __repr__(self) -> str:
        where = self.dsn.split("@")[-1]  # never the user or password
        return f"<PostgresStore {where} {'open' if self._pool else 'closed'}>"

    @property
    def path(self) -> str:
        return self.__repr__()

    async def open(self) -> None:
        settings = {"search_path": self.schema} if self.schema else None
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=4,
                timeout=self.timeout,
                command_timeout=self.timeout,
                server_settings=settings,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as e:
            raise StoreError(f"cannot reach PostgreSQL at {self.path}: {e}") from None
        await self._migrate()

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _pool_or_fail(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError(f"{self.path} is not open")
        return self._pool

    async def _migrate(self) -> None:
        async with self._connection() as db:
            await db.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            try:
                await db.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                )
                current = await db.fetchval("SELECT MAX(version) FROM schema_version") or 0
                shipped = migrations("postgres")
                latest = shipped[-1][0]
                if current > latest:
                    raise StoreError(
                        f"{self.path} has schema version {current}, newer than this posrisk "
                        f"({latest}); upgrade posrisk"
                    )
                for version, sql in shipped:
                    if version <= current:
                        continue
                    async with db.transaction():
                        for statement in statements(sql):
                            await db.execute(statement)
                        await db.execute("INSERT INTO schema_version VALUES ($1)", version)
            finally:
                await db.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)

    def _connection(self) -> Any:
        return _Guarded(self)

    async def schema_version(self) -> int:
        async with self._connection() as db:
            return int(await db.fetchval("SELECT MAX(version) FROM schema_version"))

    async def load(self) -> Snapshot:
        async with self._connection() as db, db.transaction(isolation="repeatable_read"):
            return await _run_plan(db, read_snapshot(POSTGRES))

    async def changes_since(self, revision: int) -> Delta:
        """Accounts, keys and ledger entries committed after ``revision``."""
        async with self._connection() as db, db.transaction(isolation="repeatable_read"):
            return await _run_plan(db, read_delta(POSTGRES, revision))

    async def account_events(
        self,
        account: str,
        event_type: type,
        start: int,
        end: int,
        *,
        limit: int,
        newest_first: bool = False,
    ) -> tuple[LedgerRecord, ...]:
        """At most ``limit`` of ``account``'s ledger entries of ``event_type`` timed in
        ``[start, end]`` (``reads.read_account_events``)."""
        async with self._connection() as db:
            plan = read_account_events(
                POSTGRES, account, event_type, start, end, limit=limit, newest_first=newest_first
            )
            return await _run_plan(db, plan)

    async def meta(self, prefix: str) -> dict[str, str]:
        async with self._connection() as db:
            return await _run_plan(db, read_meta(POSTGRES, prefix))

    async def _read_plan(self, plan: Plan[T]) -> T:
        async with self._connection() as db:
            return await _run_plan(db, plan)

    async def _write_plan(self, plan: Plan[T]) -> T:
        async with self._connection() as db, db.transaction():
            return await _run_plan(db, plan)

    async def has_accounts(self) -> bool:
        async with self._connection() as db:
            return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM accounts)"))

    async def reset(self) -> None:
        async with self._connection() as db, db.transaction():
            for table in TABLES:
                await db.execute(f"DELETE FROM {table}")  # fixed table names

    async def commit(self, changes: Sequence[Change], *, expect: int | None = None) -> int | None:
        """Apply ``changes`` in one transaction; durable when this returns.

        Returns the revision the commit made (None when it moves none); with ``expect``,
        refuses with ``StaleRevision`` unless the store is at that revision. Moving the
        revision first takes its row lock, so concurrent writers from many gateways commit
        one after the other and ledger ``seq`` follows commit order (a reader catching up
        by revision never skips a row that commits later with a smaller number).
        """
        async with self._connection() as db, db.transaction():
            if moves_revision(changes) and not self._alone:
                await db.execute(f"SELECT pg_advisory_xact_lock_shared({_WRITE_TURN})")
            return await _run_plan(db, write_changes(POSTGRES, changes, expect, self.path))

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """Hold the write turn alone (a session lock on a connection of its own): other
        gateways' revision-moving commits wait until the block ends."""
        async with self._connection() as db:
            await db.execute(f"SELECT pg_advisory_lock({_WRITE_TURN})")
            self._alone = True
            try:
                yield
            finally:
                self._alone = False
                await db.execute(f"SELECT pg_advisory_unlock({_WRITE_TURN})")


class _Guarded:
    """A pooled connection whose failures come out as ``StoreError``s."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._acquired: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        try:
            self._acquired = self.store._pool_or_fail().acquire()
            return await self._acquired.__aenter__()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as e:
            raise StoreError(f"PostgreSQL at {self.store.path} is unavailable: {e}") from None

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> bool:
        await self._acquired.__aexit__(kind, error, trace)
        if isinstance(error, StoreError):
            return False
        if isinstance(error, asyncpg.UniqueViolationError | asyncpg.ForeignKeyViolationError):
            raise StoreError(f"{self.store.path}: write refused: {error}") from None
        if isinstance(
            error, OSError | asyncpg.PostgresError | asyncpg.InterfaceError | TimeoutError
        ):
            raise StoreError(f"PostgreSQL at {self.store.path} failed: {error}") from None
        return False
