"""What every command shares: the consoles, the ``error <code>: <message>`` exit, the
``--db`` option, and tables printed without squeezing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..bus.confirmation import BusError
from ..client.errors import AdminError
from ..errors import PosriskError
from ..store import StoreError

__all__ = ["DEFAULT_DB", "DbOption", "err", "fail", "out", "print_json", "print_wide", "run"]

T = TypeVar("T")

# No markup (output quotes user input) and no wrapping (never break a key or a command).
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

# A string, not a Path: a Path would fold postgresql:// into postgresql:/.
DbOption = Annotated[
    str,
    typer.Option("--db", envvar="POSRISK_DB", help="SQLite database file, or a postgresql:// URL."),
]
DEFAULT_DB = "posrisk.db"


def fail(message: str, code: int | None = None) -> typer.Exit:
    """Print the refusal and return the exit to raise: every refusal looks the same."""
    # The message may quote what the user typed: never interpret it as markup.
    prefix = Text(f"error{f' {code}' if code is not None else ''}: ", style="red")
    err.print(prefix + Text(message))
    return typer.Exit(1)


def run(coro: Awaitable[T]) -> T:
    """Run ``coro``; any refusal (posrisk's own, or a running server's admin API) ends the
    command with one line."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except AdminError as e:  # the admin API of the server holding the database
        raise fail(e.msg, e.code) from None
    except PosriskError as e:
        raise refused(e) from None


def refused(error: PosriskError) -> typer.Exit:
    """The command line's one translation of a refusal: ``error <code>: <text>``; a
    database or a bus that cannot be used has no Binance code to show."""
    if isinstance(error, StoreError | BusError):
        return fail(str(error))
    return fail(str(error), error.code)


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data))


def print_wide(renderable: Table | Text) -> None:
    """A table is never squeezed: numbers cut with an ellipsis would be wrong numbers."""
    if out.is_terminal:
        out.print(renderable)
        return
    width = Measurement.get(out, out.options.update_width(10_000), renderable).maximum
    wide = Console(file=out.file, width=max(width, out.width), highlight=False, markup=False)
    wide.print(renderable)
