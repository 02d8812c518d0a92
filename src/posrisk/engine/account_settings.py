"""The events that move wallets and settings, not positions: deposits and withdrawals,
the insurance fund's cover, isolated margin transfers, leverage, margin type, position mode.

Each ``apply_*`` validates its event completely against the account (refusing with
Binance's code) and returns the account after it; ``ledger.apply`` dispatches to them.
"""

from __future__ import annotations

from dataclasses import replace

from .account import (
    Account,
    check_money,
    check_side,
    has_open_orders,
    sides_for,
    with_balance,
    with_settings,
)
from .changes import AccountChange, Applied, BalanceChange
from .errors import (
    AmountNotPositive,
    CrossBalanceInsufficient,
    ExceedsMaxPosition,
    InvalidLeverage,
    InvalidValue,
    IsolatedBalanceInsufficient,
    LeverageReductionIsolated,
    MarginTypeLocked,
    MarginTypeOpenOrders,
    MarginTypeUnchanged,
    NotIsolatedPosition,
    PositionIsZero,
    PositionModeLocked,
    PositionModeOpenOrders,
    PositionModeUnchanged,
)
from .events import (
    InsuranceClear,
    IsolatedMarginTransfer,
    MarginType,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    UpdateReason,
    WalletTransfer,
)
from .market import Market

__all__ = [
    "apply_insurance_clear",
    "apply_isolated_transfer",
    "apply_leverage",
    "apply_margin_type",
    "apply_position_mode",
    "apply_wallet_transfer",
]


def apply_wallet_transfer(account: Account, event: WalletTransfer, market: Market) -> Applied:
    if event.asset not in market.margin_assets:
        raise InvalidValue(
            "asset", f"{event.asset!r} is not a margin asset ({', '.join(market.margin_assets)})"
        )
    check_money(event.amount, "amount")
    if not event.amount:
        raise InvalidValue("amount", "a deposit or withdrawal of 0")
    if event.amount < 0:
        cross = account.cross_wallet_balance(event.asset, market)
        if -event.amount > cross:
            raise CrossBalanceInsufficient(
                f"withdrawing {-event.amount} {event.asset}, the cross wallet has {cross}"
            )
    balance = account.wallet_balance(event.asset) + event.amount
    reason = UpdateReason.DEPOSIT if event.amount > 0 else UpdateReason.WITHDRAW
    return Applied(
        with_balance(account, event.asset, balance, event.time),
        AccountChange(reason, (BalanceChange(event.asset, event.amount),)),
    )


def apply_insurance_clear(account: Account, event: InsuranceClear, market: Market) -> Applied:
    if event.asset not in market.margin_assets:
        raise InvalidValue("asset", f"{event.asset!r} is not a margin asset")
    check_money(event.amount, "amount", capped=False)
    if event.amount <= 0:
        raise InvalidValue("amount", "the insurance fund only adds")
    balance = account.wallet_balance(event.asset) + event.amount
    return Applied(
        with_balance(account, event.asset, balance, event.time),
        AccountChange(UpdateReason.INSURANCE_CLEAR, (BalanceChange(event.asset, event.amount),)),
    )


def apply_isolated_transfer(
    account: Account, event: IsolatedMarginTransfer, market: Market
) -> Applied:
    symbol = market[event.symbol]
    side = PositionSide(event.position_side)
    check_side(account, side)
    check_money(event.amount, "amount")
    if not event.amount:
        raise AmountNotPositive("a transfer of 0")
    if account.settings_for(symbol).margin_type is not MarginType.ISOLATED:
        raise NotIsolatedPosition(f"{symbol.name} is cross margined")
    position = account.position(symbol.name, side)
    if not position.amount:
        raise PositionIsZero(f"{symbol.name} {side.value} has no open position")
    if event.amount > 0:
        cross = account.cross_wallet_balance(symbol.margin_asset, market)
        if event.amount > cross:
            raise CrossBalanceInsufficient(
                f"adding {event.amount} {symbol.margin_asset}, the cross wallet has {cross}"
            )
    elif -event.amount > position.isolated_wallet:
        raise IsolatedBalanceInsufficient(
            f"removing {-event.amount}, the isolated wallet holds {position.isolated_wallet}"
        )
    position = replace(
        position,
        isolated_wallet=position.isolated_wallet + event.amount,
        update_time=event.time or position.update_time,
    )
    asset = symbol.margin_asset  # its cross wallet moved
    account = with_balance(account, asset, account.wallet_balance(asset), event.time)
    return Applied(
        replace(account, positions={**account.positions, (symbol.name, side): position}),
        AccountChange(
            UpdateReason.MARGIN_TRANSFER,
            (BalanceChange(symbol.margin_asset),),
            ((symbol.name, side),),
        ),
    )


def apply_leverage(account: Account, event: SetLeverage, market: Market) -> Applied:
    symbol = market[event.symbol]
    leverage = event.leverage
    if isinstance(leverage, bool) or not isinstance(leverage, int):
        raise InvalidLeverage(leverage, "leverage must be an integer")
    if not 1 <= leverage <= symbol.max_leverage:
        raise InvalidLeverage(leverage, f"{symbol.name} allows leverage 1 to {symbol.max_leverage}")
    settings = account.settings_for(symbol)
    held = [p for p in (account.position(symbol.name, s) for s in PositionSide) if p.amount]
    if held and settings.margin_type is MarginType.ISOLATED and leverage < settings.leverage:
        raise LeverageReductionIsolated(f"{symbol.name} from {settings.leverage}x to {leverage}x")
    cap = symbol.max_notional(leverage)
    for position in held:
        notional = abs(position.amount) * position.entry_price
        if notional > cap:
            raise ExceedsMaxPosition(
                f"{symbol.name} {position.side.value} notional {notional} is over {cap} "
                f"at {leverage}x"
            )
    return Applied(
        with_settings(account, symbol, replace(settings, leverage=leverage)),
        AccountChange(None, leverage=(symbol.name, leverage)),
    )


def apply_margin_type(account: Account, event: SetMarginType, market: Market) -> Applied:
    symbol = market[event.symbol]
    margin_type = MarginType(event.margin_type)
    settings = account.settings_for(symbol)
    if settings.margin_type is margin_type:
        raise MarginTypeUnchanged(f"{symbol.name} is already {margin_type.value}")
    if has_open_orders(account, symbol.name):
        raise MarginTypeOpenOrders(f"{symbol.name} has open orders")
    if any(account.position(symbol.name, s).amount for s in PositionSide):
        raise MarginTypeLocked(f"{symbol.name} has an open position")
    sides = sides_for(account.position_mode)
    return Applied(
        with_settings(account, symbol, replace(settings, margin_type=margin_type)),
        AccountChange(UpdateReason.MARGIN_TYPE_CHANGE, (), tuple((symbol.name, s) for s in sides)),
    )


def apply_position_mode(account: Account, event: SetPositionMode) -> Applied:
    mode = PositionMode(event.mode)
    if mode is account.position_mode:
        raise PositionModeUnchanged(f"the account is already in {mode.value} mode")
    if has_open_orders(account):
        raise PositionModeOpenOrders("the account has open orders")
    if account.open_positions():
        raise PositionModeLocked(
            "open: " + ", ".join(f"{p.symbol} {p.side.value}" for p in account.open_positions())
        )
    return Applied(replace(account, position_mode=mode), AccountChange(None))
