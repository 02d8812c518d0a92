"""The user data stream's REST routes (``/fapi/v1/listenKey``): start, keep alive, close —
one registry with the WS API's ``userDataStream.*`` methods. ``LISTEN_KEY_ROUTES`` joins
``rest.ROUTES``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol import WireError

if TYPE_CHECKING:
    from .rest import RestRequest, RestService, Route, Weight

__all__ = ["LISTEN_KEY_ROUTES"]


def listen_key_start(rest: RestService, request: RestRequest, now: int) -> Any:
    """POST: the key's active listenKey, extended, or a new one (one registry with the
    WS API's ``userDataStream.*``)."""
    key = rest.stream_key(request)
    return {"listenKey": rest.api.streams.start(key.api_key, key.account, now)}


def listen_key_keepalive(rest: RestService, request: RestRequest, now: int) -> Any:
    key = rest.stream_key(request)
    listen_key = rest.api.streams.ping(key.api_key, now)
    if listen_key is None:
        raise WireError.invalid_listen_key()
    return {"listenKey": listen_key}


def listen_key_close(rest: RestService, request: RestRequest, now: int) -> Any:
    key = rest.stream_key(request)
    rest.api.streams.stop(key.api_key)
    return b"{}"


LISTEN_KEY_ROUTES: dict[tuple[str, str], tuple[Route, Weight]] = {
    ("POST", "/fapi/v1/listenKey"): (listen_key_start, 1),
    ("PUT", "/fapi/v1/listenKey"): (listen_key_keepalive, 1),
    ("DELETE", "/fapi/v1/listenKey"): (listen_key_close, 1),
}
