"""One funding round trip per real client, each unchanged but for its base URLs: read the
mark and the rate the server holds, watch one markPrice update, cross a funding time with
the server's clock control (what ``PosriskTestServer.advance`` and ``POST
/admin/v1/clock`` run), then see the FUNDING_FEE on the client's user data stream and in
its income history, and the wallet moved by exactly −positionAmt × mark × rate.

bob of the known scenario: one hedge LONG 0.001 BTCUSDT, cross wallet 2.53267053; the
test sets the mark (22000) and the rate (0.0003) first, so what settles is what the test
chose. The clock moves in half-hour steps, the client keeping its listenKey alive over
REST after each, as a client does while eight hours pass (a key lapses after an hour)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer
from posrisk.engine.funding import next_funding_time

from ..service.conftest import HEDGE_KEY, HEDGE_SECRET, Keys
from ..service.test_market_streams import GatedSleep
from .conftest import make_server
from .test_market_streams import gate
from .test_stream_routes import attached, base
from .test_third_party_clients import (
    ccxt_client,
    close_python_binance,
    python_binance,
    sdk_user_events,
)
from .test_third_party_mark_streams import pumped
from .test_third_party_market import clear_of_funding_times
from .test_third_party_startup import next_listen_key

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

BTC = "BTC/USDT:USDT"
MARK, RATE, AMOUNT = Decimal("22000"), Decimal("0.0003"), Decimal("0.001")
WALLET = Decimal("2.53267053")
FEE = -AMOUNT * MARK * RATE  # -0.0066: a long pays a positive rate
AFTER = WALLET + FEE
HOUR = 3_600_000
STEP = HOUR // 2


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, clock=clear_of_funding_times())
    yield running
    await running.stop()


async def arrange(server: PosriskServer) -> int:
    """Set BTCUSDT's rate and mark; the funding time the test will cross."""
    assert server.rates is not None and server.admin is not None
    await server.rates.set({"BTCUSDT": {"rate": str(RATE)}})
    await server.admin.set_marks({"BTCUSDT": MARK})
    return next_funding_time(server.clock.now_ms(), 8)


async def cross(server: PosriskServer, due: int, keepalive: Callable[[], Awaitable[Any]]) -> None:
    """Move the clock past ``due`` (its settlement has run on return), keeping the
    client's listenKey alive after every half hour."""
    control = server.clock_control
    assert control is not None
    while server.clock.now_ms() <= due:
        await control.advance(min(STEP, due - server.clock.now_ms() + 1000))
        await keepalive()
    assert server.funding is not None and server.funding.settlements >= 1


async def test_ccxt_funding_round_trip(server: PosriskServer) -> None:
    sleep = gate(server)
    due = await arrange(server)
    exchange = ccxt_client(server, HEDGE_KEY, HEDGE_SECRET)
    exchange.urls["api"]["ws"]["linear"] = base(server) + "/ws"
    try:
        funding = await exchange.fetch_funding_rate(BTC)
        assert (funding["markPrice"], funding["fundingRate"], funding["fundingTimestamp"]) == (
            float(MARK),
            float(RATE),
            due,
        )
        mark = await pumped(sleep, exchange.watch_mark_price(BTC))
        assert (mark["markPrice"], mark["info"]["r"]) == (float(MARK), "0.00030000")
        watching = asyncio.ensure_future(exchange.watch_balance())
        await attached(server, await next_listen_key(server))  # /private/ws?listenKey=K
        await cross(server, due, exchange.fapiPrivatePutListenKey)
        balance = await asyncio.wait_for(watching, 5)
        event = balance["info"]
        assert (event["e"], event["E"], event["a"]["m"], event["a"]["P"]) == (
            "ACCOUNT_UPDATE",
            due,
            "FUNDING_FEE",
            [],
        )
        assert event["a"]["B"] == [
            {"a": "USDT", "wb": f"{AFTER}", "cw": f"{AFTER}", "bc": "-0.0066"}
        ]
        assert balance["USDT"]["total"] == float(AFTER)
        [fee] = await exchange.fetch_funding_history(BTC)
        assert (fee["amount"], fee["timestamp"], fee["info"]["income"]) == (
            float(FEE),
            due,
            "-0.00660000",
        )
        [settled] = await exchange.fetch_funding_rate_history(BTC)
        assert (settled["timestamp"], settled["fundingRate"], settled["info"]["markPrice"]) == (
            due,
            float(RATE),
            "22000.00000000",
        )
        account = (await exchange.fetch_balance())["info"]  # its total is the margin balance
        [usdt] = [a for a in account["assets"] if a["asset"] == "USDT"]
        assert Decimal(usdt["walletBalance"]) == AFTER
        assert (await exchange.fetch_funding_rate(BTC))["fundingTimestamp"] == due + 8 * HOUR
    finally:
        await exchange.close()


