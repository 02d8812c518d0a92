"""The PostgreSQL ledger: what only it does (what every store does is in test_contract)."""

from __future__ import annotations

import asyncio

import pytest

from posrisk.store import KeyRecord, NewAccount, NewKey, StoreError
from posrisk.store.postgres import PostgresStore
from posrisk.store.schema import migrations

from .conftest import POSTGRES_DSN, fresh_postgres

pytestmark = pytest.mark.asyncio
LATEST = migrations("postgres")[-1][0]


async def test_the_dsn_is_shown_without_its_credentials() -> None:
    store = PostgresStore("postgresql://posrisk:not-a-real-password@db.example:5432/ledger")
    assert repr(store) == "<PostgresStore db.example:5432/ledger closed>"
    assert store.path == repr(store)


async def test_an_unreachable_server_is_a_store_error_naming_it() -> None:
    store = PostgresStore("postgresql://posrisk:not-a-real-password@127.0.0.1:1/x", timeout=2)
    with pytest.raises(StoreError) as refused:
        await store.open()
    assert str(refused.value).startswith("cannot reach PostgreSQL at <PostgresStore 127.0.0.1:1/x")
    assert "not-a-real-password" not in str(refused.value)


async def test_a_store_not_open_refuses_reads() -> None:
    with pytest.raises(StoreError, match="is not open"):
        await PostgresStore("postgresql://127.0.0.1:1/x").load()


async def test_reopening_and_concurrent_opens_apply_each_migration_once() -> None:
    async with fresh_postgres() as (store, db):
        others = [PostgresStore(POSTGRES_DSN, schema=store.schema) for _ in range(3)]
        await asyncio.gather(*(other.open() for other in others))
        for other in others:
            assert await other.schema_version() == LATEST
            await other.close()
        versions = await db.fetch("SELECT version FROM schema_version ORDER BY version")
        assert [row[0] for row in versions] == [v for v, _ in migrations("postgres")]


async def test_a_database_newer_than_this_posrisk_is_refused() -> None:
    async with fresh_postgres() as (store, db):
        await db.execute("INSERT INTO schema_version VALUES ($1)", LATEST + 1)
        newer = PostgresStore(POSTGRES_DSN, schema=store.schema)
        with pytest.raises(StoreError, match=f"schema version {LATEST + 1}, newer than this"):
            await newer.open()
        await newer.close()


async def test_a_refused_write_says_so_and_leaves_nothing() -> None:
    async with fresh_postgres() as (store, _):
        key = KeyRecord("k1", "alice", "hmac", "s", None, 1)
        await store.commit([NewAccount("alice", 1), NewKey(key)])
        with pytest.raises(StoreError, match="write refused"):
            await store.commit([NewAccount("bob", 2), NewKey(key)])
        assert [a.name for a in (await store.load()).accounts] == ["alice"]


async def test_a_schema_of_its_own_keeps_stores_apart() -> None:
    async with fresh_postgres() as (first, _), fresh_postgres() as (second, _):
        await first.commit([NewAccount("alice", 1)])
        assert await first.has_accounts()
        assert not await second.has_accounts()


async def test_a_store_alone_holds_back_the_other_writers_revision_commits() -> None:
    from posrisk.store import SetMeta

    async with fresh_postgres() as (store, raw):
        other = PostgresStore(POSTGRES_DSN, schema=store.schema)
        await other.open()
        try:
            async with store.alone():
                waiting = asyncio.ensure_future(other.commit([NewAccount("bob", 1)]))
                for _ in range(500):  # until the other writer waits for the turn
                    blocked = await raw.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    )
                    if blocked:
                        break
                    await asyncio.sleep(0.01)
                assert blocked == 1 and not waiting.done()
                # What moves no revision is not held back; this store's own commits go on.
                await other.commit([SetMeta("note", "x")])
                assert await store.commit([NewAccount("alice", 1)], expect=0) == 1
            assert await waiting == 2
        finally:
            await other.close()
