"""Real Binance clients, unchanged but for their URLs, against a posrisk server.

ccxt (``fetch_positions_ws``, both methods, HMAC and Ed25519 keys, and REST
``fetch_positions``), Binance's own SDK (``position_information`` and ``_v2``, HMAC and
Ed25519, and ``user_data`` on its subscribed ``/private/stream``) and python-binance
(``ws_futures_account_position``, HMAC and Ed25519, and ``futures_user_socket`` on
``/private/ws?listenKey=``, handed a listenKey started over the WS API), each against the
known scenario, asserting the values they parse. None of them may reach the internet:
every URL they use is pointed at the loopback server.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer

from ..service.conftest import ED_KEY, HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


# -- ccxt -----------------------------------------------------------------------------


def ccxt_client(server: PosriskServer, api_key: str, secret: str) -> Any:
    import ccxt.pro

    exchange = ccxt.pro.binanceusdm(
        {
            "apiKey": api_key,
            "secret": secret,
            # Without this, load_markets asks api.binance.com for currencies first.
            "options": {"fetchCurrencies": False},
        }
    )
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            exchange.urls["api"][name] = re.sub(r"^https?://[^/]+", server.http_url, url)
    exchange.urls["api"]["ws"]["ws-api"]["linear"] = server.ws_url
    return exchange


async def test_ccxt_fetch_positions_ws_hedge_hmac(server: PosriskServer) -> None:
    exchange = ccxt_client(server, HEDGE_KEY, HEDGE_SECRET)
    try:
        for params in ({}, {"method": "v2/account.position"}):
            [long] = await exchange.fetch_positions_ws(["BTC/USDT:USDT"], params)
            assert long["symbol"] == "BTC/USDT:USDT"
            assert (long["side"], long["hedged"], long["marginMode"]) == ("long", True, "cross")
            assert long["contracts"] == 0.001
            assert long["entryPrice"] == 22185.2
            assert long["markPrice"] == 21123.05052574
            assert long["unrealizedPnl"] == -1.06214947
            assert long["notional"] == 21.12305052
            assert long["liquidationPrice"] == 19731.45529116
            assert long["timestamp"] == 1655217461579
            assert long["info"]["positionSide"] == "LONG"
    finally:
        await exchange.close()


async def test_ccxt_fetch_positions_ws_one_way_ed25519(server: PosriskServer, keys: Keys) -> None:
    exchange = ccxt_client(server, ED_KEY, keys.ed25519_private)
    try:
        positions = await exchange.fetch_positions_ws()
        # Flat symbols (entryPrice "0.0") are dropped by ccxt: two positions remain.
        by_symbol = {p["symbol"]: p for p in positions}
        assert sorted(by_symbol) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
        eth = by_symbol["ETH/USDT:USDT"]
        assert (eth["side"], eth["marginMode"], eth["contracts"]) == ("short", "isolated", 1.0)
        assert (eth["entryPrice"], eth["markPrice"], eth["unrealizedPnl"]) == (1000.0, 950.0, 50.0)
        assert eth["liquidationPrice"] == 1095.61752988
        assert eth["collateral"] == 150.0
        assert eth["leverage"] == 10
        btc = by_symbol["BTC/USDT:USDT"]
        assert (btc["side"], btc["unrealizedPnl"], btc["notional"]) == (
            "long",
            11.23050525,
            211.23050525,
        )
        [v2_eth] = await exchange.fetch_positions_ws(
            ["ETH/USDT:USDT"], {"method": "v2/account.position"}
        )
        assert (v2_eth["maintenanceMargin"], v2_eth["initialMargin"]) == (3.8, 95.0)
    finally:
        await exchange.close()


async def test_ccxt_rest_fetch_positions(server: PosriskServer) -> None:
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    try:
        positions = await exchange.fetch_positions(["BTC/USDT:USDT"])
        [btc] = [p for p in positions if p["contracts"]]
        assert (btc["contracts"], btc["entryPrice"], btc["unrealizedPnl"]) == (
            0.01,
            20000.0,
            11.23050525,
        )
        # ccxt computes it from our /fapi/v1/leverageBracket: 211.23050525 × 0.004.
        assert btc["maintenanceMarginPercentage"] == 0.004
        assert btc["maintenanceMargin"] == 0.844922021
    finally:
        await exchange.close()


async def test_ccxt_maps_our_errors_to_its_exceptions(server: PosriskServer) -> None:
    import ccxt

    exchange = ccxt_client(server, HMAC_KEY, "not-the-secret")
    try:
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            await exchange.fetch_positions_ws()
    finally:
        await exchange.close()


# -- Binance's SDK ------------------------------------------------------------------------


async def sdk_connection(server: PosriskServer, **credentials: Any) -> Any:
    from binance_common.configuration import ConfigurationWebSocketAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    config = ConfigurationWebSocketAPI(stream_url=server.ws_url, **credentials)
    client = DerivativesTradingUsdsFutures(config_ws_api=config)
    connection = await client.websocket_api.create_connection()  # type: ignore[no-untyped-call]
    assert connection is not None, "the SDK could not connect"
    return connection


async def test_binance_sdk_position_information_hmac(server: PosriskServer) -> None:
    connection = await sdk_connection(server, api_key=HEDGE_KEY, api_secret=HEDGE_SECRET)
    try:
        response = await connection.position_information(symbol="BTCUSDT")
        long, short = response.data().result
        assert (long.position_side, long.position_amt, long.entry_price) == (
            "LONG",
            "0.001",
            "22185.2",
        )
        assert (long.un_realized_profit, long.notional, long.liquidation_price) == (
            "-1.06214947",
            "21.12305052",
            "19731.45529116",
        )
        assert (short.position_side, short.entry_price) == ("SHORT", "0.0")
        limits = response.rate_limits
        assert limits is not None and limits[0].limit == 2400 and limits[0].count == 10
        [v2] = (await connection.position_information_v2()).data().result
        assert (v2.position_side, v2.maint_margin, v2.adl) == ("LONG", "0.08449220", 0)
    finally:
        await connection.close_connection()


async def test_binance_sdk_position_information_ed25519(server: PosriskServer, keys: Keys) -> None:
    connection = await sdk_connection(server, api_key=ED_KEY, private_key=keys.ed25519_private)
    try:
        [eth] = (await connection.position_information(symbol="ETHUSDT")).data().result
        assert (eth.position_amt, eth.isolated_margin, eth.isolated_wallet) == (
            "-1.000",
            "150.00000000",
            "100.00000000",
        )
        rows = (await connection.position_information_v2()).data().result
        assert [(r.symbol, r.position_amt) for r in rows] == [
            ("BTCUSDT", "0.010"),
            ("ETHUSDT", "-1.000"),
        ]
    finally:
        await connection.close_connection()


async def test_binance_sdk_sees_our_errors(server: PosriskServer) -> None:
    connection = await sdk_connection(server, api_key=HMAC_KEY, api_secret="wrong")
    try:
        response = await connection.position_information()
        error = response.data()["error"]
        assert error["code"] == -1022
    finally:
        await connection.close_connection()


# -- python-binance -----------------------------------------------------------------------


def python_binance(server: PosriskServer, api_key: str, **secret: Any) -> Any:
    from binance.async_client import AsyncClient
    from binance.ws.websocket_api import WebsocketAPI

    client = AsyncClient(api_key, **secret)  # the plain constructor makes no request
    client.FUTURES_URL = f"{server.http_url}/fapi"
    client.API_URL = f"{server.http_url}/api"
    client.ws_future = WebsocketAPI(url=server.ws_url)
    # Its close() waits for the read loop's recv timeout (10 s): 1 s is plenty on loopback.
    client.ws_future.TIMEOUT = 1
    return client


async def close_python_binance(client: Any) -> None:
    await client.ws_future.close()
    await client.close_connection()


async def test_python_binance_ws_futures_account_position_hmac(server: PosriskServer) -> None:
    client = python_binance(server, HEDGE_KEY, api_secret=HEDGE_SECRET)
    try:
        long, short = await client.ws_futures_account_position(symbol="BTCUSDT")
        assert (long["positionSide"], long["unRealizedProfit"], long["liquidationPrice"]) == (
            "LONG",
            "-1.06214947",
            "19731.45529116",
        )
        assert short["positionAmt"] == "0.000"
        # A boolean param: python-binance signs it as "False" but sends JSON false.
        rows = await client.ws_futures_v2_account_position(returnRateLimits=False)
        assert [r["positionSide"] for r in rows] == ["LONG"]
    finally:
        await close_python_binance(client)


async def test_python_binance_ws_futures_account_position_ed25519(
    server: PosriskServer, keys: Keys
) -> None:
    # Ed25519 signatures come percent-encoded (%2B, %2F, %3D) from python-binance.
    client = python_binance(server, ED_KEY, private_key=keys.ed25519_private)
    try:
        [eth] = await client.ws_futures_account_position(symbol="ETHUSDT")
        assert (eth["positionAmt"], eth["liquidationPrice"], eth["marginType"]) == (
            "-1.000",
            "1095.61752988",
            "isolated",
        )
        every = await client.ws_futures_account_position()
        assert len(every) == 345
    finally:
        await close_python_binance(client)


async def test_python_binance_raises_our_error_codes(server: PosriskServer) -> None:
    from binance.exceptions import BinanceAPIException

    client = python_binance(server, HMAC_KEY, api_secret=HMAC_SECRET)
    try:
        with pytest.raises(BinanceAPIException) as info:
            await client.ws_futures_account_position(symbol="NOTASYMBOL")
        assert (info.value.code, info.value.status_code) == (-1121, 400)
        # The connection survives an error reply.
        rows = await client.ws_futures_account_position(symbol="BTCUSDT")
        assert rows[0]["positionAmt"] == "0.010"
    finally:
        await close_python_binance(client)


@contextlib.asynccontextmanager
async def sdk_user_events(server: PosriskServer, key: str) -> AsyncIterator[asyncio.Queue[Any]]:
    """Binance's SDK on ``key``'s user stream, as it connects (three bare ``/market``,
    ``/public`` and ``/private`` ``/stream`` connections, then SUBSCRIBE [key]): the queue
    of the events it parses, once the server has the key attached."""
    from binance_common.configuration import ConfigurationWebSocketStreams
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    from .test_stream_routes import attached, base

    config = ConfigurationWebSocketStreams(stream_url=base(server))
    client = DerivativesTradingUsdsFutures(config_ws_streams=config)
    connection = await client.websocket_streams.create_connection()  # type: ignore[no-untyped-call]
    try:
        events: asyncio.Queue[Any] = asyncio.Queue()
        stream = await connection.user_data(key)
        stream.on("message", events.put_nowait)
        await attached(server, key)
        yield events
    finally:
        await connection.close_connection(close_session=True)


async def test_binance_sdk_user_data_subscribes_on_the_private_stream(
    server: PosriskServer,
) -> None:
    from .test_stream_routes import deposit
    from .test_user_streams import listen_key

    async with sdk_user_events(server, await listen_key(server)) as events:
        await deposit(server, "25")
        update = (await asyncio.wait_for(events.get(), 5)).actual_instance
        assert type(update).__name__ == "AccountUpdate"
        assert update.a.m == "DEPOSIT"
        [balance] = update.a.B
        assert (balance.a, balance.wb, balance.cw, balance.bc) == (
            "USDT",
            "1025.00000000",
            "925.00000000",
            "25",
        )


async def test_python_binance_futures_user_socket(server: PosriskServer) -> None:
    from binance.ws.streams import BinanceSocketManager

    from posrisk.protocol.streams import StreamTarget

    from .test_stream_routes import attached, base, deposit

    client = python_binance(server, HMAC_KEY, api_secret=HMAC_SECRET)
    try:
        key = await client.futures_stream_get_listen_key()  # POST /fapi/v1/listenKey
        manager = BinanceSocketManager(client)
        manager.FSTREAM_URL = base(server) + "/"  # it appends private/ws?listenKey=K
        socket = manager.futures_user_socket()
        socket.TIMEOUT = 1  # its exit waits for the read loop's recv timeout
        async with socket:
            await attached(server, key)
            assert server.gateway is not None
            [listener] = server.gateway.streams
            assert listener.target == StreamTarget("raw", "private", (key,))
            await deposit(server, "25")
            event = await asyncio.wait_for(socket.recv(), 5)
        assert event["e"] == "ACCOUNT_UPDATE" and event["a"]["m"] == "DEPOSIT"
        assert event["a"]["B"] == [
            {"a": "USDT", "wb": "1025.00000000", "cw": "925.00000000", "bc": "25"}
        ]
    finally:
        await close_python_binance(client)


async def test_ccxt_loads_currencies_and_keeps_a_listen_key_over_rest(
    server: PosriskServer,
) -> None:
    # ccxt's defaults: with a key, load_markets also asks the wallet and margin routes.
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    exchange.options["fetchCurrencies"] = True
    try:
        await exchange.load_markets()
        assert exchange.currencies["USDT"]["name"] == "TetherUS"
        started = await exchange.fapiPrivatePostListenKey()
        kept = await exchange.fapiPrivatePutListenKey()
        assert kept == started and len(started["listenKey"]) == 64
        assert await exchange.fapiPrivateDeleteListenKey() == {}
    finally:
        await exchange.close()


async def test_python_binance_keeps_a_listen_key_and_pings_over_rest(server: PosriskServer) -> None:
    client = python_binance(server, HMAC_KEY, api_secret=HMAC_SECRET)
    try:
        assert await client.ping() == {}
        listen_key = await client.futures_stream_get_listen_key()
        assert len(listen_key) == 64
        assert await client.futures_stream_keepalive(listen_key) == {"listenKey": listen_key}
        assert await client.futures_stream_close(listen_key) == {}
    finally:
        await close_python_binance(client)
