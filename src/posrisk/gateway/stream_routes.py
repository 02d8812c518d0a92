"""The handshake of a stream connection: which URL forms open one, and which are refused.

Every form of Binance's USDⓈ-M stream host (``protocol.streams``) opens a
``StreamListener``. Like every stream connection, an attempt counts against its IP's
stream attempts and open connections (``admission``). Refused at the handshake with 400:
a listenKey named in the URL that does not exist (-1125, unless the bus shares listenKeys:
then a key started on another gateway may not have reached this one yet, and is looked up
once open), and a URL naming more streams than one connection may carry (code 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol import WireError
from ..protocol.streams import MAX_STREAMS, StreamTarget
from ..protocol.subscriptions import TOO_MANY
from .admission import Refusal, error_refusal
from .streams import StreamListener

if TYPE_CHECKING:
    from .server import Gateway

__all__ = ["open_stream"]


def open_stream(gateway: Gateway, target: StreamTarget, ip: str) -> Any:
    """The listener for a stream handshake from ``ip``, or its HTTP refusal."""
    admission = gateway.admission
    refusal = admission.stream_attempt(ip)
    if refusal is None:
        refusal = _refusal(gateway, target)
    return refusal or admission.room(ip) or StreamListener(gateway, target, ip)


def _refusal(gateway: Gateway, target: StreamTarget) -> Refusal | None:
    if len(target.names) > MAX_STREAMS:
        return error_refusal(WireError(400, *TOO_MANY))
    strict = gateway.settings.strict_stream_routes
    shared = gateway.shares_listen_keys
    api = gateway.api
    for key in target.listen_keys:
        if target.serves(key, strict) and not shared and not api.listen_key_open(key):
            error = WireError.invalid_listen_key()
            return error_refusal(WireError(400, error.code, error.msg))
    return None
