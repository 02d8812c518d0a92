"""What every WebSocket connection the gateway serves shares, whatever it carries.

A WS API connection (``api``), a user data stream and a dashboard viewer (``streams``) each
hold their IP's place in ``admission`` while open, send through the same output bound
(``backpressure.send_bounded``), answer control frames the same way (``control``), and are
pinged, aged and told of a shutdown by the gateway alike: that state and those steps live
here once, so that the gateway treats every listener the same.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from .backpressure import send_bounded
from .control import control_frame

if TYPE_CHECKING:
    from .server import Gateway

__all__ = ["GatewayListener"]


class GatewayListener(WSListener):
    """One connection of ``gateway`` from ``ip``: its place, its output, its keepalive."""

    def __init__(self, gateway: Gateway, ip: str) -> None:
        super().__init__()
        self.gateway = gateway
        self.ip = ip
        self.transport: WSTransport | None = None
        # Loop time of the connection, and of the oldest ping not yet answered (None when
        # every ping was answered): the keepalive closes it when that is too old.
        self.opened = 0.0
        self.unanswered_since: float | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.opened = asyncio.get_running_loop().time()
        self.gateway.admission.count(self.ip)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.admission.release(self.ip)

    def on_control_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """Answer a control frame (``control``); a pong answers every ping before it."""
        if control_frame(transport, frame):
            self.unanswered_since = None

    def send_bounded(self, message: bytes) -> bool:
        """Send a text frame within the output bound; False once the connection is gone."""
        return send_bounded(self.transport, message, self.gateway.settings.output_max_bytes)

    def close(self) -> None:
        """Close normally (1000), as a service ending the connection does."""
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send_close(WSCloseCode.OK)
            self.transport.disconnect()

    def keepalive(self, now: float) -> None:
        """This connection's part of a ping round at loop time ``now``: close it past its
        lifetime (1000) or when its oldest unanswered ping is older than the pong timeout
        (1008); ping it otherwise."""
        transport = self.transport
        if transport is None or transport.is_disconnected:
            return
        settings = self.gateway.settings
        if now - self.opened >= settings.max_lifetime_s:
            transport.send_close(WSCloseCode.OK, b"connection lifetime reached")
            transport.disconnect()
        elif self.unanswered_since is not None and now - self.unanswered_since > (
            settings.pong_timeout_s
        ):
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"no pong received")
            transport.disconnect()
        else:
            if self.unanswered_since is None:
                self.unanswered_since = now
            transport.send_ping()

    def announce_shutdown(self, notice: bytes) -> None:
        """Send the ``serverShutdown`` ``notice``, then close with 1001; the gateway waits
        for the client to close in turn."""
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.send(WSMsgType.TEXT, notice)
            transport.send_close(WSCloseCode.GOING_AWAY, b"server shutdown")
