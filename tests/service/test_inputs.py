"""What people send (scenario files, admin bodies, CLI flags) read into engine values: the
documented forms are accepted, everything else is an InvalidValue naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from posrisk.engine import (
    Fill,
    InvalidValue,
    IsolatedMarginTransfer,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    SetAutoAddMargin,
    SetLeverage,
    SetMarginType,
    Side,
)
from posrisk.protocol import WireError
from posrisk.service.inputs import (
    check_fields,
    known_symbol,
    parse_account_name,
    parse_fill,
    parse_force,
    parse_isolated_transfer,
    parse_margin_type,
    parse_marks,
    parse_position_mode,
    parse_position_side,
    parse_symbol_settings,
    parse_wallet_amount,
)

D = Decimal
NOW = 1_700_000_000_000


def refused(field: str) -> Any:
    """pytest.raises for an InvalidValue naming ``field`` with Binance's -1130 text."""
    return pytest.raises(InvalidValue, match=rf"^Data sent for parameter '{field}' is not valid\. ")


# -- enums ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cross", MarginType.CROSS),
        ("CROSS", MarginType.CROSS),
        ("crossed", MarginType.CROSS),
        ("CROSSED", MarginType.CROSS),
        ("isolated", MarginType.ISOLATED),
        ("ISOLATED", MarginType.ISOLATED),
    ],
)
def test_margin_type_accepts_binance_and_scenario_spellings(
    text: str, expected: MarginType
) -> None:
    assert parse_margin_type(text) is expected


@pytest.mark.parametrize("value", ["isolate", "both", "", None, 1, True, ["cross"]])
def test_margin_type_refuses_anything_else(value: object) -> None:
    with refused("marginType") as caught:
        parse_margin_type(value)
    assert caught.value.field == "marginType"
    assert caught.value.code == -1130
    assert "is not one of ['cross', 'crossed', 'isolated']" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oneway", PositionMode.ONE_WAY),
        ("ONEWAY", PositionMode.ONE_WAY),
        ("hedge", PositionMode.HEDGE),
        ("Hedge", PositionMode.HEDGE),
    ],
)
def test_position_mode_accepts_oneway_and_hedge(text: str, expected: PositionMode) -> None:
    assert parse_position_mode(text) is expected


@pytest.mark.parametrize("value", ["one-way", "one_way", "both", "dual", True, None])
def test_position_mode_refuses_anything_else(value: object) -> None:
    with refused("positionMode"):
        parse_position_mode(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("BOTH", PositionSide.BOTH), ("long", PositionSide.LONG), ("Short", PositionSide.SHORT)],
)
def test_position_side_accepts_the_three_sides(text: str, expected: PositionSide) -> None:
    assert parse_position_side(text) is expected


def test_position_side_refuses_an_order_side() -> None:
    with refused("positionSide"):
        parse_position_side("BUY")


# -- account names, wallets -----------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "alice", "A.b-c_1", "0", "x" * 64])
def test_account_names_that_fit_a_url_and_a_shell(name: str) -> None:
    assert parse_account_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "x" * 65, "-alice", ".alice", "_alice", "a b", "ålice", "a/b", None, 7]
)
def test_other_account_names_are_refused(name: object) -> None:
    with refused("name") as caught:
        parse_account_name(name)
    assert "account names are 1-64 letters, digits, '_', '.', '-'" in str(caught.value)


def test_wallet_amount_reads_an_asset_and_a_decimal() -> None:
    assert parse_wallet_amount("USDT", "25.5") == ("USDT", D("25.5"))
    assert parse_wallet_amount("BTC", "-0.001") == ("BTC", D("-0.001"))


@pytest.mark.parametrize("asset", ["usdt", "", "TOOLONGASSET", 5, None])
def test_wallet_asset_must_look_like_an_asset(asset: object) -> None:
    with refused("asset"):
        parse_wallet_amount(asset, "1")


@pytest.mark.parametrize("amount", ["1e5", "abc", 1.5, "", " 1", True])
def test_wallet_amount_must_be_a_plain_decimal(amount: object) -> None:
    with refused("amount"):
        parse_wallet_amount("USDT", amount)


# -- fills ----------------------------------------------------------------------------


def test_a_full_fill() -> None:
    fill = parse_fill(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "positionSide": "LONG",
            "qty": "0.001",
            "price": "22185.2",
            "fee": "0.0088",
            "time": 1655217461579,
        },
        default_time=NOW,
    )
    assert fill == Fill(
        "BTCUSDT", Side.BUY, D("0.001"), D("22185.2"), PositionSide.LONG, D("0.0088"), 1655217461579
    )


def test_a_minimal_fill_takes_the_defaults() -> None:
    fill = parse_fill(
        {"symbol": "ETHUSDT", "side": "sell", "qty": "1.000", "price": "1000"}, default_time=NOW
    )
    assert fill == Fill("ETHUSDT", Side.SELL, D("1.000"), D("1000"), PositionSide.BOTH, D(0), NOW)
    assert str(fill.qty) == "1.000"


