"""The request/response envelope: one JSON text frame in, one JSON frame out (SPEC §2, §12).

``parse_request`` turns a frame into a ``Request`` or raises ``WireError`` naming what is
wrong; it never raises anything else, whatever the bytes. Decisions:

- ``id`` is a string, an integer of any size, or null, and is echoed with its JSON
  type. orjson silently reads integers beyond 64 bits as floats, so a float ``id`` (or
  param) sends the frame through the standard library again to get the exact integer
  back; an integer of more than 64 digits is kept as its digits (``WideInt``: converting
  it costs time quadratic in its length, and no param reads a number that long). A
  real float, a boolean, an array or an object as ``id`` is refused.
- ``params`` is optional (``{}``); when present it must be an object of at most
  ``MAX_PARAMS`` params (else -1101), each a string, a number, a boolean or null (an
  array or an object is -1130: every Binance WS API param is a scalar), a string at most
  ``MAX_PARAM_LENGTH`` characters (else -1130).
- The work done for one frame is bounded by a small constant times its size: a frame
  over ``MAX_REQUEST_BYTES`` (64 KiB) is refused unread, and one over 1 KiB is refused
  (-1000, id null) before it is parsed when its bytes hold more quotes, commas, ``{`` and
  ``[`` than ``MAX_PARAMS`` params can need — so a JSON parser never builds more than a
  few hundred values for one frame, however it nests.
- Duplicate keys: the last one wins (orjson and the standard library agree).
- NaN/Infinity literals, invalid UTF-8, lone surrogates, a BOM and nesting deeper than
  1024 levels are not JSON here: refused with -1000.
- ``method`` is kept exactly as sent (``v2/account.position`` included); whether it
  exists is the service's question (``WireError.unknown_method``).

The encoders write Binance's key order (``id, status, result|error, rateLimits``) with
orjson; ``result`` may hold ``orjson.Fragment`` values (pre-serialised rows).
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import orjson

from .errors import WireError

__all__ = [
    "MAX_PARAMS",
    "MAX_PARAM_LENGTH",
    "MAX_REQUEST_BYTES",
    "SERVER_SHUTDOWN",
    "Request",
    "RequestId",
    "WideInt",
    "encode_error",
    "encode_event",
    "encode_result",
    "parse_request",
    "rate_limits_entry",
    "server_shutdown",
]

RequestId = str | int | None

# orjson writes integers in [-2**63, 2**64); anything wider goes out as a Fragment.
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1

# The most params one request may carry (decided: Binance publishes no limit; its widest
# WS API method, order.place, takes about 25).
MAX_PARAMS = 100
# The longest string param, in characters (an RSA-8192 signature, percent-encoded, fits).
MAX_PARAM_LENGTH = 4096
# The longest request frame (decided: real ones are under 2 KiB; 100 params of 4096
# characters would not fit, and need not): longer ones are refused unread.
MAX_REQUEST_BYTES = 64 << 10
# Frames longer than this have their structure counted before they are parsed; shorter
# ones cost a parser little however they nest.
_SCAN_FROM = 1024
_STRUCTURE = b'"{[,'
# Quotes (4 per param, 10 for id, method and params), commas (1 per param, 2 more) and
# the two braces of a request with MAX_PARAMS params.
_MAX_STRUCTURE = 5 * MAX_PARAMS + 16
# Integers with more digits than this are kept as text: ``int()`` costs time quadratic in
# the digits (and Python refuses 4300+), and no param reads a number this long.
_INT_DIGITS = 64


class WideInt(str):
    """A JSON integer of more than 64 digits, kept as the digits sent (echoed as a number,
    signed as written; no param reader takes it as a number)."""

    __slots__ = ()


class Request(NamedTuple):
    """One parsed request frame (a tuple: one is built for every request)."""

    id: RequestId
    method: str
    params: dict[str, object]


def parse_request(frame: bytes | bytearray | memoryview | str) -> Request:
    """The request in one text frame; raises ``WireError`` (-1000, -1101, -1130) and
    nothing else."""
    if len(frame) > _SCAN_FROM:
        if len(frame) > MAX_REQUEST_BYTES:
            raise WireError.malformed_request(
                f"a request is at most {MAX_REQUEST_BYTES // 1024} KiB, this one {len(frame)} bytes"
            )
        _check_structure(frame)
    try:
        document = orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        # orjson refuses integers too wide for a double ("number out of range"); the
        # standard library reads them exactly. Anything else is not JSON.
        if "number" not in str(exc):
            raise WireError.malformed_request("not valid JSON") from None
        return _exact_request(frame)
    request = _request(document, exact=False)
    if request is None:  # a float that may be a wide integer orjson rounded
        return _exact_request(frame)
    return request


def _exact_request(frame: bytes | bytearray | memoryview | str) -> Request:
    request = _request(_loads_exact(frame), exact=True)
    assert request is not None
    return request


def _request(document: object, *, exact: bool) -> Request | None:
    """The request in a parsed document; None (when not ``exact``) if ``id`` or a param
    is a float, which may be orjson's rounding of a wide integer: read it again exactly."""
    if not isinstance(document, dict):
        raise WireError.malformed_request("expected a JSON object")
    if not exact and type(document.get("id")) is float:
        return None
    request_id = _request_id(document)
    method = document.get("method")
    if not isinstance(method, str):
        raise WireError.malformed_request(
            "'method' is missing or not a string", request_id=request_id
        )
    params = document.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise WireError.malformed_request("'params' must be an object", request_id=request_id)
    if _check_params(params, request_id) and not exact:
        return None
    return Request(request_id, method, params)


