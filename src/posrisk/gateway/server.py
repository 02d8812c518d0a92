"""The network edge: one picows server on one port for the WS API and the REST GETs.

It only moves bytes: a text frame goes to ``ApiService.handle`` and its answer goes back;
a plain GET goes to ``RestService.handle``. The handshake costs REQUEST_WEIGHT 5 for the
client's IP, like Binance's. picows answers pings with pongs and does not negotiate
permessage-deflate (clients that offer it get it declined, which is legal).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
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

from ..bus import Bus
from ..protocol import (
    BINARY,
    DEFAULT_MAX_FRAGMENTS,
    PROTOCOL_ERROR,
    Allow,
    Fail,
    MessageAssembler,
    WireError,
    encode_error,
    server_shutdown,
)
from ..service.api import ApiService, Connection
from ..service.dashboard import Dashboard
from ..service.rest import RestService
from .audience import admits, browser_refusal
from .page import DashboardPage
from .shared_metrics import SharedMetrics

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
    # Largest frame, and message, accepted (python-binance's own limit is 1 MiB).
    max_frame_size: int = 1 << 20
    # Most frames one message may arrive in (empty continuations cost memory too).
    max_fragments: int = DEFAULT_MAX_FRAGMENTS
    handshake_timeout_s: float = 10.0
    # How often listenKeys are checked for expiry (their lifetime is the streams' TTL).
    listen_key_check_s: float = 1.0
    # A connection lives at most this long (SPEC §7: 24 hours), checked at each ping round.
    max_lifetime_s: float = 24 * 3600.0
    # Open WS connections (API and streams) allowed per IP at once.
    max_connections_per_ip: int = 10_000
    # Share the port with other processes (SO_REUSEPORT): ``serve --workers N``.
    reuse_port: bool = False
    # serve --workers N: this worker's index and the folder where the workers exchange
    # their /metrics figures (every ``metrics_share_s``), so any of them shows them all.
    worker: int = 0
    metrics_folder: str | None = None
    metrics_share_s: float = 1.0
    # Who may see the dashboard (``GET /``): "loopback" clients, "any" client, or "off".
    dashboard: str = "loopback"
    # Who may read ``/health`` and ``/metrics``: "loopback" clients, "any" client, or "off".
    monitoring: str = "loopback"
    # How often the dashboard's viewers are sent what moved.
    dashboard_interval_s: float = 0.25


class ApiListener(WSListener):
    """One WS API connection: frames in, answers out, in order."""

    def __init__(self, gateway: Gateway, conn: Connection) -> None:
        super().__init__()
        self.gateway = gateway
        self.conn = conn
        self.transport: WSTransport | None = None
        # Text messages from their frames, within the size and fragment limits.
        self.messages = MessageAssembler(
            gateway.settings.max_frame_size, gateway.settings.max_fragments
        )
        # Loop time of the connection, and of the oldest ping not yet answered (None when
        # every ping was answered): the keepalive closes it when that is too old.
        self.opened = 0.0
        self.unanswered_since: float | None = None

    def __repr__(self) -> str:
        return f"<ApiListener {self.conn.ip} since {self.conn.connected_since}>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.opened = asyncio.get_running_loop().time()
        self.gateway.connections.add(self)
        self.gateway.count_ip(self.conn.ip)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.connections.discard(self)
        self.gateway.release_ip(self.conn.ip)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.CONTINUATION or kind is WSMsgType.BINARY:
            if transport.is_close_frame_sent:
                return  # read in the same chunk as a close we sent: not answered
            reserved = frame.rsv1 or frame.rsv2 or frame.rsv3
            payload = frame.get_payload_as_bytes()
            # picows's WSMsgType is an IntEnum at run time (its stub says Enum): the opcode.
            verdict = self.messages.feed(kind, frame.fin, reserved, payload)  # type: ignore[arg-type]
            if type(verdict) is bytes:
                self.gateway.api.submit(self.conn, verdict, self._reply)
            elif verdict is BINARY:
                transport.send(WSMsgType.TEXT, _BINARY_REFUSED)
            elif isinstance(verdict, Fail):
                _fail(transport, verdict.code, verdict.reason)
        elif _control_frame(transport, frame):
            self.unanswered_since = None

    def _reply(self, response: bytes, status: int) -> None:
        transport = self.transport
        if transport is None or transport.is_disconnected:
            return  # the client left while the shared limiter was deciding
        transport.send(WSMsgType.TEXT, response)
        if status == 418:
            # A banned IP gets its 418, then loses the connection (SPEC §7): it can only
            # come back through a handshake, which is refused while the ban lasts.
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"IP banned")
            transport.disconnect()


_BINARY_REFUSED = encode_error(
    None, WireError.malformed_request("binary frames are not supported, send JSON text")
)


_BINARY_REFUSED = encode_error(
    None, WireError.malformed_request("binary frames are not supported, send JSON text")
)


def _fail(transport: WSTransport, code: int, reason: bytes) -> None:
    """Fail the connection (RFC 6455 §7.1.7): a close frame with ``code``, then drop it."""
    transport.send_close(WSCloseCode(code), reason)
    transport.disconnect()


def _control_frame(transport: WSTransport, frame: WSFrame) -> bool:
    """Answer a control frame, or fail the connection on a frame with a reserved bit set
    (no extension is negotiated: RFC 6455 §5.2). Pings are answered here, not by picows,
    so that theirs are checked too. True for a pong (the peer is alive)."""
    if frame.rsv1 or frame.rsv2 or frame.rsv3:
        _fail(transport, PROTOCOL_ERROR, b"reserved bits set without an extension")
        return False
    kind = frame.msg_type
    if kind is WSMsgType.PING:
        transport.send_pong(frame.get_payload_as_bytes())
    elif kind is WSMsgType.CLOSE:
        transport.send_close(frame.get_close_code())
        transport.disconnect()
    return kind is WSMsgType.PONG


class StreamListener(WSListener):
    """One user data stream connection (``/ws/<listenKey>``): events out, nothing in."""

    def __init__(self, gateway: Gateway, listen_key: str, ip: str) -> None:
        super().__init__()
        self.gateway = gateway
        self.listen_key = listen_key
        self.ip = ip
        self.transport: WSTransport | None = None
        # Loop time of the connection, and of the oldest ping not yet answered (None when
        # every ping was answered): the keepalive closes it when that is too old.
        self.opened = 0.0
        self.unanswered_since: float | None = None

    def __repr__(self) -> str:
        return f"<StreamListener {self.listen_key[:8]}…>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.opened = asyncio.get_running_loop().time()
        self.gateway.count_ip(self.ip)
        streams = self.gateway.api.streams
        if not streams.attach(self.listen_key, self, self.gateway.api.clock.now_ms()):
            self.close()  # the key expired between handshake and now
            return
        self.gateway.streams.add(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.api.streams.detach(self.listen_key, self)
        self.gateway.streams.discard(self)
        self.gateway.release_ip(self.ip)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if _control_frame(transport, frame):  # data frames: nothing is read here
            self.unanswered_since = None

    # -- the Sink the user streams send through --

    def send(self, message: bytes) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send(WSMsgType.TEXT, message)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send_close(WSCloseCode.OK)
            self.transport.disconnect()


class DashboardListener(WSListener):
    """One viewer of the dashboard page (``/dashboard/ws``): state out, nothing in."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__()
        self.gateway = gateway
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        assert self.gateway.dashboard is not None
        self.gateway.viewers.add(self)
        self.gateway.dashboard.attach(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.viewers.discard(self)
        if self.gateway.dashboard is not None:
            self.gateway.dashboard.detach(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        _control_frame(transport, frame)  # data frames: nothing is read here

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
        self._page = DashboardPage.load()
        self.rest = rest
        self.settings = settings or GatewaySettings()
        folder = self.settings.metrics_folder
        self.shared_metrics = (
            SharedMetrics(Path(folder), self.settings.worker, self.settings.metrics_share_s)
            if folder is not None
            else None
        )
        self.connections: set[ApiListener] = set()
        self.streams: set[StreamListener] = set()
        # One asyncio server per bound address (``start``).
        self.servers: list[asyncio.Server] = []
        # Open WS connections per IP (API and streams), for the per-IP cap.
        self._per_ip: dict[str, int] = {}
        self._started = time.monotonic()
        self._keepalive_task: asyncio.Task[None] | None = None
        self._expiry_task: asyncio.Task[None] | None = None
        self._dashboard_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Gateway {len(self.connections)} connections>"

    @property
    def port(self) -> int:
        assert self.servers, "the gateway is not started"
        return int(self.servers[0].sockets[0].getsockname()[1])

    async def start(
        self, sockets: Sequence[socket.socket], tls: ssl.SSLContext | None = None
    ) -> None:
        """Serve on ``sockets``, bound by ``gateway.ports.bind_port`` before the database
        was opened."""
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
                False,  # pings are answered by the listeners, reserved bits checked first
                settings.max_frame_size,
                None,
                16 * 1024,
            )
            holder.append(protocol)
            return protocol

        for sock in sockets:
            server = await loop.create_server(
                protocol_factory,
                sock=sock,
                ssl=tls,
                ssl_handshake_timeout=settings.handshake_timeout_s if tls else None,
            )
            self.servers.append(server)
        self._keepalive_task = loop.create_task(self._keepalive())
        self._expiry_task = loop.create_task(self._expire_listen_keys())
        if self.dashboard is not None:
            self._dashboard_task = loop.create_task(self._tick_dashboard(self.dashboard))
        if self.shared_metrics is not None:
            self.shared_metrics.start(lambda: (self.api.metrics, self.gauges()))

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

    def has_room(self, ip: str) -> bool:
        """Whether ``ip`` may open one more connection (checked at the handshake; counted
        once connected, so a handshake that fails never holds a place)."""
        return self._per_ip.get(ip, 0) < self.settings.max_connections_per_ip

    def count_ip(self, ip: str) -> None:
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1

    def release_ip(self, ip: str) -> None:
        count = self._per_ip.get(ip, 0) - 1
        if count > 0:
            self._per_ip[ip] = count
        else:
            self._per_ip.pop(ip, None)

    def route(self, request: WSUpgradeRequest, ip: str) -> Any:
        """A WS API listener, or the HTTP response to a plain GET."""
        target = request.path.decode("latin-1")
        path, _, query = target.partition("?")
        if path == WS_API_PATH:
            return self._open_api(request, ip, query)
        for prefix in STREAM_PREFIXES:
            if path.startswith(prefix):
                return self._open_stream(path[len(prefix) :], ip)
        if path in ("/", "/dashboard/ws") and self._shows_dashboard(ip):
            if refusal := browser_refusal(request.headers, self.settings.dashboard):
                return _forbidden(refusal)
            if path == "/":
                return _http(200, self._page.body, self._page.headers)
            return DashboardListener(self)
        if path in ("/health", "/metrics") and admits(self.settings.monitoring, ip):
            if refusal := browser_refusal(request.headers, self.settings.monitoring):
                return _forbidden(refusal)
            if path == "/health":
                return _http(200, orjson.dumps(self.health()), {"Content-Type": "application/json"})
            text = self.metrics_text().encode()
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
        return self.dashboard is not None and admits(self.settings.dashboard, ip)

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

    def metrics_text(self) -> str:
        """``GET /metrics``: this gateway's figures, or every worker's (``--workers``)."""
        if self.shared_metrics is not None:
            return self.shared_metrics.render(self.api.metrics, self.gauges())
        return self.api.metrics.render(self.gauges())

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
        if not self.has_room(ip):
            return self._too_many_connections()
        return ApiListener(self, Connection(ip, now, show))

    def _open_stream(self, listen_key: str, ip: str) -> Any:
        if self.api.streams.get(listen_key, self.api.clock.now_ms()) is None:
            error = WireError.invalid_listen_key()
            body = orjson.dumps({"code": error.code, "msg": error.msg})
            return _http(400, body, {"Content-Type": "application/json"})
        if not self.has_room(ip):
            return self._too_many_connections()
        return StreamListener(self, listen_key, ip)

    def _too_many_connections(self) -> Any:
        cap = self.settings.max_connections_per_ip
        body = orjson.dumps(
            {"code": -1003, "msg": f"Too many connections; current limit is {cap} per IP."}
        )
        return _http(429, body, {"Content-Type": "application/json"})

    async def shutdown(self, grace_s: float = 1.0) -> None:
        """Tell every client (``serverShutdown``), close with 1001, stop listening."""
        for task in (self._keepalive_task, self._expiry_task, self._dashboard_task):
            if task is not None:
                task.cancel()
        if self.shared_metrics is not None:
            await self.shared_metrics.stop()
        for server in self.servers:
            server.close()
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
        for server in self.servers:
            await server.wait_closed()


def _forbidden(msg: str) -> WSUpgradeResponseWithListener:
    """403: a client of the audience, but its request came from a page of another site."""
    return _http(
        403, orjson.dumps({"code": -1000, "msg": msg}), {"Content-Type": "application/json"}
    )


def _http(status: int, body: bytes, headers: dict[str, str]) -> WSUpgradeResponseWithListener:
    if status == 200:
        response = WSUpgradeResponse.create_ok_response(body, headers)
    else:
        response = WSUpgradeResponse.create_error_response(HTTPStatus(status), body, headers)
    return WSUpgradeResponseWithListener(response, None)
