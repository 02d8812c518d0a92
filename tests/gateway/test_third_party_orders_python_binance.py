"""python-binance, unchanged but for its URLs, trading on posrisk: the round trip of
``trader`` over REST (``futures_*``) and the WebSocket API (``ws_futures_*``), with a stop on
the algo route, every read agreeing with the engine, and ``futures_user_socket`` telling
each step with ORDER_TRADE_UPDATE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest
import pytest_asyncio
from examples.bots import python_binance_startup
from examples.bots.pointing import point_python_binance_streams

from posrisk.app import PosriskServer

from .test_stream_routes import attached
from .trader import (
    FEES,
    FILL_MARK,
    REALIZED,
    SYMBOL,
    TRADER_KEY,
    TRADER_SECRET,
    WALLET,
    move_mark,
    trader_state,
    trading,
    until,
)

__all__ = ["trading"]

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest_asyncio.fixture
async def client(trading: PosriskServer) -> AsyncIterator[Any]:
    made = await python_binance_startup.client_for(TRADER_KEY, TRADER_SECRET, trading.http_url)
    made.ws_future.TIMEOUT = 1  # its close() waits this long for the read loop
    try:
        yield made
    finally:
        await python_binance_startup.close(made)


async def test_python_binance_round_trip(trading: PosriskServer, client: Any) -> None:
    from binance.ws.streams import BinanceSocketManager

    manager = point_python_binance_streams(BinanceSocketManager(client), trading.http_url)
    socket = manager.futures_user_socket()  # POST listenKey, /private/ws?listenKey=K
    socket.TIMEOUT = 1  # its exit waits for the read loop's recv timeout
    events: list[dict[str, Any]] = []

    async def listen() -> None:
        while True:
            events.append(await socket.recv())

    async with socket:
        assert trading.streams is not None
        [key] = [k.key for k in trading.streams.listen_keys()]
        await attached(trading, key)
        listener = asyncio.ensure_future(listen())
        try:
            ids = await round_trip(trading, client)
            await until(lambda: len(order_updates(events)) == 12, "every ORDER_TRADE_UPDATE")
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
    bought, far, near, spare, rest, closed, stop = ids
    assert order_updates(events) == [
        (bought, "NEW", "NEW", D("0"), D("0")),
        (bought, "TRADE", "FILLED", D("20000"), D("0.1")),
        (far, "NEW", "NEW", D("0"), D("0")),
        (far, "CANCELED", "CANCELED", D("0"), D("0")),
        (near, "NEW", "NEW", D("0"), D("0")),
        (near, "TRADE", "FILLED", D("19500"), D("0.039")),
        (spare, "NEW", "NEW", D("0"), D("0")),
        (spare, "CANCELED", "CANCELED", D("0"), D("0")),
        (rest, "NEW", "NEW", D("0"), D("0")),
        (rest, "CANCELED", "CANCELED", D("0"), D("0")),
        (closed, "NEW", "NEW", D("0"), D("0")),
        (closed, "TRADE", "FILLED", D("19400"), D("0.194")),
    ]
    algos = [(e["o"]["aid"], e["o"]["X"]) for e in events if e["e"] == "ALGO_UPDATE"]
    assert algos == [(stop, "NEW"), (stop, "CANCELED")]
    [maker] = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["m"]]
    assert (maker["i"], maker["N"]) == (near, "USDT")


def order_updates(events: list[dict[str, Any]]) -> list[tuple[int, str, str, D, D]]:
    """Each ORDER_TRADE_UPDATE: order id, execution, status, last price, commission."""
    return [
        (o["i"], o["x"], o["X"], D(o["L"]), D(o.get("n", "0")))
        for o in (e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE")
    ]


async def round_trip(server: PosriskServer, client: Any) -> list[int]:
    """The trader's steps; the order ids of the market buy, the far limit, the near
    limit, the WS limit, the limit canceled with all and the close; the stop's algo id."""
    bought = await client.futures_create_order(
        symbol=SYMBOL, side="BUY", type="MARKET", quantity="0.010"
    )
    # python-binance leaves newOrderRespType to Binance's default, ACK: the order as placed.
    assert (bought["status"], bought["executedQty"], bought["avgPrice"]) == ("NEW", "0.000", "0.00")

    far = await client.futures_create_order(
        symbol=SYMBOL, side="BUY", type="LIMIT", quantity="0.010", price="19000", timeInForce="GTC"
    )
    [open_order] = await client.futures_get_open_orders(symbol=SYMBOL)
    assert (open_order["orderId"], open_order["status"]) == (far["orderId"], "NEW")
    got = await client.futures_get_order(symbol=SYMBOL, orderId=far["orderId"])
    assert (got["price"], got["status"]) == ("19000.00", "NEW")
    canceled = await client.futures_cancel_order(symbol=SYMBOL, orderId=far["orderId"])
    assert canceled["status"] == "CANCELED"

    near = await client.ws_futures_create_order(
        symbol=SYMBOL, side="BUY", type="LIMIT", quantity="0.010", price="19500", timeInForce="GTC"
    )
    got = await client.ws_futures_get_order(symbol=SYMBOL, orderId=near["orderId"])
    assert got["status"] == "NEW"
    await move_mark(server, FILL_MARK)
    got = await client.ws_futures_get_order(symbol=SYMBOL, orderId=near["orderId"])
    assert (got["status"], got["avgPrice"], got["executedQty"]) == (
        "FILLED",
        "19500.00000",
        "0.010",
    )

    stop = await client.futures_create_order(
        symbol=SYMBOL,
        side="SELL",
        type="STOP_MARKET",
        quantity="0.020",
        stopPrice="18000",
        reduceOnly="true",
    )  # POST /fapi/v1/algoOrder, stopPrice sent as triggerPrice
    assert (stop["algoStatus"], stop["triggerPrice"]) == ("NEW", "18000.00")
    [waiting] = await client.futures_get_open_orders(symbol=SYMBOL, conditional=True)
    assert waiting["algoId"] == stop["algoId"]
    gone = await client.futures_cancel_order(symbol=SYMBOL, algoId=stop["algoId"])
    assert gone["code"] == "200"

    spare = await client.ws_futures_create_order(
        symbol=SYMBOL, side="BUY", type="LIMIT", quantity="0.010", price="18500", timeInForce="GTC"
    )
    canceled = await client.ws_futures_cancel_order(symbol=SYMBOL, orderId=spare["orderId"])
    assert canceled["status"] == "CANCELED"
    rest = await client.futures_create_order(
        symbol=SYMBOL, side="BUY", type="LIMIT", quantity="0.010", price="18600", timeInForce="GTC"
    )
    answer = await client.futures_cancel_all_open_orders(symbol=SYMBOL)
    assert answer == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert await client.futures_get_open_orders(symbol=SYMBOL) == []

    closed = await client.futures_create_order(
        symbol=SYMBOL,
        side="SELL",
        type="MARKET",
        quantity="0.020",
        reduceOnly="true",
        newOrderRespType="RESULT",
    )
    assert (closed["status"], closed["avgPrice"], closed["reduceOnly"]) == (
        "FILLED",
        "19400.00000",
        True,
    )

    trades = await client.futures_account_trades(symbol=SYMBOL)
    assert [(t["orderId"], t["price"], t["maker"], t["commission"]) for t in trades] == [
        (bought["orderId"], "20000.00", False, "0.10000000"),
        (near["orderId"], "19500.00", True, "0.03900000"),
        (closed["orderId"], "19400.00", False, "0.19400000"),
    ]
    assert [D(t["commission"]) for t in trades] == FEES
    assert sum(D(t["realizedPnl"]) for t in trades) == REALIZED
    assert trader_state(server) == (WALLET, D(0))
    [usdt] = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
    assert D(usdt["balance"]) == WALLET
    # GET /fapi/v3/positionRisk lists open positions only: none is left.
    assert await client.futures_position_information(symbol=SYMBOL) == []
    return [o["orderId"] for o in (bought, far, near, spare, rest, closed)] + [stop["algoId"]]


