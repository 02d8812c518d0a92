"""``posrisk serve`` and the admin commands refuse a damaged database file in one line
(an empty file, garbage written into it), and leave it as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posrisk.cli import app

pytestmark = pytest.mark.timeout(60)

runner = CliRunner(env={"COLUMNS": "120"})
DAMAGED = "the file is damaged or not a posrisk database"


def empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.db"
    path.touch()
    return path


def garbled(tmp_path: Path) -> Path:
    """A database the admin commands made, with garbage over the accounts table's page."""
    path = tmp_path / "garbled.db"
    made = runner.invoke(app, ["account", "create", "alice", "--create", "--db", str(path)])
    assert made.exit_code == 0, made.stderr
    with sqlite3.connect(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'accounts'").fetchone()
    with path.open("r+b") as f:
        f.seek((root[0] - 1) * size)
        f.write(b"\xde\xad\xbe\xef" * 16)
    return path


@pytest.mark.parametrize("damage", [empty, garbled])
@pytest.mark.parametrize(
    "command",
    [
        ["account", "list"],
        ["account", "create", "bob"],
        ["serve", "--port", "0", "--admin-port", "0"],
    ],
)
def test_a_damaged_database_is_refused_in_one_line(
    tmp_path: Path, damage: object, command: list[str]
) -> None:
    assert callable(damage)
    path: Path = damage(tmp_path)
    before = path.read_bytes()
    files = set(tmp_path.iterdir())
    result = runner.invoke(app, [*command, "--db", str(path)])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    message = " ".join(result.stderr.split())  # the console may wrap a long path
    assert message.startswith(f"error: cannot open {path}: {DAMAGED} (")
    assert message.count("error") == 1 and "Traceback" not in message
    # Nothing seeded, no demo keys written: the file is as it was.
    assert path.read_bytes() == before
    assert {p.name for p in set(tmp_path.iterdir()) - files} <= {path.name + ".lock"}
