"""The ``posrisk`` administration commands against a database file: what they print, what they
store, and that every refusal exits 1 with ``error <code>: <message>`` and changes nothing."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import string
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from posrisk import __version__
from posrisk.cli import app
from posrisk.engine import MarginType, Market, PositionMode, PositionSide, SymbolSettings
from posrisk.protocol import generate_ed25519
from posrisk.service.registry import Registry
from posrisk.store import SQLiteStore

D = Decimal
MARKET = Market.default()
ALNUM = set(string.ascii_letters + string.digits)
# ``posrisk.cli.main`` sets COLUMNS=120 before running the app; do the same.
runner = CliRunner(env={"COLUMNS": "120"})


def cli(db: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--db", str(db)])


def ok(db: Path, *args: str) -> str:
    result = cli(db, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert result.stderr == ""
    return result.stdout


def refused(db: Path, *args: str) -> str:
    """Run a command that must be refused; its stderr with line wrapping undone."""
    result = cli(db, *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    # A clean refusal (typer.Exit), not a crash.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    return " ".join(result.stderr.split())


def show(db: Path, name: str = "alice") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok(db, "account", "show", name))
    return data


def registry(db: Path) -> Registry:
    """The state a server would load from ``db``."""

    async def load() -> Registry:
        store = SQLiteStore(db)
        await store.open()
        try:
            return Registry.from_snapshot(await store.load(), MARKET)
        finally:
            await store.close()

    return asyncio.run(load())


def ledger_rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT seq, account_id, time, kind, body FROM ledger").fetchall()


def dump(db: Path) -> tuple[list[Any], ...]:
    """Every row of every table: to show that a refused command wrote nothing."""
    with sqlite3.connect(db) as connection:
        return tuple(
            connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("accounts", "api_keys", "ledger", "marks", "meta")
        )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A new, empty database (admin commands never create one unasked)."""
    path = tmp_path / "cli.db"

    async def create() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.close()

    asyncio.run(create())
    return path


@pytest.fixture
def alice(db: Path) -> Path:
    """alice with 1000 USDT."""
    ok(db, "account", "create", "alice")
    ok(db, "wallet", "deposit", "alice", "1000")
    return db


def table_row(output: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃]", line)[1:-1]]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{output}")


# -- accounts ---------------------------------------------------------------------------


def test_account_create_list_and_show(db: Path) -> None:
    assert ok(db, "account", "create", "alice") == "created account 'alice'\n"
    assert ok(db, "account", "create", "bob", "--position-mode", "hedge") == (
        "created account 'bob'\n"
    )
    listing = ok(db, "account", "list")
    assert table_row(listing, "name") == ["name", "position mode", "open positions", "keys"]
    assert table_row(listing, "alice") == ["alice", "oneway", "0", "0"]
    assert table_row(listing, "bob") == ["bob", "hedge", "0", "0"]
    assert show(db, "bob") == {
        "name": "bob",
        "positionMode": "hedge",
        "balances": [],
        "positions": [],
        "keys": [],
    }
    assert registry(db).account("bob").account.position_mode is PositionMode.HEDGE


def test_account_create_refusals(db: Path) -> None:
    ok(db, "account", "create", "alice")
    assert refused(db, "account", "create", "alice") == (
        "error -1130: Account 'alice' already exists."
    )
    assert refused(db, "account", "create", "bad name") == (
        "error -1130: Data sent for parameter 'name' is not valid. (account names are 1-64 "
        "letters, digits, '_', '.', '-', got 'bad name')"
    )
    assert refused(db, "account", "create", "bob", "--position-mode", "both").startswith(
        "error -1130: Data sent for parameter 'positionMode' is not valid."
    )
    assert list(registry(db).accounts) == ["alice"]


def test_account_show_of_an_unknown_account(db: Path) -> None:
    assert refused(db, "account", "show", "nobody") == (
        "error -1130: Account 'nobody' does not exist."
    )


# -- keys -------------------------------------------------------------------------------


