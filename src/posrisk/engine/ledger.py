"""``apply(account, event, market)``: the one way an account changes.

Validates ``event`` completely against ``account`` and returns the account after it with
what changed (for ``ACCOUNT_UPDATE``); a refused event raises an ``EngineError`` carrying
Binance's code and ``account`` itself is never modified. Each kind of event is written in
the module that owns it: fills in ``account``, wallets and settings in
``account_settings``, orders in ``order_state``, funding in ``funding``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import localcontext

from .account import Account, apply_fill, with_settings
from .account_settings import (
    apply_insurance_clear,
    apply_isolated_transfer,
    apply_leverage,
    apply_margin_type,
    apply_position_mode,
    apply_wallet_transfer,
)
from .changes import AccountChange, Applied
from .commission import check_commission
from .events import (
    AlgoUpdate,
    Event,
    Fill,
    FundingFee,
    InsuranceClear,
    IsolatedMarginTransfer,
    OrderUpdate,
    SetAutoAddMargin,
    SetCommission,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    WalletTransfer,
)
from .funding import apply_funding_fee
from .market import Market
from .numbers import CONTEXT
from .order_state import apply_algo_update, apply_order_update

__all__ = ["apply"]


def apply(account: Account, event: Event, market: Market) -> Applied:
    """Validate ``event`` against ``account`` and return the account after it."""
    with localcontext(CONTEXT):
        match event:
            case Fill():
                return apply_fill(account, event, market)
            case OrderUpdate():
                return apply_order_update(account, event, market)
            case AlgoUpdate():
                return apply_algo_update(account, event, market)
            case WalletTransfer():
                return apply_wallet_transfer(account, event, market)
            case FundingFee():
                return apply_funding_fee(account, event, market)
            case InsuranceClear():
                return apply_insurance_clear(account, event, market)
            case IsolatedMarginTransfer():
                return apply_isolated_transfer(account, event, market)
            case SetLeverage():
                return apply_leverage(account, event, market)
            case SetMarginType():
                return apply_margin_type(account, event, market)
            case SetAutoAddMargin():
                symbol = market[event.symbol]
                settings = replace(account.settings_for(symbol), auto_add_margin=event.enabled)
                return Applied(with_settings(account, symbol, settings), AccountChange(None))
            case SetPositionMode():
                return apply_position_mode(account, event)
            case SetCommission():
                check_commission(event, market)
                return Applied(replace(account, commission=event), AccountChange(None))
    raise TypeError(f"not a ledger event: {event!r}")
