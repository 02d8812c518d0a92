"""The admin commands (``posrisk <noun> <verb>``): each parses its arguments, sends one
change or question through ``Operations`` (the database itself, or a running server's
admin API: ``db.operations``) and prints the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from ..engine import parse_decimal
from ..engine.numbers import fmt_money
from ..service.operations import Operations
from ..service.scenario import read_scenario_file
from .common import DEFAULT_DB, DbOption, err, fail, out, print_json, print_wide, run
from .db import CreateOption, operations

__all__ = ["GROUPS", "admin_call"]

T = TypeVar("T")

account_app = typer.Typer(help="Create, list and show accounts.", no_args_is_help=True)
key_app = typer.Typer(help="Create, revoke and list API keys.", no_args_is_help=True)
wallet_app = typer.Typer(help="Deposit into and withdraw from wallets.", no_args_is_help=True)
setting_app = typer.Typer(
    help="Position mode, leverage, margin type and commission.", no_args_is_help=True
)
fill_app = typer.Typer(help="Record fills (trades).", no_args_is_help=True)
margin_app = typer.Typer(help="Move isolated margin.", no_args_is_help=True)
mark_app = typer.Typer(help="Set and list mark prices.", no_args_is_help=True)
scenario_app = typer.Typer(help="Load scenario files.", no_args_is_help=True)

# The command groups, by name, in the order ``posrisk --help`` lists them.
GROUPS = (
    (account_app, "account"),
    (key_app, "key"),
    (wallet_app, "wallet"),
    (setting_app, "setting"),
    (fill_app, "fill"),
    (margin_app, "margin"),
    (mark_app, "mark"),
    (scenario_app, "scenario"),
)

AdminUrlOption = Annotated[
    str | None,
    typer.Option(envvar="POSRISK_ADMIN_URL", help="A running server's admin API."),
]
AdminTokenOption = Annotated[
    str | None,
    typer.Option(envvar="POSRISK_ADMIN_TOKEN", help="Its bearer token."),
]


def admin_call(
    db: str,
    admin_url: str | None,
    admin_token: str | None,
    action: Callable[[Operations], Awaitable[T]],
    create: bool | None = None,
) -> T:
    async def act() -> T:
        async with operations(db, admin_url, admin_token, create) as ops:
            return await action(ops)

    return run(act())


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
    admin_call(db, admin_url, admin_token, lambda ops: ops.create_account(body), create)
    out.print(f"created account {name!r}")


@account_app.command("list")
def account_list(
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """List accounts."""
    rows = admin_call(db, admin_url, admin_token, lambda ops: ops.list_accounts())
    table = Table("name", "position mode", "open positions", "keys")
    for row in rows:
        table.add_row(row["name"], row["positionMode"], str(row["openPositions"]), str(row["keys"]))
    print_wide(table)


@account_app.command("show")
def account_show(
    name: str,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Show an account: balances, open positions (at the stored marks) and keys."""
    print_json(admin_call(db, admin_url, admin_token, lambda ops: ops.describe(name)))


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
            raise fail(f"cannot read {public_key_file}: {e.strerror}") from None
    print_json(admin_call(db, admin_url, admin_token, lambda ops: ops.create_key(account, body)))


@key_app.command("revoke")
def key_revoke(
    account: str,
    api_key: str,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Revoke an API key (live sessions and streams of the key end at once)."""
    answer = admin_call(db, admin_url, admin_token, lambda ops: ops.revoke_key(account, api_key))
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
    described = admin_call(db, admin_url, admin_token, lambda ops: ops.describe(account))
    table = Table("API key", "type", "revoked")
    for row in described["keys"]:
        table.add_row(row["apiKey"], row["type"], "yes" if row["revoked"] else "")
    print_wide(table)


def _wallet(
    account: str,
    amount: str,
    asset: str,
    sign: int,
    db: str,
    admin_url: str | None,
    admin_token: str | None,
) -> None:
    value = run(_parse(lambda: parse_decimal(amount, "amount")))
    if value <= 0:
        raise fail("the amount must be positive", -1130)
    body = {"asset": asset, "amount": format(value * sign, "f")}
    described = admin_call(db, admin_url, admin_token, lambda ops: ops.wallet(account, body))
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
            raise fail(f"{option} takes SYMBOL=VALUE, got {value!r}", -1130)
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
    result = admin_call(db, admin_url, admin_token, lambda ops: ops.settings(account, body))
    out.print(f"{account}: position mode {result['positionMode']}, settings saved")


@setting_app.command("commission")
def setting_commission(
    account: str,
    maker: Annotated[str | None, typer.Option(help="Maker rate, e.g. 0.0002.")] = None,
    taker: Annotated[str | None, typer.Option(help="Taker rate, e.g. 0.0005.")] = None,
    symbol_maker: Annotated[list[str] | None, typer.Option(help="SYMBOL=RATE, repeatable.")] = None,
    symbol_taker: Annotated[list[str] | None, typer.Option(help="SYMBOL=RATE, repeatable.")] = None,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Set the account's commission rates; what is not given is the default (0.0002/0.0005)."""
    symbols: dict[str, dict[str, str]] = {}
    for symbol, value in _pairs(symbol_maker or [], "--symbol-maker").items():
        symbols.setdefault(symbol, {})["maker"] = value
    for symbol, value in _pairs(symbol_taker or [], "--symbol-taker").items():
        symbols.setdefault(symbol, {})["taker"] = value
    body: dict[str, Any] = {"symbols": symbols}
    for name, rate in (("maker", maker), ("taker", taker)):
        if rate is not None:
            body[name] = rate
    result = admin_call(db, admin_url, admin_token, lambda ops: ops.commission(account, body))
    rates = result["commission"]
    out.print(f"{account}: maker {rates['maker']}, taker {rates['taker']}")
    for symbol, given in rates["symbols"].items():
        out.print(f"  {symbol}: " + ", ".join(f"{k} {v}" for k, v in given.items()))


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
    result = admin_call(db, admin_url, admin_token, lambda ops: ops.fill(account, body))
    print_json([p for p in result["positions"] if p["symbol"] == symbol])


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
    result = admin_call(db, admin_url, admin_token, lambda ops: ops.isolated_margin(account, body))
    print_json([p for p in result["positions"] if p["symbol"] == symbol])


@mark_app.command("set")
def mark_set(
    marks: Annotated[list[str], typer.Argument(help="SYMBOL=PRICE ...")],
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Set mark prices (durable when acknowledged)."""
    body: dict[str, Any] = dict(_pairs(marks, "mark"))
    admin_call(db, admin_url, admin_token, lambda ops: ops.set_marks(body))
    out.print(", ".join(f"{symbol} {price}" for symbol, price in body.items()))


@mark_app.command("list")
def mark_list(
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """List the mark prices."""
    marks = admin_call(db, admin_url, admin_token, lambda ops: ops.marks())
    table = Table("symbol", "mark price")
    for symbol, price in sorted(marks.items()):
        table.add_row(symbol, str(price))
    print_wide(table)


@scenario_app.command("load")
def scenario_load(
    file: Path,
    db: DbOption = DEFAULT_DB,
    admin_url: AdminUrlOption = None,
    admin_token: AdminTokenOption = None,
    create: CreateOption = False,
) -> None:
    """Load a scenario file's accounts, all or nothing (into a new database with --create)."""
    document = run(_parse(lambda: read_scenario_file(file)))
    result = admin_call(db, admin_url, admin_token, lambda ops: ops.load_scenario(document), create)
    names = result["accounts"]
    out.print(f"loaded {len(names)} accounts: {', '.join(names)}")
