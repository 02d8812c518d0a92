"""Real Binance clients reading the account and balance methods from a posrisk server:
ccxt ``fetch_balance_ws`` (account.status, account.balance, v2/account.status), Binance's
SDK (``account_information``, ``_v2``, ``futures_account_balance``, ``_v2``: its models
see every field and no extra one) and python-binance (``ws_futures_account_status``,
``ws_futures_v2_account_balance``), against the known scenario's alice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer

from ..service.conftest import ED_KEY, HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server
from .test_third_party_clients import (
    ccxt_client,
    close_python_binance,
    python_binance,
    sdk_connection,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

# Alice: 1000 USDT; BTCUSDT cross long 0.010 @ 20000 and ETHUSDT isolated short 1 @ 1000
# at 21123.05052574 and 950 (the figures of tests/service/test_accounts.py).
AVAILABLE, WITHDRAWABLE = "900.66897999", "889.43847473"


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


async def test_ccxt_fetch_balance_ws(server: PosriskServer) -> None:
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    try:
        for method in ("account.status", "v2/account.status"):
            usdt = (await exchange.fetch_balance_ws({"method": method}))["USDT"]
            # free: availableBalance; used: initialMargin; total: marginBalance.
            assert (usdt["free"], usdt["used"], usdt["total"]) == (
                900.66897999,
                105.56152526,
                1061.23050525,
            )
        usdt = (await exchange.fetch_balance_ws({"method": "account.balance"}))["USDT"]
        # total: the wallet balance; used: the rest.
        assert (usdt["free"], usdt["total"]) == (900.66897999, 1000.0)
    finally:
        await exchange.close()


async def test_binance_sdk_account_information_and_balance(server: PosriskServer) -> None:
    connection = await sdk_connection(server, api_key=HMAC_KEY, api_secret=HMAC_SECRET)
    try:
        v1 = (await connection.account_information()).data().result
        assert (v1.available_balance, v1.max_withdraw_amount) == (AVAILABLE, WITHDRAWABLE)
        usdt = v1.assets[2]
        assert (usdt.asset, usdt.cross_wallet_balance, usdt.update_time) == (
            "USDT",
            "900.00000000",
            1700000000002,
        )
        btc = next(p for p in v1.positions if p.symbol == "BTCUSDT")
        assert (btc.position_amt, btc.break_even_price, btc.isolated) == ("0.010", "20000.0", False)
        v2 = (await connection.account_information_v2()).data().result
        assert [(p.symbol, p.isolated_margin) for p in v2.positions] == [
            ("BTCUSDT", "0.00000000"),
            ("ETHUSDT", "150.00000000"),
        ]
        for response in (
            await connection.futures_account_balance(),
            await connection.futures_account_balance_v2(),
        ):
            item = response.data().result[2]
            assert (item.account_alias, item.balance, item.max_withdraw_amount) == (
                "rIGt",
                "1000.00000000",
                WITHDRAWABLE,
            )
        # Nothing the SDK's models do not know.
        assert usdt.additional_properties == btc.additional_properties == {}
        assert v1.additional_properties == item.additional_properties == {}
    finally:
        await connection.close_connection()


async def test_python_binance_ws_futures_account_status(server: PosriskServer, keys: Keys) -> None:
    client = python_binance(server, ED_KEY, private_key=keys.ed25519_private)
    try:
        status = await client.ws_futures_account_status()
        assert (status["availableBalance"], len(status["positions"])) == (AVAILABLE, 345)
        balances = await client.ws_futures_v2_account_balance()
        assert [(b["asset"], b["availableBalance"]) for b in balances] == [
            ("BTC", "0.00000000"),
            ("USDC", "0.00000000"),
            ("USDT", AVAILABLE),
        ]
        assert await client.ws_futures_account_balance() == balances  # account.balance
        v2 = await client.ws_futures_v2_account_status()
        assert (v2["availableBalance"], len(v2["positions"])) == (AVAILABLE, 2)
    finally:
        await close_python_binance(client)