def _check_params(params: dict[str, object], request_id: RequestId) -> bool:
    """Refuse params no request can have; True if one is a float.

    orjson builds exact ``str``/``float``/``dict``/``list`` objects, so ``type(...) is``
    tells them apart (faster than ``isinstance``, and this runs on every request)."""
    if len(params) > MAX_PARAMS:
        raise WireError.too_many_params(MAX_PARAMS, len(params), request_id=request_id)
    inexact = False
    for name, value in params.items():
        kind = type(value)
        if kind is str or kind is WideInt:
            if len(value) > MAX_PARAM_LENGTH:  # type: ignore[arg-type]
                raise WireError.invalid_value(name, request_id=request_id)
        elif kind is float:
            inexact = True
        elif kind is dict or kind is list:
            raise WireError.invalid_value(name, request_id=request_id)
    return inexact


def _check_structure(frame: bytes | bytearray | memoryview | str) -> None:
    """Refuse, before parsing, a frame holding more structure than a request can."""
    data = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else bytes(frame)
    if len(data) - len(data.translate(None, _STRUCTURE)) > _MAX_STRUCTURE:
        raise WireError.malformed_request(
            f"more values than a request can hold (at most {MAX_PARAMS} params, each a "
            "string, a number, a boolean or null)"
        )


def encode_result(
    id: RequestId, result: object, rate_limits: list[dict[str, Any]] | None = None
) -> bytes:
    """``{"id", "status": 200, "result", ["rateLimits"]}``; ``rateLimits`` omitted when None."""
    frame: dict[str, object] = {"id": _id_value(id), "status": 200, "result": result}
    if rate_limits is not None:
        frame["rateLimits"] = rate_limits
    return orjson.dumps(frame)


def encode_error(
    id: RequestId, error: WireError, rate_limits: list[dict[str, Any]] | None = None
) -> bytes:
    """``{"id", "status", "error": {"code", "msg", ["data"]}, ["rateLimits"]}``.

    ``id`` is written as null when ``error.id_null`` says so (SPEC §4).
    """
    frame: dict[str, object] = {
        "id": None if error.id_null else _id_value(id),
        "status": error.status,
        "error": error.error_object(),
    }
    if rate_limits is not None:
        frame["rateLimits"] = rate_limits
    return orjson.dumps(frame)


def rate_limits_entry(
    count: int, limit: int = 2400, interval: str = "MINUTE", interval_num: int = 1
) -> dict[str, Any]:
    """One item of ``rateLimits``: ``REQUEST_WEIGHT`` with the running ``count``."""
    return {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": interval,
        "intervalNum": interval_num,
        "limit": limit,
        "count": count,
    }


def encode_event(payload: dict[str, Any]) -> bytes:
    """A stream event frame (``ACCOUNT_UPDATE``, ``listenKeyExpired``...) as sent."""
    return orjson.dumps(payload)


def server_shutdown(ms: int) -> bytes:
    """``{"event": {"e": "serverShutdown", "E": ms}}``, sent before a graceful close."""
    return orjson.dumps({"event": {"e": "serverShutdown", "E": ms}})


# The name the service's brief uses.
SERVER_SHUTDOWN = server_shutdown


# -- internals -------------------------------------------------------------------------


def _id_value(id: RequestId) -> object:
    """``id`` in a form orjson can write; integers beyond its range as exact fragments."""
    if isinstance(id, int) and not isinstance(id, bool) and not _INT_MIN <= id <= _INT_MAX:
        return orjson.Fragment(str(id).encode())
    if type(id) is WideInt:
        return orjson.Fragment(id.encode())
    return id


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows a double")
    return value


def _exact_int(text: str) -> int | WideInt:
    return int(text) if len(text) <= _INT_DIGITS else WideInt(text)


def _loads_exact(frame: bytes | bytearray | memoryview | str) -> object:
    """The standard library's reading, as strict as orjson's but with exact integers."""
    try:
        text = frame if isinstance(frame, str) else bytes(frame).decode("utf-8")
        document = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_exact_int,
        )
        _check_strings(document)
    except (ValueError, RecursionError, UnicodeError):
        raise WireError.malformed_request("not valid JSON") from None
    return document


def _check_strings(document: object) -> None:
    """Raise ``UnicodeError`` if a string holds a lone surrogate (``"\\ud800"``)."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            value.encode("utf-8")
        elif isinstance(value, dict):
            for key, item in value.items():
                key.encode("utf-8")
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)


def _request_id(document: dict[str, object]) -> RequestId:
    if "id" not in document:
        return None
    value = document["id"]
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise WireError.malformed_request(
            "'id' must be a string, an integer or null, not a boolean"
        )
    if isinstance(value, int):
        return value
    kind = {float: "a number with a fraction", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__
    )
    raise WireError.malformed_request(f"'id' must be a string, an integer or null, not {kind}")
