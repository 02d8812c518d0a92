"""``posrisk positions``: a client of any account.position server (posrisk's or Binance's)
printing the open positions as a table, once or every few seconds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ..client import (
    BINANCE_MAINNET,
    BINANCE_TESTNET,
    POSRISK_LOCAL,
    BinanceError,
    ClientError,
    Position,
    PositionClient,
    PositionV2,
)
from ..engine.numbers import fmt_shortest
from ..loop import run_event_loop
from .common import fail, out, print_wide

__all__ = ["URL_ALIASES", "position_table", "positions"]

URL_ALIASES = {"mainnet": BINANCE_MAINNET, "testnet": BINANCE_TESTNET, "local": POSRISK_LOCAL}


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
        raise fail("an API key is needed: --api-key or POSRISK_API_KEY")
    if (secret is None) == (key_file is None):
        raise fail("give exactly one of --secret (POSRISK_API_SECRET) and --key-file")
    key: str | Path = secret if secret is not None else key_file  # type: ignore[assignment]
    target = URL_ALIASES.get(url, url)
    try:
        run_event_loop(
            _show_positions(
                target, api_key, key, key_password, symbol, v2, as_json, watch, iterations, timeout
            )
        )
    except BinanceError as e:
        raise fail(e.message, e.code) from None
    except (ClientError, ValueError) as e:
        raise fail(str(e)) from None
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
                print_wide(position_table(found, url))
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
            fmt_shortest(row.entry_price),
            fmt_shortest(row.break_even_price),
            fmt_shortest(row.mark_price),
            Text(f"{pnl:f}", style=style),
            fmt_shortest(row.liquidation_price) if row.liquidation_price else "-",
            f"{distance * 100:.2f}%" if distance is not None else "-",
            f"{leverage}x" if leverage is not None else "-",
            row.margin_type.value,
        )
    return table
