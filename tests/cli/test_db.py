"""``posrisk db migrate`` and ``posrisk db copy`` (SQLite → PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import websockets
from typer.testing import CliRunner

from posrisk.cli import app
from posrisk.store.schema import migrations

from ..gateway.conftest import make_server
from ..gateway.test_server import ask, signed
from ..service.conftest import HEDGE_KEY, HEDGE_SECRET, Keys, keys
from ..store.conftest import POSTGRES_DSN, postgres_schema

LATEST = migrations()[-1][0]

__all__ = ["keys"]


def posrisk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posrisk.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
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
        assert f"schema version {LATEST}" in posrisk("db", "migrate", "--db", dsn).stdout

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


# -- a --db that names no database --------------------------------------------------------

runner = CliRunner(env={"COLUMNS": "120"})


def refusal(*args: str, env: dict[str, str] | None = None) -> str:
    """A command that must be refused cleanly (no traceback): its one line on stderr."""
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["account", "list"],
        ["account", "show", "alice"],
        ["key", "create", "alice"],
        ["wallet", "deposit", "alice", "1"],
        [
            "fill",
            "add",
            "alice",
            "--symbol",
            "BTCUSDT",
            "--side",
            "BUY",
            "--qty",
            "1",
            "--price",
            "1",
        ],
        ["mark", "list"],
        ["db", "migrate"],
    ],
)
def test_a_typo_in_db_is_refused_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "nope.db"
    expected = (
        f"error: no database at {typo} (check --db or POSRISK_DB; 'posrisk serve' creates "
        "one with the demo accounts)\n"
    )
    assert refusal(*command, "--db", str(typo)) == expected
    assert refusal(*command, env={"POSRISK_DB": str(typo)}) == expected
    assert list(tmp_path.iterdir()) == []  # no database, lock or master key


def test_account_create_and_scenario_load_create_a_database_only_when_asked(
    tmp_path: Path,
) -> None:
    db = tmp_path / "new.db"
    hint = "'posrisk serve' creates one with the demo accounts, --create an empty one)\n"
    assert refusal("account", "create", "alice", "--db", str(db)).endswith(hint)
    scenario = tmp_path / "s.json"
    scenario.write_text('{"accounts": [{"name": "bob"}]}')
    assert refusal("scenario", "load", str(scenario), "--db", str(db)).endswith(hint)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
    created = runner.invoke(app, ["account", "create", "alice", "--db", str(db), "--create"])
    assert (created.exit_code, created.stdout) == (0, "created account 'alice'\n")
    loaded = runner.invoke(app, ["scenario", "load", str(scenario), "--db", str(db)])
    assert (loaded.exit_code, loaded.stdout) == (0, "loaded 1 accounts: bob\n")
    other = tmp_path / "other.db"
    loaded = runner.invoke(app, ["scenario", "load", str(scenario), "--db", str(other), "--create"])
    assert (loaded.exit_code, loaded.stdout) == (0, "loaded 1 accounts: bob\n")
    migrated = runner.invoke(app, ["db", "migrate", "--db", str(db)])
    assert (migrated.exit_code, migrated.stdout) == (0, f"{db} is at schema version {LATEST}\n")


def test_a_db_in_a_missing_folder_is_named_without_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "x.db"
    expected = f"error: no such folder: {tmp_path / 'missing'} (for the database x.db)\n"
    assert refusal("account", "list", "--db", str(db)) == expected
    assert refusal("account", "create", "alice", "--db", str(db), "--create") == expected
    # As a user sees it: one line on stderr, exit status 1.
    result = posrisk("key", "list", "alice", "--db", str(db))
    assert (result.returncode, result.stderr) == (1, expected)
    assert list(tmp_path.iterdir()) == []


def test_db_copy_refuses_a_source_that_does_not_exist(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    assert refusal("db", "copy", "--from", str(typo), "--to", str(tmp_path / "b.db")) == (
        f"error: no database at {typo} (check --db or POSRISK_DB; 'posrisk serve' creates "
        "one with the demo accounts)\n"
    )
    target = tmp_path / "missing" / "b.db"
    source = tmp_path / "a.db"
    assert (
        runner.invoke(app, ["account", "create", "a", "--db", str(source), "--create"]).exit_code
        == 0
    )
    assert refusal("db", "copy", "--from", str(source), "--to", str(target)) == (
        f"error: no such folder: {tmp_path / 'missing'} (for the database b.db)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-master.key", "a.db", "a.db.lock"]
