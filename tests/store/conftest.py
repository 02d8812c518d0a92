"""Stores to test against: SQLite always; PostgreSQL when it runs (and always in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

POSTGRES_DSN = os.environ.get("POSRISK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def postgres_schema() -> tuple[Any, str]:
    """A fresh schema in the test database, or a skip (a failure in CI) saying why."""
    import asyncpg

    try:
        admin = await asyncpg.connect(POSTGRES_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as e:
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_DSN} ({e}); start it, e.g. "
            "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'"
        )
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs PostgreSQL: " + message)
        pytest.skip(message)
    schema = "posrisk_test_" + uuid.uuid4().hex[:12]
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    return admin, schema


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[tuple[Any, Any]]:
    """An open, empty ``PostgresStore`` in a schema of its own, and a plain connection to
    that schema (to look at the rows it wrote, or write some as older versions did)."""
    import asyncpg

    from posrisk.store.postgres import PostgresStore

    admin, schema = await postgres_schema()
    store = PostgresStore(POSTGRES_DSN, schema=schema)
    raw = None
    try:
        await store.open()
        raw = await asyncpg.connect(POSTGRES_DSN, server_settings={"search_path": schema})
        yield store, raw
    finally:
        if raw is not None:
            await raw.close()
        await store.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """An open, empty store of each kind (PostgreSQL in a schema of its own)."""
    if request.param == "sqlite":
        from posrisk.store import SQLiteStore

        store: Any = SQLiteStore(tmp_path / "contract.db")
        await store.open()
        yield store
        await store.close()
        return
    async with fresh_postgres() as (store, _):
        yield store
