"""``posrisk clock show|advance``: a running server's clock, read and moved forward (its
admin API; the database of a running server finds it). Moving it runs what fell due —
GTD orders expire, funding times settle — before the command returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from ..service.clock_control import parse_duration
from .admin import AdminTokenOption, AdminUrlOption, admin_call
from .common import DEFAULT_DB, DbOption, fail, out

__all__ = ["clock_app"]

clock_app = typer.Typer(help="Read and move a running server's clock.", no_args_is_help=True)


def _line(answer: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(answer["time"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{when} UTC ({answer['time']}), {answer['advancedMs']} ms ahead of this machine"


@clock_app.command("show")
def clock_show(
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Print the server's time and how far it was moved ahead."""

    out.print(_line(admin_call(db, admin_url, admin_token, lambda ops: ops.clock())))


@clock_app.command("advance")
def clock_advance(
    duration: str = typer.Argument(help="How far: 8h, 15m, 90s, 1d, 250ms or milliseconds."),
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Move the server's clock forward; what fell due (funding, GTD expiry) runs first."""
    try:
        ms = parse_duration(duration)
    except ValueError as e:
        raise fail(str(e)) from None

    out.print(
        _line(
            admin_call(db, admin_url, admin_token, lambda ops: ops.advance_clock({"advanceMs": ms}))
        )
    )
