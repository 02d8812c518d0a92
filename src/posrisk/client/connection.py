"""``PositionClient``: positions from Binance's USDⓈ-M WS API (or posrisk), safely.

One WebSocket connection (picows), requests correlated by id, a per-request timeout,
the server clock measured and used for timestamps (``session.status``), ``session.logon``
with an Ed25519 key so later requests are not signed one by one, the REQUEST_WEIGHT
budget followed from ``rateLimits`` (waiting rather than crossing it), and reconnection
with backoff — on a dropped connection, on the server's ``serverShutdown`` notice and
before the 24-hour connection limit — with the session restored and the requests in
flight sent again (they are reads).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from picows import WSError, WSMsgType, WSTransport, ws_connect

from .errors import (
    BinanceError,
    ClientError,
    ConnectionLost,
    ProtocolError,
    RequestTimeout,
    TimestampOutsideRecvWindow,
    error_from_reply,
)
from .frames import MessageListener
from .keys import Signer, canonical_payload, load_signer
from .limits import WEIGHTS, RateLimitTracker, RateLimitUsage
from .models import (
    AccountStatus,
    Balance,
    Position,
    PositionV2,
    parse_account_status,
    parse_balance,
    parse_position,
    parse_position_v2,
)

if TYPE_CHECKING:
    from .sync import SyncPositionClient

__all__ = ["PositionClient"]

log = logging.getLogger("posrisk.client")


class _Retry(Exception):
    """The connection dropped under a request: send it again once reconnected."""


class PositionClient:
    """Read positions over the WS API. Use as ``async with PositionClient(...) as c``."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        secret_or_private_key: str | bytes | Path | None = None,
        *,
        password: str | bytes | None = None,
        recv_window: int = 5000,
        timeout: float = 10.0,
        connect_timeout: float = 10.0,
        auto_logon: bool = True,
        wait_for_rate_limit: bool = True,
        reconnect: bool = True,
        backoff: tuple[float, float] = (0.1, 5.0),
        max_connection_age: float = 23.5 * 3600,
        sync_clock: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        ssl_context: ssl.SSLContext | None = None,
        ping_interval: float = 30.0,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.signer: Signer | None = (
            load_signer(secret_or_private_key, password)
            if secret_or_private_key is not None
            else None
        )
        self.recv_window = recv_window
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.auto_logon = auto_logon
        self.wait_for_rate_limit = wait_for_rate_limit
        self.reconnect = reconnect
        self.backoff = backoff
        self.max_connection_age = max_connection_age
        self.sync_clock_on_connect = sync_clock
        self.clock = clock
        # How the client waits (for a rate-limit window, between reconnects): injectable.
        self.sleep = sleep
        self.ssl_context = ssl_context
        self.ping_interval = ping_interval
        self.rate_limits = RateLimitTracker()
        # Server time − local clock, in ms; added to every timestamp.
        self.clock_offset_ms = 0
        # How many times the connection was (re)opened.
        self.connections = 0
        self._transport: WSTransport | None = None
        # Set once a connection is open *and* set up (clock measured, session logged on).
        self._ready = asyncio.Event()
        self._logged_on = False
        self._closed = False
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._id_prefix = secrets.token_hex(4)
        self._next_id = 0
        self._reconnecting: asyncio.Task[None] | None = None
        self._age_timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self.connected else "connecting"
        session = ", logged on" if self._logged_on else ""
        return f"<PositionClient {self.url} {state}{session}, offset {self.clock_offset_ms} ms>"

    # -- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> PositionClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._transport is not None and self._ready.is_set()

    @property
    def logged_on(self) -> bool:
        return self._logged_on

    @classmethod
    def sync(cls, *args: Any, **kwargs: Any) -> SyncPositionClient:
        """The same client for scripts and notebooks: blocking methods, its own loop."""
        from .sync import SyncPositionClient

        return SyncPositionClient(*args, **kwargs)

    async def connect(self) -> None:
        """Open the connection (measure the clock, log on with an Ed25519 key)."""
        if self._closed:
            raise ConnectionLost("the client is closed")
        await self._open()

    async def close(self) -> None:
        """Close the connection; requests still waiting get ``ConnectionLost``."""
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._age_timer is not None:
            self._age_timer.cancel()
        transport, self._transport = self._transport, None
        self._ready.clear()
        self._fail_pending(ConnectionLost("the client was closed"))
        if transport is not None and not transport.is_disconnected:
            transport.send_close()
            transport.disconnect()
            await transport.wait_disconnected()

    async def _open(self) -> None:
        try:
            transport, _ = await asyncio.wait_for(
                ws_connect(
                    lambda: MessageListener(self._on_message, self._on_disconnected),
                    self.url,
                    ssl_context=self.ssl_context,
                    websocket_handshake_timeout=self.connect_timeout,
                    enable_auto_ping=self.ping_interval > 0,
                    auto_ping_idle_timeout=max(self.ping_interval, 1.0),
                    auto_ping_reply_timeout=max(self.ping_interval, 1.0),
                    max_frame_size=64 << 20,
                ),
                self.connect_timeout,
            )
        except (OSError, WSError, TimeoutError) as e:
            raise ConnectionLost(f"cannot connect to {self.url}: {e}") from e
        if transport.is_disconnected:
            # It closed before we adopted it, so its disconnect callback was ignored
            # (a server dying as it answered the handshake): this attempt failed.
            raise ConnectionLost(f"the connection to {self.url} closed as it opened")
        self._transport = transport
        self._logged_on = False
        self.connections += 1
        loop = asyncio.get_running_loop()
        if self.max_connection_age > 0:
            self._age_timer = loop.call_later(self.max_connection_age, self._recycle, transport)
        if self.sync_clock_on_connect:
            await self.sync_clock(_setup=True)
        if self.auto_logon and self.signer is not None and self.signer.kind == "ed25519":
            try:
                await self.logon(_setup=True)
            except BinanceError as e:  # requests will be signed one by one instead
                log.warning("session.logon refused (%s); signing each request", e)
        if transport is self._transport:
            self._ready.set()

    def _recycle(self, transport: WSTransport) -> None:
        """Reconnect before the server's 24-hour limit closes the connection."""
        if transport is self._transport and not self._closed:
            log.info("connection is %s s old: reconnecting", self.max_connection_age)
            transport.send_close()
            transport.disconnect()

    def _on_disconnected(self, transport: WSTransport) -> None:
        if transport is not self._transport:
            return
        self._transport = None
        self._logged_on = False
        self._ready.clear()
        if self._age_timer is not None:
            self._age_timer.cancel()
        if self._closed:
            return
        if not self.reconnect:
            self._fail_pending(ConnectionLost(f"the connection to {self.url} was lost"))
            return
        self._fail_pending(_Retry())
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay, longest = self.backoff
        while not self._closed:
            try:
                await self._open()
                return
            except ClientError as e:
                log.info("reconnecting to %s failed (%s); again in %.2f s", self.url, e, delay)
            await self.sleep(delay)
            delay = min(delay * 2, longest)

    def _fail_pending(self, error: BaseException) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    # -- frames -----------------------------------------------------------------------

    def _on_message(self, message: bytes) -> None:
        try:
            reply = orjson.loads(message)
        except orjson.JSONDecodeError:
            log.warning("ignoring a frame that is not JSON: %r", message[:120])
            return
        if not isinstance(reply, dict):
            return
        event = reply.get("event")
        if isinstance(event, dict):
            if event.get("e") == "serverShutdown" and self._transport is not None:
                log.info("server announced shutdown: reconnecting")
                transport = self._transport
                transport.send_close()
                transport.disconnect()
            return
        request_id = reply.get("id")
        if request_id is None and "error" in reply:
            # A session-level failure (e.g. the logged-on key was revoked): every request
            # waiting on this connection learns it.
            self._logged_on = False
            error = error_from_reply(reply)
            self._fail_pending(error)
            return
        waiting = self._pending.pop(str(request_id), None)
        if waiting is not None and not waiting.done():
            waiting.set_result(reply)

    # -- requests ---------------------------------------------------------------------

    def server_time(self) -> int:
        """The server's clock now, as this client estimates it (ms)."""
        return int(self.clock() * 1000) + self.clock_offset_ms

    @property
    def rate_limit(self) -> RateLimitUsage | None:
        """REQUEST_WEIGHT used in the current window, from the last ``rateLimits`` seen."""
        return self.rate_limits.usage(self.server_time())

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = True,
        _setup: bool = False,
    ) -> Any:
        """Send ``method`` and return its ``result``; errors raise ``BinanceError``s.

        Signed requests get ``timestamp``/``recvWindow`` (server-corrected) and, unless
        the connection is logged on, ``apiKey`` and ``signature``. A -1021 makes the
        client measure the clock again and retry once.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        resynced = False
        while True:
            try:
                return await self._request_once(method, params or {}, signed, deadline, _setup)
            except TimestampOutsideRecvWindow:
                if resynced or not signed:
                    raise
                resynced = True
                await self.sync_clock(_setup=_setup)

    async def _request_once(
        self, method: str, params: dict[str, Any], signed: bool, deadline: float, setup: bool
    ) -> Any:
        loop = asyncio.get_running_loop()
        weight = WEIGHTS.get(method, 1)
        while True:
            if self._closed:
                raise ConnectionLost("the client is closed")
            if self._transport is None and not self.reconnect and self.connections:
                raise ConnectionLost(f"the connection to {self.url} was lost")
            if not setup and not self._ready.is_set():  # setup (clock, logon) runs before
                await self._wait(self._ready.wait(), deadline, f"no connection to {self.url}")
            transport = self._transport
            if transport is None:
                if setup:
                    raise ConnectionLost(f"the connection to {self.url} dropped while opening")
                continue
            if self.wait_for_rate_limit:
                wait = self.rate_limits.wait_ms(weight, self.server_time())
                if wait > 0:
                    log.info("REQUEST_WEIGHT limit reached: waiting %d ms", wait)
                    await self._wait(
                        self.sleep(wait / 1000),
                        deadline,
                        "the REQUEST_WEIGHT limit was reached and its window did not reset",
                    )
                    continue
            self._next_id += 1
            request_id = f"{self._id_prefix}{self._next_id}"
            frame = {
                "id": request_id,
                "method": method,
                "params": self._signed(params) if signed else params,
            }
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._pending[request_id] = future
            self.rate_limits.spend(weight, self.server_time())
            transport.send(WSMsgType.TEXT, orjson.dumps(frame))
            # A timer, not wait_for: no task per request on the hot path.
            expiry = loop.call_at(deadline, _expire, future, f"no answer to {method}", self)
            try:
                reply = await future
            except _Retry:
                if setup:
                    raise ConnectionLost(
                        f"the connection to {self.url} dropped while opening"
                    ) from None
                continue
            finally:
                expiry.cancel()
                self._pending.pop(request_id, None)
            self.rate_limits.observe(reply.get("rateLimits"), self.server_time())
            if reply.get("status") != 200 or "error" in reply:
                raise error_from_reply(reply)
            if "result" not in reply:
                raise ProtocolError(f"an answer to {method} without 'result': {reply!r:.200}")
            return reply["result"]

    async def _wait(self, awaitable: Any, deadline: float, what: str) -> Any:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            if remaining <= 0:
                raise TimeoutError
            return await asyncio.wait_for(awaitable, remaining)
        except TimeoutError:
            raise RequestTimeout(f"{what} within {self.timeout} s") from None

    def _signed(self, params: dict[str, Any]) -> dict[str, Any]:
        signed = {**params, "timestamp": self.server_time(), "recvWindow": self.recv_window}
        if self._logged_on:
            return signed
        if self.api_key is None or self.signer is None:
            raise ClientError("this request needs an API key and a secret or private key")
        signed["apiKey"] = self.api_key
        signed["signature"] = self.signer.sign(canonical_payload(signed))
        return signed

    async def sync_clock(self, samples: int = 3, *, _setup: bool = False) -> int:
        """Measure the server clock (``session.status``); keep the least-delayed sample."""
        best: tuple[float, int] | None = None
        for _ in range(samples):
            sent = self.clock()
            result = await self.request("session.status", signed=False, _setup=_setup)
            received = self.clock()
            server = result.get("serverTime") if isinstance(result, dict) else None
            if not isinstance(server, int):
                raise ProtocolError(f"session.status without serverTime: {result!r:.200}")
            offset = server - round((sent + received) / 2 * 1000)
            if best is None or received - sent < best[0]:
                best = (received - sent, offset)
        assert best is not None
        self.clock_offset_ms = best[1]
        return self.clock_offset_ms

    async def logon(self, *, _setup: bool = False) -> None:
        """``session.logon``: later requests of this connection are not signed one by one."""
        self._logged_on = False
        await self.request("session.logon", _setup=_setup)
        self._logged_on = True

    # -- positions --------------------------------------------------------------------

    async def positions(self, symbol: str | None = None) -> list[Position]:
        """``account.position``: every symbol (or ``symbol``), both sides in hedge mode."""
        rows = await self.request("account.position", {"symbol": symbol} if symbol else {})
        return [parse_position(row) for row in _rows(rows)]

    async def positions_v2(self, symbol: str | None = None) -> list[PositionV2]:
        """``v2/account.position``: only the sides holding a position."""
        rows = await self.request("v2/account.position", {"symbol": symbol} if symbol else {})
        return [parse_position_v2(row) for row in _rows(rows)]

    async def account_status(self, *, v2: bool = False) -> AccountStatus:
        """``account.status`` (``v2``: ``v2/account.status``): totals, assets, positions."""
        return parse_account_status(await self.request(f"{'v2/' if v2 else ''}account.status"))

    async def balance(self) -> list[Balance]:
        """``account.balance``: one item per margin asset."""
        return [parse_balance(item) for item in _rows(await self.request("account.balance"))]


def _expire(future: asyncio.Future[Any], what: str, client: PositionClient) -> None:
    if not future.done():
        future.set_exception(RequestTimeout(f"{what} within {client.timeout} s"))


def _rows(result: Any) -> list[dict[str, Any]]:
    if not isinstance(result, list):
        raise ProtocolError(f"expected a list of rows, got {type(result).__name__}")
    return result
