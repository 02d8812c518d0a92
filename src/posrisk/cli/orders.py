"""``posrisk order list|cancel``: an account's open orders (regular and algo), read and
canceled through ``Operations`` like every admin command — on the database itself, or
through a running server's admin API, whose cancels its user streams hear at once."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from .admin import AdminTokenOption, AdminUrlOption, admin_call
from .common import DEFAULT_DB, DbOption, out, print_wide

__all__ = ["order_app"]

order_app = typer.Typer(help="List and cancel an account's open orders.", no_args_is_help=True)

SymbolOption = Annotated[str | None, typer.Option(help="Only this symbol's, e.g. BTCUSDT.")]


def _table(answer: dict[str, Any]) -> Table:
    table = Table("orderId", "symbol", "side", "positionSide", "type", "qty", "price", "status")
    for o in answer["orders"]:
        table.add_row(
            str(o["orderId"]), o["symbol"], o["side"], o["positionSide"], o["type"],
            o["origQty"], o["price"], o["status"],
        )  # fmt: skip
    for a in answer["algoOrders"]:
        trigger = f"{a['price']} @ {a['triggerPrice']}"
        table.add_row(
            f"algo {a['algoId']}", a["symbol"], a["side"], a["positionSide"], a["orderType"],
            a["quantity"], trigger, a["algoStatus"],
        )  # fmt: skip
    return table


@order_app.command("list")
def order_list(
    account: str,
    symbol: SymbolOption = None,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """List the account's open orders and open algo orders (by id)."""

    print_wide(
        _table(admin_call(db, admin_url, admin_token, lambda ops: ops.orders(account, symbol)))
    )


@order_app.command("cancel")
def order_cancel(
    account: str,
    symbol: SymbolOption = None,
    order_id: Annotated[int | None, typer.Option(help="Only this open order.")] = None,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Cancel the account's open orders: all of them (regular and algo), one symbol's, or
    one order; all in one commit, or none."""

    answer = admin_call(
        db, admin_url, admin_token, lambda ops: ops.cancel_orders(account, symbol, order_id)
    )
    ids = [str(o["orderId"]) for o in answer["orders"]]
    ids += [f"algo {a['algoId']}" for a in answer["algoOrders"]]
    out.print(f"canceled {len(ids)} orders" + (f": {', '.join(ids)}" if ids else ""))
