"""The example bots, unchanged, against posrisk through the pytest plugin: each flags the
positions of the near-liquidation account and none of the one-way account."""

from __future__ import annotations

import pytest
from examples.bots import binance_sdk_guard, ccxt_guard, python_binance_guard

from posrisk.testing import PosriskTestServer

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

NEAR = "../../examples/scenarios/near-liquidation.json"
SAFE = "../../examples/scenarios/one-way-cross.json"


def credentials(server: PosriskTestServer) -> tuple[str, str]:
    [key] = server.keys
    assert key.secret is not None
    return key.api_key, key.secret


@pytest.mark.posrisk(scenario=NEAR)
async def test_ccxt_guard_flags_the_account_near_liquidation(
    posrisk_server: PosriskTestServer,
) -> None:
    exchange = ccxt_guard.exchange_for(*credentials(posrisk_server), posrisk_server.http_url)
    try:
        assert await ccxt_guard.at_risk(exchange) == [
            "BTC/USDT:USDT",
            "ETH/USDT:USDT",
            "SOL/USDT:USDT",
        ]
        posrisk_server.set_marks(BTCUSDT="60000", ETHUSDT="2500", SOLUSDT="150")
        assert await ccxt_guard.at_risk(exchange) == []  # the market recovered
    finally:
        await exchange.close()


@pytest.mark.posrisk(scenario=NEAR)
async def test_binance_sdk_guard_flags_the_account_near_liquidation(
    posrisk_server: PosriskTestServer,
) -> None:
    connection = await binance_sdk_guard.connect(*credentials(posrisk_server), posrisk_server.url)
    try:
        assert await binance_sdk_guard.at_risk(connection) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        posrisk_server.fill("edge", "BTCUSDT", "SELL", "0.200", "57070")  # the bot's own exit
        # The loss is realized, not gone: the other two are still at risk.
        assert await binance_sdk_guard.at_risk(connection) == ["ETHUSDT", "SOLUSDT"]
    finally:
        await connection.close_connection()


@pytest.mark.posrisk(scenario=SAFE)
async def test_python_binance_guard_leaves_a_safe_account_alone(
    posrisk_server: PosriskTestServer,
) -> None:
    client = python_binance_guard.client_for(
        *credentials(posrisk_server), posrisk_server.url, posrisk_server.http_url
    )
    try:
        assert await python_binance_guard.at_risk(client) == []
        posrisk_server.set_marks(BTCUSDT="9800")  # a crash to 1.3 % above the long's liquidation
        # Cross margin: the long's loss eats the wallet the short stands on too.
        assert await python_binance_guard.at_risk(client) == ["BTCUSDT", "ETHUSDT"]
    finally:
        await python_binance_guard.close(client)


@pytest.mark.posrisk(scenario=NEAR)
@pytest.mark.parametrize("bot", ["ccxt_guard", "binance_sdk_guard", "python_binance_guard"])
async def test_each_bot_runs_as_a_program(posrisk_server: PosriskTestServer, bot: str) -> None:
    out = await run_program(posrisk_server, bot)
    assert out.startswith("reduce: BTC")


@pytest.mark.posrisk(scenario=SAFE)
@pytest.mark.parametrize(
    ("bot", "balance"),
    [
        ("ccxt_startup", "USDT: total 5146.6, free 4291.6, used 855.0"),
        ("python_binance_startup", "USDT: balance 4996.60000000, available 4291.60000000"),
        ("binance_sdk_startup", "USDT: balance 4996.60000000, available 4291.60000000"),
    ],
)
async def test_each_startup_check_runs_as_a_program(
    posrisk_server: PosriskTestServer, bot: str, balance: str
) -> None:
    # The one-way account: wallet 5000 − fees 3.4, uPnL 150, 10x on 8550 of notional
    # (read before the bot sets its 20x).
    lines = (await run_program(posrisk_server, bot)).splitlines()
    assert lines[1] == balance
    assert lines[2] == "position mode: one-way"
    assert lines[3].endswith("leverage 20x, margin " + ("cross" if bot[0] == "c" else "CROSSED"))


async def run_program(posrisk_server: PosriskTestServer, bot: str) -> str:
    """``python -m examples.bots.<bot>`` against the server, given its URLs and key in the
    environment as a user would; its output."""
    import asyncio
    import os
    import sys
    from pathlib import Path

    api_key, secret = credentials(posrisk_server)
    env = {
        **os.environ,
        "POSRISK_WS_URL": posrisk_server.url,
        "POSRISK_HTTP_URL": posrisk_server.http_url,
        "POSRISK_URL": posrisk_server.http_url,
        "POSRISK_API_KEY": api_key,
        "POSRISK_API_SECRET": secret,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"examples.bots.{bot}",
        env=env,
        cwd=Path(__file__).parents[2],
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode == 0
    return out.decode().strip()
