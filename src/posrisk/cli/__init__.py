"""``posrisk``: serve, and administer an account database (``posrisk <noun> <verb>``).

The admin commands open the database directly and go through the same ``AdminService`` as
the server; a database held by a running server is reached through its admin API, and one
that does not exist is refused unless ``--create`` (``cli.db``).
Every refusal prints ``error <code>: <message>`` on stderr and exits 1, changing nothing.
Each command group is a module of its own; this one puts them under one ``app``.
"""

from __future__ import annotations

import typer

from . import admin, clock, db, funding, orders, positions, serve, version

__all__ = ["app", "main"]

app = typer.Typer(
    name="posrisk",
    help="Binance USDⓈ-M Futures account.position, self-hosted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# ``posrisk --help`` lists the commands in this order, then the groups in theirs.
app.command()(serve.serve)
app.command()(positions.positions)
app.command()(version.version)
for group, name in (
    *admin.GROUPS,
    (funding.funding_app, "funding"),
    (orders.order_app, "order"),
    (clock.clock_app, "clock"),
    (db.db_app, "db"),
):
    app.add_typer(group, name=name)


def main() -> None:
    app()
