"""The example bots, unchanged, against posrisk: the guards flag the positions of the
near-liquidation account and none of the one-way account (through the pytest plugin); the
startup checks, the traders and the funding bots run as programs, the traders and the
funding bots against a server with its admin API, which they ask to move the mark or the
clock."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from examples.bots import binance_sdk_guard, ccxt_guard, funding, python_binance_guard

from posrisk.app import PosriskServer, ServerSettings
from posrisk.gateway.server import GatewaySettings
from posrisk.testing import PosriskTestServer

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

ROOT = Path(__file__).parents[2]
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
    api_key, secret = credentials(posrisk_server)
    env = {
        "POSRISK_WS_URL": posrisk_server.url,
        "POSRISK_HTTP_URL": posrisk_server.http_url,
        "POSRISK_URL": posrisk_server.http_url,
        "POSRISK_API_KEY": api_key,
        "POSRISK_API_SECRET": secret,
    }
    return await run_module(bot, env)


async def run_module(bot: str, env: dict[str, str]) -> str:
    """``python -m examples.bots.<bot>`` from the checkout, with ``env`` added; its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"examples.bots.{bot}",
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode == 0
    return out.decode().strip()


# -- the traders, against a server with its admin API ------------------------------------

ADMIN_TOKEN = "trader-test-admin-token"


@pytest_asyncio.fixture
async def served(tmp_path: Path) -> AsyncIterator[PosriskServer]:
    """The one-way account served with the admin API on a free port, SOLUSDT at 142.3."""
    settings = ServerSettings(
        db=str(tmp_path / "posrisk.db"),
        port=0,
        scenario=ROOT / "examples" / "scenarios" / "one-way-cross.json",
        gateway=GatewaySettings(ping_interval_s=3600, pong_timeout_s=3600),
        admin_port=0,
        admin_token=ADMIN_TOKEN,
    )
    server = PosriskServer(settings)
    await server.start()
    assert server.admin is not None
    await server.admin.set_marks({"SOLUSDT": Decimal("142.3")})
    yield server
    await server.stop()


# The round trip at 142.3, 1 SOL (examples/bots/trading.py): a market buy at 142.3 (taker:
# 142.3 × 0.0005 = 0.07115), a limit at 141 filled as maker when the mark is moved to
# 141 × 0.999 = 140.859 (141 × 0.0002 = 0.0282), both sold reduce-only at 140.859 (taker:
# 281.718 × 0.0005 = 0.140859; realized (140.859 − 141.65) × 2 = −1.582).
TRADER_REPORT = """\
SOLUSDT mark 142.3
market BUY 1: FILLED at 142.3
limit BUY 1 @ 135: NEW, then CANCELED
limit BUY 1 @ 141: NEW; mark to 140.859: FILLED at 141
reduce-only SELL 2: FILLED at 140.859
trades: 3
  BUY 1 @ 142.3 taker, fee 0.07115 USDT, realized PnL 0
  BUY 1 @ 141 maker, fee 0.0282 USDT, realized PnL 0
  SELL 2 @ 140.859 taker, fee 0.140859 USDT, realized PnL -1.582
fees 0.240209 USDT, realized PnL -1.582 USDT
mark back to 142.3"""


