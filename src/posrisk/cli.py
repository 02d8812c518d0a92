"""``posrisk``: serve, and administer an account database (``posrisk <noun> <verb>``).

The admin commands open the database directly and go through the same ``AdminService`` as
the server; a database held by a running server is reached through its admin API, and one
that does not exist is refused unless ``--create`` (``cli_db``).
Every refusal prints ``error <code>: <message>`` on stderr and exits 1, changing nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from . import __version__
from .app import (
    PosriskServer,
    ServerSettings,
    is_postgres,
    open_store,
    redacted,
)
from .cli_db import CreateOption, operations, require_database
from .client import (
    BINANCE_MAINNET,
    BINANCE_TESTNET,
    POSRISK_LOCAL,
    BinanceError,
    ClientError,
    Position,
    PositionClient,
    PositionV2,
)
from .engine import EngineError, parse_decimal
from .engine.numbers import fmt_money
from .errors import PosriskError
from .gateway.server import GatewaySettings
from .marks import BINANCE_MARK_STREAM
from .protocol import LimitRules
from .service.errors import ServiceError
from .service.operations import Operations
from .service.scenario import read_scenario_file
from .store import (
    AppendEvent,
    Change,
    DatabaseLock,
    NewAccount,
    NewKey,
    SetMarks,
    SetMeta,
    StoreError,
)

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    name="posrisk",
    help="Binance USDⓈ-M Futures account.position, self-hosted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# No markup (output quotes user input) and no wrapping (never break a key or a command).
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

# A string, not a Path: a Path would fold postgresql:// into postgresql:/.
DbOption = Annotated[
    str,
    typer.Option("--db", envvar="POSRISK_DB", help="SQLite database file, or a postgresql:// URL."),
]
DEFAULT_DB = "posrisk.db"


def _fail(message: str, code: int | None = None) -> typer.Exit:
    # The message may quote what the user typed: never interpret it as markup.
    prefix = Text(f"error{f' {code}' if code is not None else ''}: ", style="red")
    err.print(prefix + Text(message))
    return typer.Exit(1)


def _run(coro: Awaitable[T]) -> T:
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except EngineError as e:
        raise _fail(str(e), e.code) from None
    except ServiceError as e:
        raise _fail(e.msg, e.code) from None
    except StoreError as e:
        raise _fail(str(e)) from None


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data))


# -- serve ------------------------------------------------------------------------------


@app.command()
def serve(
    db: DbOption = DEFAULT_DB,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the WS API and the REST GETs.")] = 8765,
    scenario: Annotated[
        Path | None, typer.Option(help="Load accounts from a scenario file (new database).")
    ] = None,
    reset: Annotated[bool, typer.Option(help="Empty an existing database first.")] = False,
    demo: Annotated[bool, typer.Option(help="Seed the demo accounts into a new database.")] = True,
    weight_limit: Annotated[int, typer.Option(help="REQUEST_WEIGHT per IP per minute.")] = 2400,
    no_ip_limits: Annotated[
        bool,
        typer.Option(
            "--no-ip-limits", help="Count request weight but never refuse (benchmarks only)."
        ),
    ] = False,
    log_level: Annotated[
        str, typer.Option(help="Log level on stderr: debug, info, warning, error.")
    ] = "warning",
    admin_host: Annotated[str, typer.Option(help="Address of the admin API.")] = "127.0.0.1",
    admin_port: Annotated[int, typer.Option(help="Port of the admin API (0: any free).")] = 8766,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="POSRISK_ADMIN_TOKEN",
            help="Admin bearer token (default: generated into <db>-admin.token).",
        ),
    ] = None,
    no_admin: Annotated[
        bool, typer.Option("--no-admin", help="Do not serve the admin API.")
    ] = False,
    marks: Annotated[
        str, typer.Option(help="Where marks move from: fixed, replay, walk or binance.")
    ] = "fixed",
    marks_file: Annotated[
        Path | None, typer.Option(help="replay: a CSV or JSONL file of time, symbol, mark.")
    ] = None,
    marks_speed: Annotated[
        float, typer.Option(help="replay: times real time (0: as fast as possible).")
    ] = 1.0,
    marks_seed: Annotated[int, typer.Option(help="walk: the random seed.")] = 0,
    marks_interval: Annotated[float, typer.Option(help="walk: seconds between steps.")] = 1.0,
    marks_url: Annotated[
        str, typer.Option(help="binance: the !markPrice@arr stream URL.")
    ] = BINANCE_MARK_STREAM,
    liquidate: Annotated[
        bool | None,
        typer.Option(
            "--liquidate/--no-liquidate",
            help="Liquidate crossed positions (default: on for the demo only).",
        ),
    ] = None,
    certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate chain (PEM): serve wss:// and https://.")
    ] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    redis: Annotated[
        str | None,
        typer.Option(
            envvar="POSRISK_REDIS",
            help="Redis URL: share marks, listenKeys, limits and changes with other "
            "gateways on the same PostgreSQL database.",
        ),
    ] = None,
    redis_prefix: Annotated[
        str, typer.Option(envvar="POSRISK_REDIS_PREFIX", help="Prefix of every Redis key.")
    ] = "posrisk:",
    dashboard: Annotated[
        str,
        typer.Option(
            help="Who may see the live dashboard at / : loopback clients, any client, or off."
        ),
    ] = "loopback",
    monitoring: Annotated[
        str,
        typer.Option(
            help="Who may read /health and /metrics: loopback clients, any client "
            "(probes and scrapers on other hosts), or off."
        ),
    ] = "loopback",
    workers: Annotated[
        int,
        typer.Option(
            envvar="POSRISK_WORKERS",
            help="Gateway processes sharing the port (SO_REUSEPORT); >1 needs "
            "PostgreSQL and Redis.",
        ),
    ] = 1,
) -> None:
    """Serve the WS API on ws://HOST:PORT/ws-fapi/v1 (and REST GETs on the same port)."""
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise _fail(f"unknown log level {log_level!r}")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = ServerSettings(
        db=str(db),
        host=host,
        port=port,
        scenario=scenario,
        demo=demo,
        reset=reset,
        limits=LimitRules(request_weight=weight_limit),
        enforce_limits=not no_ip_limits,
        admin_host=admin_host,
        admin_port=None if no_admin else admin_port,
        admin_token=admin_token,
        marks=marks,
        marks_file=marks_file,
        marks_speed=marks_speed,
        marks_seed=marks_seed,
        marks_interval=marks_interval,
        marks_url=marks_url,
        liquidate=liquidate,
        certfile=certfile,
        keyfile=keyfile,
        redis=redis,
        redis_prefix=redis_prefix,
        gateway=GatewaySettings(dashboard=dashboard, monitoring=monitoring),
    )
    try:
        if workers == 1:
            _event_loop_run(_serve(settings))
        else:
            _supervise(settings, workers, level)
    except EngineError as e:
        raise _fail(str(e), e.code) from None
    except PosriskError as e:  # the service's, the store's or the bus's (Redis)
        raise _fail(getattr(e, "msg", str(e))) from None
    except OSError as e:  # a file beside the database (the ports' errors name the port)
        raise _fail(f"{e.strerror or e}: {e.filename}" if e.filename else str(e)) from None


