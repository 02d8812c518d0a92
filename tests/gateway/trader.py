"""A served posrisk with a fresh trading account, for the real clients' order tests, and
the numbers its one round trip must come to.

The round trip every client makes on BTCUSDT (slippage 0: MARKET fills at the mark):
mark 20000, MARKET BUY 0.010 (taker 20000: fee 200 × 0.0005 = 0.1); LIMIT BUY 0.010 @ 19000
rests and is canceled; LIMIT BUY 0.010 @ 19500 rests, the mark moves to 19400 and it fills
as maker at its own 19500 (fee 195 × 0.0002 = 0.039); a reduce-only MARKET SELL 0.020 at
19400 closes (fee 388 × 0.0005 = 0.194; realized (19400 − 19750) × 0.020 = −7).
Wallet: 1000 − 0.1 − 0.039 − 0.194 − 7 = 992.667.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from pathlib import Path

import pytest_asyncio

from posrisk.app import PosriskServer

from ..service.conftest import Keys
from .conftest import make_server

TRADER, TRADER_KEY, TRADER_SECRET = "dave", "daveHmacKey00001", "dave-test-secret"
SYMBOL = "BTCUSDT"
OPEN_MARK, FILL_MARK = D("20000"), D("19400")
QTY, FAR, NEAR = D("0.010"), D("19000"), D("19500")
FEES = [D("0.1"), D("0.039"), D("0.194")]  # taker open, maker add, taker close
REALIZED = D("-7")
WALLET = D("1000") + REALIZED - sum(FEES)  # 992.667


@pytest_asyncio.fixture
async def trading(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    """The server, ``dave`` with 1000 USDT and no position, BTCUSDT's mark at 20000."""
    running = await make_server(tmp_path, keys)
    admin = running.admin
    assert admin is not None
    await admin.create_account(TRADER)
    await admin.create_key(TRADER, "hmac", api_key=TRADER_KEY, secret=TRADER_SECRET)
    await admin.wallet(TRADER, "USDT", D("1000"))
    await admin.set_marks({SYMBOL: OPEN_MARK})
    yield running
    await running.stop()


async def move_mark(server: PosriskServer, price: D) -> None:
    """The operator moves BTCUSDT's mark (resting orders it crosses fill)."""
    assert server.admin is not None
    await server.admin.set_marks({SYMBOL: price})


def trader_state(server: PosriskServer) -> tuple[D, D]:
    """dave's USDT wallet balance and BTCUSDT position amount, as the engine holds them."""
    assert server.admin is not None
    account = server.admin.registry.accounts[TRADER].account
    position = sum((p.amount for p in account.open_positions() if p.symbol == SYMBOL), D(0))
    return account.wallet_balance("USDT"), position


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")
