"""``posrisk clock show|advance`` against a running server's admin API, and the refusals:
a bad duration, and a database no server is running on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posrisk.app import PosriskServer, ServerSettings
from posrisk.cli import app

runner = CliRunner(env={"COLUMNS": "120"})
TOKEN = "clock-test-admin-token"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[PosriskServer]:
    """A server on its own thread's loop, with its admin API on a free port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = PosriskServer(
        ServerSettings(
            db=str(tmp_path / "clock.db"), port=0, admin_port=0, admin_token=TOKEN, demo=False
        )
    )
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def remote(server: PosriskServer, *args: str) -> tuple[int, str, str]:
    assert server.admin_url is not None
    result = runner.invoke(app, [*args, "--admin-url", server.admin_url, "--admin-token", TOKEN])
    return result.exit_code, result.stdout, result.stderr


def test_the_clock_is_shown_and_moved(served: PosriskServer) -> None:
    code, shown, _ = remote(served, "clock", "show")
    assert code == 0 and shown.endswith(", 0 ms ahead of this machine\n")
    code, moved, _ = remote(served, "clock", "advance", "8h")
    assert code == 0 and moved.endswith(", 28800000 ms ahead of this machine\n"), moved
    code, moved, _ = remote(served, "clock", "advance", "90s")
    assert code == 0 and "28890000 ms ahead" in moved


def test_the_database_of_a_running_server_finds_its_admin_api(served: PosriskServer) -> None:
    args = ["clock", "advance", "1m", "--db", served.settings.db, "--admin-token", TOKEN]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "60000 ms ahead" in result.stdout


def test_refusals(served: PosriskServer, tmp_path: Path) -> None:
    code, _, error = remote(served, "clock", "advance", "8 hours")
    assert (code, error) == (
        1,
        "error: '8 hours' is not a duration (e.g. 8h, 15m, 90s, 1d, 250ms)\n",
    )
    code, _, error = remote(served, "clock", "advance", "400d")
    assert code == 1 and error.startswith("error -1130: The clock moves forward by 0 to ")
    # A database no server runs on has no clock to move.
    runner.invoke(app, ["account", "create", "x", "--db", str(tmp_path / "idle.db"), "--create"])
    result = runner.invoke(app, ["clock", "advance", "8h", "--db", str(tmp_path / "idle.db")])
    assert (result.exit_code, result.stderr) == (
        1,
        "error -1000: Only a running server's clock can be moved.\n",
    )
