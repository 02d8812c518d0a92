import pytest

from posrisk.protocol import ERROR_CATALOGUE, WireError
from posrisk.protocol.envelope import encode_error

SPEC_6 = {
    -1000: (400, "An unknown error occured while processing the request."),
    -1001: (500, "Internal error; unable to process your request. Please try again."),
    -1002: (401, "You are not authorized to execute this request."),
    -1022: (400, "Signature for this request is not valid."),
    -1101: (400, "Duplicate values for a parameter detected."),
    -1103: (400, "An unknown parameter was sent."),
    -1121: (400, "Invalid symbol."),
    -2014: (401, "API-key format invalid."),
    -2015: (401, "Invalid API-key, IP, or permissions for action."),
}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (WireError.unknown_error(), -1000),
        (WireError.internal(), -1001),
        (WireError.unauthorized(), -1002),
        (WireError.invalid_signature(), -1022),
        (WireError.duplicate_param(), -1101),
        (WireError.unknown_param(), -1103),
        (WireError.invalid_symbol(), -1121),
        (WireError.api_key_format(), -2014),
        (WireError.invalid_api_key(), -2015),
    ],
)
def test_fixed_messages_are_spec_6_verbatim(error: WireError, code: int) -> None:
    assert (error.code, (error.status, error.msg)) == (code, SPEC_6[code])
    assert error.data is None
    assert error.id_null is False


def test_templated_messages() -> None:
    assert WireError.illegal_chars("timestamp", "^[0-9]{1,20}$").msg == (
        "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'."
    )
    assert WireError.mandatory_param("timestamp").msg == (
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    )
    assert WireError.invalid_value("recvWindow").msg == (
        "Data sent for parameter 'recvWindow' is not valid."
    )
    assert WireError.invalid_value("recvWindow").code == -1130


def test_timestamp_messages() -> None:
    outside = WireError.timestamp_outside_window()
    ahead = WireError.timestamp_ahead()
    assert (outside.status, outside.code, ahead.code) == (400, -1021, -1021)
    assert outside.msg == "Timestamp for this request is outside of the recvWindow."
    assert ahead.msg == "Timestamp for this request was 1000ms ahead of the server's time."


def test_too_many_requests_carries_limit_and_data() -> None:
    error = WireError.too_many_requests(2400, server_time=1_000, retry_after=60_000)
    assert (error.status, error.code) == (429, -1003)
    assert error.msg == (
        "Too many requests; current limit is 2400 requests per minute. Please use the"
        " websocket for live updates to avoid polling the API."
    )
    assert error.data == {"serverTime": 1_000, "retryAfter": 60_000}


def test_ip_banned_names_the_end_of_the_ban() -> None:
    error = WireError.ip_banned(1_700_000_120_000, server_time=1_700_000_000_000)
    assert (error.status, error.code) == (418, -1003)
    assert error.msg == (
        "Way too many requests; IP banned until 1700000120000. Please use the websocket"
        " for live updates to avoid bans."
    )
    assert error.data == {"serverTime": 1_700_000_000_000, "retryAfter": 1_700_000_120_000}


def test_custom_minus_1000_messages() -> None:
    assert WireError.unknown_method("account.balance").msg == "Unknown method 'account.balance'."
    assert WireError.unknown_error("boom").msg == "boom"
    malformed = WireError.malformed_request("not valid JSON", request_id=7)
    assert (malformed.status, malformed.code) == (400, -1000)
    assert malformed.msg == "Malformed request: not valid JSON."
    assert malformed.request_id == 7


def test_session_level_invalid_key_is_sent_with_a_null_id() -> None:
    error = WireError.invalid_api_key(id_null=True)
    assert encode_error("abc", error) == (
        b'{"id":null,"status":401,"error":{"code":-2015,'
        b'"msg":"Invalid API-key, IP, or permissions for action."}}'
    )


def test_from_engine_keeps_the_engine_code_and_message() -> None:
    from posrisk.engine import MarginTypeUnchanged

    refusal = MarginTypeUnchanged()
    error = WireError.from_engine(refusal.code, refusal.msg)
    assert (error.status, error.code, error.msg) == (400, -4046, "No need to change margin type.")


def test_repr_shows_everything() -> None:
    error = WireError.too_many_requests(10, 5, 60_000)
    text = repr(error)
    for part in (
        "status=429",
        "code=-1003",
        "Too many requests",
        "'retryAfter': 60000",
        "id_null=False",
        "request_id=None",
    ):
        assert part in text
    assert str(error) == error.msg


def test_catalogue_lists_every_code_once_with_its_variants() -> None:
    assert sorted(ERROR_CATALOGUE, reverse=True) == [
        -1000, -1001, -1002, -1003, -1015, -1020, -1021, -1022, -1100, -1101, -1102, -1103,
        -1106, -1115, -1116, -1117, -1120, -1121, -1125, -1128, -1130, -1136, -2014, -2015, -4056,
        -4057, -4060, -4082, -4120, -4165, -4171, -5000, -5040,
    ]  # fmt: skip
    assert [row.status for row in ERROR_CATALOGUE[-1003]] == [429, 418]
    assert WireError.too_many_params(100, 101).msg == (
        "Too many parameters; expected '100' and received '101'."
    )
    assert len(ERROR_CATALOGUE[-1021]) == 2
    # -1101: duplicates (SPEC §6) and Binance's other text, for too many params.
    assert [row.constructor for row in ERROR_CATALOGUE[-1101]] == [
        "duplicate_param",
        "too_many_params",
    ]
    for code, (status, msg) in SPEC_6.items():
        row = ERROR_CATALOGUE[code][0]
        assert (row.status, row.template) == (status, msg)


def test_catalogue_constructors_exist_and_agree() -> None:
    for rows in ERROR_CATALOGUE.values():
        for row in rows:
            constructor = getattr(WireError, row.constructor)
            assert callable(constructor)
            if "%s" not in row.template:
                error = constructor()
                assert (error.code, error.status, error.msg) == (row.code, row.status, row.template)
