"""The composition root: a posrisk server from its settings.

``PosriskServer(settings)`` opens the store (holding the SQLite file exclusively), rebuilds
the registry from the ledger, loads a scenario or seeds the demo into a new database, and
serves the gateway. ``posrisk serve`` and the tests both start servers through this.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import ssl
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .bus import Bus, LocalBus, open_bus
from .engine import Market
from .gateway.admin import ADMIN_PREFIX, AdminApi
from .gateway.audience import AUDIENCES
from .gateway.ports import close_all
from .gateway.server import WS_API_PATH, Gateway, GatewaySettings
from .marks import BINANCE_MARK_STREAM
from .opening import is_postgres, load_admin, master_key, open_store, server_info_path
from .preflight import MarkSourceFactory, bind_ports, mark_source, tls_context
from .protocol import LimitRules
from .service.admin import AdminService
from .service.api import ApiService
from .service.bans import BAN_PREFIX, BanWriter, saved_bans
from .service.clock import Clock, OffsetClock
from .service.clock_control import CLOCK_OFFSET, ClockControl
from .service.dashboard import Dashboard
from .service.demo import DemoCredentials, seed_demo
from .service.errors import ServiceError
from .service.exchange_info import ExchangeInfo
from .service.funding import FundingService, start_funding
from .service.funding_rates import FundingRates, funding_series
from .service.mark_feed import MarkFeed
from .service.operations import AdminOperations
from .service.orders import OrderService
from .service.registry import Registry
from .service.rest import RestService
from .service.scenario import ScenarioError, read_scenario_file
from .service.streams import LISTEN_KEY_TTL_MS, UserStreams
from .store import DatabaseLock, SetMeta, Store, StoreError, check_database_file
from .urls import redacted

log = logging.getLogger("posrisk.server")

__all__ = [
    "BAN_PREFIX",
    "PosriskServer",
    "ServerSettings",
    "is_postgres",
    "load_admin",
    "master_key",
    "open_store",
    "redacted",
    "saved_bans",
    "server_info_path",
]


@dataclass(slots=True)
class ServerSettings:
    db: str = "posrisk.db"
    host: str = "127.0.0.1"
    port: int = 8765
    # A scenario file to load into a new database (SPEC §10).
    scenario: Path | None = None
    # Seed the demo accounts into a new database when no scenario is given.
    demo: bool = True
    # Empty an existing database before loading the scenario.
    reset: bool = False
    limits: LimitRules = field(default_factory=LimitRules)
    # False lifts the per-IP limits (counted, never refused): benchmarks only.
    enforce_limits: bool = True
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    # How long a listenKey lives without a ping (SPEC §8: 60 minutes).
    listen_key_ttl_ms: int = LISTEN_KEY_TTL_MS
    # The admin API: its own port, loopback unless told otherwise; None port disables it.
    admin_host: str = "127.0.0.1"
    admin_port: int | None = 8766
    # The bearer token; None: read from (or generated into) <db stem>-admin.token.
    admin_token: str | None = None
    # Where marks move from: "fixed" (scenario, CLI, admin API), "replay", "walk", "binance".
    marks: str = "fixed"
    marks_file: Path | None = None
    # Replay speed (× real time; 0 = as fast as possible).
    marks_speed: float = 1.0
    marks_seed: int = 0
    # Seconds between random-walk steps.
    marks_interval: float = 1.0
    marks_url: str = BINANCE_MARK_STREAM
    # How often moved marks are saved (they are also saved at shutdown).
    marks_save_s: float = 2.0
    # A replayed series of funding rates (CSV time,symbol,rate or JSONL).
    funding_file: Path | None = None
    # Liquidate crossed positions; None: on for the demo database, off otherwise.
    liquidate: bool | None = None
    # The synthetic book's spread around the mark, in basis points (bid and ask).
    slippage_bps: Decimal = Decimal(0)
    # TLS: serve wss:// and https:// with this certificate chain and key (PEM).
    certfile: Path | None = None
    keyfile: Path | None = None
    # Redis for many gateways on one PostgreSQL database (None: one process, no bus).
    redis: str | None = None
    # Prefix of every Redis key and channel (several deployments can share one Redis).
    redis_prefix: str = "posrisk:"
    # How long a Redis call may take before the gateway serves alone.
    redis_timeout_s: float = 1.0
    # How often a gateway on the bus checks the database for changes it was not told of.
    resync_s: float = 5.0
    # How long a revocation waits for every other gateway on the bus to confirm it.
    revoke_timeout_s: float = 2.0
    clock: Clock = field(default_factory=OffsetClock)
    market: Market | None = None


class PosriskServer:
    """One posrisk process: store, registry, services and gateway."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.market = settings.market or Market.default()
        self.clock = settings.clock
        self.store: Store = open_store(settings.db)
        # A file of our own is held exclusively; a PostgreSQL database is shared by gateways.
        self._local = not is_postgres(settings.db) and settings.db != ":memory:"
        self._lock = DatabaseLock(Path(settings.db)) if self._local else None
        self.registry = Registry(self.market)
        self.admin: AdminService | None = None
        self.gateway: Gateway | None = None
        self.streams: UserStreams | None = None
        self.admin_api: AdminApi | None = None
        self.feed: MarkFeed | None = None
        self.funding: FundingService | None = None
        self.orders: OrderService | None = None
        # How the clock moves forward (an operator's or a test's), once serving.
        self.clock_control: ClockControl | None = None
        # The served funding rates (``ApiService.rates``), and ``--funding``'s series.
        self.rates: FundingRates | None = None
        self._series = funding_series(None)
        self.bus: Bus = LocalBus()
        # IP bans on their way to the database (retried while it refuses; flushed at stop).
        self.bans = BanWriter(self.store, self.clock)
        self._meta: dict[str, str] = {}
        self.admin_token: str | None = None
        # True when this start generated the admin token (printed once, then only in its file).
        self.new_admin_token = False
        # Set when this start created the demo (the only time its secrets are known).
        self.demo: DemoCredentials | None = None

    def __repr__(self) -> str:
        state = f"port {self.port}" if self.gateway and self.gateway.servers else "stopped"
        return f"<PosriskServer {self.settings.db} {state}>"

    @property
    def port(self) -> int:
        """The port served (the configured one before ``start``, e.g. for a supervisor)."""
        if self.gateway is None:
            return self.settings.port
        return self.gateway.port

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.settings.certfile else "ws"
        return f"{scheme}://{self.settings.host}:{self.port}{WS_API_PATH}"

    @property
    def http_url(self) -> str:
        scheme = "https" if self.settings.certfile else "http"
        return f"{scheme}://{self.settings.host}:{self.port}"

    def check(self) -> tuple[ssl.SSLContext | None, MarkSourceFactory]:
        """Refuse settings that cannot work before a port is bound or a file written;
        returns the TLS context and the mark source."""
        settings = self.settings
        for option, audience in (
            ("--dashboard", settings.gateway.dashboard),
            ("--monitoring", settings.gateway.monitoring),
        ):
            if audience not in AUDIENCES:
                raise ServiceError(f"{option} takes loopback, any or off, not {audience!r}")
        if settings.redis is not None and not is_postgres(settings.db):
            raise ServiceError(
                "--redis shares one database between gateways: it needs --db postgresql://..."
            )
        if self._local:
            check_database_file(Path(settings.db), create=True)
        self._series = funding_series(settings.funding_file)
        return tls_context(settings), mark_source(settings, self.market)

    async def start(self) -> None:
        """Check the settings, bind the ports, then open the database: a start refused
        for a setting or a busy port leaves nothing behind (no database, token or key)."""
        settings = self.settings
        tls, source = self.check()
        # A start that fails after creating the database (a scenario refused, say) takes
        # back what it wrote: the next start finds a new database and shows its secrets.
        before = self._data_files() if self._new_database() else None
        ws: list[socket.socket] = []
        admin: list[socket.socket] = []
        lock = self._lock
        # A database a running server holds is named as such, before its ports are tried.
        early = lock is not None and lock.path.exists()
        try:
            if lock is not None and early:
                lock.acquire()
            ws, admin = bind_ports(settings)
            if lock is not None and not early:
                lock.acquire()
            await self.store.open()
            await self._prepare()
            self.bus = open_bus(settings)
            limiter = self.bus.limiter(
                settings.limits, enforce=settings.enforce_limits, on_ban=self.bans.save
            )
            limiter.restore_bans(saved_bans(self._meta))
            self.streams = UserStreams(self.registry, settings.listen_key_ttl_ms)
            assert self.admin is not None
            self.registry.subscribe(self.streams.on_state_changed)
            await self.bus.start(self.admin, self.streams)
            api = ApiService(self.registry, limiter, self.clock, self.streams)
            rates = FundingRates(self.registry, self.clock, admin=self.admin, series=self._series)
            api.rates = self.rates = rates
            api.orders = self.orders = OrderService(
                self.admin, slippage_bps=settings.slippage_bps, counter=self.bus.order_counter()
            )
            rest = RestService(
                api, ExchangeInfo(self.market, settings.limits.request_weight), self.admin
            )
            dashboard = None
            if settings.gateway.dashboard != "off":
                dashboard = Dashboard(self.admin, self.clock)
            self.gateway = Gateway(api, rest, settings.gateway, bus=self.bus, dashboard=dashboard)
            await self.gateway.start(ws, tls)
            await self._start_feeds(api, rates, source, admin)
            rates.start(settings.marks_save_s)  # last: a start refused leaves no task behind
        except BaseException:
            if self.gateway is not None:
                for server in self.gateway.servers:
                    server.close()
            close_all([*ws, *admin])
            await self.bus.stop()
            await self._close_store()
            if before is not None:
                for path in self._data_files() - before:
                    path.unlink(missing_ok=True)
            raise

    async def _start_feeds(
        self,
        api: ApiService,
        rates: FundingRates,
        source: MarkSourceFactory,
        admin: list[socket.socket],
    ) -> None:
        """The mark feed, funding settlement, the clock control, then the admin API."""
        settings = self.settings
        assert self.admin is not None and api.orders is not None
        self.feed = MarkFeed(
            self.admin,
            liquidate=self._liquidate(),
            persist_interval=settings.marks_save_s,
            orders=api.orders,
        )
        self.funding = await start_funding(self.admin, self.feed, rates.schedule)
        self.feed.start(rates.follow(source(self.registry.marks)))
        self.clock_control = self._clock_control(api.orders, self.funding)
        if admin:
            self.admin_token = self._admin_token()
            operations = AdminOperations(
                self.admin, self.bus, orders=api.orders, rates=rates, clock=self.clock_control
            )
            self.admin_api = AdminApi(operations, self.admin_token)
            await self.admin_api.start(admin)
            self._write_server_info()

    def _clock_control(self, orders: OrderService, funding: FundingService) -> ClockControl | None:
        clock = self.clock
        if not isinstance(clock, OffsetClock):
            return None  # a clock of the caller's (tests): moved by its owner
        store = self.store

        async def save(offset: int) -> None:
            await store.commit([SetMeta(CLOCK_OFFSET, str(offset))])

        control = ClockControl(clock, shared=self.settings.redis is not None, save=save)
        control.after_advance(orders.expire)
        control.after_advance(funding.settle_due)
        return control

    def _new_database(self) -> bool:
        """Whether ``--db`` names a SQLite file that does not exist yet."""
        return self._local and not Path(self.settings.db).exists()

    def _data_files(self) -> set[Path]:
        """The files beside a SQLite database that a start may write: the database and
        its journals, lock, master key, admin token, demo keys and server info."""
        db = Path(self.settings.db)
        stem, name = db.stem, db.name
        return {
            path
            for path in db.parent.iterdir()
            if path.name.startswith((name, f"{stem}-")) and path.is_file()
        }

    async def prepare(self) -> None:
        """Migrate, then load the scenario or seed the demo, without serving: what a
        supervisor does once before starting its gateway processes (``--workers``)."""
        if self._lock is not None:
            self._lock.acquire()
        try:
            await self.store.open()
            await self._prepare()
            if self.settings.admin_port is not None:
                self.admin_token = self._admin_token()
        finally:
            await self._close_store()

    async def _prepare(self) -> None:
        settings = self.settings
        scenario = None
        if settings.scenario is not None:
            scenario = read_scenario_file(settings.scenario)
        if await self.store.has_accounts():
            if settings.reset:
                await self.store.reset()
            elif scenario is not None:
                raise ScenarioError(
                    f"{settings.db} already holds accounts; --scenario loads into a new "
                    "database (add --reset to empty it first)"
                )
        # Nothing outlives an in-memory database: nor does its master key.
        key = None if settings.db == ":memory:" else settings.db
        self.admin, snapshot = await load_admin(self.store, key, self.market, self.clock)
        self.registry = self.admin.registry
        self._meta = dict(snapshot.meta)
        saved = int(self._meta.get(CLOCK_OFFSET, "0"))
        if isinstance(self.clock, OffsetClock) and saved > self.clock.offset_ms:
            self.clock.advance(saved - self.clock.offset_ms)  # never back before a move
        if scenario is not None:
            await self.admin.load_scenario(scenario)
        elif settings.demo and not self.registry.accounts:
            db = Path(settings.db) if self._local else Path("posrisk")
            directory = db.parent if self._local else Path.cwd()
            self.demo = await seed_demo(self.admin, directory, db.stem or "posrisk")

    def liquidates(self) -> bool:
        """Whether crossed positions are liquidated (given, or on for the demo)."""
        return self._liquidate()

    def _liquidate(self) -> bool:
        if self.settings.liquidate is not None:
            return self.settings.liquidate
        return self.demo is not None or self._meta.get("demo") == "1"

    @property
    def admin_url(self) -> str | None:
        port = self.settings.admin_port if self.admin_api is None else self.admin_api.port
        if port is None:
            return None
        return f"http://{self.settings.admin_host}:{port}{ADMIN_PREFIX}"

    @property
    def database(self) -> str:
        """Where the data lives, for people: a file's full path, or a URL without password."""
        if self._local:
            return str(Path(self.settings.db).resolve())
        return redacted(self.settings.db)

    def _data_file(self, suffix: str) -> Path:
        db = Path(self.settings.db)
        if not self._local:
            return Path.cwd() / f"posrisk{suffix}"
        return db.with_name(db.stem + suffix)

    @property
    def admin_token_file(self) -> Path:
        """Where the generated admin token is kept (next to the database)."""
        return self._data_file("-admin.token")

    def _admin_token(self) -> str:
        """The configured token, or the one kept next to the database (made once, 0600)."""
        if self.settings.admin_token is not None:
            return self.settings.admin_token
        path = self.admin_token_file
        if path.exists():
            return path.read_text().strip()
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        self.new_admin_token = True
        return token

    def _write_server_info(self) -> None:
        """``<db>.server.json``: how CLI commands reach this server while it holds the db."""
        if not self._local:
            return
        info = {
            "pid": os.getpid(),
            "adminUrl": self.admin_url,
            "tokenFile": str(self.admin_token_file.resolve())
            if self.settings.admin_token is None
            else None,
        }
        path = server_info_path(Path(self.settings.db))
        path.write_text(json.dumps(info))
        path.chmod(0o600)

    async def stop(self) -> None:
        """Tell clients and close them, save marks, stop the admin API, release the db —
        the last step whatever happened in the others."""
        try:
            if self.gateway is not None:
                await self.gateway.shutdown()
            if self.admin is not None:  # the writes its requests started finish first
                await self.admin.drain()
            if self.feed is not None:
                try:
                    await self.feed.stop()
                except StoreError as e:
                    log.error("could not save the latest marks at shutdown: %s", e)
            if self.rates is not None:
                await self.rates.stop()
            if self.orders is not None:
                await self.orders.stop()
            await self.bans.close()
            if self.admin_api is not None:
                await self.admin_api.stop()
            await self.bus.stop()
        finally:
            if self._local:
                server_info_path(Path(self.settings.db)).unlink(missing_ok=True)
            await self._close_store()

    async def _close_store(self) -> None:
        with contextlib.suppress(StoreError):
            await self.store.close()
        if self._lock is not None:
            self._lock.release()
