"""Account state and ``apply``: the only way it changes.

An ``Account`` is an immutable value. ``apply(account, event, market)`` validates the
event completely, then returns a new account and what changed (for ``ACCOUNT_UPDATE``);
a refused event raises an ``EngineError`` and the old account is untouched. Sizes and
prices are exact; money that moves into a wallet is rounded to 8 decimals
(``numbers.to_money``); fees, deposits and transfers may not have more than 8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from functools import cache
from typing import NamedTuple

from .changes import AccountChange, Applied, BalanceChange
from .commission import check_commission
from .errors import (
    AmountNotPositive,
    CrossBalanceInsufficient,
    ExceedsMaxPosition,
    InvalidLeverage,
    InvalidValue,
    IsolatedBalanceInsufficient,
    LeverageReductionIsolated,
    MarginInsufficient,
    MarginTypeLocked,
    MarginTypeOpenOrders,
    MarginTypeUnchanged,
    NotIsolatedPosition,
    PositionIsZero,
    PositionModeLocked,
    PositionModeOpenOrders,
    PositionModeUnchanged,
    PositionSideMismatch,
    PrecisionOverMaximum,
    PriceNotPositive,
    QuantityNotPositive,
    ReduceOnlyRejected,
)
from .events import (
    Event,
    Fill,
    InsuranceClear,
    IsolatedMarginTransfer,
    MarginType,
    PositionMode,
    PositionSide,
    SetAutoAddMargin,
    SetCommission,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    UpdateReason,
    WalletTransfer,
)
from .market import Market, Symbol
from .numbers import CONTEXT, ZERO, check_amount, is_money, to_money
from .position import Position

__all__ = [
    "Account",
    "AccountChange",
    "Applied",
    "BalanceChange",
    "FillParts",
    "SymbolSettings",
    "apply",
    "has_open_orders",
    "sides_for",
    "split_fill",
]

PositionKey = tuple[str, PositionSide]

_ONE_WAY_SIDES = (PositionSide.BOTH,)
_HEDGE_SIDES = (PositionSide.LONG, PositionSide.SHORT)


def sides_for(mode: PositionMode) -> tuple[PositionSide, ...]:
    """The rows a symbol has: ``BOTH`` in one-way mode, ``LONG`` and ``SHORT`` in hedge mode."""
    return _HEDGE_SIDES if mode is PositionMode.HEDGE else _ONE_WAY_SIDES


@dataclass(frozen=True, slots=True)
class SymbolSettings:
    leverage: int
    margin_type: MarginType = MarginType.CROSS
    auto_add_margin: bool = False


@cache
def _default_settings(leverage: int) -> SymbolSettings:
    return SymbolSettings(leverage)


@dataclass(frozen=True, slots=True)
class Account:
    """Everything the position service knows of one account. Treat mappings as read-only."""

    position_mode: PositionMode = PositionMode.ONE_WAY
    # Wallet balance per margin asset, isolated wallets included (ACCOUNT_UPDATE "wb").
    balances: Mapping[str, Decimal] = field(default_factory=dict)
    # Settings of the symbols that differ from the defaults (see ``settings_for``).
    settings: Mapping[str, SymbolSettings] = field(default_factory=dict)
    # Every (symbol, side) ever traded, flat ones too (they keep cr and updateTime).
    positions: Mapping[PositionKey, Position] = field(default_factory=dict)
    # When each margin asset's wallet last changed (ms): the balance's updateTime.
    balance_times: Mapping[str, int] = field(default_factory=dict)
    # The last commission rates set (``commission.rates_for``); none: the defaults.
    commission: SetCommission = field(default_factory=SetCommission)

    def settings_for(self, symbol: Symbol) -> SymbolSettings:
        """This account's settings for ``symbol``: cross, default leverage, unless changed."""
        found = self.settings.get(symbol.name)
        return found if found is not None else _default_settings(symbol.default_leverage)

    def position(self, symbol: str, side: PositionSide) -> Position:
        found = self.positions.get((symbol, side))
        return found if found is not None else Position(symbol, side)

    def wallet_balance(self, asset: str) -> Decimal:
        return self.balances.get(asset, ZERO)

    def balance_update_time(self, asset: str) -> int:
        """When ``asset``'s wallet last changed (ms); 0 if it never did."""
        return self.balance_times.get(asset, 0)

    def cross_wallet_balance(self, asset: str, market: Market) -> Decimal:
        """Wallet balance − every isolated wallet margined in ``asset``."""
        balance = self.wallet_balance(asset)
        for position in self.positions.values():
            if position.isolated_wallet:
                symbol = market.get(position.symbol)
                if symbol is not None and symbol.margin_asset == asset:
                    balance -= position.isolated_wallet
        return balance

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.amount]


