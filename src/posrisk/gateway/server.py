"""The network edge: one picows server on one port for the WS API and the REST GETs.

It only moves bytes: a text frame goes to ``ApiService.handle`` and its answer goes back;
a plain GET goes to ``RestService.handle``. The handshake costs REQUEST_WEIGHT 5 for the
client's IP, like Binance's. picows answers pings with pongs and does not negotiate
permessage-deflate (clients that offer it get it declined, which is legal).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import orjson
from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)
from picows.picows import WSProtocol  # type: ignore[attr-defined]

from ..protocol import Allow, WireError, encode_error, server_shutdown
from ..service.api import ApiService, Connection
from ..service.rest import RestService

__all__ = ["WS_API_PATH", "Gateway", "GatewaySettings"]

log = logging.getLogger("posrisk.gateway")

WS_API_PATH = "/ws-fapi/v1"
# User data streams: /ws/<listenKey> and /private/ws/<listenKey> (SPEC §8).
STREAM_PREFIXES = ("/ws/", "/private/ws/")


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    # Server ping interval and how long a pong may take (SPEC §7: 3 and 10 minutes).
    ping_interval_s: float = 180.0
    pong_timeout_s: float = 600.0
    # Largest frame accepted (python-binance's own limit is 1 MiB).
    max_frame_size: int = 1 << 20
    handshake_timeout_s: float = 10.0
    # How often listenKeys are checked for expiry (their lifetime is the streams' TTL).
    listen_key_check_s: float = 1.0


class ApiListener(WSListener):
    """One WS API connection: frames in, answers out, in order."""

    def __init__(self, gateway: Gateway, conn: Connection) -> None:
        super().__init__()
        self.gateway = gateway
        self.conn = conn
        self.transport: WSTransport | None = None
        # Fragments of a text message that arrived in several frames.
        self._fragments: list[bytes] | None = None
        # Loop time of the last pong (or of the connection), for the keepalive.
        self.last_pong = 0.0

    def __repr__(self) -> str:
        return f"<ApiListener {self.conn.ip} since {self.conn.connected_since}>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.last_pong = asyncio.get_running_loop().time()
        self.gateway.connections.add(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.connections.discard(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT:
            if frame.fin:
                self._answer(transport, frame.get_payload_as_bytes())
            else:
                self._fragments = [frame.get_payload_as_bytes()]
        elif kind is WSMsgType.CONTINUATION and self._fragments is not None:
            self._fragments.append(frame.get_payload_as_bytes())
            if sum(map(len, self._fragments)) > self.gateway.settings.max_frame_size:
                self._fragments = None
                transport.send_close(WSCloseCode.MESSAGE_TOO_BIG, b"message too big")
                transport.disconnect()
            elif frame.fin:
                message, self._fragments = b"".join(self._fragments), None
                self._answer(transport, message)
        elif kind is WSMsgType.BINARY:
            error = WireError.malformed_request("binary frames are not supported, send JSON text")
            transport.send(WSMsgType.TEXT, encode_error(None, error))
        elif kind is WSMsgType.PONG:
            self.last_pong = asyncio.get_running_loop().time()
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def _answer(self, transport: WSTransport, message: bytes) -> None:
        transport.send(WSMsgType.TEXT, self.gateway.api.handle(self.conn, message))


class StreamListener(WSListener):
    """One user data stream connection (``/ws/<listenKey>``): events out, nothing in."""

    def __init__(self, gateway: Gateway, listen_key: str) -> None:
        super().__init__()
        self.gateway = gateway
        self.listen_key = listen_key
        self.transport: WSTransport | None = None

    def __repr__(self) -> str:
        return f"<StreamListener {self.listen_key[:8]}…>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        streams = self.gateway.api.streams
        if not streams.attach(self.listen_key, self, self.gateway.api.clock.now_ms()):
            self.close()  # the key expired between handshake and now
            return
        self.gateway.streams.add(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.api.streams.detach(self.listen_key, self)
        self.gateway.streams.discard(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    # -- the Sink the user streams send through --

    def send(self, message: bytes) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send(WSMsgType.TEXT, message)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send_close(WSCloseCode.OK)
            self.transport.disconnect()


class Gateway:
    """Serves ``ApiService`` and ``RestService`` over picows on one port."""

    def __init__(
        self, api: ApiService, rest: RestService, settings: GatewaySettings | None = None
    ) -> None:
        self.api = api
        self.rest = rest
        self.settings = settings or GatewaySettings()
        self.connections: set[ApiListener] = set()
        self.streams: set[StreamListener] = set()
        self.server: asyncio.Server | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._expiry_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Gateway {len(self.connections)} connections>"

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(
        self, host: str | Sequence[str], port: int, tls: ssl.SSLContext | None = None
    ) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        settings = self.settings
        picows_log = logging.getLogger("posrisk.gateway.picows")

        def protocol_factory() -> Any:
            # picows's listener factory sees the request but not the peer; a protocol
            # of our own per connection lets the router know the client's IP.
            holder: list[Any] = []

            def route(request: WSUpgradeRequest) -> Any:
                peer = holder[0].transport.underlying_transport.get_extra_info("peername")
                return self.route(request, peer[0] if peer else "unknown")

            protocol = WSProtocol(
                None,
                None,
                False,
                route,
                picows_log,
                True,
                settings.handshake_timeout_s,
                False,  # picows's auto-ping cannot wait longer for a pong than between
                20.0,  # pings; SPEC §7 wants 3 min / 10 min: see Gateway._keepalive.
                20.0,
                WSAutoPingStrategy.PING_PERIODICALLY,
                True,
                settings.max_frame_size,
                None,
                16 * 1024,
            )
            holder.append(protocol)
            return protocol

        self.server = await loop.create_server(
            protocol_factory,
            host=host,
            port=port,
            ssl=tls,
            ssl_handshake_timeout=settings.handshake_timeout_s if tls else None,
        )
        self._keepalive_task = loop.create_task(self._keepalive())
        self._expiry_task = loop.create_task(self._expire_listen_keys())
        return self.server

    async def _expire_listen_keys(self) -> None:
        while True:
            await asyncio.sleep(self.settings.listen_key_check_s)
            self.api.streams.expire(self.api.clock.now_ms())

    async def _keepalive(self) -> None:
        """Ping every connection each interval; close one whose last pong is too old."""
        loop = asyncio.get_running_loop()
        settings = self.settings
        while True:
            await asyncio.sleep(settings.ping_interval_s)
            now = loop.time()
            for listener in list(self.connections):
                transport = listener.transport
                if transport is None or transport.is_disconnected:
                    continue
                if now - listener.last_pong > settings.pong_timeout_s:
                    transport.send_close(WSCloseCode.POLICY_VIOLATION, b"no pong received")
                    transport.disconnect()
                else:
                    transport.send_ping()

    def route(self, request: WSUpgradeRequest, ip: str) -> Any:
        """A WS API listener, or the HTTP response to a plain GET."""
        target = request.path.decode("latin-1")
        path, _, query = target.partition("?")
        if path == WS_API_PATH:
            return self._open_api(request, ip, query)
        for prefix in STREAM_PREFIXES:
            if path.startswith(prefix):
                return self._open_stream(path[len(prefix) :])
        if self.rest.handles(path):
            headers = {k: v for k, v in request.headers.items()}
            upper = {k.upper(): v for k, v in headers.items()}
            if "X-MBX-APIKEY" in upper:
                headers["X-MBX-APIKEY"] = upper["X-MBX-APIKEY"]
            reply = self.rest.handle(path, query, headers, ip)
            return _http(reply.status, reply.body, reply.headers)
        return _http(
            404, b'{"code":-1000,"msg":"Not found."}', {"Content-Type": "application/json"}
        )

    def _open_api(self, request: WSUpgradeRequest, ip: str, query: str) -> Any:
        api = self.api
        now = api.clock.now_ms()
        decision = api.limiter.charge(ip, api.rules.handshake_weight, now)
        if not isinstance(decision, Allow):
            error = api._limit_error(decision, now)
            body = orjson.dumps({"code": error.code, "msg": error.msg})
            return _http(error.status, body, {"Content-Type": "application/json"})
        show = dict(parse_qsl(query)).get("returnRateLimits", "true").lower() != "false"
        return ApiListener(self, Connection(ip, now, show))

    def _open_stream(self, listen_key: str) -> Any:
        if self.api.streams.get(listen_key, self.api.clock.now_ms()) is None:
            error = WireError.invalid_listen_key()
            body = orjson.dumps({"code": error.code, "msg": error.msg})
            return _http(400, body, {"Content-Type": "application/json"})
        return StreamListener(self, listen_key)

    async def shutdown(self, grace_s: float = 1.0) -> None:
        """Tell every client (``serverShutdown``), close with 1001, stop listening."""
        for task in (self._keepalive_task, self._expiry_task):
            if task is not None:
                task.cancel()
        if self.server is not None:
            self.server.close()
        notice = server_shutdown(self.api.clock.now_ms())
        listeners: list[ApiListener | StreamListener] = [*self.connections, *self.streams]
        for listener in listeners:
            transport = listener.transport
            if transport is not None and not transport.is_disconnected:
                transport.send(WSMsgType.TEXT, notice)
                transport.send_close(WSCloseCode.GOING_AWAY, b"server shutdown")
        waits = [
            listener.transport.wait_disconnected()
            for listener in listeners
            if listener.transport is not None
        ]
        if waits:
            _, pending = await asyncio.wait(
                [asyncio.ensure_future(w) for w in waits], timeout=grace_s
            )
            for listener in listeners:
                if listener.transport is not None:
                    listener.transport.disconnect(graceful=False)
            for task in pending:
                task.cancel()
        if self.server is not None:
            await self.server.wait_closed()


def _http(status: int, body: bytes, headers: dict[str, str]) -> WSUpgradeResponseWithListener:
    if status == 200:
        response = WSUpgradeResponse.create_ok_response(body, headers)
    else:
        response = WSUpgradeResponse.create_error_response(HTTPStatus(status), body, headers)
    return WSUpgradeResponseWithListener(response, None)