def test_integer_quantities_and_prices_are_exact() -> None:
    fill = parse_fill({"symbol": "ADAUSDT", "side": "BUY", "qty": 30, "price": 1}, default_time=1)
    assert (fill.qty, fill.price) == (D(30), D(1))


GOOD_FILL = {"symbol": "BTCUSDT", "side": "BUY", "qty": "0.001", "price": "22185.2"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"qty": 1.5}, "qty"),
        ({"qty": "1e5"}, "qty"),
        ({"price": "1e5"}, "price"),
        ({"price": 22185.2}, "price"),
        ({"fee": "-"}, "fee"),
        ({"symbol": "btcusdt"}, "symbol"),
        ({"symbol": "BTC-USDT"}, "symbol"),
        ({"side": "LONG"}, "side"),
        ({"positionSide": "BUY"}, "positionSide"),
        ({"time": "1655217461579"}, "time"),
        ({"time": 0}, "time"),
        ({"time": -1}, "time"),
        ({"time": True}, "time"),
        ({"time": 2**53}, "time"),
        ({"reduceOnly": True}, "reduceOnly"),
    ],
)
def test_a_bad_fill_names_the_field(change: dict[str, object], field: str) -> None:
    with refused(field):
        parse_fill({**GOOD_FILL, **change}, default_time=NOW)


@pytest.mark.parametrize("missing", ["symbol", "side", "qty", "price"])
def test_a_fill_missing_a_required_field_names_it(missing: str) -> None:
    data = {k: v for k, v in GOOD_FILL.items() if k != missing}
    with refused(missing) as caught:
        parse_fill(data, default_time=NOW)
    assert f"fill: '{missing}' is required" in str(caught.value)


def test_a_fill_that_is_not_an_object() -> None:
    with refused("fill") as caught:
        parse_fill(["BTCUSDT"], default_time=NOW)
    assert "fill must be a JSON object, got list" in str(caught.value)


def test_an_unknown_fill_field_lists_the_known_ones() -> None:
    with refused("reduceOnly") as caught:
        parse_fill({**GOOD_FILL, "reduceOnly": True}, default_time=NOW)
    assert caught.value.detail == (
        "fill: unknown field 'reduceOnly' "
        "(expected ['fee', 'force', 'positionSide', 'price', 'qty', 'side', 'symbol', 'time'])"
    )


@pytest.mark.parametrize(
    ("force", "expected"),
    [(True, True), (False, False), ("true", True), ("FALSE", False), (None, False)],
)
def test_a_fill_may_be_forced(force: object, expected: bool) -> None:
    body = GOOD_FILL if force is None else {**GOOD_FILL, "force": force}
    assert parse_fill(body, default_time=NOW) == parse_fill(GOOD_FILL, default_time=NOW)
    assert parse_force(body) is expected


@pytest.mark.parametrize("force", ["yes", 1, 0, None, [True]])
def test_force_is_a_boolean(force: object) -> None:
    with refused("force"):
        parse_force({**GOOD_FILL, "force": force})


# -- isolated transfers ---------------------------------------------------------------


def test_isolated_transfer_defaults_to_both_and_the_default_time() -> None:
    assert parse_isolated_transfer(
        {"symbol": "BTCUSDT", "amount": "5"}, default_time=NOW
    ) == IsolatedMarginTransfer("BTCUSDT", D("5"), PositionSide.BOTH, NOW)


def test_isolated_transfer_with_a_side_and_a_negative_amount() -> None:
    assert parse_isolated_transfer(
        {"symbol": "BTCUSDT", "positionSide": "short", "amount": "-2.5"}, default_time=NOW
    ) == IsolatedMarginTransfer("BTCUSDT", D("-2.5"), PositionSide.SHORT, NOW)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"symbol": "BTCUSDT"}, "amount"),
        ({"amount": "5"}, "symbol"),
        ({"symbol": "BTCUSDT", "amount": 5.0}, "amount"),
        ({"symbol": "BTCUSDT", "amount": "5", "positionSide": "UP"}, "positionSide"),
        ({"symbol": "BTCUSDT", "amount": "5", "time": 5}, "time"),
        ("BTCUSDT=5", "isolated margin transfer"),
    ],
)
def test_a_bad_isolated_transfer_names_the_field(data: object, field: str) -> None:
    with refused(field):
        parse_isolated_transfer(data, default_time=NOW)


# -- symbol settings ------------------------------------------------------------------


def test_symbol_settings_in_their_order_margin_type_leverage_auto_add() -> None:
    events = parse_symbol_settings(
        {
            "BTCUSDT": {"isAutoAddMargin": True, "leverage": 10, "marginType": "isolated"},
            "ETHUSDT": {"leverage": "25"},
        },
        time=NOW,
    )
    assert events == [
        SetMarginType("BTCUSDT", MarginType.ISOLATED, NOW),
        SetLeverage("BTCUSDT", 10, NOW),
        SetAutoAddMargin("BTCUSDT", True, NOW),
        SetLeverage("ETHUSDT", 25, NOW),
    ]


