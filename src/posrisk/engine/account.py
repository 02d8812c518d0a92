"""Account state and the fills that move its positions.

An ``Account`` is an immutable value, changed only by ``ledger.apply(account, event,
market)``. This module holds the state, the helpers every event uses, and the fill:
``apply_fill`` validates a fill completely, then returns a new account and what changed (for
``ACCOUNT_UPDATE``); a refused fill raises an ``EngineError`` and the old account is
untouched. Sizes and prices are exact; money that moves into a wallet is rounded to 8
decimals (``numbers.to_money``); deposits and transfers may not have more than 8, a fee may
(the wallet pays it rounded, break-even keeps it whole).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from .changes import AccountChange, Applied, BalanceChange
from .errors import (
    ExceedsMaxPosition,
    InvalidValue,
    MarginInsufficient,
    PositionSideMismatch,
    PrecisionOverMaximum,
    PriceNotPositive,
    QuantityNotPositive,
    ReduceOnlyRejected,
)
from .events import (
    AlgoOrder,
    Fill,
    MarginType,
    Order,
    PositionMode,
    PositionSide,
    SetCommission,
    Side,
    UpdateReason,
)
from .market import Market, Symbol
from .numbers import ZERO, check_amount, is_money, to_money
from .position import Position

__all__ = [
    "Account",
    "AccountChange",
    "Applied",
    "BalanceChange",
    "FillParts",
    "PositionKey",
    "SymbolSettings",
    "apply_fill",
    "check_money",
    "check_quantity_precision",
    "check_side",
    "has_open_orders",
    "sides_for",
    "split_fill",
    "with_balance",
    "with_settings",
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
    # Open regular orders by orderId, and open (untriggered) algo orders by algoId.
    orders: Mapping[int, Order] = field(default_factory=dict)
    algos: Mapping[int, AlgoOrder] = field(default_factory=dict)
    # The last funding time each (symbol, side) settled (``funding``): a settlement is
    # paid once per side, however often it is tried.
    funded: Mapping[PositionKey, int] = field(default_factory=dict)

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


def with_balance(account: Account, asset: str, balance: Decimal, time: int) -> Account:
    # ``asset``'s new wallet balance, changed at ``time`` (an event without one keeps the last).
    times = {**account.balance_times, asset: time} if time else account.balance_times
    return replace(account, balances={**account.balances, asset: balance}, balance_times=times)


def has_open_orders(account: Account, symbol: str | None = None) -> bool:
    """Whether ``account`` has open orders, regular or algo (on ``symbol``), which keep
    margin type (-4047) and position mode (-4067) as they are."""
    if symbol is None:
        return bool(account.orders or account.algos)
    return any(o.symbol == symbol for o in account.orders.values()) or any(
        a.symbol == symbol for a in account.algos.values()
    )


def with_settings(account: Account, symbol: Symbol, settings: SymbolSettings) -> Account:
    return replace(account, settings={**account.settings, symbol.name: settings})


def check_side(account: Account, side: PositionSide) -> None:
    if side not in sides_for(account.position_mode):
        mode = account.position_mode.value
        raise PositionSideMismatch(f"positionSide {side.value} in {mode} mode")


def check_money(value: Decimal, name: str, *, capped: bool = True) -> None:
    # Amounts an operator sends are capped (``check_amount``); the insurance fund's
    # cover, made by the engine itself, only has to be a finite wallet amount.
    if capped:
        check_amount(value, name)
    elif not value.is_finite():
        raise InvalidValue(name, f"{value} is not a finite number")
    if not is_money(value):
        raise InvalidValue(name, f"{value} has more than 8 decimals")


def check_quantity_precision(symbol: Symbol, qty: Decimal) -> None:
    """-1111 when ``qty`` has more decimals than ``symbol``'s quantityPrecision."""
    precision = symbol.quantity_precision
    if precision is not None:
        scaled = qty.scaleb(precision)
        if scaled != scaled.to_integral_value():
            raise PrecisionOverMaximum(
                f"{symbol.name} quantities have at most {precision} decimals, got {qty}"
            )


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
    hedge mode a rest is refused (-2022). The wallet pays the fee rounded
    (``to_money(fee)``): its closing share ``to_money(paid × close qty / qty)``, its
    opening share the rest.
    """
    side = PositionSide(fill.position_side)
    direction = 1 if Side(fill.side) is Side.BUY else -1
    position = account.position(fill.symbol, side)
    if side is PositionSide.BOTH:
        opening = direction if not position.amount else position.direction
    else:
        opening = 1 if side is PositionSide.LONG else -1
    paid = to_money(fill.fee)
    if direction == opening:
        return FillParts(ZERO, fill.qty, ZERO, paid)
    held = abs(position.amount)
    if side is not PositionSide.BOTH and fill.qty > held:
        raise ReduceOnlyRejected(
            f"{fill.side} {fill.qty} {fill.symbol} {side.value} but the position holds {held}"
        )
    close_qty = min(fill.qty, held)
    close_fee = to_money(paid * close_qty / fill.qty)
    return FillParts(close_qty, fill.qty - close_qty, close_fee, paid - close_fee)


def apply_fill(account: Account, fill: Fill, market: Market) -> Applied:
    """``account`` after ``fill`` (in the engine's decimal context, as ``ledger.apply``
    runs it)."""
    symbol = market[fill.symbol]
    side = PositionSide(fill.position_side)
    direction = 1 if Side(fill.side) is Side.BUY else -1
    check_side(account, side)
    check_amount(fill.qty, "quantity")
    check_amount(fill.price, "price")
    check_amount(fill.fee, "fee")  # any digits: the wallet pays it rounded (``split_fill``)
    if fill.qty <= 0:
        raise QuantityNotPositive(f"quantity {fill.qty}")
    if fill.price <= 0:
        raise PriceNotPositive(f"price {fill.price}")
    check_quantity_precision(symbol, fill.qty)

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
        # Break-even keeps the opening share of the fee whole, as Binance does.
        basis = fill.fee if not close_qty else fill.fee * open_qty / fill.qty
        position = position.increased(open_qty, fill.price, basis, direction)
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
        with_balance(account, asset, balance, fill.time if moved else 0),
        positions={**account.positions, (symbol.name, side): position},
    )
    change = AccountChange(UpdateReason.ORDER, (BalanceChange(asset),), ((symbol.name, side),))
    return Applied(account, change)
