"""Errors as they travel on the wire: status, Binance code, Binance message (SPEC §6, §12).

One ``WireError`` class, one constructor per meaning (``WireError.invalid_signature()``,
``WireError.too_many_requests(...)``...). Messages are Binance's own text, typos
included ("occured"). ``ERROR_CATALOGUE`` lists every code with its status and message
template, so documentation and tests can enumerate them.

The service raises or returns a ``WireError``; ``envelope.encode_error`` writes it as
``{"id", "status", "error": {"code", "msg", ["data"]}, ["rateLimits"]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import PosriskError

__all__ = [
    "ERROR_CATALOGUE",
    "ErrorTemplate",
    "WireError",
]


@dataclass(frozen=True, slots=True)
class ErrorTemplate:
    """One row of the catalogue: what a code is sent with and which constructor builds it."""

    code: int
    status: int
    template: str  # Binance's message; ``%s`` marks where the value goes
    constructor: str  # the ``WireError`` classmethod that builds it


_ROWS = (
    ErrorTemplate(
        -1000, 400, "An unknown error occured while processing the request.", "unknown_error"
    ),
    ErrorTemplate(
        -1001, 500, "Internal error; unable to process your request. Please try again.", "internal"
    ),
    ErrorTemplate(-1002, 401, "You are not authorized to execute this request.", "unauthorized"),
    ErrorTemplate(
        -1003,
        429,
        "Too many requests; current limit is %s requests per minute. Please use the websocket"
        " for live updates to avoid polling the API.",
        "too_many_requests",
    ),
    ErrorTemplate(
        -1003,
        418,
        "Way too many requests; IP banned until %s. Please use the websocket for live updates"
        " to avoid bans.",
        "ip_banned",
    ),
    ErrorTemplate(-1020, 400, "This operation is not supported.", "unsupported_operation"),
    ErrorTemplate(
        -1021,
        400,
        "Timestamp for this request is outside of the recvWindow.",
        "timestamp_outside_window",
    ),
    ErrorTemplate(
        -1021,
        400,
        "Timestamp for this request was 1000ms ahead of the server's time.",
        "timestamp_ahead",
    ),
    ErrorTemplate(-1022, 400, "Signature for this request is not valid.", "invalid_signature"),
    ErrorTemplate(
        -1100,
        400,
        "Illegal characters found in parameter '%s'; legal range is '%s'.",
        "illegal_chars",
    ),
    ErrorTemplate(-1101, 400, "Duplicate values for a parameter detected.", "duplicate_param"),
    ErrorTemplate(
        -1101,
        400,
        "Too many parameters; expected '%s' and received '%s'.",
        "too_many_params",
    ),
    ErrorTemplate(
        -1102,
        400,
        "Mandatory parameter '%s' was not sent, was empty/null, or malformed.",
        "mandatory_param",
    ),
    ErrorTemplate(
        -1102,
        400,
        "Param '%s' or '%s' must be sent, but both were empty/null!",
        "mandatory_either",
    ),
    ErrorTemplate(-1103, 400, "An unknown parameter was sent.", "unknown_param"),
    # Orders (their param checks, before the engine's).
    ErrorTemplate(-1106, 400, "Parameter '%s' sent when not required.", "not_required"),
    ErrorTemplate(-1115, 400, "Invalid timeInForce.", "invalid_time_in_force"),
    ErrorTemplate(-1116, 400, "Invalid orderType.", "invalid_order_type"),
    ErrorTemplate(-1117, 400, "Invalid side.", "invalid_side"),
    ErrorTemplate(-1128, 400, "Combination of optional parameters invalid.", "bad_combination"),
    ErrorTemplate(-1136, 400, "Invalid newOrderRespType.", "invalid_resp_type"),
    ErrorTemplate(-4060, 400, "Invalid position side.", "invalid_position_side"),
    ErrorTemplate(
        -4120,
        400,
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints "
        "instead.",
        "use_algo_endpoint",
    ),
    ErrorTemplate(
        -1015, 429, "Too many new orders; current limit is %s orders per %s %s.", "too_many_orders"
    ),
    ErrorTemplate(-4082, 400, "Invalid number of batch place orders: %s", "batch_size"),
    ErrorTemplate(-4165, 400, "Maximum time interval is 7 days", "interval_too_long"),
    ErrorTemplate(
        -5040,
        400,
        "The goodTillDate timestamp must be greater than the current time plus 600 seconds "
        "and smaller than 253402300799000",
        "good_till_date",
    ),
    ErrorTemplate(-1120, 400, "Invalid interval.", "invalid_interval"),
    ErrorTemplate(-1121, 400, "Invalid symbol.", "invalid_symbol"),
    ErrorTemplate(-1125, 400, "This listenKey does not exist.", "invalid_listen_key"),
    ErrorTemplate(-1130, 400, "Data sent for parameter '%s' is not valid.", "invalid_value"),
    ErrorTemplate(-2014, 401, "API-key format invalid.", "api_key_format"),
    ErrorTemplate(-2015, 401, "Invalid API-key, IP, or permissions for action.", "invalid_api_key"),
    ErrorTemplate(-5000, 404, "Path %s, Method %s is invalid", "invalid_path"),
    # session.logon takes Ed25519 keys only (SPEC §4); Binance's codes for the others.
    ErrorTemplate(-4056, 400, "HMAC_SHA256 API key is not supported.", "hmac_not_supported"),
    ErrorTemplate(-4057, 400, "RSA API key is not supported.", "rsa_not_supported"),
    # POST multiAssetsMargin false, which is what every account already is (SPEC §16).
    ErrorTemplate(
        -4171,
        400,
        "Adjusted asset mode is currently set and does not need to be adjusted repeatedly.",
        "multi_assets_unchanged",
    ),
)

# code -> its variants (two for -1003: 429 and 418; two for -1021: outside and ahead).
ERROR_CATALOGUE: Mapping[int, tuple[ErrorTemplate, ...]] = MappingProxyType(
    {
        code: tuple(row for row in _ROWS if row.code == code)
        for code in dict.fromkeys(row.code for row in _ROWS)
    }
)
_BY_CONSTRUCTOR = {row.constructor: row for row in _ROWS}


def _row(constructor: str) -> ErrorTemplate:
    return _BY_CONSTRUCTOR[constructor]


class WireError(PosriskError):
    """A refusal to send back: HTTP-like ``status``, Binance ``code`` and ``msg``.

    ``data`` is ``{"serverTime": ms, "retryAfter": ms}`` for 429/418, else None.
    ``id_null`` marks a session-level failure that must be sent with ``"id": null``
    (a key revoked mid-session, SPEC §4). ``request_id`` is the request's id when it
    could be read from a malformed frame (``envelope.parse_request``), else None.
    """

    def __init__(
        self,
        status: int,
        code: int,
        msg: str,
        data: dict[str, int] | None = None,
        *,
        id_null: bool = False,
        request_id: str | int | None = None,
    ) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.data = data
        self.id_null = id_null
        self.request_id = request_id

    def retry_after_s(self, now: int) -> int:
        """Whole seconds until ``data["retryAfter"]`` (at least 1): the HTTP
        ``Retry-After`` of a 429/418 refusal."""
        retry = (self.data or {}).get("retryAfter", now)
        return max(1, -(-(retry - now) // 1000))

    def __repr__(self) -> str:
        return (
            f"WireError(status={self.status}, code={self.code}, msg={self.msg!r}, "
            f"data={self.data!r}, id_null={self.id_null}, request_id={self.request_id!r})"
        )

    def error_object(self) -> dict[str, object]:
        """The ``"error"`` member of the response: ``{"code", "msg", ["data"]}``."""
        body: dict[str, object] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            body["data"] = self.data
        return body

    @classmethod
    def _from(
        cls,
        constructor: str,
        *values: object,
        data: dict[str, int] | None = None,
        id_null: bool = False,
        request_id: str | int | None = None,
    ) -> WireError:
        row = _row(constructor)
        msg = row.template % values if values else row.template
        return cls(row.status, row.code, msg, data, id_null=id_null, request_id=request_id)

    # -1000 ------------------------------------------------------------------------

    @classmethod
    def unknown_error(
        cls, msg: str | None = None, *, request_id: str | int | None = None
    ) -> WireError:
        """-1000, 400; ``msg`` replaces Binance's generic text (malformed frame, unknown method)."""
        row = _row("unknown_error")
        return cls(row.status, row.code, msg or row.template, request_id=request_id)

    @classmethod
    def malformed_request(cls, problem: str, *, request_id: str | int | None = None) -> WireError:
        """-1000, 400, ``Malformed request: <problem>.`` (SPEC §12)."""
        return cls.unknown_error(f"Malformed request: {problem}.", request_id=request_id)

    @classmethod
    def unknown_method(cls, method: str) -> WireError:
        """-1000, 400, ``Unknown method '<m>'.`` (SPEC §12)."""
        return cls.unknown_error(f"Unknown method '{method}'.")

    # the rest of §6, in code order ------------------------------------------------

    @classmethod
    def oversized(cls, status: int, what: str, most: int) -> WireError:
        """-1000 with HTTP ``status`` (431, 413): a request head or body past its bound."""
        row = _row("unknown_error")
        return cls(status, row.code, f"Malformed request: the {what} is over {most} bytes.")

    @classmethod
    def length_required(cls) -> WireError:
        """-1000, 411: a body sent without Content-Length (chunked is not taken)."""
        msg = "Malformed request: send the body with a Content-Length, not chunked."
        return cls(411, _row("unknown_error").code, msg)

    @classmethod
    def invalid_path(cls, path: str, method: str) -> WireError:
        """-5000, 404: no such REST path, or not with this method."""
        return cls._from("invalid_path", path, method)

    @classmethod
    def internal(cls) -> WireError:
        return cls._from("internal")

    @classmethod
    def unauthorized(cls) -> WireError:
        return cls._from("unauthorized")

    @classmethod
    def too_many_requests(cls, limit: int, server_time: int, retry_after: int) -> WireError:
        """-1003, 429; ``retry_after`` is the start of the next window (ms)."""
        return cls._from(
            "too_many_requests",
            limit,
            data={"serverTime": server_time, "retryAfter": retry_after},
        )

    @classmethod
    def ip_banned(cls, until_ms: int, server_time: int) -> WireError:
        """-1003, 418; the message and ``retryAfter`` both carry the ban's end (ms)."""
        return cls._from(
            "ip_banned", until_ms, data={"serverTime": server_time, "retryAfter": until_ms}
        )

    @classmethod
    def unsupported_operation(cls) -> WireError:
        """-1020: enabling multi-assets mode (posrisk never converts margin assets)."""
        return cls._from("unsupported_operation")

    @classmethod
    def multi_assets_unchanged(cls) -> WireError:
        """-4171: disabling multi-assets mode, which is never on."""
        return cls._from("multi_assets_unchanged")

    @classmethod
    def timestamp_outside_window(cls) -> WireError:
        return cls._from("timestamp_outside_window")

    @classmethod
    def timestamp_ahead(cls) -> WireError:
        return cls._from("timestamp_ahead")

    @classmethod
    def invalid_signature(cls) -> WireError:
        return cls._from("invalid_signature")

    @classmethod
    def illegal_chars(cls, param: str, legal_range: str) -> WireError:
        return cls._from("illegal_chars", param, legal_range)

    @classmethod
    def duplicate_param(cls) -> WireError:
        return cls._from("duplicate_param")

    @classmethod
    def too_many_params(
        cls, most: int, received: int, *, request_id: str | int | None = None
    ) -> WireError:
        """-1101: more params than any request takes (``envelope.MAX_PARAMS``)."""
        return cls._from("too_many_params", most, received, request_id=request_id)

    @classmethod
    def mandatory_param(cls, name: str) -> WireError:
        return cls._from("mandatory_param", name)

    @classmethod
    def mandatory_either(cls, first: str, second: str) -> WireError:
        return cls._from("mandatory_either", first, second)

    @classmethod
    def not_required(cls, param: str) -> WireError:
        return cls._from("not_required", param)

    @classmethod
    def invalid_time_in_force(cls) -> WireError:
        return cls._from("invalid_time_in_force")

    @classmethod
    def invalid_order_type(cls) -> WireError:
        return cls._from("invalid_order_type")

    @classmethod
    def invalid_side(cls) -> WireError:
        return cls._from("invalid_side")

    @classmethod
    def bad_combination(cls) -> WireError:
        return cls._from("bad_combination")

    @classmethod
    def invalid_resp_type(cls) -> WireError:
        return cls._from("invalid_resp_type")

    @classmethod
    def invalid_position_side(cls) -> WireError:
        return cls._from("invalid_position_side")

    @classmethod
    def use_algo_endpoint(cls) -> WireError:
        return cls._from("use_algo_endpoint")

    @classmethod
    def batch_size(cls, count: int) -> WireError:
        return cls._from("batch_size", count)

    @classmethod
    def interval_too_long(cls) -> WireError:
        return cls._from("interval_too_long")

    @classmethod
    def good_till_date(cls) -> WireError:
        return cls._from("good_till_date")

    @classmethod
    def too_many_orders(cls, limit: int, number: int, unit: str) -> WireError:
        """429 -1015: an ORDERS window is full (no Retry-After)."""
        return cls._from("too_many_orders", limit, number, unit)

    @classmethod
    def unknown_param(cls) -> WireError:
        return cls._from("unknown_param")

    @classmethod
    def invalid_interval(cls) -> WireError:
        """-1120: a kline ``interval`` Binance does not have."""
        return cls._from("invalid_interval")

    @classmethod
    def invalid_symbol(cls) -> WireError:
        return cls._from("invalid_symbol")

    @classmethod
    def invalid_value(cls, param: str, *, request_id: str | int | None = None) -> WireError:
        return cls._from("invalid_value", param, request_id=request_id)

    @classmethod
    def api_key_format(cls) -> WireError:
        return cls._from("api_key_format")

    @classmethod
    def invalid_api_key(cls, *, id_null: bool = False) -> WireError:
        """-2015, 401; ``id_null=True`` for a key revoked under a live session (SPEC §4)."""
        return cls._from("invalid_api_key", id_null=id_null)

    @classmethod
    def invalid_listen_key(cls) -> WireError:
        """-1125: no (live) listenKey."""
        return cls._from("invalid_listen_key")

    @classmethod
    def hmac_not_supported(cls) -> WireError:
        """-4056: ``session.logon`` with an HMAC key."""
        return cls._from("hmac_not_supported")

    @classmethod
    def rsa_not_supported(cls) -> WireError:
        """-4057: ``session.logon`` with an RSA key."""
        return cls._from("rsa_not_supported")

    @classmethod
    def from_engine(cls, code: int, msg: str) -> WireError:
        """An engine refusal (``EngineError.code``/``.msg``), sent as status 400 (SPEC §12)."""
        return cls(400, code, msg)
