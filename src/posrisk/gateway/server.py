"""The network edge: one port for the WS API, the streams, the dashboard and REST.

Each connection's first request head is read by ``sniff``: a WebSocket upgrade goes to
picows, where a WS API connection is an ``ApiListener`` (``api``) and a stream or a
dashboard viewer a ``ReceivingListener`` (``streams``); any other request to an HTTP/1.1
connection (``http``) whose requests go to ``Gateway.http_request``: the page, /health and
/metrics here, everything else ``RestService.handle``. The handshake costs REQUEST_WEIGHT 5
for the client's IP, like Binance's, and a GET of the page, /health or /metrics 1; who else
may connect is ``admission``'s, who may see the dashboard and the monitoring endpoints
``audience``'s, and answers wait for a client that reads slowly (``backpressure``). picows
does not negotiate permessage-deflate (clients that offer it get it declined, which is legal).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
from picows import (
    WSAutoPingStrategy,
    WSUpgradeRequest,
)
from picows.picows import WSProtocol  # type: ignore[attr-defined]

from ..bus import Bus
from ..protocol import WireError, server_shutdown
from ..protocol.streams import parse_stream_target
from ..service.api import ApiService, Connection
from ..service.dashboard import Dashboard
from ..service.rest import HttpResponse, RestService, error_response
from .admission import Admission, error_refusal
from .admission import http_response as _http
from .api import ApiListener
from .audience import admits, browser_refusal
from .logs import ClientLog, limit_client_logs
from .page import DashboardPage
from .settings import GatewaySettings
from .shared_metrics import SharedMetrics
from .sniff import Sniffer
from .stream_routes import open_stream
from .streams import DashboardListener, StreamListener

__all__ = ["WS_API_PATH", "Gateway", "GatewaySettings"]

log = logging.getLogger("posrisk.gateway")

WS_API_PATH = "/ws-fapi/v1"
# What a GET of the page, /health or /metrics costs its IP.
PLAIN_GET_WEIGHT = 1


class Gateway:
    """Serves ``ApiService`` (picows) and ``RestService`` (HTTP/1.1) on one port."""

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
        self._page_html = DashboardPage.load()
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
        assert self.servers, "the gateway is not started"
        return int(self.servers[0].sockets[0].getsockname()[1])

    async def start(
        self, sockets: Sequence[socket.socket], tls: ssl.SSLContext | None = None
    ) -> None:
        """Serve on ``sockets``, bound by ``gateway.ports.bind_port`` before the database
        was opened."""
        loop = asyncio.get_running_loop()
        settings = self.settings
        limit_client_logs(settings.client_log_lines, settings.client_log_interval_s)
        picows_log = ClientLog(logging.getLogger("posrisk.gateway.picows"))
        self.admission.start()

        def websocket() -> Any:
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

        def protocol_factory() -> Sniffer:
            # Each connection's first request head says whether it is a WebSocket
            # (picows) or plain HTTP (``http``): one port serves both.
            return Sniffer(self, websocket)

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
            self.api.expire_listen_keys()

    async def _keepalive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.settings.ping_interval_s)
            self.keepalive(loop.time())

    @property
    def shares_listen_keys(self) -> bool:
        """Whether a listenKey unknown here may have been started on another gateway (the
        bus shares them): then it is looked up once its stream is open, never refused."""
        return self.bus is not None and self.bus.shares_listen_keys

    def keepalive(self, now: float) -> None:
        """One ping round at loop time ``now`` (SPEC §7): close connections past their
        lifetime (1000) or whose oldest unanswered ping is older than the pong timeout
        (1008); ping the rest. Any pong answers every ping before it."""
        for listener in [*self.connections, *self.streams]:
            listener.keepalive(now)

    def route(self, request: WSUpgradeRequest, ip: str) -> Any:
        """A listener for a WebSocket upgrade request, or its HTTP refusal; an upgrade
        request for any other path gets the answer a plain GET of it gets."""
        target = request.path.decode("latin-1")
        path, _, query = target.partition("?")
        if path == WS_API_PATH:
            return self._open_api(request, ip, query)  # charged: its limiter refuses bans
        banned = self.admission.banned(ip)
        if banned is not None:
            return banned
        stream = parse_stream_target(path, query)
        if stream is not None:  # every stream URL form (``stream_routes``)
            return open_stream(self, stream, ip)
        if path == "/dashboard/ws" and self._shows_dashboard(ip):
            if refusal := browser_refusal(request.headers, self.settings.dashboard):
                return error_refusal(WireError(403, -1000, refusal))
            return self._open_viewer(ip)
        answer = self.http_request("GET", target, request.headers, b"", ip)
        if not isinstance(answer, HttpResponse):
            _discard(answer)
            error = WireError.malformed_request("send this request without a WebSocket upgrade")
            answer = error_response(error)
        return _http(answer.status, answer.body, answer.headers)

    def http_request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, ip: str
    ) -> HttpResponse | Awaitable[HttpResponse]:
        """The answer to one plain HTTP request: the page, /health, /metrics for their
        audience, every other request is the REST API's (an unknown path: 404 -5000)."""
        path, _, query = target.partition("?")
        if method == "GET":
            page = self._page(path, headers, ip)
            if page is not None:
                return page
        return self.rest.handle(method, path, query, headers, body, ip)

    def _page(self, path: str, headers: Mapping[str, str], ip: str) -> HttpResponse | None:
        """GET of the page, /health or /metrics by a client of its audience (weight 1);
        None for anyone else, who is answered as for an unknown path."""
        if path == "/" and self._shows_dashboard(ip):
            audience = self.settings.dashboard
        elif path in ("/health", "/metrics") and admits(self.settings.monitoring, ip):
            audience = self.settings.monitoring
        else:
            return None
        error = self.api.charge(ip, PLAIN_GET_WEIGHT)  # the limiter refuses a banned IP (418)
        if error is not None:
            return error_response(error, now=self.api.now())
        seen = {name: headers.get(name.lower()) or "" for name in ("Host", "Origin")}
        if refusal := browser_refusal({k: v for k, v in seen.items() if v}, audience):
            return error_response(WireError(403, -1000, refusal))
        if path == "/":
            return HttpResponse(200, self._page_html.body, self._page_html.headers)
        if path == "/health":
            return HttpResponse(200, orjson.dumps(self.health()), _JSON)
        text = self.metrics_text().encode()
        return HttpResponse(200, text, {"Content-Type": "text/plain; version=0.0.4"})

    def _shows_dashboard(self, ip: str) -> bool:
        return self.dashboard is not None and admits(self.settings.dashboard, ip)

    def health(self) -> dict[str, Any]:
        """``GET /health``: this gateway is serving (for load balancers and orchestrators)."""
        return {
            "status": "ok",
            "pid": os.getpid(),  # which gateway process answered (several share a port)
            "uptimeSeconds": round(time.monotonic() - self._started, 3),
            "accounts": self.api.figures()[0],
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
        accounts, banned, sent = self.api.figures()
        return {
            "posrisk_api_connections": ("Open WS API connections.", len(self.connections)),
            "posrisk_stream_connections": ("Open stream connections.", len(self.streams)),
            "posrisk_banned_ips": ("IPs banned right now.", banned),
            "posrisk_accounts": ("Accounts served.", accounts),
            "posrisk_account_updates_sent": (
                "ACCOUNT_UPDATE events sent to streams since start.",
                sent,
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
        error = self.api.admit_handshake(ip)
        if error is not None:
            return error_refusal(error, self.api.now())
        show = dict(parse_qsl(query)).get("returnRateLimits", "true").lower() != "false"
        connection = Connection(ip, self.api.now(), show)
        return self.admission.room(ip) or ApiListener(self, connection)

    def _open_viewer(self, ip: str) -> Any:
        admission = self.admission
        return admission.stream_attempt(ip) or admission.room(ip) or DashboardListener(self, ip)

    async def shutdown(self, grace_s: float = 1.0) -> None:
        """Tell every client (``serverShutdown``), close with 1001, stop listening."""
        for task in (self._keepalive_task, self._expiry_task, self._dashboard_task):
            if task is not None:
                task.cancel()
        if self.shared_metrics is not None:
            await self.shared_metrics.stop()
        await self.api.market_streams.aclose()
        for server in self.servers:
            server.close()
        notice = server_shutdown(self.api.now())
        for viewer in list(self.viewers):
            viewer.close()
        listeners = [*self.connections, *self.streams]
        for listener in listeners:
            listener.announce_shutdown(notice)
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


def _discard(answer: Awaitable[HttpResponse]) -> None:
    if inspect.iscoroutine(answer):
        answer.close()


_JSON = {"Content-Type": "application/json"}
