"""Real Binance clients reading ``GET /fapi/v1/income`` from a served posrisk: ccxt
``fetch_funding_history`` and ``fetch_ledger``, python-binance ``futures_income_history``,
Binance's SDK ``get_income_history`` (its model sees every field). Alice of the known
scenario, with a funding settlement committed as the settlement commits it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer
from posrisk.engine.funding import FundingSchedule, funding_events

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server
from .test_third_party_clients import ccxt_client, close_python_binance, python_binance

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

EIGHT_HOURS = 8 * 3_600_000
# Alice's BTCUSDT cross long 0.010 and ETHUSDT isolated short 1 at 21123.05052574 and 950.
FEES = {"BTCUSDT": "-0.02112305", "ETHUSDT": "0.09500000"}


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    assert running.admin is not None
    admin = running.admin
    funding_time = admin.clock.now_ms() // EIGHT_HOURS * EIGHT_HOURS

    def plan(state: Any, now: int) -> list[Any]:
        marks = admin.registry.marks
        return list(funding_events(state, admin.market, marks, FundingSchedule(), funding_time))

    await admin.plan_events("alice", plan)
    yield running
    await running.stop()


async def test_python_binance_futures_income_history(server: PosriskServer) -> None:
    client = python_binance(server, HMAC_KEY, api_secret=HMAC_SECRET)
    try:
        rows = await client.futures_income_history(incomeType="FUNDING_FEE")
        assert {row["symbol"]: row["income"] for row in rows} == FEES
        every = await client.futures_income_history()
        # The settlement (the last funding time) came before the scenario's deposit (now).
        assert [row["incomeType"] for row in every] == ["FUNDING_FEE", "FUNDING_FEE", "TRANSFER"]
        assert every[-1] == {
            "symbol": "",
            "incomeType": "TRANSFER",
            "income": "1000.00000000",
            "asset": "USDT",
            "info": "TRANSFER",
            "time": every[-1]["time"],
            "tranId": every[-1]["tranId"],
            "tradeId": "",
        }
    finally:
        await close_python_binance(client)


async def test_binance_sdk_get_income_history(server: PosriskServer) -> None:
    from binance_common.configuration import ConfigurationRestAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    config = ConfigurationRestAPI(
        api_key=HMAC_KEY, api_secret=HMAC_SECRET, base_path=server.http_url
    )
    rest = DerivativesTradingUsdsFutures(config_rest_api=config).rest_api
    response = await asyncio.to_thread(rest.get_income_history, symbol="ETHUSDT")
    rows: Any = response.data()  # a RootModel list: iterates as its items
    [row] = rows
    assert (row.symbol, row.income_type, row.income, row.info, row.trade_id) == (
        "ETHUSDT",
        "FUNDING_FEE",
        "0.09500000",
        "FUNDING_FEE",
        "",
    )
    assert isinstance(row.tran_id, int) and row.additional_properties == {}


async def test_ccxt_fetch_funding_history_and_ledger(server: PosriskServer) -> None:
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    try:
        history = await exchange.fetch_funding_history("ETH/USDT:USDT")
        assert [(h["symbol"], h["amount"], h["code"]) for h in history] == [
            ("ETH/USDT:USDT", 0.095, "USDT")
        ]
        ledger = await exchange.fetch_ledger()
        assert [(e["type"], e["amount"], e["direction"]) for e in ledger] == [
            ("fee", 0.02112305, "out"),
            ("fee", 0.095, "in"),
            ("transfer", 1000.0, "in"),
        ]
    finally:
        await exchange.close()
