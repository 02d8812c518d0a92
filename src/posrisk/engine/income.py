"""Income: what each ledger event paid into or took out of a wallet, as Binance's
``GET /fapi/v1/income`` lists it, computed from the same numbers ``ledger.apply`` uses.

One event gives at most two entries, each with its index in the event
(``IncomeEntry.index``), so a stored ledger row's ``seq`` names its entries for good
(``tran_id``). Entries of zero are not written (a fee that rounds to nothing).

- ``WalletTransfer``: ``TRANSFER`` (deposits +, withdrawals −).
- ``OrderUpdate`` with a trade, operator ``Fill``: ``REALIZED_PNL`` (≠ 0) then
  ``COMMISSION`` (−, the fee rounded half-even to 8 decimals as the wallet pays it). An
  operator fill's PnL is not stored in its event: it is what the fill realizes on the
  account before it (``trade_realized_pnl``), so it needs that account.
- ``FundingFee``: ``FUNDING_FEE``, one entry per side's fee.
- ``InsuranceClear``: ``INSURANCE_CLEAR``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Any

from .account import Account
from .events import (
    Event,
    Fill,
    FundingFee,
    InsuranceClear,
    OrderUpdate,
    WalletTransfer,
)
from .market import Market
from .numbers import CONTEXT, fmt_money, to_money
from .order_state import trade_fill, trade_realized_pnl

__all__ = [
    "IncomeEntry",
    "IncomeType",
    "entry_index",
    "income_entries",
    "income_row",
    "tran_id",
]

# tranId = ledger seq × this + the entry's index. An event gives at most two entries (a
# trade's PnL and fee; a hedge cross funding's two sides): room to spare, readable in decimal.
_TRAN_BASE = 10


class IncomeType(StrEnum):
    """Every ``incomeType`` Binance lists (its typo ``DELIVERED_SETTELMENT`` included);
    posrisk writes the first five kinds below."""

    TRANSFER = "TRANSFER"
    REALIZED_PNL = "REALIZED_PNL"
    COMMISSION = "COMMISSION"
    FUNDING_FEE = "FUNDING_FEE"
    INSURANCE_CLEAR = "INSURANCE_CLEAR"
    WELCOME_BONUS = "WELCOME_BONUS"
    REFERRAL_KICKBACK = "REFERRAL_KICKBACK"
    COMMISSION_REBATE = "COMMISSION_REBATE"
    API_REBATE = "API_REBATE"
    CONTEST_REWARD = "CONTEST_REWARD"
    CROSS_COLLATERAL_TRANSFER = "CROSS_COLLATERAL_TRANSFER"
    OPTIONS_PREMIUM_FEE = "OPTIONS_PREMIUM_FEE"
    OPTIONS_SETTLE_PROFIT = "OPTIONS_SETTLE_PROFIT"
    INTERNAL_TRANSFER = "INTERNAL_TRANSFER"
    AUTO_EXCHANGE = "AUTO_EXCHANGE"
    DELIVERED_SETTELMENT = "DELIVERED_SETTELMENT"
    COIN_SWAP_DEPOSIT = "COIN_SWAP_DEPOSIT"
    COIN_SWAP_WITHDRAW = "COIN_SWAP_WITHDRAW"
    POSITION_LIMIT_INCREASE_FEE = "POSITION_LIMIT_INCREASE_FEE"
    STRATEGY_UMFUTURES_TRANSFER = "STRATEGY_UMFUTURES_TRANSFER"
    FEE_RETURN = "FEE_RETURN"
    BFUSD_REWARD = "BFUSD_REWARD"
    SPECIAL_FUNDING_FEE = "SPECIAL_FUNDING_FEE"


@dataclass(frozen=True, slots=True)
class IncomeEntry:
    """One income row of an event: ``income`` signed, a wallet amount (8 decimals);
    ``symbol`` "" when none; ``trade_id`` None when no trade made it."""

    index: int
    income_type: IncomeType
    income: Decimal
    asset: str
    symbol: str = ""
    trade_id: int | None = None


def tran_id(seq: int, index: int) -> int:
    """The ``tranId`` of entry ``index`` of the ledger row ``seq``: unique per row, and
    the same on every restart and every gateway sharing the database."""
    return seq * _TRAN_BASE + index


def entry_index(tran: int) -> int:
    """The index in its event of the entry with ``tranId`` ``tran``."""
    return tran % _TRAN_BASE


def _numbered(entries: list[IncomeEntry]) -> tuple[IncomeEntry, ...]:
    kept = [entry for entry in entries if entry.income]
    return tuple(
        IncomeEntry(i, e.income_type, e.income, e.asset, e.symbol, e.trade_id)
        for i, e in enumerate(kept)
    )


def _trade(fill: Fill, pnl: Decimal, asset: str, trade_id: int | None) -> list[IncomeEntry]:
    fee = -to_money(fill.fee)
    return [
        IncomeEntry(0, IncomeType.REALIZED_PNL, pnl, asset, fill.symbol, trade_id),
        IncomeEntry(0, IncomeType.COMMISSION, fee, asset, fill.symbol, trade_id),
    ]


def income_entries(account: Account, event: Event, market: Market) -> tuple[IncomeEntry, ...]:
    """The income ``event`` makes on ``account`` (the account before it: only an operator
    fill reads it). Events that move no wallet (settings, orders without a trade, isolated
    margin moved within the account) make none."""
    entries: list[IncomeEntry] = []
    with localcontext(CONTEXT):
        match event:
            case WalletTransfer():
                entries = [IncomeEntry(0, IncomeType.TRANSFER, event.amount, event.asset)]
            case InsuranceClear():
                entries = [IncomeEntry(0, IncomeType.INSURANCE_CLEAR, event.amount, event.asset)]
            case FundingFee():
                asset = market[event.symbol].margin_asset
                entries = [
                    IncomeEntry(0, IncomeType.FUNDING_FEE, fee, asset, event.symbol)
                    for _, fee in event.fees
                ]
            case OrderUpdate(trade=trade) if trade is not None:
                order = event.order
                fill = trade_fill(order, trade.quantity, trade.price, trade.fee, event.time)
                asset = market[order.symbol].margin_asset
                entries = _trade(fill, trade.realized_pnl, asset, trade.trade_id)
            case Fill():
                asset = market[event.symbol].margin_asset
                entries = _trade(event, trade_realized_pnl(account, event), asset, None)
    return _numbered(entries)


def income_row(entry: IncomeEntry, tran: int, time: int) -> dict[str, Any]:
    """The wire row of ``GET /fapi/v1/income`` of ``entry`` (its ``tranId`` and time):
    ``income`` 8 decimals, ``info`` the type, ``tradeId`` always a string ("" when no
    trade made it), ``tranId`` an integer."""
    return {
        "symbol": entry.symbol,
        "incomeType": entry.income_type.value,
        "income": fmt_money(entry.income),
        "asset": entry.asset,
        "info": entry.income_type.value,
        "time": time,
        "tranId": tran,
        "tradeId": "" if entry.trade_id is None else str(entry.trade_id),
    }
