"""The wire shapes of a position: ``account.position`` (v1), ``v2/account.position`` and
``ACCOUNT_UPDATE``, with Binance's string formats (SPEC §1, §8, §9).

Rows are plain dicts in Binance's field order, ready for a JSON encoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .account import Account, AccountChange
from .market import Market
from .numbers import (
    fmt_integer,
    fmt_money,
    fmt_money_or_zero,
    fmt_normalized,
    fmt_price,
    fmt_quantity,
)
from .risk import AccountRisk, PositionRisk

__all__ = [
    "account_config_update_event",
    "account_position_rows",
    "account_position_v2_rows",
    "account_rows",
    "account_update_event",
    "describe_account",
    "position_row_v1",
    "position_row_v2",
    "update_balance_item",
    "update_position_item",
]

Row = dict[str, Any]

# Entry and break-even prices keep 10 decimals, as entryPrice does (``"70.900038636"``).
_PRICE_DECIMALS = 10


def position_row_v1(risk: PositionRisk) -> Row:
    """One ``account.position`` row."""
    position = risk.position
    isolated = risk.isolated
    return {
        "entryPrice": fmt_price(position.entry_price),
        "breakEvenPrice": fmt_price(position.break_even_price),
        "marginType": risk.settings.margin_type.value,
        "isAutoAddMargin": "true" if risk.settings.auto_add_margin else "false",
        "isolatedMargin": fmt_money(risk.isolated_margin),
        "leverage": str(risk.settings.leverage),
        "liquidationPrice": fmt_money_or_zero(risk.liquidation_price),
        "markPrice": fmt_money(risk.mark_price),
        "maxNotionalValue": fmt_integer(risk.max_notional),
        "positionAmt": fmt_quantity(position.amount, risk.symbol.quantity_precision),
        "notional": fmt_money_or_zero(risk.notional),
        "isolatedWallet": fmt_money_or_zero(position.isolated_wallet if isolated else Decimal(0)),
        "symbol": risk.symbol.name,
        "unRealizedProfit": fmt_money(risk.unrealized_pnl),
        "positionSide": position.side.value,
        "updateTime": position.update_time,
    }


def position_row_v2(risk: PositionRisk) -> Row:
    """One ``v2/account.position`` row (no leverage, maxNotionalValue, marginType...)."""
    position = risk.position
    isolated = risk.isolated
    return {
        "symbol": risk.symbol.name,
        "positionSide": position.side.value,
        "positionAmt": fmt_quantity(position.amount, risk.symbol.quantity_precision),
        "entryPrice": fmt_price(position.entry_price),
        "breakEvenPrice": fmt_price(position.break_even_price),
        "markPrice": fmt_money(risk.mark_price),
        "unRealizedProfit": fmt_money(risk.unrealized_pnl),
        "liquidationPrice": fmt_money_or_zero(risk.liquidation_price),
        "isolatedMargin": fmt_money_or_zero(risk.isolated_margin),
        "notional": fmt_money_or_zero(risk.notional),
        "marginAsset": risk.symbol.margin_asset,
        "isolatedWallet": fmt_money_or_zero(position.isolated_wallet if isolated else Decimal(0)),
        "initialMargin": fmt_money_or_zero(risk.initial_margin),
        "maintMargin": fmt_money_or_zero(risk.maint_margin),
        "positionInitialMargin": fmt_money_or_zero(risk.position_initial_margin),
        "openOrderInitialMargin": fmt_normalized(risk.open_order_initial_margin),
        # ADL quantile needs the whole exchange's ranking; a single venue has none: 0.
        "adl": 0,
        "bidNotional": fmt_normalized(risk.bid_notional),
        "askNotional": fmt_normalized(risk.ask_notional),
        "updateTime": position.update_time,
    }


def update_position_item(risk: PositionRisk) -> Row:
    """An ``ACCOUNT_UPDATE`` ``P`` item, as 2024 and 2026 captures write it: ``ma`` the
    margin asset; ``pa``, ``ep``, ``bep`` normalized (``"0"`` when flat); ``cr``, ``up``
    8 decimals or ``"0"``; ``iw`` ``"0"`` in cross."""
    position = risk.position
    return {
        "s": risk.symbol.name,
        "pa": fmt_normalized(position.amount),
        "ep": fmt_normalized(position.entry_price, _PRICE_DECIMALS),
        "cr": fmt_money_or_zero(position.realized_pnl),
        "up": fmt_money_or_zero(risk.unrealized_pnl),
        "mt": risk.settings.margin_type.value,
        "iw": fmt_money_or_zero(position.isolated_wallet if risk.isolated else Decimal(0)),
        "ps": position.side.value,
        "ma": risk.symbol.margin_asset,
        "bep": fmt_normalized(position.break_even_price, _PRICE_DECIMALS),
    }


def update_balance_item(risk: AccountRisk, asset: str, change: Decimal | None) -> Row:
    """An ``ACCOUNT_UPDATE`` ``B`` item: ``bc`` normalized (``"10"``, ``"-0.00085067"``);
    ``change`` None (a trade) writes it as ``"0"``."""
    totals = risk.asset(asset)
    return {
        "a": asset,
        "wb": fmt_money(totals.wallet_balance),
        "cw": fmt_money(totals.cross_wallet_balance),
        "bc": fmt_normalized(change) if change else "0",
    }


def account_rows(risk: AccountRisk, *, v2: bool, symbol: str | None = None) -> list[Row]:
    """Which rows an answer holds, the one rule for the WS API, REST and the tools:
    ``account.position`` (v1) has every side the position mode has, open or not;
    ``v2/account.position`` only the sides holding a position or an open order (zero-size
    rows kept by an order, as Binance shows them). Every symbol of the market,
    in market order, or only ``symbol`` (``InvalidSymbol`` when the market has none)."""
    names = None if symbol is None else (risk.market[symbol].name,)
    if v2:
        return [position_row_v2(row) for row in risk.open_rows(names)]
    return [position_row_v1(row) for row in risk.rows(names)]


def account_position_rows(
    account: Account, market: Market, marks: Mapping[str, Decimal], symbol: str | None = None
) -> list[Row]:
    """The ``account.position`` result: every symbol (or ``symbol``), every side of the mode."""
    return account_rows(AccountRisk(account, market, marks), v2=False, symbol=symbol)


def account_position_v2_rows(
    account: Account, market: Market, marks: Mapping[str, Decimal], symbol: str | None = None
) -> list[Row]:
    """The ``v2/account.position`` result: only the sides holding a position or an open
    order."""
    return account_rows(AccountRisk(account, market, marks), v2=True, symbol=symbol)


def account_update_event(
    account: Account,
    change: AccountChange,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    event_time: int,
    transaction_time: int,
) -> Row | None:
    """The ``ACCOUNT_UPDATE`` an applied event sends, or None when it sends none.

    ``account`` is the account *after* the event; only the changed balances and
    positions are written.
    """
    if change.reason is None:
        return None
    risk = AccountRisk(account, market, marks)
    return {
        "e": "ACCOUNT_UPDATE",
        "E": event_time,
        "T": transaction_time,
        "a": {
            "m": change.reason.value,
            "B": [update_balance_item(risk, b.asset, b.change) for b in change.balances],
            "P": [
                update_position_item(risk.position(name, side)) for name, side in change.positions
            ],
        },
    }


def account_config_update_event(
    change: AccountChange, *, event_time: int, transaction_time: int
) -> Row | None:
    """The ``ACCOUNT_CONFIG_UPDATE`` a leverage set sends (every time, same leverage too),
    or None: ``{"e", "E", "T", "ac": {"s", "l"}}`` (``ai``/``j`` never sent)."""
    if change.leverage is None:
        return None
    symbol, leverage = change.leverage
    return {
        "e": "ACCOUNT_CONFIG_UPDATE",
        "E": event_time,
        "T": transaction_time,
        "ac": {"s": symbol, "l": leverage},
    }


def describe_account(account: Account, market: Market, marks: Mapping[str, Decimal]) -> Row:
    """An account as an operator reads it (admin API, ``posrisk account show``, dashboard):
    its position mode, the balances that hold anything, and its open positions as
    ``v2/account.position`` rows."""
    risk = AccountRisk(account, market, marks)
    balances = [
        {
            "asset": asset.asset,
            "walletBalance": fmt_money(asset.wallet_balance),
            "crossWalletBalance": fmt_money(asset.cross_wallet_balance),
            "unrealizedProfit": fmt_money(asset.unrealized_pnl),
            "marginBalance": fmt_money(asset.margin_balance),
            "maintMargin": fmt_money(asset.maint_margin),
        }
        for asset in risk.assets
        if asset.wallet_balance or asset.maint_margin
    ]
    return {
        "positionMode": account.position_mode.value,
        "balances": balances,
        "positions": [position_row_v2(row) for row in risk.open_rows()],
    }
