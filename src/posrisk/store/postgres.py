"""The ledger in PostgreSQL (asyncpg), behind the same interface as ``SQLiteStore``.

Selected by ``posrisk serve --db postgresql://...``. The schema versions are SQLite's
(``migrations/postgres/`` holds the same migrations in PostgreSQL's dialect); migrations
run under an advisory lock, so many gateways can start at once. Every ``commit`` is one
transaction; PostgreSQL's own durability (fsync'd WAL on commit) stands behind it. A
database that cannot be reached or answers an error becomes a ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from .codec import decode_event, encode_event
from .records import (
    AccountRecord,
    AppendEvent,
    Change,
    Delta,
    KeyRecord,
    LedgerRecord,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    Snapshot,
    moves_revision,
)
from .sqlite import StaleRevision, StoreError, _statements, migrations

__all__ = ["PostgresStore"]

# pg_advisory_lock key: "posrisk" in ASCII, so migrations never run twice at once.
_MIGRATION_LOCK = 0x706F737269736B


class PostgresStore:
    """The ledger in a PostgreSQL database (optionally in its own ``schema``)."""

    def __init__(self, dsn: str, *, schema: str | None = None, timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.schema = schema
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None

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
                        for statement in _statements(sql):
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
            delta = await self._delta(db, -1)
            marks = {
                r["symbol"]: Decimal(r["price"])
                for r in await db.fetch("SELECT symbol, price FROM marks")
            }
            meta = {r["key"]: r["value"] for r in await db.fetch("SELECT key, value FROM meta")}
        return Snapshot(
            delta.accounts, delta.keys, delta.ledger, marks, meta, revision=delta.revision
        )

    async def changes_since(self, revision: int) -> Delta:
        """Accounts, keys and ledger entries committed after ``revision``."""
        async with self._connection() as db, db.transaction(isolation="repeatable_read"):
            return await self._delta(db, revision)

    @staticmethod
    async def _delta(db: asyncpg.Connection, after: int) -> Delta:
        accounts = tuple(
            AccountRecord(r["id"], r["name"], r["created_at"])
            for r in await db.fetch(
                "SELECT id, name, created_at FROM accounts WHERE revision > $1 ORDER BY id", after
            )
        )
        keys = tuple(
            KeyRecord(
                r["api_key"],
                r["name"],
                r["kind"],
                r["secret"],
                r["public_key"],
                r["created_at"],
                r["revoked_at"],
            )
            for r in await db.fetch(
                "SELECT k.api_key, a.name, k.kind, k.secret, k.public_key, k.created_at, "
                "k.revoked_at FROM api_keys k JOIN accounts a ON a.id = k.account_id "
                "WHERE k.revision > $1 ORDER BY k.seq",
                after,
            )
        )
        ledger = tuple(
            LedgerRecord(
                r["seq"], r["name"], r["time"], decode_event(r["kind"], r["body"], r["time"])
            )
            for r in await db.fetch(
                "SELECT l.seq, a.name, l.time, l.kind, l.body FROM ledger l "
                "JOIN accounts a ON a.id = l.account_id WHERE l.revision > $1 ORDER BY l.seq",
                after,
            )
        )
        revision = int(await db.fetchval("SELECT n FROM revision"))
        return Delta(revision, accounts, keys, ledger)

    async def has_accounts(self) -> bool:
        async with self._connection() as db:
            return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM accounts)"))

    async def reset(self) -> None:
        async with self._connection() as db, db.transaction():
            for table in ("ledger", "api_keys", "accounts", "marks", "meta"):
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
            ids: dict[str, int] = {}
            revision: int | None = None
            if moves_revision(changes):
                revision = await db.fetchval(
                    "UPDATE revision SET n = n + 1 WHERE $1::BIGINT IS NULL OR n = $1 RETURNING n",
                    expect,
                )
                if revision is None:
                    raise StaleRevision(self.path, expect)

            async def account_id(name: str) -> int:
                if name not in ids:
                    found = await db.fetchval("SELECT id FROM accounts WHERE name = $1", name)
                    if found is None:
                        raise StoreError(f"no account named {name!r}")
                    ids[name] = found
                return ids[name]

            for change in changes:
                match change:
                    case NewAccount():
                        ids[change.name] = await db.fetchval(
                            "INSERT INTO accounts (name, created_at, revision) "
                            "VALUES ($1, $2, $3) RETURNING id",
                            change.name,
                            change.created_at,
                            revision,
                        )
                    case NewKey(key=key):
                        await db.execute(
                            "INSERT INTO api_keys (api_key, account_id, kind, secret, "
                            "public_key, created_at, revoked_at, revision) "
                            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            key.api_key,
                            await account_id(key.account),
                            key.kind,
                            key.secret,
                            key.public_key,
                            key.created_at,
                            key.revoked_at,
                            revision,
                        )
                    case RevokeKey():
                        await db.execute(
                            "UPDATE api_keys SET revoked_at = $1, revision = $2 WHERE api_key = $3",
                            change.time,
                            revision,
                            change.api_key,
                        )
                    case AppendEvent():
                        kind, body = encode_event(change.event)
                        await db.execute(
                            "INSERT INTO ledger (account_id, time, kind, body, revision) "
                            "VALUES ($1, $2, $3, $4, $5)",
                            await account_id(change.account),
                            change.time,
                            kind,
                            body,
                            revision,
                        )
                    case SetMarks():
                        await db.executemany(
                            "INSERT INTO marks (symbol, price, time) VALUES ($1, $2, $3) "
                            "ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, "
                            "time = EXCLUDED.time",
                            [(s, format(p, "f"), change.time) for s, p in change.marks.items()],
                        )
                    case SetMeta():
                        await db.execute(
                            "INSERT INTO meta (key, value) VALUES ($1, $2) "
                            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                            change.key,
                            change.value,
                        )
        return revision


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
