"""``posrisk db migrate`` and ``posrisk db copy`` (SQLite → PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import websockets

from .gateway.conftest import make_server
from .gateway.test_server import ask, signed
from .service.conftest import HEDGE_KEY, HEDGE_SECRET, Keys, keys
from .store.conftest import POSTGRES_DSN, postgres_schema

__all__ = ["keys"]


def posrisk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posrisk.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_migrate_reports_the_schema_version(tmp_path: Path) -> None:
    result = posrisk("db", "migrate", "--db", str(tmp_path / "new.db"))
    assert (result.returncode, result.stdout.strip()) == (
        0,
        f"{tmp_path / 'new.db'} is at schema version 2",
    )


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_copy_sqlite_to_postgresql_and_serve_it(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = await make_server(tmp_path, keys)  # the known scenario, in SQLite
    async with websockets.connect(source.ws_url) as ws:
        before = await ask(ws, "v2/account.position", signed(HEDGE_KEY, HEDGE_SECRET))
    await source.stop()
    master = (tmp_path / "posrisk-master.key").read_text().strip()

    admin, schema = await postgres_schema()
    dsn = f"{POSTGRES_DSN}?search_path={schema}"
    try:
        copied = posrisk("db", "copy", "--from", str(tmp_path / "posrisk.db"), "--to", dsn)
        assert copied.returncode == 0, copied.stderr
        assert copied.stdout.startswith("copied 2 accounts, 4 keys and ")
        assert "postgres@" not in copied.stdout  # never the credentials
        again = posrisk("db", "copy", "--from", str(tmp_path / "posrisk.db"), "--to", dsn)
        assert again.returncode == 1 and "already holds accounts" in again.stderr
        assert "schema version 2" in posrisk("db", "migrate", "--db", dsn).stdout

        monkeypatch.setenv("POSRISK_MASTER_KEY", master)  # opens the copied secrets
        served = await make_server(tmp_path, keys, db=dsn, scenario=None, admin_token="t")
        try:
            async with websockets.connect(served.ws_url) as ws:
                after = await ask(ws, "v2/account.position", signed(HEDGE_KEY, HEDGE_SECRET))
            assert after["result"] == before["result"]
        finally:
            await served.stop()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