@pytest.mark.parametrize("bot", ["ccxt_trader", "python_binance_trader", "binance_sdk_trader"])
async def test_each_trader_runs_as_a_program(served: PosriskServer, bot: str) -> None:
    assert served.admin is not None and served.admin_api is not None
    before = served.admin.registry.accounts["alice"].account.wallet_balance("USDT")
    env = {
        "POSRISK_URL": served.http_url,
        "POSRISK_API_KEY": "aliceExampleKey1",
        "POSRISK_API_SECRET": "example-secret-not-real",
        "POSRISK_ADMIN_URL": f"http://127.0.0.1:{served.admin_api.port}/admin/v1",
        "POSRISK_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    assert await run_module(bot, env) == TRADER_REPORT
    # What the engine holds: the wallet less the fees and the loss, SOLUSDT flat again,
    # no order left, the mark where it was.
    account = served.admin.registry.accounts["alice"].account
    assert account.wallet_balance("USDT") == before - Decimal("0.240209") - Decimal("1.582")
    assert [p for p in account.open_positions() if p.symbol == "SOLUSDT"] == []
    assert not account.orders
    assert served.admin.registry.marks["SOLUSDT"] == Decimal("142.3")


# -- the funding bots, against a server with its admin API -------------------------------

# Alice's BTCUSDT long 0.1 and ETHUSDT short 1 at 61000 and 2450, on the default funding
# (0.0001 every 8 hours): the long pays 0.1 × 61000 × 0.0001 = 0.61, the short receives
# 1 × 2450 × 0.0001 = 0.245 at the same funding time; the wallet moves by −0.365.
FUNDING_REPORT = """\
BTCUSDT mark 61000, funding rate 0.0001, next funding <time>
markPrice stream: BTCUSDT 61000
position 0.1 BTCUSDT, wallet 4996.6 USDT
operator: clock moved past <time>
FUNDING_FEE -0.61 USDT at <time> (-0.1 × 61000 × 0.0001)
FUNDING_FEE 0.245 USDT at <time> on ETHUSDT
wallet 4996.235 USDT"""
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
EIGHT_HOURS = 8 * 3_600_000


def fast_ticks(served: PosriskServer) -> None:
    """Market streams pushed every 10 ms instead of every second (a bot waits for one)."""
    assert served.gateway is not None

    async def tick(_seconds: float) -> None:
        await asyncio.sleep(0.01)

    served.gateway.api.market_streams.sleep = tick


def admin_env(served: PosriskServer) -> dict[str, str]:
    assert served.admin_api is not None
    return {
        "POSRISK_URL": served.http_url,
        "POSRISK_API_KEY": "aliceExampleKey1",
        "POSRISK_API_SECRET": "example-secret-not-real",
        "POSRISK_ADMIN_URL": f"http://127.0.0.1:{served.admin_api.port}/admin/v1",
        "POSRISK_ADMIN_TOKEN": ADMIN_TOKEN,
    }


@pytest.mark.parametrize("bot", ["ccxt_funding", "python_binance_funding", "binance_sdk_funding"])
async def test_each_funding_bot_runs_as_a_program(served: PosriskServer, bot: str) -> None:
    assert served.admin is not None
    fast_ticks(served)
    before = served.admin.registry.accounts["alice"].account.wallet_balance("USDT")
    start = served.clock.now_ms()
    out = await run_module(bot, admin_env(served))
    assert TIME.sub("<time>", out) == FUNDING_REPORT
    # Every time shown is the funding time the clock was moved past: the next 8-hour
    # boundary (or the one after, had the machine's clock crossed one meanwhile).
    boundary = (start // EIGHT_HOURS + 1) * EIGHT_HOURS
    [shown] = set(TIME.findall(out))
    assert shown in {funding.when(boundary), funding.when(boundary + EIGHT_HOURS)}
    assert served.clock.now_ms() > boundary
    # What the engine holds: the wallet moved by the two fees, the positions kept.
    account = served.admin.registry.accounts["alice"].account
    assert account.wallet_balance("USDT") == before - Decimal("0.61") + Decimal("0.245")
    amounts = {p.symbol: p.amount for p in account.open_positions()}
    assert amounts == {"BTCUSDT": Decimal("0.1"), "ETHUSDT": Decimal("-1")}


async def test_the_python_binance_funding_bot_on_a_clock_already_moved(
    served: PosriskServer,
) -> None:
    # AsyncClient.create measures the server's clock 5 s ahead of the machine's and stamps
    # its requests with that offset: after the bot's move (hours), that is neither the
    # machine's time nor the server's — between the two, which posrisk accepts after a move.
    assert served.clock_control is not None
    await served.clock_control.advance(5_000)
    fast_ticks(served)
    out = await run_module("python_binance_funding", admin_env(served))
    assert TIME.sub("<time>", out) == FUNDING_REPORT


async def test_a_funding_bot_without_the_admin_api_stops_with_one_line(
    served: PosriskServer,
) -> None:
    env = {**os.environ, **admin_env(served)}
    del env["POSRISK_ADMIN_TOKEN"], env["POSRISK_ADMIN_URL"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "examples.bots.ccxt_funding",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode == 1 and out == b""
    [line] = err.decode().splitlines()
    assert line.startswith("ccxt_funding: POSRISK_ADMIN_TOKEN is not set")
    assert served.admin is not None  # and nothing moved: no fee was paid
    assert served.admin.registry.accounts["alice"].account.wallet_balance("USDT") == Decimal(
        "4996.6"
    )
