"""The wire shapes of an account: ``account.status`` (v1: WS and ``GET /fapi/v2/account``),
``v2/account.status`` (WS and ``GET /fapi/v3/account``) and the balance array that
``account.balance``, ``v2/account.balance``, ``GET /fapi/v2/balance`` and
``/fapi/v3/balance`` share.

Plain dicts in Binance's field order, ready for a JSON encoder. Money of the totals and
of ``assets[]`` is 8 decimals cut toward zero (``"0.00000000"`` at zero); position rows
write their margins as the position rows of ``views.py`` do (``"0"`` at zero).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from .account import Account
from .assets import AssetRisk
from .events import MarginType, PositionMode
from .market import Symbol
from .numbers import (
    ZERO,
    fmt_integer,
    fmt_money,
    fmt_money_or_zero,
    fmt_normalized,
    fmt_price,
    fmt_quantity,
)
from .risk import AccountRisk, PositionRisk

__all__ = [
    "TOTALS_ASSET",
    "account_alias",
    "account_balances",
    "account_config",
    "account_information",
    "account_totals",
    "asset_item",
    "balance_item",
    "status_row_v1",
    "status_row_v2",
    "symbol_config_row",
]

Row = dict[str, Any]

# The asset whose figures are the account's totals (Binance: "only for USDT asset" in
# single-asset mode).
TOTALS_ASSET = "USDT"

_ALIAS_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# What an account may do, and its fixed modes: the same in account.status (v1) and
# GET /fapi/v1/accountConfig.
_PERMISSIONS: Row = {"canTrade": True, "canDeposit": True, "canWithdraw": True}
_MODES: Row = {"updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1}


def account_alias(name: str) -> str:
    """``accountAlias``: Binance writes an opaque 4-letter code (``"SgsR"``); posrisk's is
    the first 4 bytes of SHA-256(account name, UTF-8), each byte mod 52 indexing
    ``A``–``Z`` then ``a``–``z``. Stable for a name, the same on every gateway."""
    digest = hashlib.sha256(name.encode()).digest()
    return "".join(_ALIAS_LETTERS[byte % 52] for byte in digest[:4])


def _totals_asset(risk: AccountRisk) -> AssetRisk:
    if TOTALS_ASSET in risk.market.margin_assets:
        return risk.asset(TOTALS_ASSET)
    return AssetRisk(TOTALS_ASSET, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)


def account_totals(risk: AccountRisk) -> Row:
    """The ``total*`` fields, ``availableBalance`` and ``maxWithdrawAmount``: USDT's
    figures (all ``"0.00000000"`` while USDT was never touched)."""
    usdt = _totals_asset(risk)
    return {
        "totalInitialMargin": fmt_money(usdt.initial_margin),
        "totalMaintMargin": fmt_money(usdt.maint_margin),
        "totalWalletBalance": fmt_money(usdt.wallet_balance),
        "totalUnrealizedProfit": fmt_money(usdt.unrealized_pnl),
        "totalMarginBalance": fmt_money(usdt.margin_balance),
        "totalPositionInitialMargin": fmt_money(usdt.position_initial_margin),
        "totalOpenOrderInitialMargin": fmt_money(usdt.open_order_initial_margin),
        "totalCrossWalletBalance": fmt_money(usdt.cross_wallet_balance),
        "totalCrossUnPnl": fmt_money(usdt.cross_unrealized_pnl),
        "availableBalance": fmt_money(usdt.available_balance),
        "maxWithdrawAmount": fmt_money(usdt.max_withdraw_amount),
    }


def asset_item(asset: AssetRisk, *, margin_available: bool = True) -> Row:
    """One ``assets[]`` item; ``margin_available`` False leaves ``marginAvailable`` out
    (``GET /fapi/v3/account``)."""
    item: Row = {
        "asset": asset.asset,
        "walletBalance": fmt_money(asset.wallet_balance),
        "unrealizedProfit": fmt_money(asset.unrealized_pnl),
        "marginBalance": fmt_money(asset.margin_balance),
        "maintMargin": fmt_money(asset.maint_margin),
        "initialMargin": fmt_money(asset.initial_margin),
        "positionInitialMargin": fmt_money(asset.position_initial_margin),
        "openOrderInitialMargin": fmt_money(asset.open_order_initial_margin),
        "crossWalletBalance": fmt_money(asset.cross_wallet_balance),
        "crossUnPnl": fmt_money(asset.cross_unrealized_pnl),
        "availableBalance": fmt_money(asset.available_balance),
        "maxWithdrawAmount": fmt_money(asset.max_withdraw_amount),
    }
    if margin_available:
        item["marginAvailable"] = True
    item["updateTime"] = asset.update_time
    return item


def status_row_v1(risk: PositionRisk) -> Row:
    """One ``positions[]`` row of ``account.status`` (v1)."""
    position = risk.position
    return {
        "symbol": risk.symbol.name,
        "initialMargin": fmt_money_or_zero(risk.initial_margin),
        "maintMargin": fmt_money_or_zero(risk.maint_margin),
        "unrealizedProfit": fmt_money(risk.unrealized_pnl),
        "positionInitialMargin": fmt_money_or_zero(risk.position_initial_margin),
        "openOrderInitialMargin": fmt_normalized(risk.open_order_initial_margin),
        "leverage": str(risk.settings.leverage),
        "isolated": risk.isolated,
        "entryPrice": fmt_price(position.entry_price),
        "breakEvenPrice": fmt_price(position.break_even_price),
        "maxNotional": fmt_integer(risk.max_notional),
        "bidNotional": fmt_normalized(risk.bid_notional),
        "askNotional": fmt_normalized(risk.ask_notional),
        "positionSide": position.side.value,
        "positionAmt": fmt_quantity(position.amount, risk.symbol.quantity_precision),
        "updateTime": position.update_time,
    }


def status_row_v2(risk: PositionRisk) -> Row:
    """One ``positions[]`` row of ``v2/account.status``."""
    position = risk.position
    wallet = position.isolated_wallet if risk.isolated else Decimal(0)
    return {
        "symbol": risk.symbol.name,
        "positionSide": position.side.value,
        "positionAmt": fmt_quantity(position.amount, risk.symbol.quantity_precision),
        "unrealizedProfit": fmt_money(risk.unrealized_pnl),
        "isolatedMargin": fmt_money(risk.isolated_margin),
        "notional": fmt_money_or_zero(risk.notional),
        "isolatedWallet": fmt_money_or_zero(wallet),
        "initialMargin": fmt_money_or_zero(risk.initial_margin),
        "maintMargin": fmt_money_or_zero(risk.maint_margin),
        "updateTime": position.update_time,
    }


def account_information(risk: AccountRisk, *, v2: bool, rest: bool) -> Row:
    """The ``account.status`` result (``v2``: ``v2/account.status``); ``rest`` gives the
    REST twin: ``GET /fapi/v2/account`` adds ``feeBurn``, ``GET /fapi/v3/account`` has no
    ``marginAvailable`` in ``assets[]``.

    ``assets[]``: every margin asset of the market, in the market's order (alphabetical).
    ``positions[]``: v1 every symbol × side of the position mode, v2 only the sides with a
    position or an open order, in market order.
    """
    result: Row = {}
    if not v2:
        result["feeTier"] = 0
        if rest:
            result["feeBurn"] = False
        result.update(_PERMISSIONS)
        result.update(_MODES)
    result.update(account_totals(risk))
    margin_available = not (v2 and rest)
    result["assets"] = [asset_item(a, margin_available=margin_available) for a in risk.assets]
    if v2:
        result["positions"] = [status_row_v2(row) for row in risk.open_rows()]
    else:
        result["positions"] = [status_row_v1(row) for row in risk.rows()]
    return result


def balance_item(asset: AssetRisk, alias: str) -> Row:
    """One item of the balance array."""
    return {
        "accountAlias": alias,
        "asset": asset.asset,
        "balance": fmt_money(asset.wallet_balance),
        "crossWalletBalance": fmt_money(asset.cross_wallet_balance),
        "crossUnPnl": fmt_money(asset.cross_unrealized_pnl),
        "availableBalance": fmt_money(asset.available_balance),
        "maxWithdrawAmount": fmt_money(asset.max_withdraw_amount),
        "marginAvailable": True,
        "updateTime": asset.update_time,
    }


def account_balances(risk: AccountRisk, name: str) -> list[Row]:
    """The balance array of the account called ``name``: one item per margin asset of the
    market, in the market's order, as ``assets[]``."""
    alias = account_alias(name)
    return [balance_item(asset, alias) for asset in risk.assets]


def account_config(account: Account) -> Row:
    """``GET /fapi/v1/accountConfig``: the flags of ``account.status`` (v1) and the
    position mode."""
    hedge = account.position_mode is PositionMode.HEDGE
    return {"feeTier": 0, **_PERMISSIONS, "dualSidePosition": hedge, **_MODES}


def symbol_config_row(account: Account, symbol: Symbol) -> Row:
    """One row of ``GET /fapi/v1/symbolConfig``: ``account``'s settings for ``symbol``."""
    settings = account.settings_for(symbol)
    isolated = settings.margin_type is MarginType.ISOLATED
    return {
        "symbol": symbol.name,
        "marginType": "ISOLATED" if isolated else "CROSSED",
        "isAutoAddMargin": settings.auto_add_margin,
        "leverage": settings.leverage,
        "maxNotionalValue": fmt_integer(symbol.max_notional(settings.leverage)),
    }
