import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from posrisk.protocol import (
    MAX_PARAM_LENGTH,
    MAX_PARAMS,
    MAX_REQUEST_BYTES,
    SERVER_SHUTDOWN,
    Request,
    WireError,
    encode_error,
    encode_event,
    encode_result,
    parse_request,
    rate_limits_entry,
    read_long,
    server_shutdown,
)
from posrisk.protocol.envelope import WideInt

SEED_REQUEST = (
    b'{"id": "605a6d20-6588-4cb9-afa0-b0ab087507ba", "method": "account.position",'
    b' "params": {"apiKey": "k", "symbol": "BTCUSDT", "timestamp": 1702920680303,'
    b' "signature": "31ab02a5"}}'
)


def malformed(frame: bytes | str) -> WireError:
    with pytest.raises(WireError) as info:
        parse_request(frame)
    error = info.value
    assert (error.status, error.code) == (400, -1000)
    return error


# -- parse_request -----------------------------------------------------------------------


def test_parses_the_seed_request() -> None:
    assert parse_request(SEED_REQUEST) == Request(
        "605a6d20-6588-4cb9-afa0-b0ab087507ba",
        "account.position",
        {"apiKey": "k", "symbol": "BTCUSDT", "timestamp": 1702920680303, "signature": "31ab02a5"},
    )


def test_accepts_text_frames_and_keeps_a_version_prefix() -> None:
    request = parse_request('{"method":"v2/account.position","id":3}')
    assert request == Request(3, "v2/account.position", {})


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b'{"method":"m"}', None),
        (b'{"id":null,"method":"m"}', None),
        (b'{"id":"1","method":"m"}', "1"),
        (b'{"id":0,"method":"m"}', 0),
        (b'{"id":-5,"method":"m"}', -5),
        (b'{"id":18446744073709551616,"method":"m"}', 18446744073709551616),
        (b'{"id":-9223372036854775809,"method":"m"}', -9223372036854775809),
        (b'{"id":' + b"9" * 64 + b',"method":"m"}', int("9" * 64)),
        # longer: kept as its digits (int() is quadratic), echoed as the same number
        (b'{"id":' + b"9" * 65 + b',"method":"m"}', WideInt("9" * 65)),
        (b'{"id":-' + b"9" * 400 + b',"method":"m"}', WideInt("-" + "9" * 400)),
    ],
)
def test_id_keeps_its_json_type_and_exact_value(frame: bytes, expected: object) -> None:
    request = parse_request(frame)
    assert request.id == expected
    assert type(request.id) is type(expected)


def test_a_wide_integer_param_is_read_exactly() -> None:
    request = parse_request(b'{"id":1,"method":"m","params":{"timestamp":99999999999999999999}}')
    assert request.params == {"timestamp": 99999999999999999999}


def test_long_integers_are_never_converted() -> None:
    """A frame of 4000-digit integers cost ~28 ms per MiB in int(): past 64 digits the
    digits are kept as they came (a WideInt is never converted), and a param reader
    refuses them as any long text."""
    members = b",".join(b'"p%d":%s' % (i, b"7" * 4000) for i in range(10))
    request = parse_request(b'{"id":1,"method":"m","params":{' + members + b"}}")
    assert all(type(value) is WideInt and value == "7" * 4000 for value in request.params.values())
    with pytest.raises(WireError) as info:
        read_long(request.params, "p0", required=True)
    assert info.value.code == -1100


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (b'{"id":1.5,"method":"m"}', "a number with a fraction"),
        (b'{"id":1.0,"method":"m"}', "a number with a fraction"),
        (b'{"id":1e3,"method":"m"}', "a number with a fraction"),
        (b'{"id":true,"method":"m"}', "a boolean"),
        (b'{"id":false,"method":"m"}', "a boolean"),
        (b'{"id":[1],"method":"m"}', "an array"),
        (b'{"id":{"a":1},"method":"m"}', "an object"),
    ],
)
def test_an_id_of_another_type_is_refused_with_a_null_id(frame: bytes, kind: str) -> None:
    error = malformed(frame)
    assert error.msg == f"Malformed request: 'id' must be a string, an integer or null, not {kind}."
    assert error.request_id is None


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"   ",
        b"not json",
        b'{"id":1,',
        b"\xff\xfe{}",
        b'\xef\xbb\xbf{"method":"m"}',  # BOM
        b'{"id":NaN,"method":"m"}',
        b'{"id":1,"method":"m","params":{"x":Infinity}}',
        b'{"id":1,"method":"m","params":{"x":-Infinity}}',
        b'{"id":1,"method":"m","params":{"x":1e400}}',
        b'{"id":"\\ud800","method":"m"}',  # lone surrogate
        b'{"id":1' + b"0" * 400 + b',"method":"\\udc00"}',  # ... also on the fallback path
        b'{"id":1,"method":"m"} {}',
        b'{"id":1,"method":"m\x01"}',  # raw control character
        b"[" * 1000,
        '{"id":1,"method":"m","params":{"a":"\ud800"}}',
    ],
)
def test_not_json_is_minus_1000_with_a_null_id(frame: bytes | str) -> None:
    error = malformed(frame)
    assert error.msg == "Malformed request: not valid JSON."
    assert error.request_id is None


