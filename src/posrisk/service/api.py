"""The WebSocket API methods: a request frame in, a response frame out.

Transport-free: the gateway hands ``ApiService.submit`` the bytes of one text frame and
the connection's state, and sends back what it answers — at once for reads, once the
store holds it for writes (orders; one at a time per connection, in the order sent). Where a request
goes, in order: envelope (``protocol.parse_request``) → rate limit (per IP) → method →
authentication (key, timestamp, signature) → engine views at the current marks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..engine import EngineError
from ..protocol import (
    Allow,
    Banned,
    Credential,
    Limiter,
    LimitRules,
    OrderCount,
    Outcome,
    Request,
    Throttle,
    WireError,
    check_timestamp,
    encode_error,
    encode_result,
    parse_request,
    rate_limits_entry,
    read_api_key,
    read_bool,
    read_long,
    read_recv_window,
    read_signature,
)
from .accounts import ACCOUNT_METHODS
from .clock import Clock
from .funding_rates import FundingRates
from .inputs import known_symbol
from .market_routes import MARKET_METHOD_WEIGHTS, MARKET_METHODS
from .market_streams import MarketStreams
from .metrics import Metrics
from .order_routes import ORDER_METHODS
from .registry import AccountEntry, KeyEntry, Registry
from .streams import Sink, UserStreams
from .views import position_rows

if TYPE_CHECKING:
    from .orders import OrderService

__all__ = ["ApiService", "Connection"]

log = logging.getLogger("posrisk.api")

Params = Mapping[str, object]


@dataclass(slots=True)
class Connection:
    """What the server knows of one WS API connection."""

    ip: str
    connected_since: int
    # `?returnRateLimits=false` on the URL; a request param overrides it per response.
    return_rate_limits: bool = True
    # The Ed25519 key the connection is logged on with (session.logon), and since when.
    session_key: str | None = None
    authorized_since: int | None = None
    # Writes answer one at a time, in the order sent (made on the first write).
    turn: asyncio.Lock | None = None
    # The ORDERS counts of the placement under way (its answer lists them in rateLimits).
    counted: OrderCount | None = None

    def session(self, now: int) -> dict[str, Any]:
        """What session.logon / status / logout answer (SPEC §4)."""
        return {
            "apiKey": self.session_key,
            "authorizedSince": self.authorized_since,
            "connectedSince": self.connected_since,
            "returnRateLimits": self.return_rate_limits,
            "serverTime": now,
        }

    def logout(self) -> None:
        self.session_key = None
        self.authorized_since = None


Handler = Callable[["ApiService", Connection, Params, int], Any]


class ApiService:
    """Answers WS API frames from the registry's accounts and marks."""

    def __init__(
        self,
        registry: Registry,
        limiter: Limiter,
        clock: Clock,
        streams: UserStreams | None = None,
    ) -> None:
        self.registry = registry
        self.streams = streams if streams is not None else UserStreams(registry)
        self.metrics = Metrics()
        self.market = registry.market
        self.limiter = limiter
        self.rules: LimitRules = limiter.rules
        self.clock = clock
        # The account owner's orders (None: a read-only server answers them -1020).
        self.orders: OrderService | None = None
        # Every symbol's funding and index price (read-only unless the server gives one
        # that writes: ``app`` does).
        self.rates = FundingRates(registry, clock)
        # Writes under way, kept until answered.
        self._writes: set[asyncio.Task[None]] = set()
        self._interval = self.rules.label()
        # The market streams and the marks' history, fed by every mark change.
        self.market_streams = MarketStreams(self)

    def __repr__(self) -> str:
        return f"<ApiService {self.registry!r}>"

    def rate_limits(self, count: int) -> list[dict[str, Any]]:
        interval, number = self._interval
        return [rate_limits_entry(count, self.rules.request_weight, interval, number)]

    def submit(
        self, conn: Connection, frame: bytes | str, reply: Callable[[bytes, int], None]
    ) -> None:
        """Answer one request frame through ``reply(response, status)`` (never raises,
        never stays silent): at once with the in-process limiter, or once the shared
        limiter has decided — in the order the frames came, per connection."""
        started = time.perf_counter()
        now = self.clock.now_ms()
        request, refusal, method = self._parse(frame)
        weight = self.rules.weight(method) if refusal is None else self.rules.default_weight
        if request is not None and method in MARKET_METHOD_WEIGHTS:  # less for one symbol
            one, every = MARKET_METHOD_WEIGHTS[method]
            sent = request.params.get("symbol")  # "" or null: every symbol's answer
            weight = one if sent is not None and sent != "" else every

        def answered(response: bytes, status: int) -> None:
            self.metrics.observe(method, status, time.perf_counter() - started)
            reply(response, status)

        def decided(decision: Outcome) -> None:
            answer = self._answer(conn, request, refusal, method, decision, now)
            if isinstance(answer, tuple):
                answered(*answer)
                return
            task = asyncio.ensure_future(self._in_turn(conn, answer, answered))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

        self.limiter.charge_then(conn.ip, weight, now, decided)

    def handle(self, conn: Connection, frame: bytes | str) -> bytes:
        """The response frame for one request frame, with a limiter that decides at once."""
        answers: list[bytes] = []
        self.submit(conn, frame, lambda response, status: answers.append(response))
        if not answers:
            raise RuntimeError("this limiter decides later: answer through submit()")
        return answers[0]

    def _parse(self, frame: bytes | str) -> tuple[Request | None, WireError | None, str]:
        """The request, or why it is refused before its method runs; and the method label
        (``malformed`` and ``unknown`` for the metrics)."""
        try:
            request = parse_request(frame)
        except WireError as error:
            return None, error, "malformed"
        if request.method not in METHODS:
            return request, WireError.unknown_method(request.method), "unknown"
        return request, None, request.method

    def _answer(
        self,
        conn: Connection,
        request: Request | None,
        refusal: WireError | None,
        method: str,
        decision: Outcome,
        now: int,
    ) -> tuple[bytes, int] | Awaitable[tuple[bytes, int]]:
        if refusal is not None:  # malformed, or an unknown method
            request_id = request.id if request is not None else refusal.request_id
            if not isinstance(decision, Allow):
                refusal = self.limit_error(decision, now)
            limits = self.rate_limits(decision.count) if conn.return_rate_limits else None
            return encode_error(request_id, refusal, limits), refusal.status
        assert request is not None
        if not isinstance(decision, Allow):
            limited = self.limit_error(decision, now)
            return encode_error(
                request.id, limited, self.rate_limits(decision.count)
            ), limited.status
        params = request.params
        try:
            show_limits = read_bool(params, "returnRateLimits", conn.return_rate_limits)
        except WireError as error:
            limits = self.rate_limits(decision.count)
            return encode_error(request.id, error, limits), error.status
        limits = self.rate_limits(decision.count) if show_limits else None
        try:
            result = METHODS[method](self, conn, params, now)
        except Exception as error:
            return _refused(error, request, method, limits)
        if inspect.isawaitable(result):
            return _later(result, request, method, lambda: _with_orders(conn, limits))
        return encode_result(request.id, result, limits), 200

    async def _in_turn(
        self,
        conn: Connection,
        answer: Awaitable[tuple[bytes, int]],
        answered: Callable[[bytes, int], None],
    ) -> None:
        if conn.turn is None:
            conn.turn = asyncio.Lock()
        async with conn.turn:  # the connection's earlier writes first
            response, status = await answer
        answered(response, status)

    # -- what the gateway asks (its one seam into the service) -------------------------

    def now(self) -> int:
        return self.clock.now_ms()

    def charge(self, ip: str, weight: int) -> WireError | None:
        """Charge ``weight`` to ``ip`` for a handshake or a GET: None, or its 429/418."""
        now = self.clock.now_ms()
        decision = self.limiter.charge(ip, weight, now)
        return None if isinstance(decision, Allow) else self.limit_error(decision, now)

    def admit_handshake(self, ip: str) -> WireError | None:
        """A WS API handshake costs REQUEST_WEIGHT 5, as on Binance."""
        return self.charge(ip, self.rules.handshake_weight)

    def listen_key_open(self, key: str) -> bool:
        return self.streams.get(key, self.clock.now_ms()) is not None

    def attach_stream(self, key: str, sink: Sink) -> bool:
        """Send ``key``'s events to ``sink``; False when the key has expired."""
        return self.streams.attach(key, sink, self.clock.now_ms())

    def detach_stream(self, key: str, sink: Sink) -> None:
        self.streams.detach(key, sink)

    def expire_listen_keys(self) -> None:
        self.streams.expire(self.clock.now_ms())

    def figures(self) -> tuple[int, int, int]:
        """(accounts served, IPs banned now, ACCOUNT_UPDATEs sent) for /health and /metrics."""
        now = self.clock.now_ms()
        banned = sum(1 for until, _ in self.limiter.bans.values() if until > now)
        return len(self.registry.accounts), banned, self.streams.sent

    def limit_error(self, decision: Throttle | Banned | Any, now: int) -> WireError:
        """The 429 or 418 for a request the limiter refused."""
        if isinstance(decision, Banned):
            return WireError.ip_banned(decision.until, now)
        return WireError.too_many_requests(self.rules.request_weight, now, decision.retry_after)

    # -- authentication ---------------------------------------------------------------

    def authenticate(self, conn: Connection, params: Params, now: int) -> AccountEntry:
        """The account a WS request speaks for (SPEC §3-§5), or the right error.

        A request carrying its own apiKey and signature is checked on its own, even on a
        logged-on connection; one carrying neither (missing, null or ``""``: not sent, as
        for every param) uses the connection's session (its timestamp still checked). A
        session whose key was revoked ends with the session-level 401 (id null).
        """
        api_key = read_api_key(params)
        if api_key is None and conn.session_key is not None and read_signature(params) is None:
            key = self.registry.keys.get(conn.session_key)
            if key is None or key.revoked_at is not None:
                conn.logout()
                raise WireError.invalid_api_key(id_null=True)
            timestamp = read_long(params, "timestamp", required=True)
            assert timestamp is not None
            check_timestamp(
                timestamp, read_recv_window(params), now, advanced=self.clock.advanced_ms
            )
            return self.registry.account(key.account)
        if api_key is None:
            raise WireError.mandatory_param("apiKey")
        return self.check_signed(api_key, params, now, lambda key, sig: key.verify(params, sig))

    def check_signed(
        self,
        api_key: str,
        params: Params,
        now: int,
        verify: Callable[[Credential, str], bool],
    ) -> AccountEntry:
        """Signature present, timestamp inside the window, key valid, signature right —
        in that order, for the WS API and REST alike (each says how it verifies)."""
        signature = read_signature(params)
        if signature is None:
            raise WireError.mandatory_param("signature")
        timestamp = read_long(params, "timestamp", required=True)
        assert timestamp is not None
        check_timestamp(timestamp, read_recv_window(params), now, advanced=self.clock.advanced_ms)
        key = self.registry.keys.get(api_key)
        if key is None or key.revoked_at is not None:
            raise WireError.invalid_api_key()
        if not verify(key.credential, signature):
            raise WireError.invalid_signature()
        return self.registry.account(key.account)

    def stream_key(self, conn: Connection, params: Params) -> KeyEntry:
        """The API key a userDataStream request names (USER_STREAM: no signature needed),
        or the logged-on session's."""
        api_key = read_api_key(params)
        if api_key is None:
            api_key = conn.session_key
        if api_key is None:
            raise WireError.mandatory_param("apiKey")
        key = self.registry.keys.get(api_key)
        if key is None or key.revoked_at is not None:
            raise WireError.invalid_api_key()
        return key


