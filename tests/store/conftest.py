"""Stores to test against: SQLite always; PostgreSQL when it runs (and always in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
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
    from posrisk.store.postgres import PostgresStore

    admin, schema = await postgres_schema()
    store = PostgresStore(POSTGRES_DSN, schema=schema)
    try:
        await store.open()
        yield store
    finally:
        await store.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
