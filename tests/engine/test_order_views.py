"""The order shapes, golden against Binance's formats, and read by the real clients:
every payload goes through the Binance SDK's strict pydantic models and ccxt's parsers
(an offline ``binanceusdm``: no network)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from posrisk.engine import Market
from posrisk.engine.events import (
    AlgoOrder,
    AlgoStatus,
    Execution,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    Trade,
)
from posrisk.engine.market import Symbol
from posrisk.engine.order_views import (
    algo_cancel_answer,
    algo_object,
    algo_update_event,
    order_object,
    order_trade_update,
    trade_lite,
    user_trade_row,
)

from .conftest import D

T = 1_764_000_000_000
Row = dict[str, Any]


@pytest.fixture(scope="module")
def btc() -> Symbol:
    return Market.default()["BTCUSDT"]


def rest_order() -> Order:
    """A BUY LIMIT 0.1 @ 42088 resting in the book (the 2024 WS capture's numbers)."""
    return Order(
        order_id=1_000_000_001,
        client_order_id="rest-1",
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=D("0.100"),
        price=D("42088"),
        time=T,
        update_time=T,
    )


def market_fill() -> OrderUpdate:
    """A taker BUY MARKET 0.002 filled at 91739.9, fee 0.05% (a 2024-11 live capture)."""
    order = Order(
        order_id=1_000_000_002,
        client_order_id="mkt-1",
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        quantity=D("0.002"),
        status=OrderStatus.FILLED,
        executed_qty=D("0.002"),
        cum_quote=D("183.4798"),
        time=T,
        update_time=T,
    )
    trade = Trade(2_000, D("0.002"), D("91739.9"), fee=D("0.0917399"), maker=False)
    return OrderUpdate(order, Execution.TRADE, trade, time=T)


def trade_of(update: OrderUpdate) -> Trade:
    assert update.trade is not None
    return update.trade


BASE_KEYS = [
    "orderId",
    "symbol",
    "status",
    "clientOrderId",
    "price",
    "avgPrice",
    "origQty",
    "executedQty",
    "cumQty",
    "cumQuote",
    "timeInForce",
    "type",
    "reduceOnly",
    "closePosition",
    "side",
    "positionSide",
    "stopPrice",
    "workingType",
    "priceProtect",
    "origType",
    "priceMatch",
    "selfTradePreventionMode",
    "goodTillDate",
    "updateTime",
]

# Every field, in the order Binance's ORDER_TRADE_UPDATE field table lists them.
OTU_KEYS = [
    "s",
    "c",
    "S",
    "ps",
    "o",
    "ot",
    "f",
    "q",
    "p",
    "sp",
    "ap",
    "x",
    "X",
    "i",
    "t",
    "T",
    "l",
    "z",
    "L",
    "n",
    "N",
    "rp",
    "b",
    "a",
    "m",
    "R",
    "cp",
    "pP",
    "wt",
    "V",
    "pm",
    "gtd",
    "si",
    "ss",
    "er",
]


def sdk_rest(name: str, payload: Row) -> Any:
    """``payload`` read by the SDK's REST model ``name`` (strict: a wrong type raises)."""
    from binance_sdk_derivatives_trading_usds_futures.rest_api import models

    model = getattr(models, name).from_dict(payload)
    assert model is not None
    return model


def sdk_ws_api(name: str, payload: Row) -> Any:
    from binance_sdk_derivatives_trading_usds_futures.websocket_api import models

    model = getattr(models, name).from_dict(payload)
    assert model is not None
    return model


def sdk_stream(name: str, payload: Row) -> Any:
    from binance_sdk_derivatives_trading_usds_futures.websocket_streams import models

    model = getattr(models, name).from_dict(payload)
    assert model is not None
    return model


def ccxt_rest() -> Any:
    import ccxt

    return ccxt.binanceusdm()


def ccxt_ws() -> Any:
    import ccxt.pro

    return ccxt.pro.binanceusdm()


def test_a_resting_limit_order_as_placed_queried_and_streamed(btc: Symbol) -> None:
    order = rest_order()
    placed = order_object(order, btc, "place")
    assert placed == {
        "orderId": 1_000_000_001,
        "symbol": "BTCUSDT",
        "status": "NEW",
        "clientOrderId": "rest-1",
        "price": "42088.00",
        "avgPrice": "0.00",
        "origQty": "0.100",
        "executedQty": "0.000",
        "cumQty": "0.000",
        "cumQuote": "0.00000",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "reduceOnly": False,
        "closePosition": False,
        "side": "BUY",
        "positionSide": "BOTH",
        "stopPrice": "0.00",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": "LIMIT",
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "updateTime": T,
    }
    assert list(placed) == BASE_KEYS
    queried = order_object(order, btc, "query")
    assert list(queried) == [*[k for k in BASE_KEYS if k != "cumQty"][:-1], "time", "updateTime"]
    assert queried["time"] == T
    assert sdk_rest("NewOrderResponse", placed).order_id == 1_000_000_001
    assert sdk_ws_api("NewOrderResponseResult", placed).price == "42088.00"
    assert sdk_rest("QueryOrderResponse", queried).time == T
    assert sdk_ws_api("QueryOrderResponseResult", queried).avg_price == "0.00"
    for name in ("AllOrdersResponseInner", "CurrentAllOpenOrdersResponseInner"):
        sdk_rest(name, queried)
    sdk_rest("QueryCurrentOpenOrderResponse", queried)
    parsed = ccxt_rest().parse_order(queried)
    assert (parsed["status"], parsed["type"], parsed["side"]) == ("open", "limit", "buy")
    assert (parsed["price"], parsed["amount"], parsed["filled"]) == (42088.0, 0.1, 0.0)

    event = order_trade_update(
        OrderUpdate(order, Execution.NEW, time=T),
        btc,
        bid_notional=D("4208.8"),
        ask_notional=D("0"),
        time=T,
    )
    assert event == {
        "e": "ORDER_TRADE_UPDATE",
        "E": T,
        "T": T,
        "o": {
            "s": "BTCUSDT",
            "c": "rest-1",
            "S": "BUY",
            "o": "LIMIT",
            "f": "GTC",
            "q": "0.1",
            "p": "42088",
            "ap": "0",
            "sp": "0",
            "x": "NEW",
            "X": "NEW",
            "i": 1_000_000_001,
            "l": "0",
            "z": "0",
            "L": "0",
            "n": "0",
            "N": "USDT",
            "T": T,
            "t": 0,
            "b": "4208.8",
            "a": "0",
            "m": False,
            "R": False,
            "wt": "CONTRACT_PRICE",
            "ot": "LIMIT",
            "ps": "BOTH",
            "cp": False,
            "rp": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
            "er": "0",
        },
    }
    assert list(event["o"]) == OTU_KEYS
    model = sdk_stream("OrderTradeUpdate", event)
    assert (model.o.i, model.o.b, model.o.er) == (1_000_000_001, "4208.8", "0")
    ws = ccxt_ws().parse_ws_order(event["o"])
    assert (ws["status"], ws["price"], ws["amount"], ws["fee"]) == ("open", 42088.0, 0.1, None)
    json.dumps([placed, queried, event])


def test_a_market_fill(btc: Symbol) -> None:
    update = market_fill()
    placed = order_object(update.order, btc, "place")
    assert {k: placed[k] for k in ("price", "avgPrice", "executedQty", "cumQty", "cumQuote")} == {
        "price": "0.00",
        "avgPrice": "91739.90000",
        "executedQty": "0.002",
        "cumQty": "0.002",
        "cumQuote": "183.47980",
    }
    assert (placed["status"], placed["type"], placed["timeInForce"]) == ("FILLED", "MARKET", "GTC")
    sdk_rest("NewOrderResponse", placed)
    parsed = ccxt_rest().parse_order(placed)
    assert (parsed["status"], parsed["filled"], parsed["average"]) == ("closed", 0.002, 91739.9)
    assert parsed["cost"] == pytest.approx(183.4798)

    event = order_trade_update(update, btc, bid_notional=D("0"), ask_notional=D("0"), time=T)
    o = event["o"]
    assert list(o) == OTU_KEYS
    assert {k: o[k] for k in ("q", "p", "ap", "x", "X", "l", "z", "L", "n", "t", "m", "rp")} == {
        "q": "0.002",
        "p": "0",
        "ap": "91739.9",
        "x": "TRADE",
        "X": "FILLED",
        "l": "0.002",
        "z": "0.002",
        "L": "91739.9",
        "n": "0.0917399",
        "t": 2_000,
        "m": False,
        "rp": "0",
    }
    sdk_stream("OrderTradeUpdate", event)
    exchange = ccxt_ws()
    ws = exchange.parse_ws_order(o)
    assert (ws["status"], ws["filled"], ws["average"]) == ("closed", 0.002, 91739.9)
    assert ws["fee"] == {"cost": "0.0917399", "currency": "USDT"}
    trade = exchange.parse_ws_trade(o)
    assert (trade["id"], trade["order"], trade["takerOrMaker"]) == ("2000", "1000000002", "taker")
    assert (trade["amount"], trade["price"], trade["fee"]["cost"]) == (0.002, 91739.9, 0.0917399)

    lite = trade_lite(update, btc, time=T)
    assert lite == {
        "e": "TRADE_LITE",
        "E": T,
        "T": T,
        "s": "BTCUSDT",
        "q": "0.002",
        "p": "0.00",
        "m": False,
        "c": "mkt-1",
        "S": "BUY",
        "L": "91739.90",
        "l": "0.002",
        "t": 2_000,
        "i": 1_000_000_002,
    }
    assert list(lite) == ["e", "E", "T", "s", "q", "p", "m", "c", "S", "L", "l", "t", "i"]
    assert sdk_stream("TradeLite", lite).L == "91739.90"

    row = user_trade_row(update, btc)
    assert row == {
        "buyer": True,
        "commission": "0.09173990",
        "commissionAsset": "USDT",
        "id": 2_000,
        "maker": False,
        "orderId": 1_000_000_002,
        "price": "91739.90",
        "qty": "0.002",
        "quoteQty": "183.47980",
        "realizedPnl": "0",
        "side": "BUY",
        "positionSide": "BOTH",
        "symbol": "BTCUSDT",
        "time": T,
    }
    assert sdk_rest("AccountTradeListResponseInner", row).commission == "0.09173990"
    parsed_trade = ccxt_rest().parse_trade(row)
    assert (parsed_trade["side"], parsed_trade["takerOrMaker"]) == ("buy", "taker")
    assert parsed_trade["fee"]["cost"] == 0.0917399
    assert parsed_trade["fee"]["currency"] == "USDT"
    assert parsed_trade["cost"] == pytest.approx(183.4798)


def test_user_trade_row_key_order_and_realized_pnl(btc: Symbol) -> None:
    update = market_fill()
    closing = replace(update, trade=replace(trade_of(update), realized_pnl=D("0.003012364")))
    row = user_trade_row(closing, btc)
    assert list(row) == [
        "buyer",
        "commission",
        "commissionAsset",
        "id",
        "maker",
        "orderId",
        "price",
        "qty",
        "quoteQty",
        "realizedPnl",
        "side",
        "positionSide",
        "symbol",
        "time",
    ]
    assert row["realizedPnl"] == "0.00301236"  # 8 decimals, cut: the 2025-02 live row
    losing = replace(update, trade=replace(trade_of(update), realized_pnl=D("-0.915399999")))
    assert user_trade_row(losing, btc)["realizedPnl"] == "-0.91539999"
    with pytest.raises(ValueError, match="has no trade"):
        user_trade_row(OrderUpdate(rest_order(), Execution.NEW), btc)


def test_a_cancel(btc: Symbol) -> None:
    canceled = replace(rest_order(), status=OrderStatus.CANCELED, update_time=T + 5)
    answer = order_object(canceled, btc, "cancel")
    assert list(answer) == [k for k in BASE_KEYS if k != "avgPrice"]
    assert (answer["status"], answer["updateTime"]) == ("CANCELED", T + 5)
    sdk_rest("CancelOrderResponse", answer)
    assert ccxt_rest().parse_order(answer)["status"] == "canceled"
    event = order_trade_update(
        OrderUpdate(canceled, Execution.CANCELED, time=T + 5),
        btc,
        bid_notional=D("0"),
        ask_notional=D("0"),
        time=T + 5,
    )
    assert (event["o"]["x"], event["o"]["X"], event["o"]["b"]) == ("CANCELED", "CANCELED", "0")
    assert ccxt_ws().parse_ws_order(event["o"])["status"] == "canceled"


def test_a_modify(btc: Symbol) -> None:
    amended = replace(rest_order(), price=D("42000"), modify_count=1, update_time=T + 9)
    answer = order_object(amended, btc, "modify", modify_id=7)
    assert list(answer) == [
        "orderId",
        "symbol",
        "pair",
        "status",
        "clientOrderId",
        "modifyId",
        "price",
        "avgPrice",
        "origQty",
        "executedQty",
        "cumQty",
        "cumQuote",
        "cumBase",
        *BASE_KEYS[BASE_KEYS.index("timeInForce") :],
    ]
    assert (answer["pair"], answer["modifyId"], answer["price"]) == ("BTCUSDT", 7, "42000.00")
    assert answer["cumBase"] == answer["cumQuote"] == "0.00000"
    model = sdk_rest("ModifyOrderResponse", answer)
    assert (model.modify_id, model.pair) == (7, "BTCUSDT")
    assert "modifyId" not in order_object(amended, btc, "modify")
    assert "modifyId" not in order_object(amended, btc, "place", modify_id=7)
    assert ccxt_rest().parse_order(answer)["price"] == 42000.0
    event = order_trade_update(
        OrderUpdate(amended, Execution.AMENDMENT, time=T + 9),
        btc,
        bid_notional=D("4200"),
        ask_notional=D("0"),
        time=T + 9,
    )
    assert (event["o"]["x"], event["o"]["X"], event["o"]["p"]) == ("AMENDMENT", "NEW", "42000")
    assert event["o"]["b"] == "4200"
    with pytest.raises(ValueError, match="kind"):
        order_object(amended, btc, "replace")


def test_an_ioc_leftover_expires_with_reason_2(btc: Symbol) -> None:
    ioc = replace(
        rest_order(),
        time_in_force=TimeInForce.IOC,
        price=D("40000"),
        status=OrderStatus.EXPIRED,
    )
    event = order_trade_update(
        OrderUpdate(ioc, Execution.EXPIRED, expire_reason=2, time=T),
        btc,
        bid_notional=D("0"),
        ask_notional=D("0"),
        time=T,
    )
    o = event["o"]
    assert (o["f"], o["x"], o["X"], o["er"], o["z"], o["ap"]) == (
        "IOC",
        "EXPIRED",
        "EXPIRED",
        "2",
        "0",
        "0",
    )
    assert sdk_stream("OrderTradeUpdate", event).o.er == "2"
    assert ccxt_ws().parse_ws_order(o)["status"] == "expired"
    assert order_object(ioc, btc, "query")["timeInForce"] == "IOC"


def test_a_reduce_only_clip_trades_then_expires_with_reason_4(btc: Symbol) -> None:
    # SELL reduceOnly 0.010 @ 50000 against a 0.004 long from 49000: 0.004 fills as maker
    # (fee 0.02%: 0.04), realizing 4; the rest expires.
    order = Order(
        order_id=1_000_000_003,
        client_order_id="clip-1",
        symbol="BTCUSDT",
        side=Side.SELL,
        type=OrderType.LIMIT,
        quantity=D("0.010"),
        price=D("50000"),
        reduce_only=True,
        status=OrderStatus.PARTIALLY_FILLED,
        executed_qty=D("0.004"),
        cum_quote=D("200"),
        time=T,
        update_time=T + 1,
    )
    trade = Trade(2_001, D("0.004"), D("50000"), fee=D("0.04"), maker=True, realized_pnl=D("4"))
    traded = order_trade_update(
        OrderUpdate(order, Execution.TRADE, trade, time=T + 1),
        btc,
        bid_notional=D("0"),
        ask_notional=D("300"),
        time=T + 1,
    )
    o = traded["o"]
    assert {k: o[k] for k in ("x", "X", "l", "z", "L", "ap", "n", "m", "R", "rp", "a", "er")} == {
        "x": "TRADE",
        "X": "PARTIALLY_FILLED",
        "l": "0.004",
        "z": "0.004",
        "L": "50000",
        "ap": "50000",
        "n": "0.04",
        "m": True,
        "R": True,
        "rp": "4",
        "a": "300",
        "er": "0",
    }
    sdk_stream("OrderTradeUpdate", traded)
    ws = ccxt_ws().parse_ws_order(o)
    assert (ws["status"], ws["filled"], ws["reduceOnly"]) == ("open", 0.004, True)

    expired = replace(order, status=OrderStatus.EXPIRED)
    event = order_trade_update(
        OrderUpdate(expired, Execution.EXPIRED, expire_reason=4, time=T + 1),
        btc,
        bid_notional=D("0"),
        ask_notional=D("0"),
        time=T + 1,
    )
    o = event["o"]
    assert (o["x"], o["X"], o["er"], o["l"], o["z"], o["ap"], o["t"]) == (
        "EXPIRED",
        "EXPIRED",
        "4",
        "0",
        "0.004",
        "50000",
        0,
    )
    ws = ccxt_ws().parse_ws_order(o)
    assert (ws["status"], ws["filled"], ws["average"]) == ("expired", 0.004, 50000.0)
    answer = order_object(expired, btc, "query")
    assert (answer["status"], answer["executedQty"], answer["avgPrice"]) == (
        "EXPIRED",
        "0.004",
        "50000.00000",
    )
    row = user_trade_row(OrderUpdate(order, Execution.TRADE, trade, time=T + 1), btc)
    assert (row["buyer"], row["maker"], row["realizedPnl"], row["commission"]) == (
        False,
        True,
        "4.00000000",
        "0.04000000",
    )
    assert row["quoteQty"] == "200.00000"


def test_a_liquidation_close_is_calculated(btc: Symbol) -> None:
    close_ms = T + 123
    order = Order(
        order_id=1_000_000_004,
        client_order_id=f"autoclose-{close_ms}",
        symbol="BTCUSDT",
        side=Side.SELL,
        type=OrderType.LIQUIDATION,
        quantity=D("0.001"),
        time_in_force=TimeInForce.IOC,
        status=OrderStatus.FILLED,
        executed_qty=D("0.001"),
        cum_quote=D("19"),
        time=close_ms,
        update_time=close_ms,
    )
    trade = Trade(
        2_002, D("0.001"), D("19000"), fee=D("0.0095"), maker=False, realized_pnl=D("-3.185")
    )
    event = order_trade_update(
        OrderUpdate(order, Execution.CALCULATED, trade, time=close_ms),
        btc,
        bid_notional=D("0"),
        ask_notional=D("0"),
        time=close_ms,
    )
    o = event["o"]
    assert {k: o[k] for k in ("c", "o", "ot", "f", "x", "X", "l", "L", "ap", "n", "rp")} == {
        "c": f"autoclose-{close_ms}",
        "o": "LIQUIDATION",
        "ot": "LIQUIDATION",
        "f": "IOC",
        "x": "CALCULATED",
        "X": "FILLED",
        "l": "0.001",
        "L": "19000",
        "ap": "19000",
        "n": "0.0095",
        "rp": "-3.185",
    }
    sdk_stream("OrderTradeUpdate", event)
    ws = ccxt_ws().parse_ws_order(o)
    assert (ws["status"], ws["filled"], ws["side"]) == ("closed", 0.001, "sell")
    query = order_object(order, btc, "query")
    assert (query["type"], query["origType"], query["avgPrice"]) == (
        "LIQUIDATION",
        "LIQUIDATION",
        "19000.00000",
    )
    sdk_rest("QueryOrderResponse", query)


def stop_market() -> AlgoOrder:
    return AlgoOrder(
        algo_id=1_000_000_010,
        client_algo_id="algo-1",
        symbol="BTCUSDT",
        side=Side.SELL,
        order_type=OrderType.STOP_MARKET,
        quantity=D("0.002"),
        trigger_price=D("90000"),
        create_time=T,
        update_time=T,
    )


ALGO_KEYS = [
    "algoId",
    "clientAlgoId",
    "algoType",
    "orderType",
    "symbol",
    "side",
    "positionSide",
    "timeInForce",
    "quantity",
    "algoStatus",
    "triggerPrice",
    "price",
    "icebergQuantity",
    "selfTradePreventionMode",
    "workingType",
    "priceMatch",
    "closePosition",
    "priceProtect",
    "reduceOnly",
    "createTime",
    "updateTime",
    "triggerTime",
    "goodTillDate",
]

ALGO_UPDATE_KEYS = [
    "caid",
    "aid",
    "at",
    "o",
    "s",
    "S",
    "ps",
    "f",
    "q",
    "X",
    "ai",
    "ap",
    "aq",
    "act",
    "tp",
    "p",
    "V",
    "wt",
    "pm",
    "cp",
    "pP",
    "R",
    "tt",
    "gtd",
    "rm",
    "ia",
]


def test_an_algo_order_before_its_trigger(btc: Symbol) -> None:
    algo = stop_market()
    placed = algo_object(algo, btc, query=False)
    assert placed == {
        "algoId": 1_000_000_010,
        "clientAlgoId": "algo-1",
        "algoType": "CONDITIONAL",
        "orderType": "STOP_MARKET",
        "symbol": "BTCUSDT",
        "side": "SELL",
        "positionSide": "BOTH",
        "timeInForce": "GTC",
        "quantity": "0.002",
        "algoStatus": "NEW",
        "triggerPrice": "90000.00",
        "price": "0.00",
        "icebergQuantity": None,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": "CONTRACT_PRICE",
        "priceMatch": "NONE",
        "closePosition": False,
        "priceProtect": False,
        "reduceOnly": False,
        "createTime": T,
        "updateTime": T,
        "triggerTime": 0,
        "goodTillDate": 0,
    }
    assert list(placed) == ALGO_KEYS
    assert sdk_rest("NewAlgoOrderResponse", placed).algo_id == 1_000_000_010
    queried = algo_object(algo, btc, query=True)
    assert list(queried) == [
        *ALGO_KEYS[:10],
        "actualOrderId",
        "actualPrice",
        "actualQty",
        *ALGO_KEYS[10:],
    ]
    assert (queried["actualOrderId"], queried["actualPrice"], queried["actualQty"]) == (
        "",
        "0.00",
        "0.000",
    )
    sdk_rest("QueryAlgoOrderResponse", queried)
    sdk_rest("CurrentAllAlgoOpenOrdersResponseInner", queried)
    parsed = ccxt_rest().parse_order(queried)
    assert (parsed["id"], parsed["clientOrderId"], parsed["status"]) == (
        "1000000010",
        "algo-1",
        "open",
    )
    # ccxt files a conditional market order under "market" with its trigger price.
    assert (parsed["type"], parsed["triggerPrice"], parsed["amount"]) == (
        "market",
        90000.0,
        0.002,
    )

    event = algo_update_event(algo, btc, time=T)
    assert event == {
        "e": "ALGO_UPDATE",
        "T": T,
        "E": T,
        "o": {
            "caid": "algo-1",
            "aid": 1_000_000_010,
            "at": "CONDITIONAL",
            "o": "STOP_MARKET",
            "s": "BTCUSDT",
            "S": "SELL",
            "ps": "BOTH",
            "f": "GTC",
            "q": "0.002",
            "X": "NEW",
            "ai": "",
            "ap": "0.00000",
            "aq": "0.00000",
            "act": "0",
            "tp": "90000",
            "p": "0",
            "V": "EXPIRE_MAKER",
            "wt": "CONTRACT_PRICE",
            "pm": "NONE",
            "cp": False,
            "pP": False,
            "R": False,
            "tt": 0,
            "gtd": 0,
            "rm": "",
            "ia": False,
        },
    }
    assert list(event["o"]) == ALGO_UPDATE_KEYS
    assert sdk_stream("AlgoUpdate", event).o.aid == 1_000_000_010
    ws = ccxt_ws().parse_ws_order(event["o"] | {"T": T})
    assert (ws["id"], ws["clientOrderId"], ws["status"], ws["triggerPrice"]) == (
        "1000000010",
        "algo-1",
        "open",
        90000.0,
    )

    cancel = algo_cancel_answer(algo)
    assert cancel == {
        "algoId": 1_000_000_010,
        "clientAlgoId": "algo-1",
        "code": "200",
        "msg": "success",
    }
    sdk_rest("CancelAlgoOrderResponse", cancel)
    assert ccxt_rest().parse_order(cancel)["id"] == "1000000010"


def test_an_algo_order_after_its_trigger(btc: Symbol) -> None:
    algo = replace(
        stop_market(),
        status=AlgoStatus.FINISHED,
        trigger_time=T + 60,
        update_time=T + 60,
        actual_order_id=1_000_000_011,
        actual_price=D("89990"),
        actual_qty=D("0.002"),
    )
    queried = algo_object(algo, btc, query=True)
    assert {k: queried[k] for k in queried if k.startswith("actual")} == {
        "actualOrderId": "1000000011",
        "actualPrice": "89990.00",
        "actualType": "MARKET",
        "actualQty": "0.002",
    }
    assert (queried["algoStatus"], queried["triggerTime"]) == ("FINISHED", T + 60)
    model = sdk_rest("QueryAlgoOrderResponse", queried)
    assert (model.actual_order_id, model.actual_type) == ("1000000011", "MARKET")
    assert ccxt_rest().parse_order(queried)["status"] == "closed"
    event = algo_update_event(algo, btc, time=T + 60)
    o = event["o"]
    assert (o["X"], o["ai"], o["ap"], o["aq"], o["act"], o["tt"]) == (
        "FINISHED",
        "1000000011",
        "89990",
        "0.002",
        "MARKET",
        T + 60,
    )
    sdk_stream("AlgoUpdate", event)

    # The regular order it placed: o MARKET, ot the algo type, sp the trigger.
    order = Order(
        order_id=1_000_000_011,
        client_order_id="algo-1",
        symbol="BTCUSDT",
        side=Side.SELL,
        type=OrderType.MARKET,
        quantity=D("0.002"),
        orig_type=OrderType.STOP_MARKET,
        stop_price=D("90000"),
        time=T + 60,
        update_time=T + 60,
    )
    otu = order_trade_update(
        OrderUpdate(order, Execution.NEW, time=T + 60),
        btc,
        bid_notional=D("0"),
        ask_notional=D("0"),
        time=T + 60,
    )
    assert (otu["o"]["o"], otu["o"]["ot"], otu["o"]["sp"], otu["o"]["f"]) == (
        "MARKET",
        "STOP_MARKET",
        "90000",
        "GTC",
    )
    answer = order_object(order, btc, "query")
    assert (answer["type"], answer["origType"], answer["stopPrice"]) == (
        "MARKET",
        "STOP_MARKET",
        "90000.00",
    )
    ws = ccxt_ws().parse_ws_order(otu["o"])
    assert (ws["type"], ws["triggerPrice"]) == ("market", 90000.0)


def test_trailing_and_close_position_fields(btc: Symbol) -> None:
    trailing = replace(
        stop_market(),
        order_type=OrderType.TRAILING_STOP_MARKET,
        trigger_price=D("0"),
        activate_price=D("95000"),
        callback_rate=D("1.5"),
    )
    placed = algo_object(trailing, btc, query=False)
    assert list(placed) == [
        *ALGO_KEYS[: ALGO_KEYS.index("createTime")],
        "activatePrice",
        "callbackRate",
        *ALGO_KEYS[ALGO_KEYS.index("createTime") :],
    ]
    assert (placed["activatePrice"], placed["callbackRate"]) == ("95000.00", "1.5")
    sdk_rest("NewAlgoOrderResponse", placed)
    assert algo_update_event(trailing, btc, time=T)["o"]["ia"] is False
    activated = replace(trailing, extreme=D("96000"))
    assert algo_update_event(activated, btc, time=T)["o"]["ia"] is True

    order = Order(
        order_id=1_000_000_012,
        client_order_id="algo-1",
        symbol="BTCUSDT",
        side=Side.SELL,
        type=OrderType.MARKET,
        quantity=D("0"),
        close_position=True,
        orig_type=OrderType.TRAILING_STOP_MARKET,
        activate_price=D("95000"),
        callback_rate=D("1.5"),
    )
    event = order_trade_update(
        OrderUpdate(order, Execution.NEW), btc, bid_notional=D("0"), ask_notional=D("0"), time=T
    )
    o = event["o"]
    keys = list(o)
    assert keys[-3:] == ["er", "AP", "cr"]  # trailing stops add them last
    assert (o["AP"], o["cr"], o["f"], o["cp"], o["ot"]) == (
        "95000",
        "1.5",
        "GTE_GTC",
        True,
        "TRAILING_STOP_MARKET",
    )
    model = sdk_stream("OrderTradeUpdate", event)
    assert (model.o.AP, model.o.cr) == ("95000", "1.5")
    assert (
        "AP"
        not in order_trade_update(
            OrderUpdate(rest_order(), Execution.NEW),
            btc,
            bid_notional=D("0"),
            ask_notional=D("0"),
            time=T,
        )["o"]
    )
    assert order_object(order, btc, "place")["timeInForce"] == "GTE_GTC"


def test_unknown_precisions_write_8_decimals() -> None:
    ethbtc = Market.default()["ETHBTC"]
    assert (ethbtc.price_precision, ethbtc.quantity_precision) == (None, None)
    order = Order(
        order_id=1_000_000_020,
        client_order_id="eb-1",
        symbol="ETHBTC",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=D("1.5"),
        price=D("0.035"),
        status=OrderStatus.FILLED,
        executed_qty=D("1.5"),
        cum_quote=D("0.0525"),
    )
    answer = order_object(order, ethbtc, "place")
    assert (answer["price"], answer["origQty"], answer["cumQuote"], answer["avgPrice"]) == (
        "0.03500000",
        "1.50000000",
        "0.0525000000000000",
        "0.0350000000000000",
    )
    trade = Trade(2_003, D("1.5"), D("0.035"), fee=Decimal("0.00002625"), maker=True)
    update = OrderUpdate(order, Execution.TRADE, trade, time=T)
    event = order_trade_update(update, ethbtc, bid_notional=D("0"), ask_notional=D("0"), time=T)
    assert (event["o"]["N"], event["o"]["n"], event["o"]["L"]) == ("BTC", "0.00002625", "0.035")
    lite = trade_lite(update, ethbtc, time=T)
    assert (lite["L"], lite["l"]) == ("0.03500000", "1.50000000")
    row = user_trade_row(update, ethbtc)
    assert (row["commissionAsset"], row["commission"]) == ("BTC", "0.00002625")


def test_fees_are_written_as_the_wallet_paid_them(btc: Symbol) -> None:
    # The exact fee keeps its digits for break-even; the wallet pays it rounded half-even
    # to 8 decimals, and that is what the events and userTrades show.
    update = market_fill()
    odd = replace(update, trade=replace(trade_of(update), fee=D("0.000000125")))
    assert order_trade_update(odd, btc, bid_notional=D("0"), ask_notional=D("0"), time=T)["o"][
        "n"
    ] == ("0.00000012")
    assert user_trade_row(odd, btc)["commission"] == "0.00000012"
    odd = replace(update, trade=replace(trade_of(update), fee=D("0.000000135")))
    assert user_trade_row(odd, btc)["commission"] == "0.00000014"
