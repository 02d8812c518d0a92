"""The database an admin command works on, and the way to it.

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

from .app import is_postgres, open_store, server_info_path
from .client.admin import RemoteOperations
from .client.errors import AdminError
from .engine import Market
from .service.admin import AdminService
from .service.clock import SystemClock
from .service.errors import ServiceError
from .service.operations import AdminOperations, Operations
from .service.registry import Registry
from .service.secrets import SecretBox, SecretError
from .store import (
    DatabaseBusy,
    DatabaseLock,
    DatabaseMissing,
    StoreError,
    check_database_file,
)

__all__ = ["CreateOption", "operations", "require_database"]

CreateOption = Annotated[
    bool,
    typer.Option("--create", help="Create the database when it does not exist (empty)."),
]


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
        async with _as_service(RemoteOperations(admin_url, admin_token)) as ops:
            yield ops
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
            async with _as_service(remote) as ops:
                yield ops
            return
    store = open_store(db)
    try:
        await store.open()
        try:
            box = SecretBox.for_database(":memory:" if lock is None else db)
        except SecretError as e:
            raise ServiceError(str(e)) from None
        registry = Registry.from_snapshot(await store.load(), Market.default(), box)
        yield AdminOperations(AdminService(store, registry, SystemClock()))
    finally:
        with suppress(StoreError):
            await store.close()
        if lock is not None:
            lock.release()


@asynccontextmanager
async def _as_service(remote: RemoteOperations) -> AsyncIterator[Operations]:
    """The admin API's refusals (the client's ``AdminError``) as the service's own
    ``ServiceError``, so that a command reports them as it does a local refusal."""
    try:
        yield remote
    except AdminError as e:
        raise ServiceError(e.msg, code=e.code, status=e.status) from None


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