def _account_position(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    entry = service.authenticate(conn, params, now)
    symbol = known_symbol(params, service.market)
    return position_rows(service.registry, entry, False, symbol)


def _account_position_v2(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    entry = service.authenticate(conn, params, now)
    symbol = known_symbol(params, service.market)
    return position_rows(service.registry, entry, True, symbol)


def _session_logon(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    """Authenticate the connection with an Ed25519 key; logging on again switches key."""
    api_key = read_api_key(params)
    if api_key is None:
        raise WireError.mandatory_param("apiKey")
    service.check_signed(api_key, params, now, lambda key, sig: key.verify(params, sig))
    kind = service.registry.keys[api_key].kind
    if kind == "hmac":
        raise WireError.hmac_not_supported()
    if kind == "rsa":
        raise WireError.rsa_not_supported()
    conn.session_key = api_key
    conn.authorized_since = now
    return conn.session(now)


def _session_status(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    if conn.session_key is not None:
        key = service.registry.keys.get(conn.session_key)
        if key is None or key.revoked_at is not None:
            conn.logout()
    return conn.session(now)


def _session_logout(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    conn.logout()
    return conn.session(now)


def _stream_start(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    key = service.stream_key(conn, params)
    return {"listenKey": service.streams.start(key.api_key, key.account, now)}


def _stream_ping(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    key = service.stream_key(conn, params)
    listen_key = service.streams.ping(key.api_key, now)
    if listen_key is None:
        raise WireError.invalid_listen_key()
    return {"listenKey": listen_key}


def _stream_stop(service: ApiService, conn: Connection, params: Params, now: int) -> Any:
    key = service.stream_key(conn, params)
    service.streams.stop(key.api_key)
    return {}


def _refused(
    error: Exception, request: Request, method: str, limits: list[dict[str, Any]] | None
) -> tuple[bytes, int]:
    if isinstance(error, WireError):
        request_id = None if error.id_null else request.id
        return encode_error(request_id, error, limits), error.status
    if isinstance(error, EngineError):
        refused = WireError.from_engine(error.code, error.msg)
        return encode_error(request.id, refused, limits), refused.status
    # A bug must cost one answer (-1001), never the connection or a silent client.
    log.error("internal error answering %s (id %r)", method, request.id, exc_info=error)
    return encode_error(request.id, WireError.internal(), limits), 500


def _with_orders(
    conn: Connection, limits: list[dict[str, Any]] | None
) -> list[dict[str, Any]] | None:
    """A placement's answer lists its account's ORDERS counts after REQUEST_WEIGHT (taken
    from the connection, whose writes run one at a time)."""
    counted, conn.counted = conn.counted, None
    if limits is None or counted is None:
        return limits
    return [*limits, *counted.rate_limits()]


async def _later(
    result: Awaitable[Any],
    request: Request,
    method: str,
    limits: Callable[[], list[dict[str, Any]] | None],
) -> tuple[bytes, int]:
    try:
        body = await result
    except Exception as error:
        return _refused(error, request, method, limits())
    return encode_result(request.id, body, limits()), 200


# Every method of the WS API, by name as sent (with its version prefix).
METHODS: dict[str, Handler] = {
    "account.position": _account_position,
    "v2/account.position": _account_position_v2,
    "session.logon": _session_logon,
    "session.status": _session_status,
    "session.logout": _session_logout,
    "userDataStream.start": _stream_start,
    "userDataStream.ping": _stream_ping,
    "userDataStream.stop": _stream_stop,
    # account.status, v2/account.status, account.balance, v2/account.balance
    **ACCOUNT_METHODS,
    # order.place, order.status, order.cancel, order.modify
    **ORDER_METHODS,
    # ticker.price, ticker.book
    **MARKET_METHODS,
}
