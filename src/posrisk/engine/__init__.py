"""The position-risk engine: Binance's position math, exact to the digit.

Pure library: no I/O, no asyncio, ``decimal.Decimal`` only. Where things live:

- ``market``   symbols, precisions, leverage brackets, the Binance JSON loaders
- ``events``   ledger events (fills, transfers, settings) and the enums they use
- ``position`` one position and the fill formulas (entry, break-even, realized PnL)
- ``account``  account state and ``apply(account, event, market)``
- ``risk``     mark-to-market: uPnL, notional, margins, liquidation price
- ``assets``   an account's figures per margin asset: wallet, margins, available, withdrawable
- ``margin``   the margin an operator's fill needs (Binance's -2019)
- ``liquidation`` crossed positions closed at their bankruptcy price
- ``views``    the v1 / v2 / ACCOUNT_UPDATE rows in Binance's string formats
- ``account_views`` ``account.status`` (v1, v2) and the balance array, likewise
- ``numbers``  the decimal context, input parsing and the number formats
"""

from .account import (
    Account,
    AccountChange,
    Applied,
    BalanceChange,
    FillParts,
    SymbolSettings,
    apply,
    sides_for,
    split_fill,
)
from .account_views import (
    account_alias,
    account_balances,
    account_information,
    account_totals,
    asset_item,
    balance_item,
    status_row_v1,
    status_row_v2,
)
from .assets import AssetRisk, available_balance, max_withdraw_amount
from .errors import (
    CrossBalanceInsufficient,
    EngineError,
    ExceedsMaxPosition,
    InvalidLeverage,
    InvalidSymbol,
    InvalidValue,
    IsolatedBalanceInsufficient,
    LeverageReductionIsolated,
    MarginInsufficient,
    MarginTypeLocked,
    MarginTypeUnchanged,
    NotIsolatedPosition,
    PositionModeLocked,
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
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    UpdateReason,
    WalletTransfer,
)
from .liquidation import bankruptcy_price, is_crossed, liquidation_events
from .margin import check_opening_margin
from .market import LeverageBracket, Market, MarketDataError, Symbol
from .numbers import AMOUNT_LIMIT, check_amount, parse_decimal
from .position import Position, break_even_price, entry_price_after_increase, realized_pnl
from .risk import (
    AccountRisk,
    LiquidationLeg,
    PositionRisk,
    initial_margin,
    liquidation_price,
    maintenance_margin,
    notional,
    unrealized_pnl,
)
from .views import (
    account_position_rows,
    account_position_v2_rows,
    account_rows,
    account_update_event,
    describe_account,
    position_row_v1,
    position_row_v2,
    update_balance_item,
    update_position_item,
)

__all__ = [
    "AMOUNT_LIMIT",
    "Account",
    "AccountChange",
    "AccountRisk",
    "Applied",
    "AssetRisk",
    "BalanceChange",
    "CrossBalanceInsufficient",
    "EngineError",
    "Event",
    "ExceedsMaxPosition",
    "Fill",
    "FillParts",
    "InsuranceClear",
    "InvalidLeverage",
    "InvalidSymbol",
    "InvalidValue",
    "IsolatedBalanceInsufficient",
    "IsolatedMarginTransfer",
    "LeverageBracket",
    "LeverageReductionIsolated",
    "LiquidationLeg",
    "MarginInsufficient",
    "MarginType",
    "MarginTypeLocked",
    "MarginTypeUnchanged",
    "Market",
    "MarketDataError",
    "NotIsolatedPosition",
    "Position",
    "PositionMode",
    "PositionModeLocked",
    "PositionModeUnchanged",
    "PositionRisk",
    "PositionSide",
    "PositionSideMismatch",
    "PrecisionOverMaximum",
    "PriceNotPositive",
    "QuantityNotPositive",
    "ReduceOnlyRejected",
    "SetAutoAddMargin",
    "SetLeverage",
    "SetMarginType",
    "SetPositionMode",
    "Side",
    "Symbol",
    "SymbolSettings",
    "UpdateReason",
    "WalletTransfer",
    "account_alias",
    "account_balances",
    "account_information",
    "account_position_rows",
    "account_position_v2_rows",
    "account_rows",
    "account_totals",
    "account_update_event",
    "apply",
    "asset_item",
    "available_balance",
    "balance_item",
    "bankruptcy_price",
    "break_even_price",
    "check_amount",
    "check_opening_margin",
    "describe_account",
    "entry_price_after_increase",
    "initial_margin",
    "is_crossed",
    "liquidation_events",
    "liquidation_price",
    "maintenance_margin",
    "max_withdraw_amount",
    "notional",
    "parse_decimal",
    "position_row_v1",
    "position_row_v2",
    "realized_pnl",
    "sides_for",
    "split_fill",
    "status_row_v1",
    "status_row_v2",
    "unrealized_pnl",
    "update_balance_item",
    "update_position_item",
]
