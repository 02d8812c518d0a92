"""A bot's startup on each real client, with its default options, against posrisk: the
account and balance over REST, every setting a bot changes or reads, the listenKey kept
over REST and the user stream told of a deposit or a setting change. Each client is
unchanged but for the scheme and host of its Binance URLs (``examples.bots.pointing``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from examples.bots import binance_sdk_startup, ccxt_startup, python_binance_startup
from examples.bots.pointing import point_python_binance_streams

from posrisk.app import PosriskServer
from posrisk.engine import Fill, Side

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server
from .test_stream_routes import attached
from .test_third_party_clients import sdk_user_events

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

# An account with money and no position: its position mode may change.
FRESH_KEY, FRESH_SECRET = "carolHmacKey0001", "carol-test-secret"


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    admin = running.admin
    assert admin is not None
    await admin.create_account("carol")
    await admin.create_key("carol", "hmac", api_key=FRESH_KEY, secret=FRESH_SECRET)
    await admin.wallet("carol", "USDT", D("500"))
    yield running
    await running.stop()


def stream_keys(server: PosriskServer) -> list[str]:
    assert server.streams is not None
    return [k.key for k in server.streams.listen_keys()]


async def next_listen_key(server: PosriskServer) -> str:
    for _ in range(500):
        if keys := stream_keys(server):
            return keys[0]
        await asyncio.sleep(0.01)
    raise AssertionError("no listenKey was started")


# -- ccxt.pro ------------------------------------------------------------------------------


async def test_ccxt_startup_with_default_options(server: PosriskServer) -> None:
    exchange = ccxt_startup.exchange_for(HMAC_KEY, HMAC_SECRET, server.http_url)
    try:
        assert "fetchCurrencies" not in exchange.options or exchange.options["fetchCurrencies"]
        lines = await ccxt_startup.startup(exchange, leverage=10)
        assert lines == [
            "markets: 345",
            # used: totalInitialMargin, 211.23050525 / 20 + the isolated ETHUSDT side's 95
            "USDT: total 1061.23050525, free 900.66897999, used 105.56152526",
            "position mode: one-way",
            "BTC/USDT:USDT: leverage 10x, margin cross",
        ]
        balance = await exchange.fetch_balance()  # GET /fapi/v3/account, after 10x
        info = balance["info"]
        assert (info["totalWalletBalance"], info["availableBalance"]) == (
            "1000.00000000",
            "890.10745473",
        )
        assert info["totalPositionInitialMargin"] == "116.12305052"
    finally:
        await exchange.close()


async def test_ccxt_settings(server: PosriskServer) -> None:
    exchange = ccxt_startup.exchange_for(FRESH_KEY, FRESH_SECRET, server.http_url)
    try:
        await exchange.load_markets()
        answer = await exchange.set_leverage(25, "ETH/USDT:USDT")
        assert answer == {"leverage": 25, "maxNotionalValue": "50000000", "symbol": "ETHUSDT"}
        leverages = await exchange.fetch_leverages(["ETH/USDT:USDT", "BTC/USDT:USDT"])
        assert leverages["ETH/USDT:USDT"]["longLeverage"] == 25
        assert leverages["BTC/USDT:USDT"]["longLeverage"] == 20
        assert (await exchange.fetch_margin_mode("ETH/USDT:USDT"))["marginMode"] == "cross"
        assert (await exchange.set_margin_mode("isolated", "ETH/USDT:USDT"))["code"] == 200
        assert (await exchange.fetch_margin_mode("ETH/USDT:USDT"))["marginMode"] == "isolated"
        with pytest.raises(Exception, match="-4046"):  # "No need to change margin type."
            await exchange.set_margin_mode("isolated", "ETH/USDT:USDT")
        assert (await exchange.fetch_position_mode())["hedged"] is False
        assert (await exchange.set_position_mode(True))["code"] == 200
        assert (await exchange.fetch_position_mode())["hedged"] is True
        with pytest.raises(Exception, match="-4028"):  # ccxt checks 1..125 itself
            await exchange.fapiPrivatePostLeverage({"symbol": "BTCUSDT", "leverage": 126})
    finally:
        await exchange.close()


async def test_ccxt_watch_balance_and_positions(server: PosriskServer) -> None:
    exchange = ccxt_startup.exchange_for(HMAC_KEY, HMAC_SECRET, server.http_url)
    admin = server.admin
    assert admin is not None
    try:
        await exchange.load_markets()
        watching = asyncio.ensure_future(exchange.watch_balance())
        key = await next_listen_key(server)  # POST /fapi/v1/listenKey
        await attached(server, key)  # /private/ws?listenKey=K
        await admin.wallet("alice", "USDT", D("25"))
        balance = await asyncio.wait_for(watching, 5)
        assert balance["USDT"]["total"] == 1025.0
        positions = asyncio.ensure_future(exchange.watch_positions(["BTC/USDT:USDT"]))
        await asyncio.sleep(0)  # it reads GET /fapi/v3/positionRisk, then waits
        await until_cached(exchange)
        fill = Fill("BTCUSDT", Side.BUY, D("0.005"), D("21000"), time=server.clock.now_ms())
        await admin.fill("alice", fill)
        [btc] = await asyncio.wait_for(positions, 5)
        assert (btc["symbol"], btc["contracts"], btc["side"]) == ("BTC/USDT:USDT", 0.015, "long")
    finally:
        await exchange.close()


async def until_cached(exchange: Any) -> None:
    for _ in range(500):
        if getattr(exchange, "positions", None) is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("ccxt never loaded its positions")


# -- python-binance ------------------------------------------------------------------------


async def test_python_binance_startup_and_settings(server: PosriskServer) -> None:
    client = await python_binance_startup.client_for(FRESH_KEY, FRESH_SECRET, server.http_url)
    try:
        account = await client.futures_account()  # GET /fapi/v2/account
        assert (account["totalWalletBalance"], account["availableBalance"]) == (
            "500.00000000",
            "500.00000000",
        )
        assert account["feeBurn"] is False and len(account["positions"]) == 345
        [usdt] = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
        assert (usdt["balance"], usdt["maxWithdrawAmount"]) == ("500.00000000", "500.00000000")
        changed = await client.futures_change_leverage(symbol="BTCUSDT", leverage=5)
        assert changed == {"leverage": 5, "maxNotionalValue": "480000000", "symbol": "BTCUSDT"}
        changed = await client.futures_change_margin_type(symbol="BTCUSDT", marginType="ISOLATED")
        assert changed == {"code": 200, "msg": "success"}
        assert await client.futures_get_position_mode() == {"dualSidePosition": False}
        await client.futures_change_position_mode(dualSidePosition=True)
        assert await client.futures_get_position_mode() == {"dualSidePosition": True}
        [config] = await client.futures_symbol_config(symbol="BTCUSDT")
        assert config == {
            "symbol": "BTCUSDT",
            "marginType": "ISOLATED",
            "isAutoAddMargin": False,
            "leverage": 5,
            "maxNotionalValue": "480000000",
        }
        assert await client.futures_get_multi_assets_mode() == {"multiAssetsMargin": False}
    finally:
        await python_binance_startup.close(client)


async def test_python_binance_user_socket_hears_a_leverage_change(server: PosriskServer) -> None:
    from binance.ws.streams import BinanceSocketManager

    client = await python_binance_startup.client_for(HMAC_KEY, HMAC_SECRET, server.http_url)
    try:
        manager = point_python_binance_streams(BinanceSocketManager(client), server.http_url)
        socket = manager.futures_user_socket()  # POST listenKey, /private/ws?listenKey=K
        socket.TIMEOUT = 1  # its exit waits for the read loop's recv timeout
        async with socket:
            await attached(server, await next_listen_key(server))
            await client.futures_change_leverage(symbol="ETHUSDT", leverage=12)
            event = await asyncio.wait_for(socket.recv(), 5)
        assert event["e"] == "ACCOUNT_CONFIG_UPDATE"
        assert event["ac"] == {"s": "ETHUSDT", "l": 12}
    finally:
        await python_binance_startup.close(client)


# -- Binance's SDK -------------------------------------------------------------------------


async def test_binance_sdk_rest_startup_and_settings(server: PosriskServer) -> None:
    rest = binance_sdk_startup.rest_client(FRESH_KEY, FRESH_SECRET, server.http_url)

    def calls() -> None:
        account = rest.account_information_v3().data()
        assert (account.total_wallet_balance, account.max_withdraw_amount) == (
            "500.00000000",
            "500.00000000",
        )
        assert account.positions == []
        [usdt] = [b for b in rest.futures_account_balance_v3().data() if b.asset == "USDT"]
        assert usdt.available_balance == "500.00000000"
        assert rest.change_initial_leverage(symbol="SOLUSDT", leverage=7).data().leverage == 7
        rest.change_margin_type(symbol="SOLUSDT", margin_type="ISOLATED")
        [config] = rest.symbol_configuration(symbol="SOLUSDT").data()
        assert (config.margin_type, config.leverage) == ("ISOLATED", 7)
        assert rest.get_current_position_mode().data().dual_side_position is False
        rest.change_position_mode(dual_side_position="true")
        assert rest.get_current_position_mode().data().dual_side_position is True
        configuration = rest.futures_account_configuration().data()
        assert (configuration.dual_side_position, configuration.fee_tier) == (True, 0)
        assert rest.get_current_multi_assets_mode().data().multi_assets_margin is False
        key = rest.start_user_data_stream().data().listen_key
        assert rest.keepalive_user_data_stream().data().listen_key == key
        rest.close_user_data_stream()

    await asyncio.to_thread(calls)
    assert stream_keys(server) == []


async def test_binance_sdk_user_data_hears_a_leverage_change(server: PosriskServer) -> None:
    rest = binance_sdk_startup.rest_client(HMAC_KEY, HMAC_SECRET, server.http_url)
    key = (await asyncio.to_thread(rest.start_user_data_stream)).data().listen_key
    async with sdk_user_events(server, key) as events:
        await asyncio.to_thread(rest.change_initial_leverage, symbol="BTCUSDT", leverage=15)
        update = (await asyncio.wait_for(events.get(), 5)).actual_instance
    assert type(update).__name__ == "AccountConfigUpdate"
    assert (update.ac.s, update.ac.l) == ("BTCUSDT", 15)


async def test_isolated_margin_and_fees_from_ccxt_and_python_binance(
    server: PosriskServer,
) -> None:
    # alice's ETHUSDT isolated short: 1 @ 1000, mark 950, wallet 100, 10x: PIM 95, so
    # at most 100 + min(0, 50) − 95 = 5 may be taken out.
    exchange = ccxt_startup.exchange_for(HMAC_KEY, HMAC_SECRET, server.http_url)
    client = await python_binance_startup.client_for(HMAC_KEY, HMAC_SECRET, server.http_url)
    try:
        added = await exchange.add_margin("ETH/USDT:USDT", 20)  # POST positionMargin
        assert (added["type"], added["amount"], added["status"]) == ("add", 20.0, "ok")
        with pytest.raises(Exception, match="-4051"):
            await exchange.reduce_margin("ETH/USDT:USDT", 26)
        taken = await client.futures_change_position_margin(symbol="ETHUSDT", amount=25, type=2)
        assert taken == {
            "amount": 25.0,
            "code": 200,
            "msg": "Successfully modify position margin.",
            "type": 2,
        }
        history = await exchange.fetch_margin_adjustment_history("ETH/USDT:USDT")
        assert [(h["type"], h["amount"]) for h in history] == [("add", 20.0), ("reduce", 25.0)]
        rows = await client.futures_position_margin_history(symbol="ETHUSDT")
        assert [(r["type"], r["amount"]) for r in rows] == [(1, "20"), (2, "25")]
        fee = await exchange.fetch_trading_fee("BTC/USDT:USDT")  # GET commissionRate
        assert (fee["maker"], fee["taker"]) == (0.0002, 0.0005)
        assert await client.futures_commission_rate(symbol="ETHUSDT") == {
            "symbol": "ETHUSDT",
            "makerCommissionRate": "0.0002",
            "takerCommissionRate": "0.0005",
        }
    finally:
        await exchange.close()
        await python_binance_startup.close(client)