@pytest.mark.parametrize("frame", [b"[]", b'"account.position"', b"1", b"null", b"[{}]"])
def test_not_an_object_is_minus_1000(frame: bytes) -> None:
    assert malformed(frame).msg == "Malformed request: expected a JSON object."


@pytest.mark.parametrize(
    ("frame", "request_id"),
    [
        (b'{"id":"abc"}', "abc"),
        (b'{"id":7,"method":null}', 7),
        (b'{"id":7,"method":5}', 7),
        (b'{"method":["account.position"]}', None),
        (b'{"id":' + b"1" * 30 + b',"method":{}}', int("1" * 30)),
    ],
)
def test_a_missing_method_keeps_the_id_it_could_read(frame: bytes, request_id: object) -> None:
    error = malformed(frame)
    assert error.msg == "Malformed request: 'method' is missing or not a string."
    assert error.request_id == request_id


@pytest.mark.parametrize("params", [b"[]", b'"a=1"', b"1", b"true"])
def test_params_must_be_an_object(params: bytes) -> None:
    error = malformed(b'{"id":"x","method":"m","params":' + params + b"}")
    assert error.msg == "Malformed request: 'params' must be an object."
    assert error.request_id == "x"


def test_null_params_are_no_params() -> None:
    assert parse_request(b'{"id":1,"method":"m","params":null}').params == {}


def test_duplicate_keys_the_last_wins() -> None:
    request = parse_request(
        b'{"id":1,"id":"two","method":"a","method":"b","params":{"x":1,"x":"2"}}'
    )
    assert request == Request("two", "b", {"x": "2"})


def test_duplicate_keys_the_last_wins_on_the_exact_path_too() -> None:
    request = parse_request(b'{"id":1.5,"id":18446744073709551616,"method":"m"}')
    assert request.id == 18446744073709551616


def test_nesting_within_a_short_frame_is_read_and_refused_as_a_param() -> None:
    deep = b"[" * 400 + b"]" * 400
    frame = b'{"id":1.5,"method":"m","params":{"a":' + deep + b"}}"
    assert "not a number with a fraction" in malformed(frame).msg
    frame = b'{"id":1,"method":"m","params":{"t":1.5,"a":' + deep + b"}}"
    with pytest.raises(WireError) as info:
        parse_request(frame)
    assert (info.value.code, info.value.msg) == (-1130, "Data sent for parameter 'a' is not valid.")
    assert info.value.request_id == 1


def test_a_5000_digit_id_is_echoed_exactly() -> None:
    digits = "9" * 5000
    request = parse_request(b'{"id":' + digits.encode() + b',"method":"m"}')
    assert request.id == digits and isinstance(request.id, WideInt)
    assert (
        encode_result(request.id, {}) == b'{"id":' + digits.encode() + b',"status":200,"result":{}}'
    )
    negative = parse_request('{"id":-' + digits + ',"method":"m","params":{"t":1.5}}')
    assert encode_error(negative.id, WireError.internal()).startswith(b'{"id":-' + digits.encode())


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        # a param may be a string, a number, a boolean or null; nothing nested
        ('{"symbol":["BTCUSDT"]}', -1130, "Data sent for parameter 'symbol' is not valid."),
        ('{"x":{}}', -1130, "Data sent for parameter 'x' is not valid."),
        # at most MAX_PARAM_LENGTH characters, numbers written as long included
        (
            '{"s":"' + "a" * (MAX_PARAM_LENGTH + 1) + '"}',
            -1130,
            "Data sent for parameter 's' is not valid.",
        ),
        ('{"n":' + "1" * 5000 + "}", -1130, "Data sent for parameter 'n' is not valid."),
        (
            "{" + ",".join(f'"p{i}":{i}' for i in range(MAX_PARAMS + 1)) + "}",
            -1101,
            f"Too many parameters; expected '{MAX_PARAMS}' and received '{MAX_PARAMS + 1}'.",
        ),
    ],
)
def test_params_no_request_can_have_are_refused_with_the_id(
    params: str, code: int, msg: str
) -> None:
    with pytest.raises(WireError) as info:
        parse_request('{"id":"r","method":"m","params":' + params + "}")
    assert (info.value.status, info.value.code, info.value.msg) == (400, code, msg)
    assert info.value.request_id == "r"


