"""``posrisk serve``: one server process, or ``--workers N`` gateway processes under a
supervisor, and the banner that says where everything is."""

from __future__ import annotations

import asyncio
import logging
import shlex
import signal
import sys
from decimal import Decimal

from .. import __version__
from ..app import PosriskServer, ServerSettings, redacted
from ..engine import EngineError
from ..errors import PosriskError
from ..loop import run_event_loop
from ..marks import BINANCE_MARK_STREAM
from .common import DEFAULT_DB, DbOption, fail, out
from .serve_options import (
    AdminHost,
    AdminPort,
    AdminToken,
    Certfile,
    Dashboard,
    Demo,
    FundingFile,
    Host,
    Keyfile,
    Liquidate,
    LogLevel,
    Marks,
    MarksFile,
    MarksInterval,
    MarksSeed,
    MarksSpeed,
    MarksUrl,
    Monitoring,
    NoAdmin,
    NoIpLimits,
    Port,
    Redis,
    RedisPrefix,
    Reset,
    Scenario,
    SlippageBps,
    StrictStreamRoutes,
    WeightLimit,
    Workers,
    server_settings,
)

__all__ = ["serve"]


def serve(
    db: DbOption = DEFAULT_DB,
    host: Host = "127.0.0.1",
    port: Port = 8765,
    scenario: Scenario = None,
    reset: Reset = False,
    demo: Demo = True,
    weight_limit: WeightLimit = 2400,
    no_ip_limits: NoIpLimits = False,
    log_level: LogLevel = "warning",
    admin_host: AdminHost = "127.0.0.1",
    admin_port: AdminPort = 8766,
    admin_token: AdminToken = None,
    no_admin: NoAdmin = False,
    marks: Marks = "fixed",
    marks_file: MarksFile = None,
    marks_speed: MarksSpeed = 1.0,
    marks_seed: MarksSeed = 0,
    marks_interval: MarksInterval = 1.0,
    marks_url: MarksUrl = BINANCE_MARK_STREAM,
    funding_file: FundingFile = None,
    liquidate: Liquidate = None,
    slippage_bps: SlippageBps = Decimal(0),
    certfile: Certfile = None,
    keyfile: Keyfile = None,
    redis: Redis = None,
    redis_prefix: RedisPrefix = "posrisk:",
    dashboard: Dashboard = "loopback",
    monitoring: Monitoring = "loopback",
    strict_stream_routes: StrictStreamRoutes = False,
    workers: Workers = 1,
) -> None:
    """Serve the WS API on ws://HOST:PORT/ws-fapi/v1 (and REST GETs on the same port)."""
    options = dict(locals())  # first: every parsed option, by name, and nothing else
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise fail(f"unknown log level {log_level!r}")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = server_settings(options)
    try:
        if workers == 1:
            run_event_loop(_serve(settings))
        else:
            _supervise(settings, workers, level)
    except EngineError as e:  # a scenario the engine refuses
        raise fail(str(e), e.code) from None
    except PosriskError as e:  # what the server cannot start with: said as it is
        raise fail(str(e)) from None
    except OSError as e:  # a file beside the database (the ports' errors name the port)
        raise fail(f"{e.strerror or e}: {e.filename}" if e.filename else str(e)) from None


async def _serve(settings: ServerSettings) -> None:
    server = PosriskServer(settings)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _announce(server)
    await stop.wait()
    out.print("stopping: telling clients, closing connections...")
    await server.stop()
    out.print("stopped")


def _supervise(settings: ServerSettings, workers: int, level: int) -> None:
    """``--workers N``: prepare once, start N gateway processes, restart any that dies."""
    from ..workers import Supervisor

    supervisor = Supervisor(settings, workers, log_level=level)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    ready = supervisor.start()
    try:
        settings.port, settings.admin_port = ready.port, ready.admin_port
        _announce(ready.server, workers)
        supervisor.watch(lambda: stopping)
        out.print("stopping: telling clients, closing connections...")
    finally:
        supervisor.stop()
    out.print("stopped")


