"""``posrisk funding set|show``: the funding settings (rate, interval, cap, floor) of
symbols, changed and read through ``Operations`` like every admin command — on the
database itself, or through a running server's admin API, which serves a change at once
(and its other gateways within a few seconds)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from .admin import AdminTokenOption, AdminUrlOption, admin_call
from .common import DEFAULT_DB, DbOption, fail, out, print_wide

__all__ = ["funding_app"]

funding_app = typer.Typer(
    help="Set and show symbols' funding rates and intervals.", no_args_is_help=True
)


def funding_body(
    rates: list[str],
    interval_hours: int | None = None,
    cap: str | None = None,
    floor: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The admin body of ``SYMBOL=RATE`` arguments (a bare ``SYMBOL`` changes only the
    options), each symbol with the options given."""
    body: dict[str, dict[str, Any]] = {}
    for value in rates:
        symbol, sep, rate = value.partition("=")
        if not symbol or (sep and not rate):
            raise fail(f"funding set takes SYMBOL=RATE or SYMBOL, got {value!r}", -1130)
        fields: dict[str, Any] = {"rate": rate} if sep else {}
        if interval_hours is not None:
            fields["intervalHours"] = interval_hours
        if cap is not None:
            fields["cap"] = cap
        if floor is not None:
            fields["floor"] = floor
        if not fields:
            raise fail(
                f"{symbol}: give a rate (SYMBOL=RATE) or --interval-hours, --cap, --floor", -1130
            )
        body[symbol] = fields
    return body


def _table(answer: dict[str, Any]) -> Table:
    table = Table("symbol", "rate", "interval h", "cap", "floor", "next rate", "next time")
    for symbol, row in answer.items():
        table.add_row(
            symbol, row["rate"], str(row["intervalHours"]), row["cap"], row["floor"],
            row["nextFundingRate"], str(row["nextFundingTime"]),
        )  # fmt: skip
    return table


@funding_app.command("set")
def funding_set(
    rates: Annotated[list[str], typer.Argument(help="SYMBOL=RATE ... (or SYMBOL alone).")],
    interval_hours: Annotated[
        int | None, typer.Option(help="Hours between funding times: 1, 2, 4 or 8.")
    ] = None,
    cap: Annotated[str | None, typer.Option(help="The highest rate settled, e.g. 0.02.")] = None,
    floor: Annotated[str | None, typer.Option(help="The lowest rate settled, e.g. -0.02.")] = None,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Set symbols' funding rates (and interval, cap, floor): durable when acknowledged."""
    body = funding_body(rates, interval_hours, cap, floor)

    answer = admin_call(db, admin_url, admin_token, lambda ops: ops.set_funding(body))
    for symbol in body:
        row = answer[symbol]
        out.print(
            f"{symbol} rate {row['rate']} every {row['intervalHours']} h "
            f"(cap {row['cap']}, floor {row['floor']})"
        )


@funding_app.command("show")
def funding_show(
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Show the symbols whose funding is not the default (0.0001 every 8 h, ±0.02)."""

    answer = admin_call(db, admin_url, admin_token, lambda ops: ops.funding())
    if not answer:
        out.print("every symbol pays the default: 0.0001 every 8 h, cap 0.02, floor -0.02")
        return
    print_wide(_table(answer))
