"""Binance's own SDK (binance-sdk-derivatives-trading-usds-futures), unchanged but for its
URLs, trading on posrisk: the round trip of ``trader`` over REST (``new_order``,
``query_order``, ``cancel_order``, ``current_all_open_orders``, ``account_trade_list``) and
the WebSocket API (``new_order``, ``query_order``, ``cancel_order``), every read agreeing
with the engine, and ``user_data`` telling each step in ORDER_TRADE_UPDATEs its models parse.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import pytest
from binance_sdk_derivatives_trading_usds_futures.rest_api import models as rest_models
from binance_sdk_derivatives_trading_usds_futures.websocket_api import models as ws_models
from examples.bots.binance_sdk_startup import rest_client

from posrisk.app import PosriskServer

from .test_third_party_clients import sdk_connection, sdk_user_events
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
)

__all__ = ["trading"]

Side, Type = rest_models.NewOrderSideEnum, rest_models.NewOrderTypeEnum
TimeInForce, ReduceOnly = rest_models.NewOrderTimeInForceEnum, rest_models.NewOrderReduceOnlyEnum
RespType = rest_models.NewOrderNewOrderRespTypeEnum

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def test_binance_sdk_round_trip(trading: PosriskServer) -> None:
    rest = rest_client(TRADER_KEY, TRADER_SECRET, trading.http_url)
    key = (await asyncio.to_thread(rest.start_user_data_stream)).data().listen_key
    connection = await sdk_connection(trading, api_key=TRADER_KEY, api_secret=TRADER_SECRET)
    try:
        async with sdk_user_events(trading, key) as events:
            ids = await round_trip(trading, rest, connection)
            updates = [await asyncio.wait_for(next_order_update(events), 5) for _ in range(10)]
    finally:
        await connection.close_connection()
    bought, far, near, spare, closed = ids
    assert [(u.i, u.x, u.X, D(u.L), D(u.n or "0"), u.m) for u in updates] == [
        (bought, "NEW", "NEW", D(0), D(0), False),
        (bought, "TRADE", "FILLED", D("20000"), FEES[0], False),
        (far, "NEW", "NEW", D(0), D(0), False),
        (far, "CANCELED", "CANCELED", D(0), D(0), False),
        (near, "NEW", "NEW", D(0), D(0), False),
        (near, "TRADE", "FILLED", D("19500"), FEES[1], True),
        (spare, "NEW", "NEW", D(0), D(0), False),
        (spare, "CANCELED", "CANCELED", D(0), D(0), False),
        (closed, "NEW", "NEW", D(0), D(0), False),
        (closed, "TRADE", "FILLED", D("19400"), FEES[2], False),
    ]
    assert updates[-1].R is True and D(updates[-1].rp) == REALIZED
    assert all(u.additional_properties == {} for u in updates)  # nothing the models lack


async def next_order_update(events: asyncio.Queue[Any]) -> Any:
    """The next ORDER_TRADE_UPDATE's order (``o``), parsed by the SDK's models."""
    while True:
        event = (await events.get()).actual_instance
        if type(event).__name__ == "OrderTradeUpdate":
            return event.o


def call(method: Any, **params: Any) -> Any:
    """A REST method's parsed answer, in a thread (the SDK's REST client blocks)."""
    return asyncio.to_thread(lambda: method(**params).data())


async def ws_limit(ws: Any, price: float) -> Any:
    """A GTC LIMIT BUY 0.010 at ``price`` over the WebSocket API: its answer."""
    answer = await ws.new_order(
        symbol=SYMBOL,
        side=ws_models.NewOrderSideEnum.BUY,
        type=ws_models.NewOrderTypeEnum.LIMIT,
        quantity=0.01,
        price=price,
        time_in_force=ws_models.NewOrderTimeInForceEnum.GTC,
    )
    return answer.data().result


async def round_trip(server: PosriskServer, rest: Any, ws: Any) -> list[int]:
    """The trader's steps; the ids of the market buy, the far limit, the near limit,
    the WS limit canceled there, and the close."""
    bought = await call(
        rest.new_order,
        symbol=SYMBOL,
        side=Side.BUY,
        type=Type.MARKET,
        quantity=0.01,
        new_order_resp_type=RespType.RESULT,
    )
    # The SDK's NewOrderResponse has no avgPrice field: Binance sends it, the model keeps
    # it aside.
    assert (bought.status, bought.additional_properties["avgPrice"]) == ("FILLED", "20000.00000")

    far = await call(
        rest.new_order,
        symbol=SYMBOL,
        side=Side.BUY,
        type=Type.LIMIT,
        quantity=0.01,
        price=19000.0,
        time_in_force=TimeInForce.GTC,
    )
    [waiting] = await call(rest.current_all_open_orders, symbol=SYMBOL)
    assert (waiting.order_id, waiting.price, waiting.status) == (far.order_id, "19000.00", "NEW")
    assert (await call(rest.query_order, symbol=SYMBOL, order_id=far.order_id)).status == "NEW"
    canceled = await call(rest.cancel_order, symbol=SYMBOL, order_id=far.order_id)
    assert canceled.status == "CANCELED"

    near = await ws_limit(ws, 19500.0)
    got = (await ws.query_order(symbol=SYMBOL, order_id=near.order_id)).data().result
    assert got.status == "NEW"
    await move_mark(server, FILL_MARK)
    got = (await ws.query_order(symbol=SYMBOL, order_id=near.order_id)).data().result
    assert (got.status, got.avg_price) == ("FILLED", "19500.00000")

    spare = await ws_limit(ws, 18500.0)
    canceled = (await ws.cancel_order(symbol=SYMBOL, order_id=spare.order_id)).data().result
    assert canceled.status == "CANCELED"
    assert await call(rest.current_all_open_orders, symbol=SYMBOL) == []

    closed = await call(
        rest.new_order,
        symbol=SYMBOL,
        side=Side.SELL,
        type=Type.MARKET,
        quantity=0.02,
        reduce_only=ReduceOnly.TRUE,
        new_order_resp_type=RespType.RESULT,
    )
    assert (closed.status, closed.additional_properties["avgPrice"], closed.reduce_only) == (
        "FILLED",
        "19400.00000",
        True,
    )
    await check_reads(server, rest, [bought.order_id, near.order_id, closed.order_id])
    return [o.order_id for o in (bought, far, near, spare, closed)]


async def check_reads(server: PosriskServer, rest: Any, fills: list[int]) -> None:
    """Trades, fees, balance and positions read back as the engine holds them."""
    trades = await call(rest.account_trade_list, symbol=SYMBOL)
    assert [(t.order_id, t.price, t.maker, t.commission) for t in trades] == [
        (fills[0], "20000.00", False, "0.10000000"),
        (fills[1], "19500.00", True, "0.03900000"),
        (fills[2], "19400.00", False, "0.19400000"),
    ]
    assert [D(t.commission) for t in trades] == FEES
    assert sum(D(t.realized_pnl) for t in trades) == REALIZED
    assert trader_state(server) == (WALLET, D(0))
    account = await call(rest.account_information_v3)
    assert (D(account.total_wallet_balance), account.positions) == (WALLET, [])


async def test_binance_sdk_algo_orders_over_rest_and_ws(trading: PosriskServer) -> None:
    # Long 0.010 at 20000; a TAKE_PROFIT_MARKET over REST and one over the WS API, both
    # canceled; a reduce-only STOP_MARKET at 19000 that the mark's fall to 18900 triggers:
    # sold at the mark as taker (fee 0.0945, realized −11).
    rest = rest_client(TRADER_KEY, TRADER_SECRET, trading.http_url)
    algo = rest_models.NewAlgoOrderAlgoTypeEnum.CONDITIONAL
    sell = rest_models.NewAlgoOrderSideEnum.SELL
    reduce_only = rest_models.NewAlgoOrderReduceOnlyEnum.TRUE
    await call(rest.new_order, symbol=SYMBOL, side=Side.BUY, type=Type.MARKET, quantity=0.01)
    profit = await call(
        rest.new_algo_order,
        algo_type=algo,
        symbol=SYMBOL,
        side=sell,
        type=rest_models.NewAlgoOrderTypeEnum.TAKE_PROFIT_MARKET,
        quantity=0.01,
        trigger_price=21000.0,
        reduce_only=reduce_only,
    )
    [waiting] = await call(rest.current_all_algo_open_orders, symbol=SYMBOL)
    assert (waiting.algo_id, waiting.algo_status, waiting.trigger_price) == (
        profit.algo_id,
        "NEW",
        "21000.00",
    )
    got = await call(rest.query_algo_order, algo_id=profit.algo_id)
    assert (got.order_type, got.additional_properties) == ("TAKE_PROFIT_MARKET", {})
    assert (await call(rest.cancel_algo_order, algo_id=profit.algo_id)).code == "200"

    connection = await sdk_connection(trading, api_key=TRADER_KEY, api_secret=TRADER_SECRET)
    try:
        ws_algo = ws_models.NewAlgoOrderAlgoTypeEnum.CONDITIONAL
        ws_sell = ws_models.NewAlgoOrderSideEnum.SELL

        async def ws_place(kind: Any, trigger: float) -> Any:
            answer = await connection.new_algo_order(
                algo_type=ws_algo,
                symbol=SYMBOL,
                side=ws_sell,
                type=kind,
                quantity=0.01,
                trigger_price=trigger,
                reduce_only=ws_models.NewAlgoOrderReduceOnlyEnum.TRUE,
            )
            return answer.data().result

        spare = await ws_place(ws_models.NewAlgoOrderTypeEnum.TAKE_PROFIT_MARKET, 22000.0)
        gone = (await connection.cancel_algo_order(algo_id=spare.algo_id)).data().result
        assert gone.code == "200"
        stop = await ws_place(ws_models.NewAlgoOrderTypeEnum.STOP_MARKET, 19000.0)
        assert (stop.algo_status, stop.trigger_price) == ("NEW", "19000.00")
    finally:
        await connection.close_connection()
    await move_mark(trading, D("18900"))
    done = await call(rest.query_algo_order, algo_id=stop.algo_id)
    assert (done.algo_status, done.actual_price) == ("FINISHED", "18900.00")
    *_, sold = await call(rest.account_trade_list, symbol=SYMBOL)
    assert (sold.side, sold.price, sold.commission, sold.realized_pnl) == (
        "SELL",
        "18900.00",
        "0.09450000",
        "-11.00000000",
    )
    assert trader_state(trading) == (D("1000") - D("0.1") - D("0.0945") - D("11"), D(0))


async def test_binance_sdk_sees_order_refusals_by_their_codes(trading: PosriskServer) -> None:
    from binance_common.errors import BadRequestError

    rest = rest_client(TRADER_KEY, TRADER_SECRET, trading.http_url)
    # Over REST a 400 raises, its ``status_code`` being Binance's code (read only from a
    # JSON Content-Type): Margin is insufficient.
    with pytest.raises(BadRequestError) as info:
        await call(rest.new_order, symbol=SYMBOL, side=Side.BUY, type=Type.MARKET, quantity=10.0)
    assert (info.value.status_code, info.value.error_message) == (-2019, "Margin is insufficient.")
    # Over the WS API the error is the answer: ReduceOnly Order is rejected; Unknown order.
    connection = await sdk_connection(trading, api_key=TRADER_KEY, api_secret=TRADER_SECRET)
    try:
        answer = await connection.new_order(
            symbol=SYMBOL,
            side=ws_models.NewOrderSideEnum.SELL,
            type=ws_models.NewOrderTypeEnum.MARKET,
            quantity=0.01,
            reduce_only=ws_models.NewOrderReduceOnlyEnum.TRUE,
        )
        assert answer.data()["error"]["code"] == -2022
        answer = await connection.cancel_order(symbol=SYMBOL, order_id=123456)
        assert answer.data()["error"]["code"] == -2011
    finally:
        await connection.close_connection()
