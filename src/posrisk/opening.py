"""What a server, a worker or an admin command opens first: the store ``--db`` names, the
master key sealing its secrets, and the admin service over its folded ledger."""

from __future__ import annotations

import secrets
from pathlib import Path

from .engine import Market
from .service.admin import AdminService
from .service.clock import Clock
from .service.errors import ServiceError
from .service.income import rebuild_income
from .service.registry import Registry
from .service.secrets import SecretBox, SecretError
from .store import Snapshot, SQLiteStore, Store

__all__ = ["is_postgres", "load_admin", "master_key", "open_store", "server_info_path"]


def is_postgres(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def open_store(db: str) -> Store:
    """The store ``--db`` names: a PostgreSQL URL, or a SQLite file (``:memory:`` too)."""
    if is_postgres(db):
        from .store.postgres import PostgresStore

        return PostgresStore(db)
    return SQLiteStore(db)


def server_info_path(db: Path) -> Path:
    """Where a running server says how to reach its admin API."""
    return db.with_name(db.name + ".server.json")


def master_key(db: str) -> SecretBox:
    """The box sealing ``db``'s HMAC secrets: POSRISK_MASTER_KEY, else the key file beside
    a SQLite file (in the working directory for a PostgreSQL database)."""
    try:
        return SecretBox.for_database(":memory:" if is_postgres(db) else db)
    except SecretError as e:
        raise ServiceError(str(e)) from None


async def load_admin(
    store: Store, db: str | None, market: Market, clock: Clock
) -> tuple[AdminService, Snapshot]:
    """The open ``store``'s ledger folded into a registry under the admin service: what a
    server does when it starts, and an admin command on the database itself. ``db`` names
    the master key (``master_key``); None: a throwaway key, for a database nothing outlives."""
    snapshot = await store.load()
    if db is None:
        box = SecretBox(secrets.token_bytes(32), "an in-memory database")
    else:
        box = master_key(db)
    registry = Registry.from_snapshot(snapshot, market, box)
    await rebuild_income(store, snapshot, market)  # once, over a ledger older than its income
    return AdminService(store, registry, clock), snapshot