def test_the_largest_request_allowed_is_read() -> None:
    params = {f"p{i:02}": "v" * (MAX_PARAM_LENGTH if i < 2 else 8) for i in range(MAX_PARAMS)}
    frame = orjson.dumps(
        {"id": "605a6d20-6588-4cb9-afa0-b0ab087507ba", "method": "m", "params": params}
    )
    assert parse_request(frame).params == params


def _many_params(count: int) -> bytes:
    members = b",".join(b'"a%d":1.5' % i for i in range(count))
    return b'{"id":1,"method":"m","params":{' + members + b"}}"


def _abusive_frame() -> bytes:
    """The issue's frame: ~1 MiB, an unknown method, thousands of 200-deep arrays of floats."""
    inner = b"[" * 200 + b"1.5" + b"]" * 200
    members = [b'"a%d":' % i + inner for i in range(2500)]
    return b'{"id":1,"method":"nope","params":{' + b",".join(members) + b"}}"


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed a frame that cannot be a request")

    monkeypatch.setattr("posrisk.protocol.envelope.orjson.loads", refuse)
    monkeypatch.setattr("posrisk.protocol.envelope.json.loads", refuse)


@pytest.mark.parametrize(
    "frame",
    [
        _abusive_frame(),
        b'{"id":1,"method":"m","params":{'
        + b",".join(b'"a%d":1.5' % i for i in range(40_000))
        + b"}}",
        b'{"id":1,"method":"m","params":{"a":"' + b"x" * MAX_REQUEST_BYTES + b'"}}',
        b"[" * 100_000,
    ],
)
def test_a_frame_longer_than_a_request_is_refused_unread(
    frame: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_parsing(monkeypatch)
    error = malformed(frame)
    assert (
        error.msg == f"Malformed request: a request is at most 64 KiB, this one {len(frame)} bytes."
    )
    assert error.request_id is None


@pytest.mark.parametrize(
    "frame",
    [
        _abusive_frame()[: 60 << 10],
        b'{"id":1,"method":"m","params":{'
        + b",".join(b'"a%d":1.5' % i for i in range(600))
        + b"}}",
        b'{"id":1,"method":"m","params":{"a":[' + b",".join(b"1" for _ in range(10_000)) + b"]}}",
        b"[" * 60_000,
        b"{" * 600 + b'"' * 5000,
    ],
)
def test_a_frame_with_more_structure_than_a_request_is_refused_before_parsing(
    frame: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_parsing(monkeypatch)
    error = malformed(frame)
    assert error.msg.startswith("Malformed request: more values than a request can hold")
    assert error.request_id is None


# -- encoders -----------------------------------------------------------------------------


def test_encode_result_writes_binance_key_order() -> None:
    frame = encode_result("605a", [{"symbol": "BTCUSDT"}], [rate_limits_entry(20)])
    assert frame == (
        b'{"id":"605a","status":200,"result":[{"symbol":"BTCUSDT"}],"rateLimits":'
        b'[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,'
        b'"limit":2400,"count":20}]}'
    )


def test_encode_result_omits_rate_limits_when_none() -> None:
    assert encode_result(1, {}, None) == b'{"id":1,"status":200,"result":{}}'
    assert encode_result(None, [], []) == b'{"id":null,"status":200,"result":[],"rateLimits":[]}'


@pytest.mark.parametrize(
    ("request_id", "text"),
    [
        ("7", b'"7"'),
        (7, b"7"),
        (None, b"null"),
        (2**64, b"18446744073709551616"),
        (2**64 - 1, b"18446744073709551615"),
        (-(2**63) - 1, b"-9223372036854775809"),
        (10**100, b"1" + b"0" * 100),
    ],
)
def test_encode_result_echoes_the_id_exactly(request_id: object, text: bytes) -> None:
    assert encode_result(request_id, 1) == b'{"id":' + text + b',"status":200,"result":1}'  # type: ignore[arg-type]


def test_encode_result_takes_pre_serialised_fragments() -> None:
    row = orjson.Fragment(b'{"symbol":"BTCUSDT","updateTime":0}')
    assert encode_result(1, [row, row]) == (
        b'{"id":1,"status":200,"result":[{"symbol":"BTCUSDT","updateTime":0},'
        b'{"symbol":"BTCUSDT","updateTime":0}]}'
    )


def test_encode_error_with_data_and_rate_limits() -> None:
    error = WireError.too_many_requests(2400, server_time=61_000, retry_after=120_000)
    frame = encode_error("a", error, [rate_limits_entry(2400)])
    assert orjson.loads(frame) == {
        "id": "a",
        "status": 429,
        "error": {
            "code": -1003,
            "msg": error.msg,
            "data": {"serverTime": 61_000, "retryAfter": 120_000},
        },
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
                "count": 2400,
            }
        ],
    }
    assert frame.startswith(b'{"id":"a","status":429,"error":{"code":-1003,"msg":')


