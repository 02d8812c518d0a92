"""``posrisk funding set|show``: on a database file (durable, a later process sees it), and
through a running server's admin API (served at once); refusals in one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posrisk.cli import app

from ..gateway.conftest import make_server
from ..service.conftest import Keys, keys
from .test_admin import ok, refused

__all__ = ["keys"]  # the fixture


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "funding.db"
    ok(path, "account", "create", "alice", "--create")
    return path


def test_set_then_show_on_the_database(db: Path) -> None:
    assert "every symbol pays the default" in ok(db, "funding", "show")
    answer = ok(db, "funding", "set", "BTCUSDT=0.0003", "ETHUSDT=-0.0001", "--interval-hours", "4")
    assert answer == (
        "BTCUSDT rate 0.0003 every 4 h (cap 0.02, floor -0.02)\n"
        "ETHUSDT rate -0.0001 every 4 h (cap 0.02, floor -0.02)\n"
    )
    # Only the cap and floor of one: its rate and interval stay.
    assert ok(db, "funding", "set", "BTCUSDT", "--cap", "0.01", "--floor", "-0.005") == (
        "BTCUSDT rate 0.0003 every 4 h (cap 0.01, floor -0.005)\n"
    )
    rows = [line.replace("│", " ").split() for line in ok(db, "funding", "show").splitlines()]
    found = {row[0]: row[1:5] for row in rows if row and row[0].endswith("USDT")}
    assert found == {
        "BTCUSDT": ["0.0003", "4", "0.01", "-0.005"],
        "ETHUSDT": ["-0.0001", "4", "0.02", "-0.02"],
    }


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["BTCUSDT=0.0003", "--interval-hours", "3"], "error -1130: Data sent for parameter "
         "'funding.BTCUSDT.intervalHours' is not valid. (funding.BTCUSDT.intervalHours must "
         "be one of 1, 2, 4, 8 (hours), got 3)"),
        (["NOPEUSDT=0.1"], "error -1121: Invalid symbol. (funding: 'NOPEUSDT' is not a symbol"),
        (["BTCUSDT=lots"], "error -1130: Data sent for parameter 'funding.BTCUSDT.rate'"),
        (["BTCUSDT="], "error -1130: funding set takes SYMBOL=RATE or SYMBOL, got 'BTCUSDT='"),
        (["BTCUSDT"], "error -1130: BTCUSDT: give a rate (SYMBOL=RATE) or --interval-hours"),
        (["BTCUSDT", "--floor", "0.03"], "error -1130: Data sent for parameter "
         "'funding.BTCUSDT.cap' is not valid. (funding.BTCUSDT: cap 0.02 must be above"),
    ],
)  # fmt: skip
def test_refusals_are_one_line_and_change_nothing(db: Path, args: list[str], text: str) -> None:
    said = refused(db, "funding", "set", *args)
    assert said.startswith(text), said
    assert "every symbol pays the default" in ok(db, "funding", "show")


@pytest.mark.asyncio
async def test_through_a_running_servers_admin_api(tmp_path: Path, keys: Keys) -> None:
    server = await make_server(tmp_path, keys)
    runner = CliRunner(env={"COLUMNS": "160"})
    db = ["--db", server.settings.db]  # held by the server: reached through its admin API
    try:
        result = await asyncio.to_thread(
            runner.invoke, app, ["funding", "set", "BTCUSDT=0.0004", "--interval-hours", "2", *db]
        )
        assert (result.exit_code, result.stdout) == (
            0,
            "BTCUSDT rate 0.0004 every 2 h (cap 0.02, floor -0.02)\n",
        )
        assert server.rates is not None  # served at once by the server itself
        assert server.rates.upcoming("BTCUSDT", server.clock.now_ms()).interval_hours == 2
        shown = await asyncio.to_thread(runner.invoke, app, ["funding", "show", *db])
        assert shown.exit_code == 0 and "0.0004" in shown.stdout
        bad = await asyncio.to_thread(runner.invoke, app, ["funding", "set", "BTCUSDT=2", *db])
        assert bad.exit_code == 1
        assert bad.stderr.startswith("error -1130: Data sent for parameter 'funding.BTCUSDT.rate'")
    finally:
        await server.stop()
