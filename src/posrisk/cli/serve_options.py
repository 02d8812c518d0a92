"""The options of ``posrisk serve`` and the one place they become ``ServerSettings``.

Typer reads options from a function's parameters, so ``serve`` lists them all; what each
means for the server is said once, in ``server_settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from ..app import ServerSettings
from ..gateway.server import GatewaySettings
from ..protocol import LimitRules

__all__ = ["server_settings"]

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port of the WS API and the REST GETs.")]
Scenario = Annotated[
    Path | None, typer.Option(help="Load accounts from a scenario file (new database).")
]
Reset = Annotated[bool, typer.Option(help="Empty an existing database first.")]
Demo = Annotated[bool, typer.Option(help="Seed the demo accounts into a new database.")]
WeightLimit = Annotated[int, typer.Option(help="REQUEST_WEIGHT per IP per minute.")]
NoIpLimits = Annotated[
    bool,
    typer.Option("--no-ip-limits", help="Count request weight but never refuse (benchmarks only)."),
]
LogLevel = Annotated[str, typer.Option(help="Log level on stderr: debug, info, warning, error.")]
AdminHost = Annotated[str, typer.Option(help="Address of the admin API.")]
AdminPort = Annotated[int, typer.Option(help="Port of the admin API (0: any free).")]
AdminToken = Annotated[
    str | None,
    typer.Option(
        envvar="POSRISK_ADMIN_TOKEN",
        help="Admin bearer token (default: generated into <db>-admin.token).",
    ),
]
NoAdmin = Annotated[bool, typer.Option("--no-admin", help="Do not serve the admin API.")]
Marks = Annotated[str, typer.Option(help="Where marks move from: fixed, replay, walk or binance.")]
MarksFile = Annotated[
    Path | None, typer.Option(help="replay: a CSV or JSONL file of time, symbol, mark.")
]
FundingFile = Annotated[
    Path | None,
    typer.Option(
        "--funding",
        help="A series of funding rates to replay: CSV time,symbol,rate or JSONL.",
    ),
]
MarksSpeed = Annotated[
    float, typer.Option(help="replay: times real time (0: as fast as possible).")
]
MarksSeed = Annotated[int, typer.Option(help="walk: the random seed.")]
MarksInterval = Annotated[float, typer.Option(help="walk: seconds between steps.")]
MarksUrl = Annotated[str, typer.Option(help="binance: the !markPrice@arr stream URL.")]
Liquidate = Annotated[
    bool | None,
    typer.Option(
        "--liquidate/--no-liquidate",
        help="Liquidate crossed positions (default: on for the demo only).",
    ),
]


def _bps(text: str) -> Decimal:
    """Basis points: a plain decimal from 0 to 1000."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise typer.BadParameter(f"{text!r} is not a number of basis points") from None
    if not value.is_finite() or not 0 <= value <= 1000:
        raise typer.BadParameter(f"{text!r} is not between 0 and 1000 basis points")
    return value


SlippageBps = Annotated[
    Decimal,
    typer.Option(
        parser=_bps,
        help="The synthetic book's spread: ask = mark × (1 + bps/10000) rounded up to the "
        "tick, bid likewise down; MARKET orders fill there.",
    ),
]
Certfile = Annotated[
    Path | None, typer.Option(help="TLS certificate chain (PEM): serve wss:// and https://.")
]
Keyfile = Annotated[Path | None, typer.Option(help="TLS private key (PEM).")]
Redis = Annotated[
    str | None,
    typer.Option(
        envvar="POSRISK_REDIS",
        help="Redis URL: share marks, listenKeys, limits and changes with other "
        "gateways on the same PostgreSQL database.",
    ),
]
RedisPrefix = Annotated[
    str, typer.Option(envvar="POSRISK_REDIS_PREFIX", help="Prefix of every Redis key.")
]
Dashboard = Annotated[
    str,
    typer.Option(
        help="Who may see the live dashboard at / : loopback clients, any client, or off."
    ),
]
Monitoring = Annotated[
    str,
    typer.Option(
        help="Who may read /health and /metrics: loopback clients, any client "
        "(probes and scrapers on other hosts), or off."
    ),
]
StrictStreamRoutes = Annotated[
    bool,
    typer.Option(
        "--strict-stream-routes",
        help="Serve each stream only on Binance's path for it (/public, /market, /private), "
        "silent elsewhere, as Binance is (default: every stream on every path).",
    ),
]
Workers = Annotated[
    int,
    typer.Option(
        envvar="POSRISK_WORKERS",
        help="Gateway processes sharing the port (SO_REUSEPORT); >1 needs PostgreSQL and Redis.",
    ),
]

# Options that are not settings of their own name: read by ``server_settings`` below, or
# by ``serve`` itself (log level, processes).
_MAPPED = {"db", "admin_port"}


def server_settings(options: Mapping[str, Any]) -> ServerSettings:
    """The server ``serve``'s parsed ``options`` (by parameter name) describe: an option
    named as a setting is that setting; the others say here what they set."""
    same = {
        f.name: options[f.name]
        for f in fields(ServerSettings)
        if f.name in options and f.name not in _MAPPED
    }
    return ServerSettings(
        db=str(options["db"]),
        limits=LimitRules(request_weight=options["weight_limit"]),
        enforce_limits=not options["no_ip_limits"],
        admin_port=None if options["no_admin"] else options["admin_port"],
        gateway=GatewaySettings(
            dashboard=options["dashboard"],
            monitoring=options["monitoring"],
            strict_stream_routes=options["strict_stream_routes"],
        ),
        **same,
    )
