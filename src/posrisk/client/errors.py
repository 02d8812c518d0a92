"""One exception class per meaning of a Binance error, and the client's own failures.

Every error the server sends becomes a ``BinanceError`` subclass chosen by its code (and,
for -1003, its status), carrying ``code``, ``message``, ``status`` and the raw ``payload``.
The admin API's refusals (``admin.RemoteOperations``) are ``AdminError``s.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AdminError",
    "BinanceError",
    "ClientError",
    "ConnectionLost",
    "IPBanned",
    "InvalidApiKey",
    "InvalidApiKeyFormat",
    "InvalidParameter",
    "InvalidSignature",
    "InvalidSymbol",
    "KeyTypeNotSupported",
    "MalformedRequest",
    "ProtocolError",
    "RateLimited",
    "RequestRejected",
    "RequestTimeout",
    "ServerInternalError",
    "TimestampOutsideRecvWindow",
    "Unauthorized",
    "error_from_reply",
]


class ClientError(Exception):
    """Anything ``posrisk.client`` raises."""


class RequestTimeout(ClientError, TimeoutError):
    """No answer within the request's timeout."""


class ConnectionLost(ClientError, ConnectionError):
    """The connection dropped and reconnecting is off (or the client is closed)."""


class ProtocolError(ClientError):
    """The server answered something that is not Binance's shape."""


class AdminError(ClientError):
    """A posrisk admin API refusal, or no answer from it: ``code`` and ``msg`` as the API
    wrote them (-1001 when it did not answer), ``status`` its HTTP status."""

    def __init__(self, code: int, status: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.status = status
        self.msg = msg

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, status={self.status}, msg={self.msg!r})"


class BinanceError(ClientError):
    """An error the server sent: ``{"code", "msg"}`` with an HTTP-like ``status``."""

    def __init__(self, code: int, message: str, status: int, payload: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.payload = payload

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, status={self.status}, {self.message!r})"


class MalformedRequest(BinanceError):
    """-1000: the server could not read the request (or does not know the method)."""


class ServerInternalError(BinanceError):
    """-1001: the server failed; trying again may work."""


class Unauthorized(BinanceError):
    """-1002 and the API-key errors below: the request may not be made with this key."""


class InvalidApiKeyFormat(Unauthorized):
    """-2014."""


class InvalidApiKey(Unauthorized):
    """-2015: unknown or revoked key (ends a logged-on session)."""


class RateLimited(BinanceError):
    """-1003 with 429: over the request-weight limit until ``retry_after_ms`` (server time)."""

    @property
    def retry_after_ms(self) -> int | None:
        value = self.payload.get("error", {}).get("data", {}).get("retryAfter")
        return int(value) if isinstance(value, int) else None

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait, from the server's own clock."""
        data = self.payload.get("error", {}).get("data", {})
        retry, server = data.get("retryAfter"), data.get("serverTime")
        if isinstance(retry, int) and isinstance(server, int):
            return max(0.0, (retry - server) / 1000)
        return None


class IPBanned(RateLimited):
    """-1003 with 418: the IP is banned until ``retry_after_ms``."""


class TimestampOutsideRecvWindow(BinanceError):
    """-1021."""


class InvalidSignature(BinanceError):
    """-1022."""


class InvalidParameter(BinanceError):
    """-1100, -1101, -1102, -1103, -1130: a parameter is missing or wrong."""


class InvalidSymbol(BinanceError):
    """-1121."""


class KeyTypeNotSupported(BinanceError):
    """-4056 / -4057: session.logon needs an Ed25519 key."""


class RequestRejected(BinanceError):
    """Any other code (the exchange's business rules: -2xxx, -4xxx)."""


_BY_CODE: dict[int, type[BinanceError]] = {
    -1000: MalformedRequest,
    -1001: ServerInternalError,
    -1002: Unauthorized,
    -1021: TimestampOutsideRecvWindow,
    -1022: InvalidSignature,
    -1100: InvalidParameter,
    -1101: InvalidParameter,
    -1102: InvalidParameter,
    -1103: InvalidParameter,
    -1130: InvalidParameter,
    -1121: InvalidSymbol,
    -2014: InvalidApiKeyFormat,
    -2015: InvalidApiKey,
    -4056: KeyTypeNotSupported,
    -4057: KeyTypeNotSupported,
}


def error_from_reply(reply: dict[str, Any]) -> BinanceError:
    """The exception for an error reply ``{"id", "status", "error": {"code", "msg"}}``."""
    error = reply.get("error")
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    message = error.get("msg")
    status = reply.get("status")
    code = code if isinstance(code, int) else 0
    message = message if isinstance(message, str) else "no message"
    status = status if isinstance(status, int) else 0
    if code == -1003:
        cls: type[BinanceError] = IPBanned if status == 418 else RateLimited
    else:
        cls = _BY_CODE.get(code, RequestRejected)
    return cls(code, message, status, reply)
