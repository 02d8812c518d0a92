"""The margin a fill needs: what Binance's matching engine would refuse with -2019.

Binance fills an order only if the margin its opening part needs fits the account's
``availableBalance`` (SPEC §17.4; isolated too: its margin leaves the cross wallet at the
fill). ``apply`` does not ask this — replaying the ledger, liquidation closes and forced
imports of real history must go through whatever the marks were — so the writes an
operator makes are checked here, after ``apply`` accepted them and against the account
before them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext

from .account import Account, split_fill
from .errors import MarginInsufficient
from .events import Event, Fill
from .market import Market
from .numbers import CONTEXT, fmt_money
from .risk import AccountRisk, initial_margin

__all__ = ["check_opening_margin"]


def check_opening_margin(
    account: Account, event: Event, market: Market, marks: Mapping[str, Decimal]
) -> None:
    """Refuse (-2019 ``Margin is insufficient.``) a fill whose opening part needs more
    than ``account`` has available:

    ``opening qty × price / leverage + opening share of the fee > availableBalance``

    with availableBalance (``risk.available_balance``) of the symbol's margin asset before
    the fill, positions marked at ``marks`` (at their entry price where a symbol has no
    mark). The closing part of a fill needs no margin (a one-way flip opens only the
    excess); events other than fills need none. ``event`` must be one ``apply`` accepted.
    """
    if not isinstance(event, Fill):
        return
    with localcontext(CONTEXT):
        opened = split_fill(account, event)
        if not opened.open_qty:
            return
        symbol = market[event.symbol]
        leverage = account.settings_for(symbol).leverage
        margin = initial_margin(opened.open_qty * event.price, leverage)
        needed = margin + opened.open_fee
        asset = symbol.margin_asset
        available = AccountRisk(account, market, marks).asset(asset).available_balance
        if needed > available:
            raise MarginInsufficient(
                f"opening {opened.open_qty} {symbol.name} at {event.price} needs "
                f"{fmt_money(margin)} {asset} initial margin at {leverage}x + "
                f"{fmt_money(opened.open_fee)} fee; availableBalance is {fmt_money(available)}"
            )
