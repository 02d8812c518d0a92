"""Connections that only receive: user data streams and dashboard viewers.

Both are ``Sink``s the services send through. Neither can be paused (an event must reach
every stream, in order), so one whose client stops reading is dropped once its unsent
output passes ``output_max_bytes``. What such a client sends is not read for meaning,
but it is bounded like Binance bounds its streams: more than ``stream_messages_per_s``
frames (pings, pongs, closes, anything) in a second closes the connection with 1008.
Pings are answered here (``control``); their pongs count against the output bound.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from picows import WSCloseCode, WSFrame, WSTransport

from .listener import GatewayListener

if TYPE_CHECKING:
    from .server import Gateway

__all__ = ["DashboardListener", "ReceivingListener", "StreamListener"]


class ReceivingListener(GatewayListener):
    """What every receive-only connection adds: a bound on what its client sends, and
    the ``Sink`` the services send through."""

    def __init__(self, gateway: Gateway, ip: str) -> None:
        super().__init__(gateway, ip)
        # Start (loop time) of the second whose incoming frames are being counted.
        self._second = 0.0
        self._frames = 0

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._second >= 1.0:
            self._second, self._frames = now, 0
        self._frames += 1
        if self._frames > self.gateway.settings.stream_messages_per_s:
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"too many messages")
            transport.disconnect()
        else:  # data frames: nothing is read here
            self.on_control_frame(transport, frame)

    # The transport's buffer crossing its marks: nothing to pause here (see ``send``).
    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass

    # -- the Sink the services send through (its ``close`` is the base's) --

    def send(self, message: bytes) -> None:
        self.send_bounded(message)


class StreamListener(ReceivingListener):
    """One user data stream connection (``/ws/<listenKey>``): events out, nothing in."""

    def __init__(
        self, gateway: Gateway, listen_key: str, ip: str, unconfirmed: bool = False
    ) -> None:
        super().__init__(gateway, ip)
        self.listen_key = listen_key
        # The key was not known here at the handshake: the bus is asked for it once open.
        self.unconfirmed = unconfirmed
        self._lookup: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<StreamListener {self.listen_key[:8]}…>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        if self.unconfirmed:
            self._lookup = asyncio.get_running_loop().create_task(self._look_up())
            return
        self._attach()

    def _attach(self) -> None:
        if not self.gateway.api.attach_stream(self.listen_key, self):
            self.close()  # the key expired between handshake and now
            return
        self.gateway.streams.add(self)

    async def _look_up(self) -> None:
        bus = self.gateway.bus
        found = bus is not None and await bus.find_listen_key(self.listen_key)
        if self.transport is None or self.transport.is_disconnected:
            return
        if found or self.gateway.api.listen_key_open(self.listen_key):
            self._attach()
        else:  # no gateway has it: refused as a handshake would have been, once open
            self.transport.send_close(WSCloseCode.POLICY_VIOLATION, b"Invalid listenKey.")
            self.transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._lookup is not None:
            self._lookup.cancel()
        self.gateway.api.detach_stream(self.listen_key, self)
        self.gateway.streams.discard(self)
        super().on_ws_disconnected(transport)


class DashboardListener(ReceivingListener):
    """One viewer of the dashboard page (``/dashboard/ws``): state out, nothing in."""

    def __repr__(self) -> str:
        return f"<DashboardListener {self.ip}>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        assert self.gateway.dashboard is not None
        self.gateway.viewers.add(self)
        self.gateway.dashboard.attach(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.viewers.discard(self)
        if self.gateway.dashboard is not None:
            self.gateway.dashboard.detach(self)
        super().on_ws_disconnected(transport)