@pytest.mark.parametrize(
    ("flag", "expected"), [(True, True), (False, False), ("true", True), ("FALSE", False)]
)
def test_auto_add_margin_as_a_boolean_or_its_string(flag: object, expected: bool) -> None:
    (event,) = parse_symbol_settings({"BTCUSDT": {"isAutoAddMargin": flag}}, time=1)
    assert event == SetAutoAddMargin("BTCUSDT", expected, 1)


def test_empty_settings_are_no_events() -> None:
    assert parse_symbol_settings({}, time=1) == []
    assert parse_symbol_settings({"BTCUSDT": {}}, time=1) == []


@pytest.mark.parametrize(
    ("symbols", "field"),
    [
        ({"BTCUSDT": {"leverage": 10.0}}, "leverage"),
        ({"BTCUSDT": {"leverage": "10x"}}, "leverage"),
        ({"BTCUSDT": {"leverage": "-5"}}, "leverage"),
        ({"BTCUSDT": {"leverage": True}}, "leverage"),
        ({"BTCUSDT": {"leverage": None}}, "leverage"),
        ({"BTCUSDT": {"isAutoAddMargin": "yes"}}, "isAutoAddMargin"),
        ({"BTCUSDT": {"isAutoAddMargin": 1}}, "isAutoAddMargin"),
        ({"BTCUSDT": {"marginType": "CROSSING"}}, "marginType"),
        ({"BTCUSDT": {"maxNotional": "1"}}, "maxNotional"),
        ({"btcusdt": {"leverage": 10}}, "symbol"),
        ({"BTCUSDT": 10}, "symbols.BTCUSDT"),
        (["BTCUSDT"], "symbols"),
    ],
)
def test_bad_symbol_settings_name_the_field(symbols: object, field: str) -> None:
    with refused(field):
        parse_symbol_settings(symbols, time=1)


# -- marks ----------------------------------------------------------------------------


def test_marks_are_exact_positive_decimals() -> None:
    marks = parse_marks({"BTCUSDT": "21123.05052574", "ETHUSDT": 950})
    assert marks == {"BTCUSDT": D("21123.05052574"), "ETHUSDT": D(950)}
    assert str(marks["BTCUSDT"]) == "21123.05052574"


@pytest.mark.parametrize(
    ("marks", "field"),
    [
        ({}, "marks"),
        (["BTCUSDT"], "marks"),
        (None, "marks"),
        ({"BTCUSDT": "0"}, "marks.BTCUSDT"),
        ({"BTCUSDT": "-1"}, "marks.BTCUSDT"),
        ({"BTCUSDT": 61000.1}, "marks.BTCUSDT"),
        ({"BTCUSDT": "6.1e4"}, "marks.BTCUSDT"),
        ({"btc": "1"}, "symbol"),
    ],
)
def test_bad_marks_name_the_field(marks: object, field: str) -> None:
    with refused(field):
        parse_marks(marks)


def test_a_non_positive_mark_says_so() -> None:
    with refused("marks.BTCUSDT") as caught:
        parse_marks({"BTCUSDT": "0"})
    assert caught.value.detail == "a mark price must be positive, got 0"


# -- check_fields ---------------------------------------------------------------------


def test_check_fields_names_the_first_missing_then_the_first_unknown() -> None:
    with refused("a") as caught:
        check_fields({"z": 1}, "thing", {"a", "b"}, {"b", "a"})
    assert caught.value.detail == "thing: 'a' is required"
    with refused("y") as caught:
        check_fields({"a": 1, "z": 1, "y": 1}, "thing", {"a"}, {"a"})
    assert caught.value.detail == "thing: unknown field 'y' (expected ['a'])"
    check_fields({"a": 1}, "thing", {"a", "b"}, {"a"})  # accepted: returns nothing


# -- known_symbol (WS API and REST) -----------------------------------------------------


def test_the_symbol_param_is_read_then_checked_against_the_market() -> None:
    market = Market.default()
    assert known_symbol({}, market) is None
    assert known_symbol({"symbol": None}, market) is None
    assert known_symbol({"symbol": "BTCUSDT"}, market) == "BTCUSDT"
    with pytest.raises(WireError) as unknown:
        known_symbol({"symbol": "BTCUSDX"}, market)
    assert (unknown.value.code, unknown.value.msg) == (-1121, "Invalid symbol.")
    with pytest.raises(WireError) as malformed:  # the format is checked first: -1100
        known_symbol({"symbol": "btc usdt"}, market)
    assert malformed.value.code == -1100


def test_a_required_symbol_not_sent_is_minus_1102_after_its_format() -> None:
    market = Market.default()
    assert known_symbol({"symbol": "BTCUSDT"}, market, required=True) == "BTCUSDT"
    with pytest.raises(WireError) as missing:
        known_symbol({"symbol": ""}, market, required=True)
    assert missing.value.code == -1102
    with pytest.raises(WireError) as malformed:
        known_symbol({"symbol": "btc usdt"}, market, required=True)
    assert malformed.value.code == -1100
