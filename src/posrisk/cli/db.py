"""``posrisk db migrate|copy``, and the database an admin command works on.

An admin command never creates a database by accident: a ``--db`` (or ``POSRISK_DB``)
naming a file that does not exist is refused, saying so, before anything is written —
a typo must not answer from a new, empty database. ``posrisk serve`` creates a database
(with the demo accounts); ``account create --create`` and ``scenario load --create``
create an empty one. A SQLite file held by a running server is reached through that
server's admin API (its ``<db>.server.json`` says where).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Annotated

import typer

from ..app import is_postgres, load_admin, open_store, server_info_path
from ..client.admin import RemoteOperations
from ..engine import Market
from ..service.clock import SystemClock
from ..service.errors import ServiceError
from ..service.operations import AdminOperations, Operations
from ..store import (
    DatabaseBusy,
    DatabaseLock,
    DatabaseMissing,
    Store,
    StoreError,
    check_database_file,
)
from ..store.copy import Copied, CopyRefused, copy_database
from ..urls import past_credentials
from .common import DEFAULT_DB, out, run

__all__ = ["CreateOption", "db_app", "operations", "require_database"]

CreateOption = Annotated[
    bool,
    typer.Option("--create", help="Create the database when it does not exist (empty)."),
]

db_app = typer.Typer(help="Migrate and copy databases.", no_args_is_help=True)


def require_database(db: str, *, create: bool | None = None) -> None:
    """Refuse a SQLite ``db`` that does not exist (unless ``create``; None: the command
    cannot create one) or whose folder does not exist, before anything is written."""
    if is_postgres(db) or db == ":memory:":
        return
    try:
        check_database_file(Path(db), create=bool(create))
    except DatabaseMissing as e:
        how = "'posrisk serve' creates one with the demo accounts"
        if create is not None:
            how += ", --create an empty one"
        raise StoreError(f"{e} (check --db or POSRISK_DB; {how})") from None


@asynccontextmanager
async def operations(
    db: str, admin_url: str | None, admin_token: str | None, create: bool | None = None
) -> AsyncIterator[Operations]:
    """Where an admin command goes: the admin API when given (or when a running server
    holds the SQLite file), else the database itself (a PostgreSQL database is shared:
    gateways on it catch up with the change). ``create`` as for ``require_database``."""
    if admin_url is not None:
        if admin_token is None:
            raise ServiceError("--admin-url needs --admin-token (or POSRISK_ADMIN_TOKEN)")
        yield RemoteOperations(admin_url, admin_token)
        return
    require_database(db, create=create)
    lock = None if is_postgres(db) else DatabaseLock(Path(db))
    if lock is not None:
        try:
            lock.acquire()
        except DatabaseBusy:
            remote = _running_server(Path(db), admin_token)
            if remote is None:
                raise
            yield remote
            return
    async with _opened(db, lock, locked=True) as store:
        admin, _ = await load_admin(store, db, Market.default(), SystemClock())
        yield AdminOperations(admin)


@asynccontextmanager
async def _opened(db: str, lock: DatabaseLock | None, *, locked: bool) -> AsyncIterator[Store]:
    """``db``'s store, open, holding ``lock`` (acquired here unless ``locked``) until it
    closes; a store that fails to close is let go (its error was not the command's)."""
    if lock is not None and not locked:
        lock.acquire()
    store = open_store(db)
    try:
        await store.open()
        yield store
    finally:
        with suppress(StoreError):
            await store.close()
        if lock is not None:
            lock.release()


def _running_server(db: Path, token: str | None) -> RemoteOperations | None:
    try:
        info = json.loads(server_info_path(db).read_text())
    except (OSError, ValueError):
        return None
    url = info.get("adminUrl") if isinstance(info, dict) else None
    if not isinstance(url, str):
        return None
    if token is None and isinstance(info.get("tokenFile"), str):
        try:
            token = Path(info["tokenFile"]).read_text().strip()
        except OSError:
            return None
    return RemoteOperations(url, token) if token else None


def _where(db: str) -> str:
    return past_credentials(db) if is_postgres(db) else db  # never a password


@db_app.command("migrate")
def db_migrate(
    db: Annotated[
        str, typer.Option("--db", envvar="POSRISK_DB", help="SQLite file or postgresql:// URL.")
    ] = str(DEFAULT_DB),
) -> None:
    """Bring a database's schema up to this posrisk (servers also do it when they start)."""

    async def migrate() -> int:
        require_database(db)
        local = not is_postgres(db) and db != ":memory:"
        async with _opened(db, DatabaseLock(Path(db)) if local else None, locked=False) as store:
            return await store.schema_version()

    version = run(migrate())
    out.print(f"{_where(db)} is at schema version {version}")


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Option("--from", help="The database to copy (SQLite file).")],
    target: Annotated[
        str, typer.Option("--to", help="Where to (a postgresql:// URL or a new SQLite file).")
    ],
) -> None:
    """Copy every account, key, ledger entry, mark and ban into an empty database, in one
    transaction. HMAC secrets stay sealed: serve the copy with the same master key
    (POSRISK_MASTER_KEY, or the source's <db stem>-master.key)."""

    async def copy() -> Copied:
        require_database(source)
        require_database(target, create=True)
        lock = None if is_postgres(source) else DatabaseLock(Path(source))
        async with (
            _opened(source, lock, locked=False) as origin,
            _opened(target, None, locked=False) as destination,
        ):
            try:
                return await copy_database(origin, destination, _where(target))
            except CopyRefused as e:  # refused as it always was: -1130, like bad input
                raise ServiceError(str(e)) from None

    copied = run(copy())
    out.print(
        f"copied {copied.accounts} accounts, {copied.keys} keys and {copied.entries} ledger "
        f"entries from {_where(source)} to {_where(target)}"
    )
