"""Orders to and from JSON: exact text, defaults left out, every field round-tripping."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from posrisk.engine import (
    AlgoOrder,
    AlgoStatus,
    AlgoUpdate,
    Execution,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionSide,
    Side,
    TimeInForce,
    Trade,
)
from posrisk.store.codec import decode_event, encode_event
from posrisk.store.order_codec import decode_algo, decode_order, encode_algo, encode_order

D = Decimal

PLACED = Order(1000000001, "abc", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.001"), D("50000"))


def test_a_placed_order_keeps_only_what_differs_from_the_defaults() -> None:
    kind, body = encode_event(OrderUpdate(PLACED, Execution.NEW, time=7))
    assert (kind, body) == (
        "order",
        '{"order":{"orderId":1000000001,"clientOrderId":"abc","symbol":"BTCUSDT",'
        '"side":"BUY","type":"LIMIT","origQty":"0.001","price":"50000"},"x":"NEW"}',
    )
    assert decode_event(kind, body, 7) == OrderUpdate(PLACED, Execution.NEW, time=7)


def test_a_trade_is_written_whole_and_its_time_is_the_rows() -> None:
    filled = dataclasses.replace(
        PLACED,
        status=OrderStatus.FILLED,
        executed_qty=D("0.001"),
        cum_quote=D("50.000"),
        time=5,
        update_time=9,
    )
    update = OrderUpdate(
        filled, Execution.TRADE, Trade(77, D("0.001"), D("50000"), D("0.02"), True)
    )
    kind, body = encode_event(update)
    data = json.loads(body)
    assert data["trade"] == {
        "id": 77,
        "qty": "0.001",
        "price": "50000",
        "commission": "0.02",
        "maker": True,
    }
    assert data["order"]["status"] == "FILLED"
    assert data["order"]["cumQuote"] == "50.000"
    assert "time" not in data
    assert decode_event(kind, body, 9) == dataclasses.replace(update, time=9)


def test_a_zero_with_digits_is_not_the_default_and_is_written() -> None:
    order = dataclasses.replace(PLACED, executed_qty=D("0.000"), stop_price=D("0"))
    data = json.loads(encode_order(order))
    assert data["executedQty"] == "0.000"
    assert "stopPrice" not in data
    assert decode_order(encode_order(order)).executed_qty.as_tuple() == D("0.000").as_tuple()


def test_an_expiry_carries_its_reason() -> None:
    update = OrderUpdate(PLACED, Execution.EXPIRED, expire_reason=8, time=3)
    kind, body = encode_event(update)
    assert json.loads(body)["er"] == 8
    assert decode_event(kind, body, 3) == update


def test_an_algo_update_is_the_algo_order() -> None:
    algo = AlgoOrder(3358, "cid", "ETHUSDT", Side.SELL, OrderType.STOP_MARKET, D("1"), D("1900"))
    kind, body = encode_event(AlgoUpdate(algo, 4))
    assert (kind, body) == (
        "algo",
        '{"algoId":3358,"clientAlgoId":"cid","symbol":"ETHUSDT","side":"SELL",'
        '"orderType":"STOP_MARKET","quantity":"1","triggerPrice":"1900"}',
    )
    assert body == encode_algo(algo)
    assert decode_event(kind, body, 4) == AlgoUpdate(algo, 4)


# -- properties --------------------------------------------------------------------------

decimals = st.decimals(
    min_value=D("-1e9"), max_value=D("1e9"), places=8, allow_nan=False, allow_infinity=False
) | st.sampled_from([D("0"), D("0.0"), D("0E-8"), D("-0")])
texts = st.text(max_size=12)
ints = st.integers(min_value=0, max_value=2**62)
symbols = st.sampled_from(["BTCUSDT", "ETHUSDT", "BTCUSDT_241227"])


def _fields(kind: type, **given: Any) -> st.SearchStrategy[Any]:
    """``kind`` with every field drawn (by its annotation) unless ``given``."""
    chosen: dict[str, st.SearchStrategy[Any]] = {}
    by_type: dict[str, st.SearchStrategy[Any]] = {
        "int": ints,
        "str": texts,
        "bool": st.booleans(),
        "Decimal": decimals,
        "Side": st.sampled_from(list(Side)),
        "OrderType": st.sampled_from(list(OrderType)),
        "OrderType | None": st.none() | st.sampled_from(list(OrderType)),
        "PositionSide": st.sampled_from(list(PositionSide)),
        "TimeInForce": st.sampled_from(list(TimeInForce)),
        "OrderStatus": st.sampled_from(list(OrderStatus)),
        "AlgoStatus": st.sampled_from(list(AlgoStatus)),
    }
    for field in dataclasses.fields(kind):
        chosen[field.name] = given.get(field.name, by_type[str(field.type)])
    return st.builds(kind, **chosen)


orders = _fields(Order, symbol=symbols)
trades = _fields(Trade)
algos = _fields(AlgoOrder, symbol=symbols)
updates = st.builds(
    OrderUpdate, orders, st.sampled_from(list(Execution)), st.none() | trades, ints, ints
)


def _exact(value: Any) -> Any:
    """Every field of a value, nested ones too, decimals as their digits and exponent
    (equality alone takes ``0.010`` for ``0.01``; the ledger must not)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f.name, _exact(getattr(value, f.name))) for f in dataclasses.fields(value)]
    return value.as_tuple() if isinstance(value, Decimal) else (type(value), value)


@settings(deadline=None)
@given(updates)
def test_every_order_update_round_trips_exactly(update: OrderUpdate) -> None:
    kind, body = encode_event(update)
    assert kind == "order"
    assert _exact(decode_event(kind, body, update.time)) == _exact(update)
    assert not any(isinstance(v, float) for v in _leaves(json.loads(body)))


@settings(deadline=None)
@given(algos, ints)
def test_every_algo_update_round_trips_exactly(algo: AlgoOrder, time: int) -> None:
    kind, body = encode_event(AlgoUpdate(algo, time))
    assert kind == "algo"
    assert _exact(decode_event(kind, body, time)) == _exact(AlgoUpdate(algo, time))
    assert _exact(decode_algo(encode_algo(algo))) == _exact(algo)
    assert not any(isinstance(v, float) for v in _leaves(json.loads(body)))


def _leaves(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [leaf for value in data.values() for leaf in _leaves(value)]
    return [data]