def test_key_create_hmac_prints_the_secret_once(alice: Path) -> None:
    created = json.loads(ok(alice, "key", "create", "alice"))
    assert set(created) == {"apiKey", "account", "type", "secret"}
    assert (created["account"], created["type"]) == ("alice", "hmac")
    assert len(created["secret"]) == 64 and set(created["secret"]) <= ALNUM
    assert len(created["apiKey"]) == 64 and set(created["apiKey"]) <= ALNUM
    assert show(alice)["keys"] == [{"apiKey": created["apiKey"], "type": "hmac", "revoked": False}]
    # The secret is never shown again.
    assert created["secret"] not in ok(alice, "key", "list", "alice")
    assert created["secret"] not in ok(alice, "account", "show", "alice")


def test_key_create_ed25519_with_a_public_key_file(alice: Path, tmp_path: Path) -> None:
    public = generate_ed25519()[1]
    path = tmp_path / "alice.pub.pem"
    path.write_text(public)
    created = json.loads(
        ok(
            alice,
            "key",
            "create",
            "alice",
            "--type",
            "ed25519",
            "--public-key-file",
            str(path),
            "--api-key",
            "aliceEd01",
        )
    )
    assert created == {
        "apiKey": "aliceEd01",
        "account": "alice",
        "type": "ed25519",
        "publicKey": public,
    }
    assert table_row(ok(alice, "key", "list", "alice"), "aliceEd01") == [
        "aliceEd01",
        "ed25519",
        "",
    ]


def test_key_create_generated_ed25519_prints_the_private_key(alice: Path) -> None:
    created = json.loads(ok(alice, "key", "create", "alice", "--type", "ed25519"))
    assert created["privateKey"].startswith("-----BEGIN PRIVATE KEY-----\n")
    stored = registry(alice).keys[created["apiKey"]]
    assert stored.kind == "ed25519"


def test_key_create_refusals(alice: Path, tmp_path: Path) -> None:
    ok(alice, "key", "create", "alice", "--api-key", "taken01")
    before = dump(alice)
    assert refused(alice, "key", "create", "alice", "--api-key", "taken01") == (
        "error -1130: API key 'taken01' already exists."
    )
    assert (
        refused(
            alice,
            "key",
            "create",
            "alice",
            "--type",
            "ed25519",
            "--public-key-file",
            str(tmp_path / "missing.pem"),
        )
        == f"error: cannot read {tmp_path / 'missing.pem'}: No such file or directory"
    )
    assert refused(alice, "key", "create", "alice", "--type", "dsa").startswith(
        "error -1130: Data sent for parameter 'type' is not valid."
    )
    assert refused(alice, "key", "create", "nobody") == (
        "error -1130: Account 'nobody' does not exist."
    )
    assert dump(alice) == before


def test_key_revoke(alice: Path) -> None:
    ok(alice, "key", "create", "alice", "--api-key", "k1")
    assert ok(alice, "key", "revoke", "alice", "k1") == "revoked k1\n"
    assert show(alice)["keys"] == [{"apiKey": "k1", "type": "hmac", "revoked": True}]
    assert table_row(ok(alice, "key", "list", "alice"), "k1") == ["k1", "hmac", "yes"]
    assert registry(alice).keys["k1"].revoked_at is not None
    assert refused(alice, "key", "revoke", "alice", "nope") == (
        "error -2015: API key 'nope' does not exist."
    )


# -- wallet -----------------------------------------------------------------------------


def test_wallet_deposit_and_withdraw(db: Path) -> None:
    ok(db, "account", "create", "alice")
    assert ok(db, "wallet", "deposit", "alice", "1000") == (
        "alice USDT wallet balance 1000.00000000\n"
    )
    assert ok(db, "wallet", "withdraw", "alice", "400.5") == (
        "alice USDT wallet balance 599.50000000\n"
    )
    assert ok(db, "wallet", "deposit", "alice", "2", "--asset", "USDC") == (
        "alice USDC wallet balance 2.00000000\n"
    )
    assert registry(db).account("alice").account.balances == {
        "USDT": D("599.5"),
        "USDC": D("2"),
    }


def test_withdrawing_too_much_is_4050_and_changes_nothing(alice: Path) -> None:
    before, rows = show(alice), dump(alice)
    assert refused(alice, "wallet", "withdraw", "alice", "100000") == (
        "error -4050: Cross balance insufficient. (withdrawing 100000 USDT, the cross wallet "
        "has 1000)"
    )
    assert show(alice) == before
    assert dump(alice) == rows


