"""Ledger events to and from the JSON of ``ledger.body``: exact text, exact round trips."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posrisk.engine import (
    AlgoOrder,
    AlgoUpdate,
    Event,
    Execution,
    Fill,
    FundingFee,
    InsuranceClear,
    IsolatedMarginTransfer,
    MarginType,
    Order,
    OrderType,
    OrderUpdate,
    PositionMode,
    PositionSide,
    SetAutoAddMargin,
    SetCommission,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    WalletTransfer,
)
from posrisk.store.codec import decode_event, encode_event

D = Decimal

# One example of every ledger event, with the exact (kind, body) the ledger keeps.
EXAMPLES: list[tuple[Event, str, str]] = [
    (WalletTransfer("USDT", D("10000.5"), 11), "wallet", '{"asset":"USDT","amount":"10000.5"}'),
    (
        WalletTransfer("BTC", D("-0.00000001"), 12),
        "wallet",
        '{"asset":"BTC","amount":"-0.00000001"}',
    ),
    (
        Fill("BTCUSDT", Side.BUY, D("0.001"), D("22185.2"), PositionSide.LONG, D("0.0088"), 13),
        "fill",
        '{"symbol":"BTCUSDT","side":"BUY","positionSide":"LONG","qty":"0.001",'
        '"price":"22185.2","fee":"0.0088"}',
    ),
    (
        Fill("ETHUSDT", Side.SELL, D("1.000"), D("1000"), time=14),
        "fill",
        '{"symbol":"ETHUSDT","side":"SELL","positionSide":"BOTH","qty":"1.000",'
        '"price":"1000","fee":"0"}',
    ),
    (
        IsolatedMarginTransfer("BTCUSDT", D("-5.25"), PositionSide.SHORT, 15),
        "isolated_margin",
        '{"symbol":"BTCUSDT","positionSide":"SHORT","amount":"-5.25"}',
    ),
    (SetLeverage("BTCUSDT", 10, 16), "leverage", '{"symbol":"BTCUSDT","leverage":10}'),
    (
        SetMarginType("ETHUSDT", MarginType.ISOLATED, 17),
        "margin_type",
        '{"symbol":"ETHUSDT","marginType":"isolated"}',
    ),
    (
        SetMarginType("ETHUSDT", MarginType.CROSS, 18),
        "margin_type",
        '{"symbol":"ETHUSDT","marginType":"cross"}',
    ),
    (
        SetAutoAddMargin("SOLUSDT", True, 19),
        "auto_add_margin",
        '{"symbol":"SOLUSDT","enabled":true}',
    ),
    (
        SetAutoAddMargin("SOLUSDT", False, 20),
        "auto_add_margin",
        '{"symbol":"SOLUSDT","enabled":false}',
    ),
    (SetPositionMode(PositionMode.HEDGE, 21), "position_mode", '{"positionMode":"hedge"}'),
    (SetPositionMode(PositionMode.ONE_WAY, 22), "position_mode", '{"positionMode":"oneway"}'),
    # A liquidation's cover: stored like any other event.
    (
        InsuranceClear("USDT", D("12.34567891"), 23),
        "insurance_clear",
        '{"asset":"USDT","amount":"12.34567891"}',
    ),
    (
        SetCommission(D("0.00010"), None, (("ETHUSDC", D("0"), None),), 24),
        "commission",
        '{"maker":"0.00010","taker":null,"symbols":[["ETHUSDC","0",null]]}',
    ),
    (SetCommission(time=25), "commission", '{"maker":null,"taker":null,"symbols":[]}'),
    # A funding settlement: the row's time is the settlement's; fundingTime is kept apart.
    (
        FundingFee(
            "BTCUSDT",
            28_800_000,
            D("0.00010000"),
            D("92000.0"),
            ((PositionSide.LONG, D("-0.0276")), (PositionSide.SHORT, D("0.0092"))),
            28_800_005,
        ),
        "funding",
        '{"symbol":"BTCUSDT","fundingTime":28800000,"rate":"0.00010000","mark":"92000.0",'
        '"fees":[["LONG","-0.0276"],["SHORT","0.0092"]]}',
    ),
    (
        FundingFee("ETHUSDT", 0, D("-0.02"), D("3100"), ((PositionSide.BOTH, D("0.31")),)),
        "funding",
        '{"symbol":"ETHUSDT","fundingTime":0,"rate":"-0.02","mark":"3100",'
        '"fees":[["BOTH","0.31"]]}',
    ),
    # Orders leave out every field holding its default (see test_order_codec).
    (
        OrderUpdate(
            Order(9, "c", "BTCUSDT", Side.SELL, OrderType.MARKET, D("0.010")),
            Execution.NEW,
            time=26,
        ),
        "order",
        '{"order":{"orderId":9,"clientOrderId":"c","symbol":"BTCUSDT","side":"SELL",'
        '"type":"MARKET","origQty":"0.010"},"x":"NEW"}',
    ),
    (
        AlgoUpdate(AlgoOrder(4, "a", "BTCUSDT", Side.BUY, OrderType.STOP_MARKET, D("1")), 27),
        "algo",
        '{"algoId":4,"clientAlgoId":"a","symbol":"BTCUSDT","side":"BUY",'
        '"orderType":"STOP_MARKET","quantity":"1"}',
    ),
]


@pytest.mark.parametrize(("event", "kind", "body"), EXAMPLES)
def test_encode_event_writes_the_exact_kind_and_body(event: Event, kind: str, body: str) -> None:
    assert encode_event(event) == (kind, body)


@pytest.mark.parametrize(("event", "kind", "body"), EXAMPLES)
def test_decode_event_reads_back_the_event_with_the_row_time(
    event: Event, kind: str, body: str
) -> None:
    decoded = decode_event(kind, body, event.time)
    assert decoded == event
    assert type(decoded) is type(event)


def test_every_event_type_has_an_example() -> None:
    covered = {type(event) for event, _, _ in EXAMPLES}
    assert covered == {
        WalletTransfer,
        InsuranceClear,
        SetCommission,
        Fill,
        IsolatedMarginTransfer,
        SetLeverage,
        SetMarginType,
        SetAutoAddMargin,
        SetPositionMode,
        OrderUpdate,
        AlgoUpdate,
        FundingFee,
    }


def test_decode_takes_the_time_from_the_row_not_the_body() -> None:
    kind, body = encode_event(WalletTransfer("USDT", D("25"), 1))
    assert "time" not in json.loads(body)
    assert decode_event(kind, body, 1_700_000_000_123) == WalletTransfer(
        "USDT", D("25"), 1_700_000_000_123
    )


def test_bodies_hold_numbers_as_strings_never_floats() -> None:
    _, body = encode_event(
        Fill("BTCUSDT", Side.BUY, D("0.1"), D("0.30000000000000004"), fee=D("0.1"))
    )
    data = json.loads(body)
    assert data["qty"] == "0.1"
    assert data["price"] == "0.30000000000000004"
    assert data["fee"] == "0.1"


def test_decoded_auto_add_margin_false_is_the_boolean_false() -> None:
    event = decode_event("auto_add_margin", '{"symbol":"BTCUSDT","enabled":false}', 5)
    assert isinstance(event, SetAutoAddMargin)
    assert event.enabled is False


def test_unknown_kind_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"^unknown ledger entry kind 'bogus'$"):
        decode_event("bogus", "{}", 1)


def test_encoding_something_that_is_not_an_event_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not a ledger event"):
        encode_event("wallet")  # type: ignore[arg-type]


# -- properties --------------------------------------------------------------------------

money = st.decimals(
    min_value=D("-1e12"), max_value=D("1e12"), places=8, allow_nan=False, allow_infinity=False
)
positive = st.decimals(
    min_value=D("0.00000001"),
    max_value=D("1e12"),
    places=8,
    allow_nan=False,
    allow_infinity=False,
)
symbols = st.sampled_from(["BTCUSDT", "ETHUSDT", "ADAUSDT", "ETHBTC", "BTCUSDT_241227"])
sides = st.sampled_from(list(PositionSide))
times = st.integers(min_value=1, max_value=2**53 - 1)

events: st.SearchStrategy[Event] = st.one_of(
    st.builds(WalletTransfer, st.sampled_from(["USDT", "USDC", "BTC"]), money, times),
    st.builds(Fill, symbols, st.sampled_from(list(Side)), positive, positive, sides, money, times),
    st.builds(IsolatedMarginTransfer, symbols, money, sides, times),
    st.builds(SetLeverage, symbols, st.integers(min_value=1, max_value=125), times),
    st.builds(SetMarginType, symbols, st.sampled_from(list(MarginType)), times),
    st.builds(SetAutoAddMargin, symbols, st.booleans(), times),
    st.builds(SetPositionMode, st.sampled_from(list(PositionMode)), times),
    st.builds(InsuranceClear, st.sampled_from(["USDT", "USDC"]), positive, times),
    st.builds(
        SetCommission,
        st.none() | money,
        st.none() | money,
        st.lists(st.tuples(symbols, st.none() | money, st.none() | money), max_size=3).map(tuple),
        times,
    ),
    st.builds(
        FundingFee,
        symbols,
        st.integers(min_value=0, max_value=2**53 - 1),
        money,
        positive,
        st.lists(st.tuples(sides, money), max_size=2).map(tuple),
        times,
    ),
)


def _decimals(event: Event) -> list[object]:
    """The exact digits and exponents of every Decimal field (equality ignores "0.010" vs
    "0.01"; the ledger must not), commission overrides included."""
    values = [getattr(event, name) for name in type(event).__slots__]
    if isinstance(event, SetCommission):
        values += [rate for override in event.symbols for rate in override[1:]]
    if isinstance(event, FundingFee):
        values += [fee for _, fee in event.fees]
    return [value.as_tuple() for value in values if isinstance(value, Decimal)]


@given(events)
def test_every_event_round_trips_exactly(event: Event) -> None:
    kind, body = encode_event(event)
    decoded = decode_event(kind, body, event.time)
    assert decoded == event
    assert _decimals(decoded) == _decimals(event)
    # The body is plain JSON with string numbers.
    for value in json.loads(body).values():
        assert not isinstance(value, float)
