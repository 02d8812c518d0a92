import pytest

from posrisk.protocol import (
    WireError,
    check_timestamp,
    read_api_key,
    read_bool,
    read_decimal,
    read_long,
    read_recv_window,
    read_signature,
    read_symbol,
)
from posrisk.protocol.envelope import WideInt

LONG_MSG = "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'."


def refused(call, *args, **kwargs) -> WireError:
    with pytest.raises(WireError) as info:
        call(*args, **kwargs)
    return info.value


# -- read_long ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1702920680303, 1702920680303),
        ("1702920680303", 1702920680303),
        ("5000", 5000),
        ("0", 0),
        (0, 0),
        ("00042", 42),
        (str(2**63 - 1), 2**63 - 1),  # a LONG is a signed 64-bit integer
        (2**63 - 1, 2**63 - 1),
    ],
)
def test_read_long_takes_integers_and_digit_strings(value: object, expected: int) -> None:
    assert read_long({"timestamp": value}, "timestamp", required=True) == expected


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        1702920680303.0,
        True,
        False,
        "1.5",
        "-1",
        -1,
        "+1",
        " 1",
        "1 ",
        "1\n",
        "1e3",
        "0x10",
        "9" * 21,
        10**20,
        # 20 digits, but past a signed 64-bit integer: -1100 (not -1021 further on)
        "9" * 20,
        2**63,
        2**64,
        str(2**64),
        "١٢٣",  # Arabic-Indic digits: str.isdigit() says yes, Binance says no
        [1],
        {"a": 1},
    ],
)
def test_read_long_refuses_anything_else_with_minus_1100(value: object) -> None:
    error = refused(read_long, {"timestamp": value}, "timestamp", required=True)
    assert (error.status, error.code, error.msg) == (400, -1100, LONG_MSG)


@pytest.mark.parametrize("params", [{}, {"timestamp": None}, {"timestamp": ""}])
def test_read_long_missing(params: dict[str, object]) -> None:
    error = refused(read_long, params, "timestamp", required=True)
    assert (error.code, error.msg) == (
        -1102,
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    )
    assert read_long(params, "timestamp", required=False) is None


# -- read_bool ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("False", False),
        ("fAlSe", False),
    ],
)
def test_read_bool_accepts_json_and_strings(value: object, expected: bool) -> None:
    assert read_bool({"returnRateLimits": value}, "returnRateLimits", not expected) is expected


@pytest.mark.parametrize("params", [{}, {"returnRateLimits": None}, {"returnRateLimits": ""}])
def test_read_bool_default(params: dict[str, object]) -> None:
    assert read_bool(params, "returnRateLimits", True) is True
    assert read_bool(params, "returnRateLimits", False) is False


@pytest.mark.parametrize("params", [{}, {"dualSidePosition": None}, {"dualSidePosition": ""}])
def test_read_bool_without_a_default_is_mandatory(params: dict[str, object]) -> None:
    error = refused(read_bool, params, "dualSidePosition", None)
    assert (error.code, error.msg) == (
        -1102,
        "Mandatory parameter 'dualSidePosition' was not sent, was empty/null, or malformed.",
    )


@pytest.mark.parametrize("value", [0, 1, "0", "1", "yes", " true", 1.0, [True], {}])
def test_read_bool_refuses_others_with_minus_1130(value: object) -> None:
    error = refused(read_bool, {"returnRateLimits": value}, "returnRateLimits", True)
    assert (error.code, error.msg) == (
        -1130,
        "Data sent for parameter 'returnRateLimits' is not valid.",
    )


# -- read_symbol ----------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["BTCUSDT", "BTCUSDT_241227", "1000PEPEUSDT", "A", "X" * 20])
def test_read_symbol(symbol: str) -> None:
    assert read_symbol({"symbol": symbol}) == symbol


@pytest.mark.parametrize("params", [{}, {"symbol": None}, {"symbol": ""}])
def test_read_symbol_not_sent(params: dict[str, object]) -> None:
    assert read_symbol(params) is None


@pytest.mark.parametrize("symbol", ["btcusdt", "BTC USDT", "BTC/USDT", "X" * 21, 1, ["BTCUSDT"]])
def test_read_symbol_refuses_illegal_characters(symbol: object) -> None:
    error = refused(read_symbol, {"symbol": symbol})
    assert (error.code, error.msg) == (
        -1100,
        "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
    )


# -- read_api_key / read_signature ------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["a", "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A", "Z9" * 64]
)
def test_read_api_key(key: str) -> None:
    assert read_api_key({"apiKey": key}) == key


def test_read_api_key_not_sent() -> None:
    assert read_api_key({}) is None
    assert read_api_key({"apiKey": None}) is None