def apply(account: Account, event: Event, market: Market) -> Applied:
    """Validate ``event`` against ``account`` and return the account after it.

    Raises an ``EngineError`` subclass (carrying Binance's code) when the event is
    refused; ``account`` itself is never modified.
    """
    with localcontext(CONTEXT):
        match event:
            case Fill():
                return _apply_fill(account, event, market)
            case WalletTransfer():
                return _apply_wallet_transfer(account, event, market)
            case InsuranceClear():
                return _apply_insurance_clear(account, event, market)
            case IsolatedMarginTransfer():
                return _apply_isolated_transfer(account, event, market)
            case SetLeverage():
                return _apply_leverage(account, event, market)
            case SetMarginType():
                return _apply_margin_type(account, event, market)
            case SetAutoAddMargin():
                symbol = market[event.symbol]
                settings = replace(account.settings_for(symbol), auto_add_margin=event.enabled)
                return Applied(_with_settings(account, symbol, settings), AccountChange(None))
            case SetPositionMode():
                return _apply_position_mode(account, event)
            case SetCommission():
                check_commission(event, market)
                return Applied(replace(account, commission=event), AccountChange(None))
    raise TypeError(f"not a ledger event: {event!r}")


def _with_balance(account: Account, asset: str, balance: Decimal, time: int) -> Account:
    # ``asset``'s new wallet balance, changed at ``time`` (an event without one keeps the last).
    times = {**account.balance_times, asset: time} if time else account.balance_times
    return replace(account, balances={**account.balances, asset: balance}, balance_times=times)


def has_open_orders(account: Account, symbol: str | None = None) -> bool:
    """Whether ``account`` has open orders (on ``symbol``), which keep margin type (-4047)
    and position mode (-4067) as they are. No orders are kept yet: never."""
    return False


def _with_settings(account: Account, symbol: Symbol, settings: SymbolSettings) -> Account:
    return replace(account, settings={**account.settings, symbol.name: settings})


def _check_side(account: Account, side: PositionSide) -> None:
    if side not in sides_for(account.position_mode):
        mode = account.position_mode.value
        raise PositionSideMismatch(f"positionSide {side.value} in {mode} mode")


def _money(value: Decimal, name: str, *, capped: bool = True) -> None:
    # Amounts an operator sends are capped (``check_amount``); the insurance fund's
    # cover, made by the engine itself, only has to be a finite wallet amount.
    if capped:
        check_amount(value, name)
    elif not value.is_finite():
        raise InvalidValue(name, f"{value} is not a finite number")
    if not is_money(value):
        raise InvalidValue(name, f"{value} has more than 8 decimals")


class FillParts(NamedTuple):
    """A fill split against what its side holds: the part that closes, the part that
    opens (in the fill's direction), and the fee of each (pro rata to their quantities)."""

    close_qty: Decimal
    open_qty: Decimal
    close_fee: Decimal
    open_fee: Decimal


def split_fill(account: Account, fill: Fill) -> FillParts:
    """What ``fill`` closes and opens of ``account``'s position on its side.

    A fill in the held direction (or on a flat one-way side) only opens. Against it, it
    closes up to the held size; in one-way mode the rest opens the other way (a flip), in
    hedge mode a rest is refused (-2022). The closing share of the fee is
    ``to_money(fee × close qty / qty)``, the opening share the rest.
    """
    side = PositionSide(fill.position_side)
    direction = 1 if Side(fill.side) is Side.BUY else -1
    position = account.position(fill.symbol, side)
    if side is PositionSide.BOTH:
        opening = direction if not position.amount else position.direction
    else:
        opening = 1 if side is PositionSide.LONG else -1
    if direction == opening:
        return FillParts(ZERO, fill.qty, ZERO, fill.fee)
    held = abs(position.amount)
    if side is not PositionSide.BOTH and fill.qty > held:
        raise ReduceOnlyRejected(
            f"{fill.side} {fill.qty} {fill.symbol} {side.value} but the position holds {held}"
        )
    close_qty = min(fill.qty, held)
    close_fee = to_money(fill.fee * close_qty / fill.qty)
    return FillParts(close_qty, fill.qty - close_qty, close_fee, fill.fee - close_fee)