def _event_loop_run(coro: Awaitable[None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        asyncio.run(coro)  # type: ignore[arg-type]
    else:
        uvloop.run(coro)  # type: ignore[arg-type]


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
    from .workers import Supervisor

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
    out.print(f"  REST           {server.http_url}/fapi/v2/positionRisk (and v3, exchangeInfo)")
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
            where = f"token in {server._data_file('-admin.token').resolve()}"
        out.print(f"  admin API      {server.admin_url} ({where})")
        if server.new_admin_token:
            out.print(f"  admin token    {server.admin_token} (shown only now)")
    demo = server.demo
    again = f"posrisk key create demo --db {shlex.quote(server.database)}"
    if demo is None and "demo" in server.registry.accounts:
        out.print(f"  demo keys      shown when the database was created; a new one: {again}")
    if demo is not None:
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
    out.print("\nPress Ctrl-C to stop.")
    sys.stdout.flush()


# -- administration ---------------------------------------------------------------------

account_app = typer.Typer(help="Create, list and show accounts.", no_args_is_help=True)
key_app = typer.Typer(help="Create, revoke and list API keys.", no_args_is_help=True)
wallet_app = typer.Typer(help="Deposit into and withdraw from wallets.", no_args_is_help=True)
setting_app = typer.Typer(help="Position mode, leverage and margin type.", no_args_is_help=True)
fill_app = typer.Typer(help="Record fills (trades).", no_args_is_help=True)
margin_app = typer.Typer(help="Move isolated margin.", no_args_is_help=True)
mark_app = typer.Typer(help="Set and list mark prices.", no_args_is_help=True)
scenario_app = typer.Typer(help="Load scenario files.", no_args_is_help=True)
for sub, name in (
    (account_app, "account"),
    (key_app, "key"),
    (wallet_app, "wallet"),
    (setting_app, "setting"),
    (fill_app, "fill"),
    (margin_app, "margin"),
    (mark_app, "mark"),
    (scenario_app, "scenario"),
):
    app.add_typer(sub, name=name)

AdminUrlOption = Annotated[
    str | None,
    typer.Option(envvar="POSRISK_ADMIN_URL", help="A running server's admin API."),
]
AdminTokenOption = Annotated[
    str | None,
    typer.Option(envvar="POSRISK_ADMIN_TOKEN", help="Its bearer token."),
]


def _admin(
    db: str,
    admin_url: str | None,
    admin_token: str | None,
    action: Callable[[Operations], Awaitable[T]],
    create: bool | None = None,
) -> T:
    async def run() -> T:
        async with operations(db, admin_url, admin_token, create) as ops:
            return await action(ops)

    return _run(run())


@account_app.command("create")
def account_create(
    name: str,
    position_mode: Annotated[str | None, typer.Option(help="oneway (default) or hedge.")] = None,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
    create: CreateOption = False,
) -> None:
    """Create an account (in a new, empty database with --create)."""
    body: dict[str, Any] = {"name": name}
    if position_mode is not None:
        body["positionMode"] = position_mode
    _admin(db, admin_url, admin_token, lambda ops: ops.create_account(body), create)
    out.print(f"created account {name!r}")


@account_app.command("list")
def account_list(
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """List accounts."""
    rows = _admin(db, admin_url, admin_token, lambda ops: ops.list_accounts())
    table = Table("name", "position mode", "open positions", "keys")
    for row in rows:
        table.add_row(row["name"], row["positionMode"], str(row["openPositions"]), str(row["keys"]))
    _print_wide(table)


@account_app.command("show")
def account_show(
    name: str,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Show an account: balances, open positions (at the stored marks) and keys."""
    _print_json(_admin(db, admin_url, admin_token, lambda ops: ops.describe(name)))


@key_app.command("create")
def key_create(
    account: str,
    type: Annotated[str, typer.Option("--type", help="hmac, ed25519 or rsa.")] = "hmac",
    public_key_file: Annotated[
        Path | None,
        typer.Option(help="Your Ed25519/RSA public key (PEM); generated when omitted."),
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="Choose the API key (generated).")] = None,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Create an API key. A generated secret or private key is printed once, never stored
    (private key) or never shown again (secret)."""
    body: dict[str, Any] = {"type": type}
    if api_key is not None:
        body["apiKey"] = api_key
    if public_key_file is not None:
        try:
            body["publicKey"] = public_key_file.read_text()
        except OSError as e:
            raise _fail(f"cannot read {public_key_file}: {e.strerror}") from None
    _print_json(_admin(db, admin_url, admin_token, lambda ops: ops.create_key(account, body)))


@key_app.command("revoke")
def key_revoke(
    account: str,
    api_key: str,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Revoke an API key (live sessions and streams of the key end at once)."""
    answer = _admin(db, admin_url, admin_token, lambda ops: ops.revoke_key(account, api_key))
    out.print(f"revoked {api_key}")
    if "note" in answer:  # not every gateway on the bus confirmed it yet
        err.print(Text(f"warning: {answer['note']}", style="yellow"))


@key_app.command("list")
def key_list(
    account: str,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """List an account's API keys."""
    described = _admin(db, admin_url, admin_token, lambda ops: ops.describe(account))
    table = Table("API key", "type", "revoked")
    for row in described["keys"]:
        table.add_row(row["apiKey"], row["type"], "yes" if row["revoked"] else "")
    _print_wide(table)


def _wallet(
    account: str,
    amount: str,
    asset: str,
    sign: int,
    db: str,
    admin_url: str | None,
    admin_token: str | None,
) -> None:
    value = _run(_parse(lambda: parse_decimal(amount, "amount")))
    if value <= 0:
        raise _fail("the amount must be positive", -1130)
    body = {"asset": asset, "amount": format(value * sign, "f")}
    described = _admin(db, admin_url, admin_token, lambda ops: ops.wallet(account, body))
    balance = next(
        (b["walletBalance"] for b in described["balances"] if b["asset"] == asset),
        fmt_money(Decimal(0)),
    )
    out.print(f"{account} {asset} wallet balance {balance}")


async def _parse(fn: Callable[[], T]) -> T:
    return fn()


@wallet_app.command("deposit")
def wallet_deposit(
    account: str,
    amount: str,
    asset: Annotated[str, typer.Option(help="Margin asset.")] = "USDT",
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Deposit AMOUNT of ASSET."""
    _wallet(account, amount, asset, 1, db, admin_url, admin_token)


@wallet_app.command("withdraw")
def wallet_withdraw(
    account: str,
    amount: str,
    asset: Annotated[str, typer.Option(help="Margin asset.")] = "USDT",
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Withdraw AMOUNT of ASSET (at most the cross wallet balance)."""
    _wallet(account, amount, asset, -1, db, admin_url, admin_token)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        symbol, sep, setting = value.partition("=")
        if not sep or not symbol or not setting:
            raise _fail(f"{option} takes SYMBOL=VALUE, got {value!r}", -1130)
        pairs[symbol] = setting
    return pairs


@setting_app.command("set")
def setting_set(
    account: str,
    position_mode: Annotated[str | None, typer.Option(help="oneway or hedge.")] = None,
    leverage: Annotated[list[str] | None, typer.Option(help="SYMBOL=N, repeatable.")] = None,
    margin_type: Annotated[
        list[str] | None, typer.Option(help="SYMBOL=cross|isolated, repeatable.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Change position mode, leverage or margin type (all or nothing)."""
    symbols: dict[str, dict[str, Any]] = {}
    for symbol, value in _pairs(margin_type or [], "--margin-type").items():
        symbols.setdefault(symbol, {})["marginType"] = value
    for symbol, value in _pairs(leverage or [], "--leverage").items():
        symbols.setdefault(symbol, {})["leverage"] = int(value) if value.isdigit() else value
    body: dict[str, Any] = {"symbols": symbols}
    if position_mode is not None:
        body["positionMode"] = position_mode
    result = _admin(db, admin_url, admin_token, lambda ops: ops.settings(account, body))
    out.print(f"{account}: position mode {result['positionMode']}, settings saved")


@fill_app.command("add")
def fill_add(
    account: str,
    symbol: Annotated[str, typer.Option(help="e.g. BTCUSDT")],
    side: Annotated[str, typer.Option(help="BUY or SELL")],
    qty: Annotated[str, typer.Option(help="Quantity, e.g. 0.010")],
    price: Annotated[str, typer.Option(help="Fill price")],
    position_side: Annotated[str, typer.Option(help="BOTH, LONG or SHORT")] = "BOTH",
    fee: Annotated[str, typer.Option(help="Fee paid, in the margin asset")] = "0",
    time: Annotated[int | None, typer.Option(help="Fill time, ms since the epoch")] = None,
    force: Annotated[
        bool, typer.Option(help="Record it even without the margin Binance would require")
    ] = False,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Record a fill; prints the symbol's open positions after it. Its opening part needs
    initial margin + fee within availableBalance (else -2019), unless --force."""
    body: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "price": price,
        "positionSide": position_side,
        "fee": fee,
    }
    if time is not None:
        body["time"] = time
    if force:
        body["force"] = True
    result = _admin(db, admin_url, admin_token, lambda ops: ops.fill(account, body))
    _print_json([p for p in result["positions"] if p["symbol"] == symbol])


@margin_app.command("transfer")
def margin_transfer(
    account: str,
    symbol: Annotated[str, typer.Option(help="An isolated symbol with an open position")],
    amount: Annotated[str, typer.Option(help="Positive adds margin, negative removes it")],
    position_side: Annotated[str, typer.Option(help="BOTH, LONG or SHORT")] = "BOTH",
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Move margin into or out of an isolated position."""
    body = {"symbol": symbol, "amount": amount, "positionSide": position_side}
    result = _admin(db, admin_url, admin_token, lambda ops: ops.isolated_margin(account, body))
    _print_json([p for p in result["positions"] if p["symbol"] == symbol])


@mark_app.command("set")
def mark_set(
    marks: Annotated[list[str], typer.Argument(help="SYMBOL=PRICE ...")],
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Set mark prices (durable when acknowledged)."""
    body: dict[str, Any] = dict(_pairs(marks, "mark"))
    _admin(db, admin_url, admin_token, lambda ops: ops.set_marks(body))
    out.print(", ".join(f"{symbol} {price}" for symbol, price in body.items()))


@mark_app.command("list")
def mark_list(
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """List the mark prices."""
    marks = _admin(db, admin_url, admin_token, lambda ops: ops.marks())
    table = Table("symbol", "mark price")
    for symbol, price in sorted(marks.items()):
        table.add_row(symbol, str(price))
    _print_wide(table)


@scenario_app.command("load")
def scenario_load(
    file: Path,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
    create: CreateOption = False,
) -> None:
    """Load a scenario file's accounts, all or nothing (into a new database with --create)."""
    document = _run(_parse(lambda: read_scenario_file(file)))
    result = _admin(db, admin_url, admin_token, lambda ops: ops.load_scenario(document), create)
    names = result["accounts"]
    out.print(f"loaded {len(names)} accounts: {', '.join(names)}")


# -- databases ------------------------------------------------------------------------

db_app = typer.Typer(help="Migrate and copy databases.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("migrate")
def db_migrate(
    db: Annotated[
        str, typer.Option("--db", envvar="POSRISK_DB", help="SQLite file or postgresql:// URL.")
    ] = str(DEFAULT_DB),
) -> None:
    """Bring a database's schema up to this posrisk (servers also do it when they start)."""

    async def run() -> int:
        require_database(db)
        store = open_store(db)
        lock = DatabaseLock(Path(db)) if not is_postgres(db) and db != ":memory:" else None
        if lock is not None:
            lock.acquire()
        try:
            await store.open()
            return await store.schema_version()
        finally:
            with suppress(StoreError):
                await store.close()
            if lock is not None:
                lock.release()

    version = _run(run())
    out.print(f"{_where(db)} is at schema version {version}")


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Option("--from", help="The database to copy (SQLite file).")],
    target: Annotated[
        str, typer.Option("--to", help="Where to (a postgresql:// URL or a new SQLite file).")
    ],
) -> None:
    """Copy every account, key, ledger entry, mark and ban into an empty database, in one
    transaction. HMAC secrets stay sealed: serve the copy with the same master key
    (POSRISK_MASTER_KEY, or the source's <db stem>-master.key)."""

    async def run() -> tuple[int, int, int]:
        require_database(source)
        require_database(target, create=True)
        origin, destination = open_store(source), open_store(target)
        lock = DatabaseLock(Path(source)) if not is_postgres(source) else None
        if lock is not None:
            lock.acquire()
        try:
            await origin.open()
            await destination.open()
            if await destination.has_accounts():
                raise ServiceError(
                    f"{_where(target)} already holds accounts; copy into an empty database"
                )
            snapshot = await origin.load()
            changes: list[Change] = [NewAccount(a.name, a.created_at) for a in snapshot.accounts]
            changes += [NewKey(key) for key in snapshot.keys]
            changes += [AppendEvent(r.account, r.event, r.time) for r in snapshot.ledger]
            if snapshot.marks:
                changes.append(SetMarks(dict(snapshot.marks), 0))
            changes += [SetMeta(key, value) for key, value in snapshot.meta.items()]
            await destination.commit(changes)
            copied = await destination.load()
            if (len(copied.accounts), len(copied.keys), len(copied.ledger)) != (
                len(snapshot.accounts),
                len(snapshot.keys),
                len(snapshot.ledger),
            ):
                raise ServiceError(
                    "the copy does not match its source; nothing should be served from it"
                )
            return len(copied.accounts), len(copied.keys), len(copied.ledger)
        finally:
            for store in (origin, destination):
                with suppress(StoreError):
                    await store.close()
            if lock is not None:
                lock.release()

    accounts, keys, entries = _run(run())
    out.print(
        f"copied {accounts} accounts, {keys} keys and {entries} ledger entries "
        f"from {_where(source)} to {_where(target)}"
    )


def _where(db: str) -> str:
    return db.split("@")[-1] if is_postgres(db) else db  # never a password


# -- positions (the client) ------------------------------------------------------------

URL_ALIASES = {"mainnet": BINANCE_MAINNET, "testnet": BINANCE_TESTNET, "local": POSRISK_LOCAL}


@app.command()
def positions(
    url: Annotated[
        str,
        typer.Option(envvar="POSRISK_URL", help="WS API URL, or mainnet / testnet / local."),
    ] = POSRISK_LOCAL,
    api_key: Annotated[str | None, typer.Option(envvar="POSRISK_API_KEY", help="API key.")] = None,
    secret: Annotated[
        str | None,
        typer.Option(envvar="POSRISK_API_SECRET", help="HMAC secret (prefer the env var)."),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(envvar="POSRISK_KEY_FILE", help="Ed25519 or RSA private key (PEM)."),
    ] = None,
    key_password: Annotated[
        str | None,
        typer.Option(envvar="POSRISK_KEY_PASSWORD", help="Password of an encrypted key file."),
    ] = None,
    symbol: Annotated[str | None, typer.Option(help="One symbol, e.g. BTCUSDT.")] = None,
    v2: Annotated[bool, typer.Option("--v2", help="Use v2/account.position.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw rows.")] = False,
    watch: Annotated[float | None, typer.Option(help="Refresh every SECONDS until Ctrl-C.")] = None,
    iterations: Annotated[
        int | None, typer.Option(help="With --watch: stop after N refreshes.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Per-request timeout, seconds.")] = 10.0,
) -> None:
    """Print open positions as a table (or the raw rows with --json).

    Keys can come from POSRISK_API_KEY, POSRISK_API_SECRET and POSRISK_KEY_FILE so they
    stay out of the shell history.
    """
    if api_key is None:
        raise _fail("an API key is needed: --api-key or POSRISK_API_KEY")
    if (secret is None) == (key_file is None):
        raise _fail("give exactly one of --secret (POSRISK_API_SECRET) and --key-file")
    key: str | Path = secret if secret is not None else key_file  # type: ignore[assignment]
    target = URL_ALIASES.get(url, url)
    try:
        _event_loop_run(
            _show_positions(
                target, api_key, key, key_password, symbol, v2, as_json, watch, iterations, timeout
            )
        )
    except BinanceError as e:
        raise _fail(e.message, e.code) from None
    except (ClientError, ValueError) as e:
        raise _fail(str(e)) from None
    except KeyboardInterrupt:
        pass


async def _show_positions(
    url: str,
    api_key: str,
    key: str | Path,
    password: str | None,
    symbol: str | None,
    v2: bool,
    as_json: bool,
    watch: float | None,
    iterations: int | None,
    timeout: float,
) -> None:
    async with PositionClient(url, api_key, key, password=password, timeout=timeout) as client:
        shown = 0
        while True:
            if as_json:
                rows = await client.request(
                    "v2/account.position" if v2 else "account.position",
                    {"symbol": symbol} if symbol else {},
                )
                out.print_json(json.dumps(rows))
            else:
                found: list[Position] | list[PositionV2] = (
                    await client.positions_v2(symbol) if v2 else await client.positions(symbol)
                )
                _print_wide(position_table(found, url))
            shown += 1
            if watch is None or (iterations is not None and shown >= iterations):
                return
            await asyncio.sleep(watch)


def position_table(rows: Sequence[Position | PositionV2], url: str) -> Table | Text:
    """The open positions as a table; uPnL green when positive, red when negative."""
    open_rows = [row for row in rows if row.is_open]
    if not open_rows:
        return Text(f"no open positions ({url})")
    table = Table(
        "symbol",
        "side",
        "size",
        "entry",
        "break-even",
        "mark",
        "uPnL",
        "liq. price",
        "to liq.",
        "leverage",
        "margin",
        title=f"positions at {url}",
    )
    for row in open_rows:
        pnl = row.unrealized_profit
        style = "green" if pnl > 0 else "red" if pnl < 0 else ""
        distance = row.liquidation_distance
        leverage = row.leverage
        table.add_row(
            row.symbol,
            row.side or "",
            str(abs(row.position_amt)),
            _price(row.entry_price),
            _price(row.break_even_price),
            _price(row.mark_price),
            Text(f"{pnl:f}", style=style),
            _price(row.liquidation_price) if row.liquidation_price else "-",
            f"{distance * 100:.2f}%" if distance is not None else "-",
            f"{leverage}x" if leverage is not None else "-",
            row.margin_type.value,
        )
    return table


def _print_wide(renderable: Table | Text) -> None:
    """A table is never squeezed: numbers cut with an ellipsis would be wrong numbers."""
    if out.is_terminal:
        out.print(renderable)
        return
    width = Measurement.get(out, out.options.update_width(10_000), renderable).maximum
    wide = Console(file=out.file, width=max(width, out.width), highlight=False, markup=False)
    wide.print(renderable)


def _price(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
