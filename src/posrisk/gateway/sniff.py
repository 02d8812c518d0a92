"""The first protocol of every connection on the WS port: which kind is it?

It reads the first request's head (at most ``http_max_head_bytes``, within
``handshake_timeout_s``). A WebSocket upgrade (``GET`` with ``Upgrade: websocket`` and
``Connection: upgrade``) is handed to picows's protocol, which reads the same bytes as if
it had read them itself; any other request to an ``HttpConnection``, which holds the IP's
place in ``admission`` while open, as a WebSocket connection does.

A connection holds its IP's place from its accept on (one that would pass the IP's cap is
answered 429 at once): connections that never send a head cannot take every descriptor.
The place passes to the ``HttpConnection``; picows's handshake checks and takes its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from ..protocol import WireError
from ..service.rest import error_response
from .http import HttpConnection, encode_response
from .upgrade import hand_over, handshake_problem, is_upgrade, picows_head

if TYPE_CHECKING:
    from .server import Gateway

__all__ = ["Sniffer"]


class Sniffer(asyncio.Protocol):
    """Reads one request head, then gives the connection to the protocol it needs."""

    def __init__(self, gateway: Gateway, websocket: Callable[[], asyncio.BaseProtocol]) -> None:
        self.gateway = gateway
        self.websocket = websocket
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        # The peer's IP, while this sniffer holds its place in ``admission``.
        self.ip: str | None = None
        self._timeout: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<Sniffer {len(self.buffer)} bytes read>"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they do the same.
        stream = cast(asyncio.Transport, transport)
        self.transport = stream
        peer = stream.get_extra_info("peername")
        ip = str(peer[0]) if peer else "unknown"
        admission = self.gateway.admission
        full = admission.full(ip)
        if full is not None:
            _refuse(stream, WireError(429, -1003, full))
            return
        admission.count(ip)
        self.ip = ip
        loop = asyncio.get_running_loop()
        self._timeout = loop.call_later(self.gateway.settings.handshake_timeout_s, stream.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self._release()

    def _release(self) -> None:
        if self.ip is not None:
            self.gateway.admission.release(self.ip)
            self.ip = None

    def eof_received(self) -> bool:
        return False

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        buffer = self.buffer
        buffer += data
        end = buffer.find(b"\r\n\r\n")
        most = self.gateway.settings.http_max_head_bytes
        if end < 0 and len(buffer) <= most:
            return
        self._stop_timer()
        if end < 0 or end + 4 > most:
            _refuse(transport, WireError.oversized(431, "request head", most))
            return
        received = bytes(buffer)
        self.buffer = bytearray()
        head = received[:end]
        if is_upgrade(head):
            problem = handshake_problem(head)
            if problem is not None:
                _refuse(transport, WireError.malformed_request(problem))
                return
            self._release()  # picows's handshake takes the place (or refuses)
            hand_over(transport, self.websocket, picows_head(head) + received[end:])
        else:
            self._serve_http(transport, received)

    def _serve_http(self, transport: asyncio.Transport, received: bytes) -> None:
        gateway = self.gateway
        ip, self.ip = self.ip, None  # the place passes to the connection
        assert ip is not None
        admission = gateway.admission
        connection = HttpConnection(
            gateway.http_request,
            ip,
            gateway.settings,
            lambda: admission.release(ip),
            self.websocket,
        )
        connection.start(transport, received)

    def _stop_timer(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None


def _refuse(transport: asyncio.Transport, error: WireError) -> None:
    """Answer ``error`` and close: nothing else is read of the connection."""
    transport.write(encode_response(error_response(error), keep_alive=False))
    transport.close()
