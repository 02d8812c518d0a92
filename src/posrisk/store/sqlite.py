"""The embedded store: one SQLite file in WAL mode, written by one thread.

Every ``commit`` is one transaction with ``synchronous=FULL``: when it returns, the change
is on disk. Calls run on a single worker thread so the event loop never blocks on disk
and writes are serialised. A running server holds ``<db>.lock`` (``DatabaseLock``) so a
second server or a CLI command cannot write behind its back.

A write that fails (disk full, read-only file, I/O error, constraint) is rolled back
completely and raises ``StoreError`` saying which file and why; the connection stays
usable, so the next write works once the cause is gone. SQLite's WAL never shows a
transaction whose commit did not finish, so a crash at any moment (``kill -9``; power
loss too, on a disk that honours fsync) leaves every acknowledged commit, whole, and the
one being made either whole or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ..engine import Event
from .codec import decode_decimal, decode_event
from .errors import DatabaseBusy, StaleRevision, StoreError
from .funding import FundingStore
from .income import IncomeReads
from .order_index import OrderReads
from .plan import SQLITE, Batch, Dialect, Plan, Rows
from .reads import read_account_events, read_delta, read_meta, read_snapshot
from .records import Change, Delta, LedgerRecord, Snapshot
from .schema import TABLES, migrations, statements
from .writes import write_changes

__all__ = [
    "DatabaseBusy",
    "DatabaseLock",
    "SQLiteStore",
    "StaleRevision",
    "StoreError",
    "migrations",
]

T = TypeVar("T")


# What SQLite raises on a damaged file: its errors, and text it cannot decode (error
# messages quoting garbage included).
_FAILURES = (sqlite3.Error, UnicodeDecodeError)


def _explain(e: sqlite3.Error | UnicodeDecodeError) -> str | None:
    """What a failing write means for the user, for the failures they can act on."""
    if isinstance(e, UnicodeDecodeError):
        return _damaged(f"text that is not UTF-8: {e}")
    code = getattr(e, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return "the disk is full (write refused, nothing changed)"
    if primary == sqlite3.SQLITE_READONLY:
        return (
            "the database is read-only (write refused, nothing changed); check that the "
            "file and its directory are writable"
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return "the database is locked by another process (write refused, nothing changed)"
    if primary == sqlite3.SQLITE_IOERR:
        name = getattr(e, "sqlite_errorname", "SQLITE_IOERR")
        return (
            f"a disk I/O error ({name}) stopped the write; it was not acknowledged (check the disk)"
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return _damaged(e)
    return None


def _damaged(why: object) -> str:
    return f"the file is damaged or not a posrisk database ({why})"


def _empty(path: str) -> bool:
    """A zero-length file: nothing SQLite made (it writes a new database's header at once),
    so never one to seed as new (nor to open: SQLite would drop a write-ahead log beside it)."""
    try:
        return os.stat(path).st_size == 0
    except FileNotFoundError:
        return False


def _run_plan(db: sqlite3.Connection, plan: Plan[T]) -> T:
    """Run ``plan`` (see ``plan``) on ``db``, in the caller's transaction."""
    try:
        step = next(plan)
        while True:
            rows: Rows = []
            if isinstance(step, Batch):
                db.executemany(step.sql, step.rows)
            else:  # every row, so no statement is left running into COMMIT
                rows = db.execute(step.sql, step.args).fetchall()
            step = plan.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result


class DatabaseLock:
    """An exclusive advisory lock on ``<db>.lock`` holding the owner's pid."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DatabaseBusy(
                f"{self.path.with_suffix('')} is held by a running posrisk server (pid {holder}); "
                "stop it first, or send the change through its admin API"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class SQLiteStore(OrderReads, FundingStore, IncomeReads):
    """The ledger in one SQLite file (``:memory:`` for tests)."""

    dialect: Dialect = SQLITE

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posrisk-sqlite")
        self._db: sqlite3.Connection | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.path} {'open' if self._db else 'closed'}>"

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._closed:
            raise StoreError(f"{self.path} is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, partial(fn, *args)
            )
        except _FAILURES as e:  # a read (writes and opens say what failed themselves)
            raise StoreError(f"{self.path}: {_explain(e) or _damaged(e)}") from None

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (creating it) and apply pending migrations."""
        await self._run(self._open)

    def _open(self) -> None:
        if self.path != ":memory:" and _empty(self.path):
            raise StoreError(f"cannot open {self.path}: {_damaged('the file is empty')}")
        db = self._connect()
        try:
            self._check(db)
            self._migrate(db)
        except BaseException as e:
            db.close()  # a refused file must not stay open for writes
            if isinstance(e, _FAILURES):
                raise StoreError(f"cannot open {self.path}: {_explain(e) or e}") from None
            raise
        self._db = db

    def _connect(self) -> sqlite3.Connection:
        db = None
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            # macOS: fsync alone does not reach the platter; F_FULLFSYNC does (no-op elsewhere).
            db.execute("PRAGMA fullfsync=ON")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
        except _FAILURES as e:
            if db is not None:
                db.close()
            raise StoreError(f"cannot open {self.path}: {_explain(e) or e}") from None
        return db

    def _check(self, db: sqlite3.Connection) -> None:
        """Refuse a file whose pages do not hold together (garbage written into it) before
        anything is read or written: SQLite's quick_check (~0.35 s per 100 MB)."""
        found = [row[0] for row in db.execute("PRAGMA quick_check")]
        if found != ["ok"]:
            problem = " ".join(str(found[0]).split())
            raise StoreError(f"cannot open {self.path}: {_damaged(problem)}")

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        shipped = migrations()
        latest = shipped[-1][0]
        if current > latest:
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this posrisk ({latest}); "
                "upgrade posrisk"
            )
        for version, sql in shipped:
            if version <= current:
                continue

            def migrate(db: sqlite3.Connection, version: int = version, sql: str = sql) -> None:
                for statement in statements(sql):
                    db.execute(statement)
                db.execute("INSERT INTO schema_version VALUES (?)", (version,))

            try:
                self._transaction(db, migrate)
            except sqlite3.Error as e:
                raise StoreError(
                    f"{self.path}: migration {version} failed: {_explain(e) or e}"
                ) from None

    async def schema_version(self) -> int:
        return int(await self._run(self._schema_version))

    def _schema_version(self) -> int:
        return int(self._conn().execute("SELECT MAX(version) FROM schema_version").fetchone()[0])

    async def close(self) -> None:
        """Close the file; closing again does nothing."""
        if self._closed:
            return
        await self._run(self._close)
        self._executor.shutdown(wait=True)
        self._closed = True

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"{self.path} is not open")
        return self._db

    # -- reads -------------------------------------------------------------------------

    async def load(self) -> Snapshot:
        """Every account, key, ledger entry (in order) and mark."""
        result: Snapshot = await self._run(self._load)
        return result

    def _load(self) -> Snapshot:
        return self._read(read_snapshot(SQLITE, self._event, self._price))

    async def changes_since(self, revision: int) -> Delta:
        """Accounts, keys and ledger entries committed after ``revision``."""
        result: Delta = await self._run(self._changes_since, revision)
        return result

    def _changes_since(self, revision: int) -> Delta:
        return self._read(read_delta(SQLITE, revision, self._event))

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
        plan = read_account_events(
            SQLITE,
            account,
            event_type,
            start,
            end,
            self._event,
            limit=limit,
            newest_first=newest_first,
        )
        result: tuple[LedgerRecord, ...] = await self._run(self._read, plan)
        return result

    async def meta(self, prefix: str) -> dict[str, str]:
        result: dict[str, str] = await self._run(self._read, read_meta(SQLITE, prefix))
        return result

    async def _read_plan(self, plan: Plan[T]) -> T:
        try:
            result: T = await self._run(self._read, plan)
        except (ArithmeticError, KeyError, TypeError, ValueError) as e:
            raise StoreError(
                f"{self.path}: {_damaged(f'an order row is unreadable: {e!r}')}"
            ) from None
        return result

    async def _write_plan(self, plan: Plan[T]) -> T:
        """``plan`` in one write transaction (``funding``'s claims)."""
        done: list[T] = []
        await self._run(self._write, lambda db: done.append(_run_plan(db, plan)))
        return done[0]

    def _read(self, plan: Plan[T]) -> T:
        db = self._conn()
        db.execute("BEGIN")  # one read transaction: the rows and the revision agree
        try:
            return _run_plan(db, plan)
        finally:
            db.execute("COMMIT")

    def _price(self, symbol: str, price: str) -> Decimal:
        try:
            return decode_decimal(price)
        except (ArithmeticError, TypeError, ValueError):
            raise StoreError(
                f"{self.path}: {_damaged(f'the mark price of {symbol!r} is {price!r}')}"
            ) from None

    def _event(self, seq: int, kind: str, body: str, time: int) -> Event:
        try:
            return decode_event(kind, body, time)
        except (ArithmeticError, KeyError, TypeError, ValueError) as e:
            raise StoreError(
                f"{self.path}: {_damaged(f'ledger entry {seq} is unreadable: {e!r}')}"
            ) from None

    async def has_accounts(self) -> bool:
        return bool(await self._run(self._has_accounts))

    def _has_accounts(self) -> bool:
        return self._conn().execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None

    # -- writes ------------------------------------------------------------------------

    async def commit(self, changes: Sequence[Change], *, expect: int | None = None) -> int | None:
        """Apply ``changes`` in one transaction; durable when this returns.

        Returns the revision the commit made (None when it moves none, see ``Delta``);
        with ``expect``, refuses with ``StaleRevision`` unless the store is at that revision.
        """
        result: int | None = await self._run(self._commit, tuple(changes), expect)
        return result

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """Nothing to hold: one process serves a SQLite file (its writes are serialised by
        the admin service)."""
        yield

    async def reset(self) -> None:
        """Delete every account, key, ledger entry and mark (``serve --reset``)."""
        await self._run(self._reset)

    def _reset(self) -> None:
        def reset(db: sqlite3.Connection) -> None:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")  # fixed table names

        self._write(reset)

    # -- transactions ------------------------------------------------------------------

    def _write(self, work: Callable[[sqlite3.Connection], None]) -> None:
        """``work`` in one transaction of the open database; failures as ``StoreError``."""
        try:
            self._transaction(self._conn(), work)
        except sqlite3.Error as e:
            explained = _explain(e)
            if explained is not None:
                raise StoreError(f"{self.path}: {explained}") from None
            raise StoreError(f"{self.path}: write failed: {e}") from None

    def _transaction(
        self, db: sqlite3.Connection, work: Callable[[sqlite3.Connection], None]
    ) -> None:
        """BEGIN IMMEDIATE, ``work``, COMMIT; on any failure nothing of it stays."""
        try:
            db.execute("BEGIN IMMEDIATE")
            work(db)
            db.execute("COMMIT")
        except BaseException:
            # SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR, ...).
            if db.in_transaction:
                self._rollback(db)
            raise

    def _rollback(self, db: sqlite3.Connection) -> None:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            # The connection cannot say where it stands: drop it (SQLite discards what was
            # not committed) and continue on a fresh one, so the next write starts clean.
            if self.path == ":memory:":
                return  # a fresh connection would be an empty database: keep this one
            db.close()
            if db is self._db:
                self._db = None
                with contextlib.suppress(StoreError):  # else: "not open" from now on
                    self._db = self._connect()

    def _commit(self, changes: tuple[Change, ...], expect: int | None) -> int | None:
        revision: int | None = None

        def commit(db: sqlite3.Connection) -> None:
            nonlocal revision
            revision = _run_plan(db, write_changes(SQLITE, changes, expect, self.path))

        self._write(commit)
        return revision
