"""Typed, immutable position rows and account figures: Decimal money, enums, times as ms
and ``datetime``.

``Position`` is an ``account.position`` row, ``PositionV2`` a ``v2/account.position`` row;
``AccountStatus`` the answer of ``account.status`` or ``v2/account.status`` (REST: ``GET
/fapi/v2/account``, ``/fapi/v3/account``), ``Balance`` an item of ``account.balance``.
The ``parse_*`` functions build them from the wire dicts (strictly: a missing or malformed
field raises ``ProtocolError`` naming it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from .errors import ProtocolError

__all__ = [
    "AccountPosition",
    "AccountStatus",
    "AssetBalance",
    "Balance",
    "MarginType",
    "Position",
    "PositionSide",
    "PositionV2",
    "parse_account_status",
    "parse_balance",
    "parse_position",
    "parse_position_v2",
]

_ZERO = Decimal(0)


# The client's own, for it is used without the server: the values are Binance's, so they
# equal the server's enums and the strings on the wire.
class MarginType(StrEnum):
    """A position's margin: ``"cross"`` or ``"isolated"`` (Binance writes either case)."""

    CROSS = "cross"
    ISOLATED = "isolated"


class PositionSide(StrEnum):
    """``"BOTH"`` in one-way mode; ``"LONG"`` or ``"SHORT"`` in hedge mode."""

    BOTH = "BOTH"
    LONG = "LONG"
    SHORT = "SHORT"


class _Row:
    """What both row kinds answer from their size, prices and time."""

    __slots__ = ()
    position_amt: Decimal
    mark_price: Decimal
    liquidation_price: Decimal
    update_time_ms: int

    @property
    def update_time(self) -> datetime | None:
        return (
            datetime.fromtimestamp(self.update_time_ms / 1000, UTC) if self.update_time_ms else None
        )

    @property
    def is_open(self) -> bool:
        return bool(self.position_amt)

    @property
    def side(self) -> str | None:
        """``"LONG"``/``"SHORT"`` from the size's sign (also in one-way mode), None flat."""
        if not self.position_amt:
            return None
        return "LONG" if self.position_amt > 0 else "SHORT"

    @property
    def liquidation_distance(self) -> Decimal | None:
        """|mark − liquidation| / mark; None without both prices."""
        if not self.mark_price or not self.liquidation_price:
            return None
        return abs(self.mark_price - self.liquidation_price) / self.mark_price


@dataclass(frozen=True, slots=True)
class Position(_Row):
    """One ``account.position`` row."""

    symbol: str
    position_side: PositionSide
    position_amt: Decimal
    entry_price: Decimal
    break_even_price: Decimal
    mark_price: Decimal
    unrealized_profit: Decimal
    liquidation_price: Decimal
    leverage: int
    max_notional_value: Decimal
    margin_type: MarginType
    is_auto_add_margin: bool
    isolated_margin: Decimal
    isolated_wallet: Decimal
    notional: Decimal
    update_time_ms: int


@dataclass(frozen=True, slots=True)
class PositionV2(_Row):
    """One ``v2/account.position`` row (no leverage, marginType, maxNotionalValue)."""

    symbol: str
    position_side: PositionSide
    position_amt: Decimal
    entry_price: Decimal
    break_even_price: Decimal
    mark_price: Decimal
    unrealized_profit: Decimal
    liquidation_price: Decimal
    isolated_margin: Decimal
    notional: Decimal
    margin_asset: str
    isolated_wallet: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal
    adl: int
    bid_notional: Decimal
    ask_notional: Decimal
    update_time_ms: int

    @property
    def margin_type(self) -> MarginType:
        """Not in the row: an open position with an isolated wallet is isolated."""
        return MarginType.ISOLATED if self.isolated_wallet else MarginType.CROSS

    @property
    def leverage(self) -> int | None:
        """Not in the row: |notional| / positionInitialMargin, when both are known."""
        if not self.position_initial_margin or not self.notional:
            return None
        return round(abs(self.notional) / self.position_initial_margin)


def _field(row: dict[str, Any], name: str) -> Any:
    try:
        return row[name]
    except (KeyError, TypeError):
        raise ProtocolError(f"row without {name!r}: {row!r:.200}") from None


def _decimal(row: dict[str, Any], name: str) -> Decimal:
    value = _field(row, name)
    try:
        if not isinstance(value, str):
            raise InvalidOperation
        number = Decimal(value)
    except InvalidOperation:
        raise ProtocolError(f"{name} is not a decimal string: {value!r:.40}") from None
    if not number.is_finite():
        raise ProtocolError(f"{name} is not finite: {value!r:.40}")
    return number


