"""The frames a stream connection may send: subscribe, unsubscribe, list, properties.

``{"method": "SUBSCRIBE" | "UNSUBSCRIBE", "params": [names], "id"}`` answers
``{"result": null, "id"}``; ``LIST_SUBSCRIPTIONS`` answers ``{"result": [names], "id"}``;
``SET_PROPERTY ["combined", bool]`` ``{"result": null, "id"}``; ``GET_PROPERTY ["combined"]``
``{"result": bool, "id"}``. The ``id`` is echoed as sent: Binance documents an unsigned
integer, its own SDK sends uuid strings, so an integer, a string or null is accepted.
Errors are flat ``{"code", "msg", "id"}`` with Binance's texts: 0 unknown property, 1 not
a boolean, 2 an invalid request (unknown method, bad id, too many parameters — and more
than ``MAX_STREAMS`` streams on the connection; a name longer than ``MAX_STREAM_NAME``:
``invalid stream``, as Binance refuses a malformed name), 3 invalid JSON (``id`` null). Pure: a
message in, the reply and the streams added or removed out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .streams import MAX_STREAM_NAME, MAX_STREAMS

__all__ = ["FrameOutcome", "Subscriptions", "stream_error"]

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
UNKNOWN_PROPERTY = (0, "Unknown property")
NOT_BOOLEAN = (1, "Invalid value type: expected Boolean")
BAD_ID = (2, "Invalid request: request ID must be an unsigned integer")
TOO_MANY = (2, "Invalid request: too many parameters")
PROPERTY_NAME = (2, "Invalid request: property name must be a string")
NOT_NAMES = (2, "Invalid request: invalid type: expected a sequence of stream names")
NOT_OBJECT = (2, "Invalid request: invalid type: expected a JSON object")
NO_METHOD = (2, "Invalid request: missing field method")
INVALID_STREAM = (2, "Invalid request: invalid stream")
_PROPERTY = "combined"


def stream_error(code: int, msg: str, request_id: Any = None) -> bytes:
    """A flat stream error frame."""
    return orjson.dumps({"code": code, "msg": msg, "id": request_id})


@dataclass(frozen=True, slots=True)
class FrameOutcome:
    """What one frame did: the reply to send, and the streams it added or removed."""

    reply: bytes
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class _Refused(Exception):
    def __init__(self, error: tuple[int, str]) -> None:
        super().__init__(error[1])
        self.error = error


class Subscriptions:
    """One stream connection's streams, in the order subscribed, and its framing."""

    def __init__(
        self, names: Iterable[str] = (), *, combined: bool = False, limit: int = MAX_STREAMS
    ) -> None:
        self._names: dict[str, None] = dict.fromkeys(names)
        self.combined = combined
        self.limit = limit

    def __repr__(self) -> str:
        framing = "combined" if self.combined else "raw"
        return f"<Subscriptions {len(self._names)} streams, {framing}>"

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def discard(self, name: str) -> None:
        """Forget ``name`` (its stream ended on the server's side)."""
        self._names.pop(name, None)

    def handle(self, message: bytes) -> FrameOutcome:
        """The outcome of one text message from the client."""
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError as error:
            where = f"line {error.lineno} column {error.colno}"
            return FrameOutcome(stream_error(3, f"Invalid JSON: expected value at {where}"))
        if not isinstance(request, dict):
            return FrameOutcome(stream_error(*NOT_OBJECT))
        request_id = request.get("id")
        if "id" not in request or not _valid_id(request_id):
            return FrameOutcome(stream_error(*BAD_ID))
        method = request.get("method")
        if method is None:
            return FrameOutcome(stream_error(*NO_METHOD, request_id))
        if method not in METHODS:
            msg = f"Invalid request: unknown variant {method}, expected one of {', '.join(METHODS)}"
            return FrameOutcome(stream_error(2, msg, request_id))
        try:
            return self._apply(method, request.get("params"), request_id)
        except _Refused as refused:
            return FrameOutcome(stream_error(*refused.error, request_id))

    def _apply(self, method: str, params: Any, request_id: Any) -> FrameOutcome:
        if method == "LIST_SUBSCRIPTIONS":
            return FrameOutcome(_result(self.names, request_id))
        if method == "SUBSCRIBE":
            named = _stream_names(params)
            if any(len(name) > MAX_STREAM_NAME for name in named):
                raise _Refused(INVALID_STREAM)
            new = [n for n in dict.fromkeys(named) if n not in self._names]
            if len(self._names) + len(new) > self.limit:
                raise _Refused(TOO_MANY)
            self._names.update(dict.fromkeys(new))
            return FrameOutcome(_result(None, request_id), added=tuple(new))
        if method == "UNSUBSCRIBE":
            gone = [n for n in dict.fromkeys(_stream_names(params)) if n in self._names]
            for name in gone:
                del self._names[name]
            return FrameOutcome(_result(None, request_id), removed=tuple(gone))
        values = _property(params, 2 if method == "SET_PROPERTY" else 1)
        if method == "GET_PROPERTY":
            return FrameOutcome(_result(self.combined, request_id))
        if len(values) < 2 or not isinstance(values[1], bool):
            raise _Refused(NOT_BOOLEAN)
        self.combined = values[1]
        return FrameOutcome(_result(None, request_id))


def _valid_id(request_id: Any) -> bool:
    if request_id is None or isinstance(request_id, str):
        return True
    return type(request_id) is int and request_id >= 0


def _result(result: Any, request_id: Any) -> bytes:
    return orjson.dumps({"result": result, "id": request_id})


def _stream_names(params: Any) -> list[str]:
    if params is None:
        return []
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise _Refused(NOT_NAMES)
    return params


def _property(params: Any, most: int) -> list[Any]:
    """The params of SET_PROPERTY (``most`` 2) or GET_PROPERTY (1), the name checked."""
    if not isinstance(params, list) or not params or not isinstance(params[0], str):
        raise _Refused(PROPERTY_NAME)
    if len(params) > most:
        raise _Refused(TOO_MANY)
    if params[0] != _PROPERTY:
        raise _Refused(UNKNOWN_PROPERTY)
    return params
