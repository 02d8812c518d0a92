"""``posrisk positions`` as a user runs it, against a live posrisk server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer
from posrisk.cli.positions import URL_ALIASES
from posrisk.client import BINANCE_MAINNET, BINANCE_TESTNET

from ..gateway.conftest import make_server
from ..service.conftest import ED_KEY, HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, Keys, keys

__all__ = ["keys"]

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


async def positions(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POSRISK_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "posrisk.cli",
        "positions",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**clean, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_table_of_open_positions(server: PosriskServer) -> None:
    code, out, err = await positions(
        "--url", server.ws_url, "--api-key", HMAC_KEY, "--secret", HMAC_SECRET
    )
    assert code == 0, err
    for header in (
        "symbol",
        "side",
        "size",
        "entry",
        "break-even",
        "mark",
        "uPnL",
        "liq. price",
        "to liq.",
        "leverage",
        "margin",
    ):
        assert header in out
    lines = [line for line in out.splitlines() if "USDT" in line]
    assert len(lines) == 2  # flat symbols are not listed
    btc = next(line for line in lines if "BTCUSDT" in line).split("│")
    cells = [cell.strip() for cell in btc if cell.strip()]
    assert cells == [
        "BTCUSDT",
        "LONG",
        "0.010",
        "20000",
        "20000",
        "21123.05052574",
        "11.23050525",
        "-",
        "-",
        "20x",
        "cross",
    ]
    eth = [
        c.strip() for c in next(line for line in lines if "ETHUSDT" in line).split("│") if c.strip()
    ]
    assert eth[:2] == ["ETHUSDT", "SHORT"]
    assert eth[7:] == ["1095.61752988", "15.33%", "10x", "isolated"]


async def test_keys_from_the_environment_and_v2(
    server: PosriskServer, keys: Keys, tmp_path: Path
) -> None:
    key_file = tmp_path / "ed.pem"
    key_file.write_text(keys.ed25519_private)
    code, out, err = await positions(
        "--v2",
        env={
            "POSRISK_URL": server.ws_url,
            "POSRISK_API_KEY": ED_KEY,
            "POSRISK_KEY_FILE": str(key_file),
        },
    )
    assert code == 0, err
    assert "BTCUSDT" in out and "ETHUSDT" in out
    assert "10x" in out and "isolated" in out  # leverage and margin type derived for v2


async def test_json_prints_the_raw_rows(server: PosriskServer) -> None:
    code, out, err = await positions(
        "--url",
        server.ws_url,
        "--api-key",
        HEDGE_KEY,
        "--secret",
        HEDGE_SECRET,
        "--symbol",
        "BTCUSDT",
        "--json",
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [r["positionSide"] for r in rows] == ["LONG", "SHORT"]
    assert rows[0]["liquidationPrice"] == "19731.45529116"


async def test_watch_refreshes(server: PosriskServer) -> None:
    code, out, _ = await positions(
        "--url",
        server.ws_url,
        "--api-key",
        HMAC_KEY,
        "--secret",
        HMAC_SECRET,
        "--watch",
        "0.01",
        "--iterations",
        "3",
    )
    assert code == 0
    assert out.count("positions at") == 3


async def test_pnl_is_coloured_on_a_terminal(server: PosriskServer) -> None:
    code, out, _ = await positions(
        "--url",
        server.ws_url,
        "--api-key",
        HMAC_KEY,
        "--secret",
        HMAC_SECRET,
        env={"FORCE_COLOR": "1", "COLUMNS": "200", "TERM": "xterm-256color"},
    )
    assert code == 0
    assert "\x1b[32m11.23050525" in out  # green for a profit


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--secret", "wrong"], "error -1022: Signature for this request is not valid."),
        (["--secret", HMAC_SECRET, "--symbol", "NOPE"], "error -1121: Invalid symbol."),
        ([], "error: give exactly one of --secret"),
        (["--secret", "x", "--key-file", "/nonexistent"], "error: give exactly one of --secret"),
    ],
)
async def test_refusals_are_one_clear_line(
    server: PosriskServer, args: list[str], message: str
) -> None:
    code, _, err = await positions("--url", server.ws_url, "--api-key", HMAC_KEY, *args)
    assert code == 1
    assert err.strip() == message or err.strip().startswith(message)


async def test_without_a_key_or_a_server() -> None:
    code, _, err = await positions("--secret", "x")
    assert (code, err.strip()) == (1, "error: an API key is needed: --api-key or POSRISK_API_KEY")
    code, _, err = await positions(
        "--url", "ws://127.0.0.1:9/ws-fapi/v1", "--api-key", "k", "--secret", "s"
    )
    assert code == 1 and err.startswith("error: cannot connect to ws://127.0.0.1:9/ws-fapi/v1")


def test_url_aliases() -> None:
    assert URL_ALIASES["mainnet"] == BINANCE_MAINNET == "wss://ws-fapi.binance.com/ws-fapi/v1"
    assert URL_ALIASES["testnet"] == BINANCE_TESTNET