@pytest.mark.parametrize(
    "key", ["", "a-b", "a b", "é", "a" * 129, 123, True, ["k"], WideInt("1" + "0" * 70)]
)
def test_read_api_key_refuses_bad_formats_with_minus_2014(key: object) -> None:
    error = refused(read_api_key, {"apiKey": key})
    assert (error.status, error.code, error.msg) == (401, -2014, "API-key format invalid.")


def test_read_signature() -> None:
    assert read_signature({"signature": "ab%2B"}) == "ab%2B"
    assert read_signature({}) is None
    assert read_signature({"signature": ""}) is None
    assert refused(read_signature, {"signature": 5}).code == -1022
    # A JSON integer of more than 64 digits is a number, not a string.
    assert refused(read_signature, {"signature": WideInt("9" * 70)}).code == -1022


# -- recvWindow and timestamp -------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 5000),
        ({"recvWindow": None}, 5000),
        ({"recvWindow": "5000"}, 5000),
        ({"recvWindow": 100}, 100),
        ({"recvWindow": 60000}, 60000),
        ({"recvWindow": "1"}, 1),
    ],
)
def test_read_recv_window(params: dict[str, object], expected: int) -> None:
    assert read_recv_window(params) == expected


@pytest.mark.parametrize("value", [0, "0", 60001, "60001", 2**63 - 1])
def test_read_recv_window_out_of_range_is_minus_1130(value: object) -> None:
    error = refused(read_recv_window, {"recvWindow": value})
    assert (error.code, error.msg) == (-1130, "Data sent for parameter 'recvWindow' is not valid.")


@pytest.mark.parametrize("value", [-1, "abc", 5000.0, True])
def test_read_recv_window_not_a_long_is_minus_1100(value: object) -> None:
    assert refused(read_recv_window, {"recvWindow": value}).code == -1100


NOW = 1_702_920_680_303


@pytest.mark.parametrize(
    "timestamp",
    [NOW, NOW + 999, NOW - 5000, NOW - 1],
)
def test_check_timestamp_accepts_inside_the_window(timestamp: int) -> None:
    check_timestamp(timestamp, 5000, NOW)


def test_check_timestamp_ahead() -> None:
    for timestamp in (NOW + 1000, NOW + 10**9):
        error = refused(check_timestamp, timestamp, 5000, NOW)
        assert (error.code, error.msg) == (
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        )


def test_check_timestamp_outside() -> None:
    for timestamp, window in ((NOW - 5001, 5000), (NOW - 101, 100), (0, 60000)):
        error = refused(check_timestamp, timestamp, window, NOW)
        assert (error.status, error.code, error.msg) == (
            400,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        )
    check_timestamp(NOW - 100, 100, NOW)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100", "100"),
        ("0.00000001", "0.00000001"),
        ("100.50", "100.50"),
        (7, "7"),
        ("0", "0"),
        # A JSON number over the WS API (the SDK sends floats) reads as the digits written.
        (0.01, "0.01"),
        (91739.9, "91739.9"),
    ],
)
def test_read_decimal_keeps_the_digits_sent(value: object, expected: str) -> None:
    read = read_decimal({"amount": value}, "amount", required=True)
    assert read is not None and format(read, "f") == expected


@pytest.mark.parametrize("value", ["-1", "1e-05", "1.", ".5", " 1", "1,5", True, -1, 1e-05, -1.5])
def test_read_decimal_refuses_what_is_not_binances_decimal(value: object) -> None:
    with pytest.raises(WireError) as info:
        read_decimal({"amount": value}, "amount", required=True)
    assert (info.value.code, info.value.msg) == (
        -1100,
        "Illegal characters found in parameter 'amount'; legal range is "
        "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    )


def test_read_decimal_not_sent() -> None:
    assert read_decimal({"amount": ""}, "amount", required=False) is None
    with pytest.raises(WireError) as info:
        read_decimal({}, "amount", required=True)
    assert info.value.code == -1102


def test_a_moved_clock_also_accepts_the_machines_timestamps() -> None:
    hours_8 = 8 * 3_600_000
    # The machine's time, the server's, and any offset measured between two moves.
    for timestamp in (NOW, NOW - hours_8, NOW - hours_8 - 5000, NOW - hours_8 // 2, NOW + 999):
        check_timestamp(timestamp, 5000, NOW, advanced=hours_8)
    error = refused(check_timestamp, NOW - hours_8 - 5001, 5000, NOW, advanced=hours_8)
    assert error.msg == "Timestamp for this request is outside of the recvWindow."
    error = refused(check_timestamp, NOW + 1000, 5000, NOW, advanced=hours_8)
    assert error.msg == "Timestamp for this request was 1000ms ahead of the server's time."