def _apply_fill(account: Account, fill: Fill, market: Market) -> Applied:
    symbol = market[fill.symbol]
    side = PositionSide(fill.position_side)
    direction = 1 if Side(fill.side) is Side.BUY else -1
    _check_side(account, side)
    check_amount(fill.qty, "quantity")
    check_amount(fill.price, "price")
    _money(fill.fee, "fee")
    if fill.qty <= 0:
        raise QuantityNotPositive(f"quantity {fill.qty}")
    if fill.price <= 0:
        raise PriceNotPositive(f"price {fill.price}")
    precision = symbol.quantity_precision
    if precision is not None:
        scaled = fill.qty.scaleb(precision)
        if scaled != scaled.to_integral_value():
            raise PrecisionOverMaximum(
                f"{symbol.name} quantities have at most {precision} decimals, got {fill.qty}"
            )

    settings = account.settings_for(symbol)
    isolated = settings.margin_type is MarginType.ISOLATED
    asset = symbol.margin_asset
    position = account.position(symbol.name, side)
    balance = account.wallet_balance(asset)
    cross = account.cross_wallet_balance(asset, market)

    close_qty, open_qty, close_fee, open_fee = split_fill(account, fill)

    if close_qty:
        size_before = abs(position.amount)
        position, pnl = position.reduced(close_qty, fill.price)
        balance += pnl - close_fee
        if isolated:
            wallet = position.isolated_wallet + pnl - close_fee
            returned = wallet if not position.amount else to_money(wallet * close_qty / size_before)
            position = replace(position, isolated_wallet=wallet - returned)
            cross += returned
        else:
            cross += pnl - close_fee
    if open_qty:
        new_size = abs(position.amount) + open_qty
        cap = symbol.max_notional(settings.leverage)
        if new_size * fill.price > cap:
            raise ExceedsMaxPosition(
                f"{new_size} {symbol.name} at {fill.price} is over {cap} at {settings.leverage}x"
            )
        # Opening is always in the fill's direction (a one-way flip opens the rest
        # on the other side at the fill price).
        position = position.increased(open_qty, fill.price, open_fee, direction)
        balance -= open_fee
        if isolated:
            initial_margin = to_money(open_qty * fill.price / settings.leverage)
            if initial_margin > cross:
                raise MarginInsufficient(
                    f"opening {open_qty} {symbol.name} isolated needs {initial_margin} {asset}, "
                    f"the cross wallet has {cross}"
                )
            position = replace(
                position, isolated_wallet=position.isolated_wallet + initial_margin - open_fee
            )
    position = replace(position, update_time=fill.time)
    moved = isolated or balance != account.wallet_balance(asset)  # fee, PnL, isolated margin
    account = replace(
        _with_balance(account, asset, balance, fill.time if moved else 0),
        positions={**account.positions, (symbol.name, side): position},
    )
    change = AccountChange(UpdateReason.ORDER, (BalanceChange(asset),), ((symbol.name, side),))
    return Applied(account, change)


def _apply_wallet_transfer(account: Account, event: WalletTransfer, market: Market) -> Applied:
    if event.asset not in market.margin_assets:
        raise InvalidValue(
            "asset", f"{event.asset!r} is not a margin asset ({', '.join(market.margin_assets)})"
        )
    _money(event.amount, "amount")
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
        _with_balance(account, event.asset, balance, event.time),
        AccountChange(reason, (BalanceChange(event.asset, event.amount),)),
    )


def _apply_insurance_clear(account: Account, event: InsuranceClear, market: Market) -> Applied:
    if event.asset not in market.margin_assets:
        raise InvalidValue("asset", f"{event.asset!r} is not a margin asset")
    _money(event.amount, "amount", capped=False)
    if event.amount <= 0:
        raise InvalidValue("amount", "the insurance fund only adds")
    balance = account.wallet_balance(event.asset) + event.amount
    return Applied(
        _with_balance(account, event.asset, balance, event.time),
        AccountChange(UpdateReason.INSURANCE_CLEAR, (BalanceChange(event.asset, event.amount),)),
    )


def _apply_isolated_transfer(
    account: Account, event: IsolatedMarginTransfer, market: Market
) -> Applied:
    symbol = market[event.symbol]
    side = PositionSide(event.position_side)
    _check_side(account, side)
    _money(event.amount, "amount")
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
    account = _with_balance(account, asset, account.wallet_balance(asset), event.time)
    return Applied(
        replace(account, positions={**account.positions, (symbol.name, side): position}),
        AccountChange(
            UpdateReason.MARGIN_TRANSFER,
            (BalanceChange(symbol.margin_asset),),
            ((symbol.name, side),),
        ),
    )


def _apply_leverage(account: Account, event: SetLeverage, market: Market) -> Applied:
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
        _with_settings(account, symbol, replace(settings, leverage=leverage)),
        AccountChange(None, leverage=(symbol.name, leverage)),
    )


def _apply_margin_type(account: Account, event: SetMarginType, market: Market) -> Applied:
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
        _with_settings(account, symbol, replace(settings, margin_type=margin_type)),
        AccountChange(UpdateReason.MARGIN_TYPE_CHANGE, (), tuple((symbol.name, s) for s in sides)),
    )


def _apply_position_mode(account: Account, event: SetPositionMode) -> Applied:
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