async def test_python_binance_stops_over_the_ws_api(trading: PosriskServer, client: Any) -> None:
    # Long 0.010 at 20000; a TAKE_PROFIT_MARKET SELL at 21000 placed with algoOrder.place
    # and canceled with algoOrder.cancel; a reduce-only STOP_MARKET SELL at 19000 that the
    # mark's fall to 18900 triggers: sold at the mark as taker (fee 189 × 0.0005 = 0.0945;
    # realized (18900 − 20000) × 0.010 = −11).
    await client.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="0.010")
    profit = await client.ws_futures_create_order(
        symbol=SYMBOL,
        side="SELL",
        type="TAKE_PROFIT_MARKET",
        quantity="0.010",
        stopPrice="21000",
        reduceOnly="true",
    )
    assert (profit["algoStatus"], profit["orderType"]) == ("NEW", "TAKE_PROFIT_MARKET")
    got = await client.futures_get_order(symbol=SYMBOL, algoId=profit["algoId"])
    assert got["triggerPrice"] == "21000.00"
    gone = await client.ws_futures_cancel_order(symbol=SYMBOL, algoId=profit["algoId"])
    assert gone["code"] == "200"
    stop = await client.ws_futures_create_order(
        symbol=SYMBOL,
        side="SELL",
        type="STOP_MARKET",
        quantity="0.010",
        stopPrice="19000",
        reduceOnly="true",
    )
    await move_mark(trading, D("18900"))
    done = await client.futures_get_order(symbol=SYMBOL, algoId=stop["algoId"])
    assert (done["algoStatus"], done["actualPrice"]) == ("FINISHED", "18900.00")
    assert await client.futures_get_open_orders(symbol=SYMBOL, conditional=True) == []
    *_, sold = await client.futures_account_trades(symbol=SYMBOL)
    assert (sold["side"], sold["price"], sold["commission"], sold["realizedPnl"]) == (
        "SELL",
        "18900.00",
        "0.09450000",
        "-11.00000000",
    )
    assert trader_state(trading) == (D("1000") - D("0.1") - D("0.0945") - D("11"), D(0))


async def test_python_binance_raises_order_refusals_with_their_codes(client: Any) -> None:
    from binance.exceptions import BinanceAPIException

    refused = [
        # Margin is insufficient; ReduceOnly Order is rejected; Unknown order sent.
        client.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="10"),
        client.ws_futures_create_order(
            symbol=SYMBOL, side="SELL", type="MARKET", quantity="0.010", reduceOnly="true"
        ),
        client.futures_cancel_order(symbol=SYMBOL, orderId=123456),
        client.ws_futures_get_order(symbol=SYMBOL, orderId=123456),
    ]
    codes = []
    for call in refused:
        with pytest.raises(BinanceAPIException) as info:
            await call
        codes.append((info.value.code, info.value.status_code))
    assert codes == [(-2019, 400), (-2022, 400), (-2011, 400), (-2013, 400)]
