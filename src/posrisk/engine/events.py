"""Ledger events: the only way an account changes, and the words they are written in.

Events are plain values, validated and applied by ``posrisk.engine.account.apply``.
Numbers are ``Decimal``; times are integer milliseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "Event",
    "Fill",
    "InsuranceClear",
    "IsolatedMarginTransfer",
    "MarginType",
    "PositionMode",
    "PositionSide",
    "SetAutoAddMargin",
    "SetCommission",
    "SetLeverage",
    "SetMarginType",
    "SetPositionMode",
    "Side",
    "UpdateReason",
    "WalletTransfer",
]


class PositionMode(StrEnum):
    """One-way (one ``BOTH`` position per symbol) or hedge (``LONG`` and ``SHORT``)."""

    ONE_WAY = "oneway"
    HEDGE = "hedge"


class MarginType(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"


class PositionSide(StrEnum):
    BOTH = "BOTH"
    LONG = "LONG"
    SHORT = "SHORT"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class UpdateReason(StrEnum):
    """``ACCOUNT_UPDATE``'s ``m``: why balances or positions moved."""

    DEPOSIT = "DEPOSIT"
    WITHDRAW = "WITHDRAW"
    ORDER = "ORDER"
    FUNDING_FEE = "FUNDING_FEE"
    ADJUSTMENT = "ADJUSTMENT"
    MARGIN_TRANSFER = "MARGIN_TRANSFER"
    MARGIN_TYPE_CHANGE = "MARGIN_TYPE_CHANGE"
    INSURANCE_CLEAR = "INSURANCE_CLEAR"


@dataclass(frozen=True, slots=True)
class WalletTransfer:
    """A deposit (amount > 0) or withdrawal (amount < 0) of ``asset``."""

    asset: str
    amount: Decimal
    time: int = 0


@dataclass(frozen=True, slots=True)
class InsuranceClear:
    """The insurance fund covering a wallet that a liquidation left below zero."""

    asset: str
    amount: Decimal
    time: int = 0


@dataclass(frozen=True, slots=True)
class Fill:
    """A trade: ``qty`` > 0 of ``symbol`` bought or sold at ``price``, paying ``fee``."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    position_side: PositionSide = PositionSide.BOTH
    fee: Decimal = Decimal(0)
    time: int = 0


@dataclass(frozen=True, slots=True)
class IsolatedMarginTransfer:
    """Margin moved into (amount > 0) or out of (amount < 0) an isolated position."""

    symbol: str
    amount: Decimal
    position_side: PositionSide = PositionSide.BOTH
    time: int = 0


@dataclass(frozen=True, slots=True)
class SetLeverage:
    symbol: str
    leverage: int
    time: int = 0


@dataclass(frozen=True, slots=True)
class SetMarginType:
    symbol: str
    margin_type: MarginType
    time: int = 0


@dataclass(frozen=True, slots=True)
class SetAutoAddMargin:
    symbol: str
    enabled: bool
    time: int = 0


@dataclass(frozen=True, slots=True)
class SetPositionMode:
    mode: PositionMode
    time: int = 0


@dataclass(frozen=True, slots=True)
class SetCommission:
    """The account's commission rates, replacing what was set before: ``maker`` and
    ``taker`` for every symbol (None: the default), then per symbol ``(symbol, maker,
    taker)`` overrides (None: the account's rate)."""

    maker: Decimal | None = None
    taker: Decimal | None = None
    symbols: tuple[tuple[str, Decimal | None, Decimal | None], ...] = ()
    time: int = 0


Event = (
    WalletTransfer
    | InsuranceClear
    | Fill
    | IsolatedMarginTransfer
    | SetLeverage
    | SetMarginType
    | SetAutoAddMargin
    | SetPositionMode
    | SetCommission
)