# -- settings ---------------------------------------------------------------------------


def test_setting_set_leverage_and_margin_type(alice: Path) -> None:
    assert (
        ok(
            alice,
            "setting",
            "set",
            "alice",
            "--leverage",
            "BTCUSDT=10",
            "--margin-type",
            "BTCUSDT=isolated",
            "--leverage",
            "ETHUSDT=25",
        )
        == "alice: position mode oneway, settings saved\n"
    )
    account = registry(alice).account("alice").account
    assert account.settings == {
        "BTCUSDT": SymbolSettings(10, MarginType.ISOLATED),
        "ETHUSDT": SymbolSettings(25),
    }
    assert [row[3] for row in ledger_rows(alice)] == [
        "wallet",
        "margin_type",
        "leverage",
        "leverage",
    ]


def test_setting_set_position_mode(alice: Path) -> None:
    assert ok(alice, "setting", "set", "alice", "--position-mode", "hedge") == (
        "alice: position mode hedge, settings saved\n"
    )
    assert show(alice)["positionMode"] == "hedge"


def test_setting_refusals(alice: Path) -> None:
    assert refused(alice, "setting", "set", "alice", "--leverage", "BTCUSDT=200") == (
        "error -4028: Leverage 200 is not valid (BTCUSDT allows leverage 1 to 125)"
    )
    assert refused(alice, "setting", "set", "alice", "--leverage", "BTCUSDT") == (
        "error -1130: --leverage takes SYMBOL=VALUE, got 'BTCUSDT'"
    )
    assert refused(alice, "setting", "set", "alice", "--margin-type", "=isolated") == (
        "error -1130: --margin-type takes SYMBOL=VALUE, got '=isolated'"
    )
    assert refused(alice, "setting", "set", "alice", "--leverage", "BTCUSDT=ten") == (
        "error -1130: Data sent for parameter 'leverage' is not valid. (leverage must be an "
        "integer, got 'ten')"
    )
    assert refused(alice, "setting", "set", "alice", "--margin-type", "BTCUSDT=cross") == (
        "error -4046: No need to change margin type. (BTCUSDT is already cross)"
    )
    assert refused(alice, "setting", "set", "alice").startswith(
        "error -1130: Data sent for parameter 'settings' is not valid."
    )


def test_setting_commission(alice: Path) -> None:
    assert ok(
        alice,
        "setting",
        "commission",
        "alice",
        "--maker",
        "0.0001",
        "--symbol-taker",
        "ETHUSDC=0.0004",
        "--symbol-maker",
        "ETHUSDC=0",
    ) == ("alice: maker 0.0001, taker 0.0005\n  ETHUSDC: maker 0, taker 0.0004\n")
    assert [row[3] for row in ledger_rows(alice)][-1] == "commission"
    assert refused(alice, "setting", "commission", "alice", "--taker", "1") == (
        "error -1130: Data sent for parameter 'taker' is not valid. (1 is not a rate above -1 "
        "and below 1 with at most 8 decimals)"
    )


def test_setting_set_is_all_or_nothing(alice: Path) -> None:
    before, rows = show(alice), dump(alice)
    assert (
        refused(
            alice,
            "setting",
            "set",
            "alice",
            "--position-mode",
            "hedge",
            "--margin-type",
            "BTCUSDT=isolated",
            "--leverage",
            "BTCUSDT=10",
            "--leverage",
            "ETHUSDT=200",
        )
        == "error -4028: Leverage 200 is not valid (ETHUSDT allows leverage 1 to 125)"
    )
    assert show(alice) == before
    assert dump(alice) == rows
    assert registry(alice).account("alice").account.settings == {}


# -- fills and margin -------------------------------------------------------------------