def test_encode_error_without_data() -> None:
    assert encode_error(2**70, WireError.invalid_symbol()) == (
        b'{"id":1180591620717411303424,"status":400,"error":{"code":-1121,"msg":"Invalid symbol."}}'
    )


def test_encode_error_of_a_malformed_frame() -> None:
    error = malformed(b'{"id":5}')
    assert encode_error(error.request_id, error) == (
        b'{"id":5,"status":400,"error":{"code":-1000,'
        b'"msg":"Malformed request: \'method\' is missing or not a string."}}'
    )


def test_rate_limits_entry_custom_interval() -> None:
    assert rate_limits_entry(3, limit=10, interval="SECOND", interval_num=1) == {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "SECOND",
        "intervalNum": 1,
        "limit": 10,
        "count": 3,
    }


def test_events() -> None:
    assert encode_event({"e": "listenKeyExpired", "E": 5, "listenKey": "k"}) == (
        b'{"e":"listenKeyExpired","E":5,"listenKey":"k"}'
    )
    assert server_shutdown(1_700_000_000_000) == (
        b'{"event":{"e":"serverShutdown","E":1700000000000}}'
    )
    assert SERVER_SHUTDOWN(1) == b'{"event":{"e":"serverShutdown","E":1}}'


# -- properties ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def only_wire_errors(frame: bytes | str) -> None:
    try:
        request = parse_request(frame)
    except WireError as error:
        # -1000 for the envelope, -1101/-1130 for params it cannot hold (too many, or a
        # value that is not a scalar or is too long).
        assert (error.status, error.code) in {(400, -1000), (400, -1101), (400, -1130)}
        encode_error(error.request_id, error)  # and it can always be answered
    else:
        assert isinstance(request.method, str)
        assert isinstance(request.params, dict)
        encode_error(request.id, WireError.unknown_method(request.method))


@given(st.binary())
def test_arbitrary_bytes_raise_only_wire_errors(frame: bytes) -> None:
    only_wire_errors(frame)


@given(st.text())
def test_arbitrary_text_raises_only_wire_errors(frame: str) -> None:
    only_wire_errors(frame)


@given(json_values)
def test_arbitrary_json_raises_only_wire_errors(value: object) -> None:
    only_wire_errors(json.dumps(value))


@given(st.dictionaries(st.sampled_from(["id", "method", "params", "x"]), json_values, max_size=4))
def test_arbitrary_envelopes_raise_only_wire_errors(document: dict[str, object]) -> None:
    only_wire_errors(json.dumps(document).encode())


def test_a_param_holding_an_array_is_refused_with_minus_1130() -> None:
    # Found by the property above: params are scalars, so a list is a bad value (-1130).
    only_wire_errors(b'{"params": {"": []}, "method": ""}')


@given(
    st.one_of(st.text(), st.integers(), st.integers(min_value=2**63, max_value=2**200), st.none())
)
def test_id_round_trips_with_its_type(request_id: str | int | None) -> None:
    frame = json.dumps({"id": request_id, "method": "account.position"})
    parsed = parse_request(frame.encode()).id
    assert parsed == request_id
    assert type(parsed) is type(request_id)
    echoed = json.loads(encode_result(parsed, [], [rate_limits_entry(5)]))["id"]
    assert echoed == request_id
    assert type(echoed) is type(request_id)
    error = WireError.unknown_method("x")
    assert json.loads(encode_error(parsed, error))["id"] == request_id
