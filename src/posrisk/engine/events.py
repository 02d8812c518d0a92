"""Ledger events: the only way an account changes, and the words they are written in.

Events are plain values, validated and applied by ``posrisk.engine.account.apply``.
Numbers are ``Decimal``; times are integer milliseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

_ZERO = Decimal(0)

__all__ = [
    "AlgoOrder",
    "AlgoStatus",
    "AlgoUpdate",
    "Event",
    "Execution",
    "Fill",
    "FundingFee",
    "InsuranceClear",
    "IsolatedMarginTransfer",
    "MarginType",
    "Order",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "PositionMode",
    "PositionSide",
    "SetAutoAddMargin",
    "SetCommission",
    "SetLeverage",
    "SetMarginType",
    "SetPositionMode",
    "Side",
    "TimeInForce",
    "Trade",
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


class OrderType(StrEnum):
    """An order's type: what ``order.place`` takes (LIMIT, MARKET), what the Algo service
    takes (the five conditional types) and what a liquidation sends (LIQUIDATION)."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"
    LIQUIDATION = "LIQUIDATION"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"
    GTD = "GTD"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class Execution(StrEnum):
    """``ORDER_TRADE_UPDATE``'s ``x``: what happened to the order."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    AMENDMENT = "AMENDMENT"
    CALCULATED = "CALCULATED"


@dataclass(frozen=True, slots=True)
class Order:
    """A regular order as it stands (open ones live in ``Account.orders``).

    ``price`` is the limit price (0 for MARKET and LIQUIDATION); ``executed_qty`` and
    ``cum_quote`` (Σ qty × price of its trades) grow with each trade.
    """

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal = _ZERO
    position_side: PositionSide = PositionSide.BOTH
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    close_position: bool = False
    # The algo type an order came from (STOP_MARKET, …), else ``type``.
    orig_type: OrderType | None = None
    stop_price: Decimal = _ZERO
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False
    price_match: str = "NONE"
    self_trade_prevention: str = "EXPIRE_MAKER"
    good_till_date: int = 0
    status: OrderStatus = OrderStatus.NEW
    executed_qty: Decimal = _ZERO
    cum_quote: Decimal = _ZERO
    time: int = 0
    update_time: int = 0
    # How many times ``order.modify`` changed it (Binance refuses the 10 000th).
    modify_count: int = 0
    # A trailing stop's activation price and callback rate (percent), copied from the algo
    # order it came from: ORDER_TRADE_UPDATE's ``AP`` and ``cr``.
    activate_price: Decimal = _ZERO
    callback_rate: Decimal = _ZERO

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed_qty

    @property
    def original_type(self) -> OrderType:
        return self.orig_type if self.orig_type is not None else self.type

    @property
    def avg_price(self) -> Decimal:
        """cum_quote / executed_qty, exact; 0 before the first trade."""
        return self.cum_quote / self.executed_qty if self.executed_qty else _ZERO


@dataclass(frozen=True, slots=True)
class Trade:
    """One execution of an order: ``fee`` is the exact ``qty × price × rate`` (the wallet
    pays it rounded half-even to 8 decimals; break-even uses it whole); ``realized_pnl``
    what the trade realized, before fees (checked when applied)."""

    trade_id: int
    quantity: Decimal
    price: Decimal
    fee: Decimal
    maker: bool
    realized_pnl: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order's new state (``order``) and what made it (``execution``): placed, traded
    (``trade``), canceled, expired (``expire_reason``: ``er``), amended, or a liquidation's
    close (CALCULATED). A trade moves the position as the ``Fill`` it amounts to."""

    order: Order
    execution: Execution
    trade: Trade | None = None
    expire_reason: int = 0
    time: int = 0


class AlgoStatus(StrEnum):
    NEW = "NEW"
    TRIGGERING = "TRIGGERING"
    TRIGGERED = "TRIGGERED"
    FINISHED = "FINISHED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self in (AlgoStatus.NEW, AlgoStatus.TRIGGERING)


@dataclass(frozen=True, slots=True)
class AlgoOrder:
    """A conditional order of the Algo service (open ones live in ``Account.algos``).

    It triggers on the mark (``trigger_price``; trailing: ``activate_price`` and
    ``callback_rate`` in percent, with the best mark seen since activation in
    ``extreme``); then a regular order follows (``actual_order_id``)."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    trigger_price: Decimal = _ZERO
    price: Decimal = _ZERO
    position_side: PositionSide = PositionSide.BOTH
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    close_position: bool = False
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False
    price_match: str = "NONE"
    self_trade_prevention: str = "EXPIRE_MAKER"
    good_till_date: int = 0
    activate_price: Decimal = _ZERO
    callback_rate: Decimal = _ZERO
    # Trailing: 0 until activated, then the lowest (BUY) / highest (SELL) mark since.
    extreme: Decimal = _ZERO
    status: AlgoStatus = AlgoStatus.NEW
    reject_reason: str = ""
    create_time: int = 0
    update_time: int = 0
    trigger_time: int = 0
    actual_order_id: int = 0
    actual_price: Decimal = _ZERO
    actual_qty: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class AlgoUpdate:
    """An algo order's new state (``ALGO_UPDATE``)."""

    algo: AlgoOrder
    time: int = 0


@dataclass(frozen=True, slots=True)
class FundingFee:
    """A funding settlement of ``symbol`` at ``funding_time``: ``fees`` holds each side's
    ``round_half_even(−positionAmt × mark × rate, 8)`` (longs pay a positive rate), paid
    into the wallet backing it. One event per account and symbol for its cross sides, one
    per isolated side (Binance's ACCOUNT_UPDATE shapes: cross B only, isolated B and P)."""

    symbol: str
    funding_time: int
    rate: Decimal
    mark: Decimal
    fees: tuple[tuple[PositionSide, Decimal], ...]
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
    | OrderUpdate
    | AlgoUpdate
    | FundingFee
)