def test_fill_add_prints_the_v2_row(alice: Path) -> None:
    rows = json.loads(
        ok(
            alice,
            "fill",
            "add",
            "alice",
            "--symbol",
            "BTCUSDT",
            "--side",
            "BUY",
            "--qty",
            "0.010",
            "--price",
            "20000",
            "--fee",
            "0.08",
            "--time",
            "1655217461579",
        )
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["symbol"] == "BTCUSDT"
    assert row["positionSide"] == "BOTH"
    assert row["positionAmt"] == "0.010"
    assert row["entryPrice"] == "20000.0"
    assert row["breakEvenPrice"] == "20008.0"  # 20000 + 0.08 / 0.010
    assert row["markPrice"] == "0.00000000"  # no mark: marked at the entry price
    assert row["notional"] == "200.00000000"
    assert row["initialMargin"] == "10.00000000"
    assert row["updateTime"] == 1655217461579
    assert registry(alice).account("alice").account.balances == {"USDT": D("999.92")}


def test_fill_add_without_a_time_is_stamped_now(alice: Path) -> None:
    (row,) = json.loads(
        ok(
            alice,
            "fill",
            "add",
            "alice",
            "--symbol",
            "ETHUSDT",
            "--side",
            "SELL",
            "--qty",
            "1.000",
            "--price",
            "1000",
        )
    )
    assert row["positionAmt"] == "-1.000"
    (_, _, time, kind, _) = ledger_rows(alice)[-1]
    assert kind == "fill"
    assert row["updateTime"] == time > 1_600_000_000_000


def test_fill_refusals(alice: Path) -> None:
    base = ["fill", "add", "alice", "--symbol", "BTCUSDT", "--side", "BUY", "--price", "20000"]
    assert refused(alice, *base, "--qty", "0.001", "--position-side", "LONG") == (
        "error -4061: Order's position side does not match user's setting. (positionSide LONG "
        "in oneway mode)"
    )
    assert refused(alice, *base, "--qty", "1e5") == (
        "error -1130: Data sent for parameter 'qty' is not valid. ('1e5' is not a plain decimal "
        "like '12.5')"
    )
    assert refused(alice, *base, "--qty", "0.0001") == (
        "error -1111: Precision is over the maximum defined for this asset. (BTCUSDT "
        "quantities have at most 3 decimals, got 0.0001)"
    )


def test_a_fill_without_the_margin_is_2019_unless_forced(alice: Path) -> None:
    dear = ["fill", "add", "alice", "--symbol", "BTCUSDT", "--side", "BUY", "--qty", "0.010"]
    dear += ["--price", "20000", "--fee", "1500"]
    before = dump(alice)
    assert refused(alice, *dear) == (
        "error -2019: Margin is insufficient. (opening 0.010 BTCUSDT at 20000 needs 10.00000000 "
        "USDT initial margin at 20x + 1500.00000000 fee; availableBalance is 1000.00000000)"
    )
    assert dump(alice) == before
    # Importing real history: recorded as given.
    (row,) = json.loads(ok(alice, *dear, "--force"))
    assert row["positionAmt"] == "0.010"
    assert registry(alice).account("alice").account.balances == {"USDT": D("-500")}


def test_amounts_are_capped_at_1e15(alice: Path) -> None:
    before = dump(alice)
    assert refused(alice, "wallet", "deposit", "alice", "1000000000000000") == (
        "error -1130: Data sent for parameter 'amount' is not valid. (1000000000000000 is not "
        "below 1000000000000000)"
    )
    assert dump(alice) == before


def test_margin_transfer(alice: Path) -> None:
    ok(
        alice,
        "setting",
        "set",
        "alice",
        "--leverage",
        "BTCUSDT=10",
        "--margin-type",
        "BTCUSDT=isolated",
    )
    ok(
        alice,
        "fill",
        "add",
        "alice",
        "--symbol",
        "BTCUSDT",
        "--side",
        "BUY",
        "--qty",
        "0.010",
        "--price",
        "20000",
    )
    (row,) = json.loads(
        ok(alice, "margin", "transfer", "alice", "--symbol", "BTCUSDT", "--amount", "5")
    )
    assert row["isolatedWallet"] == "25.00000000"  # 0.010 × 20000 / 10 + 5
    (row,) = json.loads(
        ok(alice, "margin", "transfer", "alice", "--symbol", "BTCUSDT", "--amount", "-24.5")
    )
    assert row["isolatedWallet"] == "0.50000000"
    before = dump(alice)
    assert (
        refused(alice, "margin", "transfer", "alice", "--symbol", "BTCUSDT", "--amount", "-1")
        == "error -4051: Isolated balance insufficient. (removing 1, the isolated wallet holds "
        "0.50000000)"
    )
    assert (
        refused(alice, "margin", "transfer", "alice", "--symbol", "ETHUSDT", "--amount", "1")
        == "error -4049: Add margin only support for isolated position. (ETHUSDT is cross margined)"
    )
    assert dump(alice) == before


# -- marks ------------------------------------------------------------------------------


def test_mark_set_and_list(db: Path) -> None:
    assert ok(db, "mark", "set", "BTCUSDT=21000.5", "ETHUSDT=950") == (
        "BTCUSDT 21000.5, ETHUSDT 950\n"
    )
    listing = ok(db, "mark", "list")
    assert table_row(listing, "BTCUSDT") == ["BTCUSDT", "21000.5"]
    assert table_row(listing, "ETHUSDT") == ["ETHUSDT", "950"]
    assert registry(db).marks == {"BTCUSDT": D("21000.5"), "ETHUSDT": D("950")}


def test_mark_refusals(db: Path) -> None:
    ok(db, "mark", "set", "BTCUSDT=21000")
    before = dump(db)
    assert refused(db, "mark", "set", "ETHUSDT=950", "FOOUSDT=1") == (
        "error -1121: Invalid symbol. ('FOOUSDT' is not a symbol of this market)"
    )
    assert refused(db, "mark", "set", "BTCUSDT") == (
        "error -1130: mark takes SYMBOL=VALUE, got 'BTCUSDT'"
    )
    assert refused(db, "mark", "set", "BTCUSDT=-1") == (
        "error -1130: Data sent for parameter 'marks.BTCUSDT' is not valid. (a mark price must "
        "be positive, got -1)"
    )
    assert dump(db) == before
    assert "ETHUSDT" not in ok(db, "mark", "list")


# -- scenarios --------------------------------------------------------------------------


def test_scenario_load(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(
        json.dumps(
            {
                "accounts": [
                    {
                        "name": "alice",
                        "keys": [{"type": "hmac", "apiKey": "aliceKey", "secret": "fake-secret"}],
                        "deposits": {"USDT": "1000"},
                        "fills": [
                            {
                                "symbol": "BTCUSDT",
                                "side": "BUY",
                                "qty": "0.010",
                                "price": "20000",
                                "time": 1700000000001,
                            }
                        ],
                    },
                    {"name": "bob", "positionMode": "hedge"},
                ],
                "marks": {"BTCUSDT": "21000"},
            }
        )
    )
    assert ok(db, "scenario", "load", str(path)) == "loaded 2 accounts: alice, bob\n"
    described = show(db)
    assert described["balances"][0]["walletBalance"] == "1000.00000000"
    (row,) = described["positions"]
    assert (row["positionAmt"], row["markPrice"], row["unRealizedProfit"], row["updateTime"]) == (
        "0.010",
        "21000.00000000",
        "10.00000000",
        1700000000001,
    )
    assert described["keys"] == [{"apiKey": "aliceKey", "type": "hmac", "revoked": False}]
    assert show(db, "bob")["positionMode"] == "hedge"


def test_a_bad_scenario_file_loads_nothing(db: Path, tmp_path: Path) -> None:
    ok(db, "account", "create", "zed")
    before = dump(db)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "accounts": [
                    {"name": "bob", "deposits": {"USDT": "5"}},
                    {
                        "name": "alice",
                        "fills": [{"symbol": "FOOUSDT", "side": "BUY", "qty": "1", "price": "1"}],
                    },
                ]
            }
        )
    )
    assert refused(db, "scenario", "load", str(bad)) == (
        "error -1121: account 'alice', fills[0]: Invalid symbol. ('FOOUSDT' is not a symbol "
        "of this market)"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert refused(db, "scenario", "load", str(broken)).startswith(
        f"error -1130: {broken}: not JSON ("
    )
    assert refused(db, "scenario", "load", str(tmp_path / "none.json")) == (
        f"error -1130: cannot read scenario {tmp_path / 'none.json'}: No such file or directory"
    )
    assert dump(db) == before
    assert table_row(ok(db, "account", "list"), "zed")[0] == "zed"
    assert "bob" not in ok(db, "account", "list")


# -- refusals change nothing ------------------------------------------------------------

REFUSED_COMMANDS = [
    ["wallet", "withdraw", "alice", "5000"],
    ["wallet", "deposit", "alice", "0"],
    ["wallet", "deposit", "alice", "1", "--asset", "XYZ"],
    ["wallet", "deposit", "nobody", "1"],
    ["setting", "set", "alice", "--leverage", "BTCUSDT=0"],
    ["setting", "set", "alice", "--position-mode", "hedge"],  # an open position
    ["setting", "set", "alice", "--margin-type", "BTCUSDT=isolated"],  # an open position
    [
        "fill",
        "add",
        "alice",
        "--symbol",
        "BTCUSDT",
        "--side",
        "SELL",
        "--qty",
        "0.001",
        "--price",
        "20000",
        "--position-side",
        "SHORT",
    ],
    ["fill", "add", "alice", "--symbol", "NOPEUSDT", "--side", "BUY", "--qty", "1", "--price", "1"],
    [
        "fill",
        "add",
        "alice",
        "--symbol",
        "BTCUSDT",
        "--side",
        "BUY",
        "--qty",
        "0.001",
        "--price",
        "0",
    ],
    ["margin", "transfer", "alice", "--symbol", "BTCUSDT", "--amount", "5"],
    ["mark", "set", "BTCUSDT=0"],
    ["key", "create", "alice", "--api-key", "bad-key"],
    ["key", "revoke", "alice", "unknownKey"],
    ["account", "create", "alice"],
]


@pytest.mark.parametrize("command", REFUSED_COMMANDS, ids=[" ".join(c) for c in REFUSED_COMMANDS])
def test_every_refused_command_leaves_the_database_unchanged(
    alice: Path, command: list[str]
) -> None:
    ok(
        alice,
        "fill",
        "add",
        "alice",
        "--symbol",
        "BTCUSDT",
        "--side",
        "BUY",
        "--qty",
        "0.010",
        "--price",
        "20000",
    )
    ok(alice, "mark", "set", "BTCUSDT=21000")
    before, rows = show(alice), dump(alice)
    message = refused(alice, *command)
    assert re.match(r"^error -?\d+: \S", message), message
    assert show(alice) == before
    assert dump(alice) == rows


# -- the server's lock ------------------------------------------------------------------


def test_a_database_held_by_a_server_is_refused(alice: Path) -> None:
    before = dump(alice)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from posrisk.store import DatabaseLock; "
            "DatabaseLock(Path(sys.argv[1])).acquire(); print('locked', flush=True); "
            "time.sleep(30)",
            str(alice),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        for command in (
            ["account", "create", "bob"],
            ["account", "show", "alice"],
            ["wallet", "deposit", "alice", "1"],
        ):
            message = refused(alice, *command)
            assert message == (
                f"error: {alice} is held by a running posrisk server (pid {holder.pid}); stop "
                "it first, or send the change through its admin API"
            )
    finally:
        holder.kill()
        holder.wait()
    assert dump(alice) == before
    # Once the holder is gone the database is usable again.
    assert ok(alice, "account", "create", "bob") == "created account 'bob'\n"


# -- misc -------------------------------------------------------------------------------


def test_version(db: Path) -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout == f"{__version__}\n"


def test_the_cli_reads_its_own_writes_with_hedge_fills(db: Path) -> None:
    ok(db, "account", "create", "bob", "--position-mode", "hedge")
    ok(db, "wallet", "deposit", "bob", "100")
    (long,) = json.loads(
        ok(
            db,
            "fill",
            "add",
            "bob",
            "--symbol",
            "BTCUSDT",
            "--side",
            "BUY",
            "--qty",
            "0.001",
            "--price",
            "22185.2",
            "--position-side",
            "LONG",
        )
    )
    assert (long["positionSide"], long["positionAmt"]) == ("LONG", "0.001")
    position = registry(db).account("bob").account.positions[("BTCUSDT", PositionSide.LONG)]
    assert position.entry_price == D("22185.2")


# -- known weaknesses ---------------------------------------------------------------------


def test_a_value_that_looks_like_markup_is_refused_cleanly(db: Path) -> None:
    assert refused(db, "mark", "set", "[/x]") == "error -1130: mark takes SYMBOL=VALUE, got '[/x]'"


def test_a_refused_value_is_echoed_verbatim(db: Path) -> None:
    assert refused(db, "account", "create", "[bold]x").endswith("got '[bold]x')")
