"""The network edge: one picows server on one port for the WS API and the REST GETs.

It only moves bytes: a text frame goes to ``ApiService.handle`` and its answer goes back;
a plain GET goes to ``RestService.handle``. The handshake costs REQUEST_WEIGHT 5 for the
client's IP, like Binance's; who else may connect is ``admission``'s, and answers wait for
a client that reads slowly (``backpressure``). picows answers pings with pongs and does
not negotiate permessage-deflate (clients that offer it get it declined, which is legal).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections.abc import Sequence
from importlib import resources
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
)
from picows.picows import WSProtocol  # type: ignore[attr-defined]

from ..bus import Bus
from ..protocol import Allow, WireError, encode_error, server_shutdown
from ..service.api import ApiService, Connection
from ..service.dashboard import Dashboard
from ..service.rest import RestService
from .admission import Admission
from .admission import http_response as _http
from .backpressure import RequestQueue, send_bounded, switch_reading
from .logs import ClientLog, limit_client_logs
from .settings import GatewaySettings
from .streams import DashboardListener, StreamListener

__all__ = ["WS_API_PATH", "Gateway", "GatewaySettings"]

log = logging.getLogger("posrisk.gateway")

WS_API_PATH = "/ws-fapi/v1"
# User data streams: /ws/<listenKey> and /private/ws/<listenKey> (SPEC §8).
STREAM_PREFIXES = ("/ws/", "/private/ws/")


class ApiListener(WSListener):
    """One WS API connection: frames in, answers out, in order."""

    def __init__(self, gateway: Gateway, conn: Connection) -> None:
        super().__init__()
        self.gateway = gateway
        self.conn = conn
        self.transport: WSTransport | None = None
        # Fragments of a text message that arrived in several frames, and their size.
        self._fragments: list[bytes] | None = None
        self._fragment_bytes = 0
        # Inside a fragmented binary message (answered once, its continuations dropped).
        self._in_binary = False
        # Loop time of the connection, and of the oldest ping not yet answered (None when
        # every ping was answered): the keepalive closes it when that is too old.
        self.opened = 0.0
        self.unanswered_since: float | None = None
        # Requests read, answered no faster than the client reads its answers.
        settings = gateway.settings
        self.requests = RequestQueue(
            self._submit,
            self._send,
            lambda on: switch_reading(self.transport, on),
            max_in_flight=settings.max_requests_in_flight,
            max_waiting_bytes=settings.max_waiting_bytes,
        )

    def __repr__(self) -> str:
        return f"<ApiListener {self.conn.ip} since {self.conn.connected_since} {self.requests!r}>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.opened = asyncio.get_running_loop().time()
        self.gateway.connections.add(self)
        self.gateway.admission.count(self.conn.ip)
        settings = self.gateway.settings
        transport.underlying_transport.set_write_buffer_limits(
            high=settings.output_pause_bytes, low=settings.output_resume_bytes
        )

    def pause_writing(self) -> None:
        self.requests.pause()

    def resume_writing(self) -> None:
        self.requests.resume()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.connections.discard(self)
        self.gateway.admission.release(self.conn.ip)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT:
            if self._fragments is not None or self._in_binary:
                return self._protocol_error(transport, b"a new message before the last ended")
            if frame.fin:
                self._answer(transport, frame.get_payload_as_bytes())
            else:
                self._fragments = [frame.get_payload_as_bytes()]
                self._fragment_bytes = frame.payload_size
        elif kind is WSMsgType.CONTINUATION:
            if self._in_binary:  # the rest of a binary message already refused
                self._in_binary = not frame.fin
                return None
            if self._fragments is None:
                return self._protocol_error(transport, b"a continuation of nothing")
            self._fragments.append(frame.get_payload_as_bytes())
            self._fragment_bytes += frame.payload_size
            if self._fragment_bytes > self.gateway.settings.max_frame_size:
                self._fragments = None
                transport.send_close(WSCloseCode.MESSAGE_TOO_BIG, b"message too big")
                transport.disconnect()
            elif frame.fin:
                message, self._fragments = b"".join(self._fragments), None
                self._answer(transport, message)
        elif kind is WSMsgType.BINARY:
            if self._fragments is not None or self._in_binary:
                return self._protocol_error(transport, b"a new message before the last ended")
            self._in_binary = not frame.fin
            error = WireError.malformed_request("binary frames are not supported, send JSON text")
            self._answer(transport, encode_error(None, error), ready=True)
        elif kind is WSMsgType.PONG:
            self.unanswered_since = None
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def _protocol_error(self, transport: WSTransport, reason: bytes) -> None:
        """Fragments out of order (RFC 6455 §5.4): close with 1002, never stay silent."""
        self._fragments = None
        self._in_binary = False
        transport.send_close(WSCloseCode.PROTOCOL_ERROR, reason)
        transport.disconnect()

    def _answer(self, transport: WSTransport, message: bytes, *, ready: bool = False) -> None:
        """Answer ``message`` (a request, or when ``ready`` its answer) after the others."""
        queue = self.requests
        if not (queue.push_answer(message) if ready else queue.push(message)):
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"too many requests unanswered")
            transport.disconnect(graceful=False)

    def _submit(self, message: bytes) -> None:
        self.gateway.api.submit(self.conn, message, self._reply)

    def _send(self, answer: bytes) -> None:
        send_bounded(self.transport, answer, self.gateway.settings.output_max_bytes)

    def _reply(self, response: bytes, status: int) -> None:
        transport = self.transport
        if not send_bounded(transport, response, self.gateway.settings.output_max_bytes):
            return  # the client left (while the shared limiter was deciding), or was dropped
        assert transport is not None
        if status == 418:
            # A banned IP gets its 418, then loses the connection (SPEC §7): it can only
            # come back through a handshake, which is refused while the ban lasts.
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"IP banned")
            transport.disconnect()
        else:
            self.requests.answered()


def _is_loopback(ip: str) -> bool:
    return ip.startswith(("127.", "::ffff:127.")) or ip == "::1"


class Gateway:
    """Serves ``ApiService`` and ``RestService`` over picows on one port."""

    def __init__(
        self,
        api: ApiService,
        rest: RestService,
        settings: GatewaySettings | None = None,
        *,
        bus: Bus | None = None,
        dashboard: Dashboard | None = None,
    ) -> None:
        self.api = api
        # What this gateway shares with others (None: it serves alone).
        self.bus = bus
        # The live page at ``/`` and its viewers (None: no dashboard).
        self.dashboard = dashboard
        self.viewers: set[DashboardListener] = set()
        self._page = _dashboard_page() if dashboard is not None else b""
        self.rest = rest
        self.settings = settings or GatewaySettings()
        self.connections: set[ApiListener] = set()
        self.streams: set[StreamListener] = set()
        self.server: asyncio.Server | None = None
        # Bans, stream connection attempts and open connections per IP.
        self.admission = Admission(self.settings, api.limiter, api.clock)
        self._started = time.monotonic()
        self._keepalive_task: asyncio.Task[None] | None = None
        self._expiry_task: asyncio.Task[None] | None = None
        self._dashboard_task: asyncio.Task[None] | None = None

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
        limit_client_logs(settings.client_log_lines, settings.client_log_interval_s)
        picows_log = ClientLog(logging.getLogger("posrisk.gateway.picows"))
        self.admission.start()

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
            reuse_port=settings.reuse_port or None,
        )
        self._keepalive_task = loop.create_task(self._keepalive())
        self._expiry_task = loop.create_task(self._expire_listen_keys())
        if self.dashboard is not None:
            self._dashboard_task = loop.create_task(self._tick_dashboard(self.dashboard))
        return self.server

    async def _tick_dashboard(self, dashboard: Dashboard) -> None:
        while True:
            await asyncio.sleep(self.settings.dashboard_interval_s)
            try:
                dashboard.tick()
            except Exception:  # a view must never stop the gateway
                log.exception("dashboard update failed")

    async def _expire_listen_keys(self) -> None:
        while True:
            await asyncio.sleep(self.settings.listen_key_check_s)
            self.api.streams.expire(self.api.clock.now_ms())

    async def _keepalive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.settings.ping_interval_s)
            self.keepalive(loop.time())

    def keepalive(self, now: float) -> None:
        """One ping round at loop time ``now`` (SPEC §7): close connections past their
        lifetime (1000) or whose oldest unanswered ping is older than the pong timeout
        (1008); ping the rest. Any pong answers every ping before it."""
        settings = self.settings
        listeners: list[ApiListener | StreamListener] = [*self.connections, *self.streams]
        for listener in listeners:
            transport = listener.transport
            if transport is None or transport.is_disconnected:
                continue
            if now - listener.opened >= settings.max_lifetime_s:
                transport.send_close(WSCloseCode.OK, b"connection lifetime reached")
                transport.disconnect()
            elif (
                listener.unanswered_since is not None
                and now - listener.unanswered_since > settings.pong_timeout_s
            ):
                transport.send_close(WSCloseCode.POLICY_VIOLATION, b"no pong received")
                transport.disconnect()
            else:
                if listener.unanswered_since is None:
                    listener.unanswered_since = now
                transport.send_ping()

    def route(self, request: WSUpgradeRequest, ip: str) -> Any:
        """A WS API listener, or the HTTP response to a plain GET."""
        target = request.path.decode("latin-1")
        path, _, query = target.partition("?")
        if path == WS_API_PATH:
            return self._open_api(request, ip, query)  # charged: its limiter refuses bans
        banned = self.admission.banned(ip)
        if banned is not None:
            return banned
        for prefix in STREAM_PREFIXES:
            if path.startswith(prefix):
                return self._open_stream(path[len(prefix) :], ip)
        if path in ("/", "/dashboard/ws") and self._shows_dashboard(ip):
            if path == "/":
                return _http(200, self._page, {"Content-Type": "text/html; charset=utf-8"})
            return self._open_viewer(ip)
        if path == "/health":
            return _http(200, orjson.dumps(self.health()), {"Content-Type": "application/json"})
        if path == "/metrics":
            text = self.api.metrics.render(self.gauges()).encode()
            return _http(200, text, {"Content-Type": "text/plain; version=0.0.4"})
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

    def _shows_dashboard(self, ip: str) -> bool:
        mode = self.settings.dashboard
        if self.dashboard is None or mode == "off":
            return False
        return mode == "any" or _is_loopback(ip)

    def health(self) -> dict[str, Any]:
        """``GET /health``: this gateway is serving (for load balancers and orchestrators)."""
        return {
            "status": "ok",
            "pid": os.getpid(),  # which gateway process answered (several share a port)
            "uptimeSeconds": round(time.monotonic() - self._started, 3),
            "accounts": len(self.api.registry.accounts),
            "apiConnections": len(self.connections),
            "streamConnections": len(self.streams),
            "bus": "up" if self.bus is None or self.bus.up else "down",
        }

    def gauges(self) -> dict[str, tuple[str, float]]:
        now = self.api.clock.now_ms()
        banned = sum(1 for until, _ in self.api.limiter.bans.values() if until > now)
        return {
            "posrisk_api_connections": ("Open WS API connections.", len(self.connections)),
            "posrisk_stream_connections": ("Open user data streams.", len(self.streams)),
            "posrisk_banned_ips": ("IPs banned right now.", banned),
            "posrisk_accounts": ("Accounts served.", len(self.api.registry.accounts)),
            "posrisk_account_updates_sent": (
                "ACCOUNT_UPDATE events sent to streams since start.",
                self.api.streams.sent,
            ),
            "posrisk_bus_up": (
                "1 while this gateway is connected to the others (always 1 alone).",
                1 if self.bus is None or self.bus.up else 0,
            ),
            "posrisk_uptime_seconds": (
                "Seconds since this gateway started.",
                time.monotonic() - self._started,
            ),
        }

    def _open_api(self, request: WSUpgradeRequest, ip: str, query: str) -> Any:
        api = self.api
        now = api.clock.now_ms()
        decision = api.limiter.charge(ip, api.rules.handshake_weight, now)
        if not isinstance(decision, Allow):
            error = api._limit_error(decision, now)
            body = orjson.dumps({"code": error.code, "msg": error.msg})
            return _http(error.status, body, {"Content-Type": "application/json"})
        show = dict(parse_qsl(query)).get("returnRateLimits", "true").lower() != "false"
        return self.admission.room(ip) or ApiListener(self, Connection(ip, now, show))

    def _open_stream(self, listen_key: str, ip: str) -> Any:
        admission = self.admission
        refusal = admission.stream_attempt(ip)
        if refusal is None and self.api.streams.get(listen_key, self.api.clock.now_ms()) is None:
            error = WireError.invalid_listen_key()
            body = orjson.dumps({"code": error.code, "msg": error.msg})
            refusal = _http(400, body, {"Content-Type": "application/json"})
        return refusal or admission.room(ip) or StreamListener(self, listen_key, ip)

    def _open_viewer(self, ip: str) -> Any:
        admission = self.admission
        return admission.stream_attempt(ip) or admission.room(ip) or DashboardListener(self, ip)

    async def shutdown(self, grace_s: float = 1.0) -> None:
        """Tell every client (``serverShutdown``), close with 1001, stop listening."""
        for task in (self._keepalive_task, self._expiry_task, self._dashboard_task):
            if task is not None:
                task.cancel()
        if self.server is not None:
            self.server.close()
        notice = server_shutdown(self.api.clock.now_ms())
        for viewer in list(self.viewers):
            viewer.close()
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


def _dashboard_page() -> bytes:
    return (resources.files(__package__) / "dashboard.html").read_bytes()