def _int(row: dict[str, Any], name: str) -> int:
    value = _field(row, name)
    if isinstance(value, bool):
        raise ProtocolError(f"{name} is not an integer: {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ProtocolError(f"{name} is not an integer: {value!r:.40}") from None


def _enum(row: dict[str, Any], name: str, kind: type[Any]) -> Any:
    value = _field(row, name)
    try:
        return kind(value.lower() if kind is MarginType else value)
    except (ValueError, AttributeError):
        raise ProtocolError(f"{name} is not a {kind.__name__}: {value!r:.40}") from None


def _str(row: dict[str, Any], name: str) -> str:
    value = _field(row, name)
    if not isinstance(value, str):
        raise ProtocolError(f"{name} is not a string: {value!r:.40}")
    return value


def parse_position(row: dict[str, Any]) -> Position:
    flag = _str(row, "isAutoAddMargin").lower()
    if flag not in ("true", "false"):
        raise ProtocolError(f"isAutoAddMargin is not 'true' or 'false': {flag!r:.40}")
    return Position(
        symbol=_str(row, "symbol"),
        position_side=_enum(row, "positionSide", PositionSide),
        position_amt=_decimal(row, "positionAmt"),
        entry_price=_decimal(row, "entryPrice"),
        break_even_price=_decimal(row, "breakEvenPrice"),
        mark_price=_decimal(row, "markPrice"),
        unrealized_profit=_decimal(row, "unRealizedProfit"),
        liquidation_price=_decimal(row, "liquidationPrice"),
        leverage=_int(row, "leverage"),
        max_notional_value=_decimal(row, "maxNotionalValue"),
        margin_type=_enum(row, "marginType", MarginType),
        is_auto_add_margin=flag == "true",
        isolated_margin=_decimal(row, "isolatedMargin"),
        isolated_wallet=_decimal(row, "isolatedWallet"),
        notional=_decimal(row, "notional"),
        update_time_ms=_int(row, "updateTime"),
    )


def parse_position_v2(row: dict[str, Any]) -> PositionV2:
    return PositionV2(
        symbol=_str(row, "symbol"),
        position_side=_enum(row, "positionSide", PositionSide),
        position_amt=_decimal(row, "positionAmt"),
        entry_price=_decimal(row, "entryPrice"),
        break_even_price=_decimal(row, "breakEvenPrice"),
        mark_price=_decimal(row, "markPrice"),
        unrealized_profit=_decimal(row, "unRealizedProfit"),
        liquidation_price=_decimal(row, "liquidationPrice"),
        isolated_margin=_decimal(row, "isolatedMargin"),
        notional=_decimal(row, "notional"),
        margin_asset=_str(row, "marginAsset"),
        isolated_wallet=_decimal(row, "isolatedWallet"),
        initial_margin=_decimal(row, "initialMargin"),
        maint_margin=_decimal(row, "maintMargin"),
        position_initial_margin=_decimal(row, "positionInitialMargin"),
        open_order_initial_margin=_decimal(row, "openOrderInitialMargin"),
        adl=_int(row, "adl"),
        bid_notional=_decimal(row, "bidNotional"),
        ask_notional=_decimal(row, "askNotional"),
        update_time_ms=_int(row, "updateTime"),
    )


@dataclass(frozen=True, slots=True)
class AssetBalance:
    """One ``assets`` item of ``account.status``: an account's figures in one margin asset."""

    asset: str
    wallet_balance: Decimal
    unrealized_profit: Decimal
    margin_balance: Decimal
    maint_margin: Decimal
    initial_margin: Decimal
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal
    cross_wallet_balance: Decimal
    cross_un_pnl: Decimal
    available_balance: Decimal
    max_withdraw_amount: Decimal
    update_time_ms: int


@dataclass(frozen=True, slots=True)
class AccountPosition:
    """A ``positions`` row of ``account.status`` (v1) or ``v2/account.status``: the fields
    both write, and None for those the other version has."""

    symbol: str
    position_side: PositionSide
    position_amt: Decimal
    unrealized_profit: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    update_time_ms: int
    # v1 only
    position_initial_margin: Decimal | None = None
    open_order_initial_margin: Decimal | None = None
    leverage: int | None = None
    isolated: bool | None = None
    entry_price: Decimal | None = None
    break_even_price: Decimal | None = None
    max_notional: Decimal | None = None
    # v2 only
    isolated_margin: Decimal | None = None
    notional: Decimal | None = None
    isolated_wallet: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """``account.status`` / ``v2/account.status``: the totals (Binance: the USDT asset's),
    every margin asset, and the position rows."""

    total_initial_margin: Decimal
    total_maint_margin: Decimal
    total_wallet_balance: Decimal
    total_unrealized_profit: Decimal
    total_margin_balance: Decimal
    total_position_initial_margin: Decimal
    total_open_order_initial_margin: Decimal
    total_cross_wallet_balance: Decimal
    total_cross_un_pnl: Decimal
    available_balance: Decimal
    max_withdraw_amount: Decimal
    assets: tuple[AssetBalance, ...]
    positions: tuple[AccountPosition, ...]

    def asset(self, name: str) -> AssetBalance | None:
        return next((a for a in self.assets if a.asset == name), None)


@dataclass(frozen=True, slots=True)
class Balance:
    """One item of ``account.balance`` / ``v2/account.balance``."""

    account_alias: str
    asset: str
    balance: Decimal
    cross_wallet_balance: Decimal
    cross_un_pnl: Decimal
    available_balance: Decimal
    max_withdraw_amount: Decimal
    update_time_ms: int


def _bool(row: dict[str, Any], name: str) -> bool:
    value = _field(row, name)
    if not isinstance(value, bool):
        raise ProtocolError(f"{name} is not a boolean: {value!r:.40}")
    return value


def _items(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = _field(result, name)
    if not isinstance(value, list):
        raise ProtocolError(f"{name} is not a list: {value!r:.40}")
    return value


def _asset(item: dict[str, Any]) -> AssetBalance:
    return AssetBalance(
        asset=_str(item, "asset"),
        wallet_balance=_decimal(item, "walletBalance"),
        unrealized_profit=_decimal(item, "unrealizedProfit"),
        margin_balance=_decimal(item, "marginBalance"),
        maint_margin=_decimal(item, "maintMargin"),
        initial_margin=_decimal(item, "initialMargin"),
        position_initial_margin=_decimal(item, "positionInitialMargin"),
        open_order_initial_margin=_decimal(item, "openOrderInitialMargin"),
        cross_wallet_balance=_decimal(item, "crossWalletBalance"),
        cross_un_pnl=_decimal(item, "crossUnPnl"),
        available_balance=_decimal(item, "availableBalance"),
        max_withdraw_amount=_decimal(item, "maxWithdrawAmount"),
        update_time_ms=_int(item, "updateTime"),
    )


def _account_position(row: dict[str, Any]) -> AccountPosition:
    common = AccountPosition(
        symbol=_str(row, "symbol"),
        position_side=_enum(row, "positionSide", PositionSide),
        position_amt=_decimal(row, "positionAmt"),
        unrealized_profit=_decimal(row, "unrealizedProfit"),
        initial_margin=_decimal(row, "initialMargin"),
        maint_margin=_decimal(row, "maintMargin"),
        update_time_ms=_int(row, "updateTime"),
    )
    if "isolated" in row:  # v1
        return replace(
            common,
            position_initial_margin=_decimal(row, "positionInitialMargin"),
            open_order_initial_margin=_decimal(row, "openOrderInitialMargin"),
            leverage=_int(row, "leverage"),
            isolated=_bool(row, "isolated"),
            entry_price=_decimal(row, "entryPrice"),
            break_even_price=_decimal(row, "breakEvenPrice"),
            max_notional=_decimal(row, "maxNotional"),
        )
    return replace(
        common,
        isolated_margin=_decimal(row, "isolatedMargin"),
        notional=_decimal(row, "notional"),
        isolated_wallet=_decimal(row, "isolatedWallet"),
    )


def parse_account_status(result: Any) -> AccountStatus:
    """``account.status`` or ``v2/account.status`` (either REST twin too)."""
    if not isinstance(result, dict):
        raise ProtocolError(f"expected an account object, got {type(result).__name__}")
    return AccountStatus(
        total_initial_margin=_decimal(result, "totalInitialMargin"),
        total_maint_margin=_decimal(result, "totalMaintMargin"),
        total_wallet_balance=_decimal(result, "totalWalletBalance"),
        total_unrealized_profit=_decimal(result, "totalUnrealizedProfit"),
        total_margin_balance=_decimal(result, "totalMarginBalance"),
        total_position_initial_margin=_decimal(result, "totalPositionInitialMargin"),
        total_open_order_initial_margin=_decimal(result, "totalOpenOrderInitialMargin"),
        total_cross_wallet_balance=_decimal(result, "totalCrossWalletBalance"),
        total_cross_un_pnl=_decimal(result, "totalCrossUnPnl"),
        available_balance=_decimal(result, "availableBalance"),
        max_withdraw_amount=_decimal(result, "maxWithdrawAmount"),
        assets=tuple(_asset(item) for item in _items(result, "assets")),
        positions=tuple(_account_position(row) for row in _items(result, "positions")),
    )


def parse_balance(item: dict[str, Any]) -> Balance:
    return Balance(
        account_alias=_str(item, "accountAlias"),
        asset=_str(item, "asset"),
        balance=_decimal(item, "balance"),
        cross_wallet_balance=_decimal(item, "crossWalletBalance"),
        cross_un_pnl=_decimal(item, "crossUnPnl"),
        available_balance=_decimal(item, "availableBalance"),
        max_withdraw_amount=_decimal(item, "maxWithdrawAmount"),
        update_time_ms=_int(item, "updateTime"),
    )