async def test_python_binance_funding_round_trip(server: PosriskServer) -> None:
    from binance.ws.streams import BinanceSocketManager

    sleep = gate(server)
    due = await arrange(server)
    client = python_binance(server, HEDGE_KEY, api_secret=HEDGE_SECRET)
    try:
        mark = await client.futures_mark_price(symbol="BTCUSDT")
        assert (mark["markPrice"], mark["lastFundingRate"], mark["nextFundingTime"]) == (
            "22000.00000000",
            "0.00030000",
            due,
        )
        manager = BinanceSocketManager(client)
        manager.FSTREAM_URL = base(server) + "/"  # it appends market/, private/
        socket = manager.symbol_mark_price_socket("BTCUSDT")
        socket.TIMEOUT = 1  # its exit waits for the read loop's recv timeout
        async with socket:
            update = (await pumped(sleep, socket.recv()))["data"]
        assert (update["p"], update["r"], update["T"]) == ("22000.00000000", "0.00030000", due)
        key = await client.futures_stream_get_listen_key()
        user = manager.futures_user_socket()
        user.TIMEOUT = 1
        async with user:
            await attached(server, key)
            await cross(server, due, lambda: client.futures_stream_keepalive(key))
            event = await asyncio.wait_for(user.recv(), 5)
        assert (event["e"], event["T"], event["a"]["m"], event["a"]["P"]) == (
            "ACCOUNT_UPDATE",
            due,
            "FUNDING_FEE",
            [],
        )
        assert event["a"]["B"] == [
            {"a": "USDT", "wb": f"{AFTER}", "cw": f"{AFTER}", "bc": "-0.0066"}
        ]
        [row] = await client.futures_income_history(symbol="BTCUSDT", incomeType="FUNDING_FEE")
        assert (row["income"], row["time"], row["asset"]) == ("-0.00660000", due, "USDT")
        assert await client.futures_funding_rate(symbol="BTCUSDT") == [
            {
                "symbol": "BTCUSDT",
                "fundingRate": "0.00030000",
                "fundingTime": due,
                "markPrice": "22000.00000000",
            }
        ]
        [usdt] = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
        assert Decimal(usdt["balance"]) == AFTER
    finally:
        await close_python_binance(client)


def _sdk_signed_rest(server: PosriskServer) -> Any:
    from binance_common.configuration import ConfigurationRestAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    config = ConfigurationRestAPI(
        api_key=HEDGE_KEY, api_secret=HEDGE_SECRET, base_path=server.http_url
    )
    return DerivativesTradingUsdsFutures(config_rest_api=config).rest_api


async def sdk_mark_update(server: PosriskServer, sleep: GatedSleep) -> Any:
    """The first ``btcusdt@markPrice@1s`` update the SDK's stream client parses."""
    from binance_common.configuration import ConfigurationWebSocketStreams
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    config = ConfigurationWebSocketStreams(stream_url=base(server))
    streams = DerivativesTradingUsdsFutures(config_ws_streams=config)
    connection = await streams.websocket_streams.create_connection()  # type: ignore[no-untyped-call]
    try:
        updates: asyncio.Queue[Any] = asyncio.Queue()
        stream = await connection.mark_price_stream(symbol="btcusdt", update_speed="1s")
        stream.on("message", updates.put_nowait)
        return await pumped(sleep, updates.get())
    finally:
        await connection.close_connection(close_session=True)


async def test_binance_sdk_funding_round_trip(server: PosriskServer) -> None:
    sleep = gate(server)
    due = await arrange(server)
    rest = _sdk_signed_rest(server)  # a blocking client: its calls run off the server's loop
    mark = (await asyncio.to_thread(rest.mark_price, symbol="BTCUSDT")).data().actual_instance
    assert (mark.mark_price, mark.last_funding_rate, mark.next_funding_time) == (
        "22000.00000000",
        "0.00030000",
        due,
    )
    update = await sdk_mark_update(server, sleep)
    assert (update.p, update.r, update.T) == ("22000.00000000", "0.00030000", due)
    key = (await asyncio.to_thread(rest.start_user_data_stream)).data().listen_key
    async with sdk_user_events(server, key) as events:
        await cross(server, due, lambda: asyncio.to_thread(rest.keepalive_user_data_stream))
        update = (await asyncio.wait_for(events.get(), 5)).actual_instance
    assert (type(update).__name__, update.E, update.a.m, update.a.P) == (
        "AccountUpdate",
        due,
        "FUNDING_FEE",
        [],
    )
    [balance] = update.a.B
    assert (balance.a, balance.wb, balance.cw, balance.bc) == (
        "USDT",
        f"{AFTER}",
        f"{AFTER}",
        "-0.0066",
    )
    income = await asyncio.to_thread(
        rest.get_income_history, symbol="BTCUSDT", income_type="FUNDING_FEE"
    )
    [row] = income.data()
    assert (row.income, row.time, row.info, row.additional_properties) == (
        "-0.00660000",
        due,
        "FUNDING_FEE",
        {},
    )
    history = await asyncio.to_thread(rest.get_funding_rate_history, symbol="BTCUSDT")
    assert [(r.funding_time, r.funding_rate, r.mark_price) for r in history.data()] == [
        (due, "0.00030000", "22000.00000000")
    ]
    wallets = (await asyncio.to_thread(rest.futures_account_balance_v3)).data()
    [usdt] = [w for w in wallets if w.asset == "USDT"]
    assert Decimal(usdt.balance) == AFTER
