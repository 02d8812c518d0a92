import pytest

from posrisk.client import (
    AdminError,
    BinanceError,
    ClientError,
    InvalidApiKey,
    InvalidApiKeyFormat,
    InvalidParameter,
    InvalidSignature,
    InvalidSymbol,
    IPBanned,
    KeyTypeNotSupported,
    MalformedRequest,
    RateLimited,
    RequestRejected,
    RequestTimeout,
    ServerInternalError,
    TimestampOutsideRecvWindow,
    Unauthorized,
)
from posrisk.client.errors import error_from_reply


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        (-1000, 400, MalformedRequest),
        (-1001, 500, ServerInternalError),
        (-1002, 401, Unauthorized),
        (-1003, 429, RateLimited),
        (-1003, 418, IPBanned),
        (-1021, 400, TimestampOutsideRecvWindow),
        (-1022, 400, InvalidSignature),
        (-1100, 400, InvalidParameter),
        (-1101, 400, InvalidParameter),
        (-1102, 400, InvalidParameter),
        (-1103, 400, InvalidParameter),
        (-1130, 400, InvalidParameter),
        (-1121, 400, InvalidSymbol),
        (-2014, 401, InvalidApiKeyFormat),
        (-2015, 401, InvalidApiKey),
        (-4056, 400, KeyTypeNotSupported),
        (-4057, 400, KeyTypeNotSupported),
        (-4061, 400, RequestRejected),
        (-2019, 400, RequestRejected),
    ],
)
def test_every_code_has_its_class(code: int, status: int, cls: type[BinanceError]) -> None:
    reply = {"id": "1", "status": status, "error": {"code": code, "msg": "the message"}}
    error = error_from_reply(reply)
    assert type(error) is cls
    assert (error.code, error.message, error.status, error.payload) == (
        code,
        "the message",
        status,
        reply,
    )
    assert str(error) == f"{code}: the message"


def test_rate_limited_says_when_to_retry() -> None:
    reply = {
        "id": "1",
        "status": 429,
        "error": {
            "code": -1003,
            "msg": "Too many requests",
            "data": {"serverTime": 1_700_000_020_000, "retryAfter": 1_700_000_040_000},
        },
    }
    error = error_from_reply(reply)
    assert isinstance(error, RateLimited) and not isinstance(error, IPBanned)
    assert (error.retry_after, error.retry_after_ms) == (20.0, 1_700_000_040_000)
    banned = error_from_reply({**reply, "status": 418})
    assert isinstance(banned, IPBanned) and isinstance(banned, RateLimited)


def test_odd_replies_still_become_errors() -> None:
    error = error_from_reply({"id": None, "status": "x"})
    assert (type(error), error.code, error.status) == (RequestRejected, 0, 0)
    assert issubclass(RequestTimeout, TimeoutError)


def test_an_admin_error_carries_the_admin_apis_code_status_and_message() -> None:
    error = AdminError(-2015, 404, "API key 'k' does not exist.")
    assert (error.code, error.status, error.msg) == (-2015, 404, "API key 'k' does not exist.")
    assert str(error) == "API key 'k' does not exist." and isinstance(error, ClientError)
    assert not isinstance(error, BinanceError)  # not a WS API reply
    assert repr(error) == "AdminError(code=-2015, status=404, msg=\"API key 'k' does not exist.\")"