def _announce(server: PosriskServer, workers: int = 1) -> None:
    settings = server.settings
    accounts = len(server.registry.accounts)
    processes = f" in {workers} processes" if workers > 1 else ""
    out.print(f"posrisk {__version__} serving{processes}")
    out.print(f"  WebSocket API  {server.ws_url}")
    rest = (
        "account, balance, positionRisk, settings, orders, trades, income, market data, listenKey"
    )
    out.print(f"  REST           {server.http_url}/fapi ({rest})")
    out.print(f"  database       {server.database} ({accounts} accounts)")
    who, gateway = {"loopback": "loopback clients", "any": "any client"}, settings.gateway
    if gateway.dashboard != "off":
        out.print(f"  dashboard      {server.http_url}/ ({who[gateway.dashboard]})")
    if gateway.monitoring != "off":
        where = f"{server.http_url}/health and /metrics"
        out.print(f"  monitoring     {where} ({who[gateway.monitoring]})")
    if settings.redis is not None:
        out.print(f"  Redis          {redacted(settings.redis)} (keys {settings.redis_prefix}*)")
    liquidation = "liquidation on" if server.liquidates() else "no liquidation"
    out.print(f"  marks          {settings.marks} ({liquidation})")
    if server.admin_url is not None:
        where = "the token you gave"
        if settings.admin_token is None:
            where = f"token in {server.admin_token_file.resolve()}"
        out.print(f"  admin API      {server.admin_url} ({where})")
        if server.new_admin_token:
            out.print(f"  admin token    {server.admin_token} (shown only now)")
    again = f"posrisk key create demo --db {shlex.quote(server.database)}"
    if server.demo is None and "demo" in server.registry.accounts:
        out.print(f"  demo keys      shown when the database was created; a new one: {again}")
    if server.demo is not None:
        _announce_demo(server, again)
    out.print("\nPress Ctrl-C to stop.")
    sys.stdout.flush()


def _announce_demo(server: PosriskServer, again: str) -> None:
    """The demo's secrets (known only on the start that created it) and how to use them."""
    demo = server.demo
    assert demo is not None
    out.print("\nDemo accounts created (these secrets are shown only now):")
    out.print("  demo        one-way: BTCUSDT cross long, ETHUSDT isolated short")
    out.print(f"    API key      {demo.hmac.api_key}")
    out.print(f"    HMAC secret  {demo.hmac.secret}")
    out.print(f"    Ed25519 key  {demo.ed25519.api_key}")
    out.print(f"                 private key {demo.private_key_path.resolve()}")
    out.print(f"                 public key  {demo.public_key_path.resolve()}")
    out.print("  demo-hedge  hedge mode: BTCUSDT long + short, SOLUSDT isolated")
    out.print(f"    API key      {demo.hedge_hmac.api_key}")
    out.print(f"    HMAC secret  {demo.hedge_hmac.secret}")
    out.print(f"  Lost a secret? {again} prints a new key (likewise demo-hedge).")
    out.print("\nQuery it (account.position over the WS API, as a table):")
    out.print(
        f"  POSRISK_API_KEY={demo.hmac.api_key} POSRISK_API_SECRET={demo.hmac.secret} "
        f"posrisk positions --url {server.ws_url}",
        soft_wrap=True,
    )
    out.print("or its REST twin, with curl and openssl:")
    out.print(
        f"  q=\"timestamp=$(date +%s000)\"; curl -s -H 'X-MBX-APIKEY: {demo.hmac.api_key}' "
        f'"{server.http_url}/fapi/v3/positionRisk?$q&signature=$(printf %s "$q" | '
        f"openssl dgst -sha256 -hmac '{demo.hmac.secret}' | sed 's/^.* //')\"",
        soft_wrap=True,
    )
