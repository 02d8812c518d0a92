"""Which request heads are WebSocket upgrades, what picows is handed of them, and how.

picows answers a handshake it cannot take with text/plain; the checks it makes that a
client gets wrong (the version, the key) are made here first, so that the refusal is
JSON ``{"code", "msg"}`` as every other. picows takes ``Connection: Upgrade`` alone: the
``keep-alive, Upgrade`` Firefox sends is handed over as that.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from typing import Any

__all__ = ["feed_buffered", "hand_over", "handshake_problem", "is_upgrade", "picows_head"]

# The Sec-WebSocket-Version values picows takes.
_VERSIONS = (b"13", b"8", b"7")


def is_upgrade(head: bytes) -> bool:
    """Whether a request head asks for a WebSocket: GET, ``Upgrade: websocket`` and an
    ``upgrade`` token in ``Connection`` (names and tokens in any case)."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"GET "):
        return False
    upgrade = connection = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        tokens = [token.strip().lower() for token in value.split(b",")]
        if name == b"upgrade" and b"websocket" in tokens:
            upgrade = True
        elif name == b"connection" and b"upgrade" in tokens:
            connection = True
    return upgrade and connection


def handshake_problem(head: bytes) -> str | None:
    """Why the upgrade request ``head`` (without its blank line) cannot be taken, or None."""
    lines = head.split(b"\r\n")
    if not lines[0].endswith(b" HTTP/1.1"):
        return "a WebSocket upgrade must be sent over HTTP/1.1"
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.setdefault(name.strip().lower(), value.strip())
    if headers.get(b"sec-websocket-version") not in _VERSIONS:
        return "the WebSocket upgrade has no Sec-WebSocket-Version 13"
    try:
        key = base64.b64decode(headers.get(b"sec-websocket-key", b""), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 16:
        return "the WebSocket upgrade's Sec-WebSocket-Key is not 16 bytes in base64"
    return None


def picows_head(head: bytes) -> bytes:
    """``head`` with each ``Connection`` header the one token ``Upgrade``."""
    lines = head.split(b"\r\n")
    for index in range(1, len(lines)):
        if lines[index].partition(b":")[0].strip().lower() == b"connection":
            lines[index] = b"Connection: Upgrade"
    return b"\r\n".join(lines)


def hand_over(
    transport: asyncio.Transport, websocket: Callable[[], asyncio.BaseProtocol], received: bytes
) -> None:
    """Give the connection to a new picows protocol, ``received`` (the upgrade request as
    picows takes it, and what followed) read as if it had read it itself."""
    protocol = websocket()
    protocol.connection_made(transport)
    transport.set_protocol(protocol)
    feed_buffered(protocol, received)


def feed_buffered(protocol: Any, data: bytes) -> None:
    """Give ``data`` to a protocol as its transport would have: through ``get_buffer`` and
    ``buffer_updated`` for a buffered one (picows's), else ``data_received``."""
    if not isinstance(protocol, asyncio.BufferedProtocol):
        protocol.data_received(data)
        return
    view = memoryview(data)
    while view:
        buffer = memoryview(protocol.get_buffer(len(view)))
        size = min(len(buffer), len(view))
        if size == 0:
            raise RuntimeError("the protocol offered no buffer")
        buffer[:size] = view[:size]
        protocol.buffer_updated(size)
        view = view[size:]
