"""Income entries of each event, as values: what the wallet was paid, with Binance's row."""

from __future__ import annotations

from decimal import Decimal

from posrisk.engine import (
    Account,
    Execution,
    Fill,
    FundingFee,
    InsuranceClear,
    Market,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionSide,
    SetLeverage,
    Side,
    Trade,
    WalletTransfer,
    apply,
)
from posrisk.engine.income import IncomeEntry, IncomeType, entry_index, income_entries, income_row
from posrisk.engine.income import tran_id as make_tran_id

D = Decimal
MARKET = Market.default()


def held(*events: object) -> Account:
    account = Account()
    for event in events:
        account = apply(account, event, MARKET).account  # type: ignore[arg-type]
    return account


def test_transfers_and_insurance_are_one_entry_without_symbol() -> None:
    assert income_entries(Account(), WalletTransfer("USDT", D("-5"), 1), MARKET) == (
        IncomeEntry(0, IncomeType.TRANSFER, D("-5"), "USDT"),
    )
    assert income_entries(Account(), InsuranceClear("USDC", D("3.5")), MARKET) == (
        IncomeEntry(0, IncomeType.INSURANCE_CLEAR, D("3.5"), "USDC"),
    )


def test_an_operator_fill_realizes_against_the_account_before_it() -> None:
    account = held(
        WalletTransfer("USDT", D("1000")), Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000"))
    )
    # Sells 0.015: closes 0.010 (+10) and opens 0.005 short; the fee rounds half-even.
    flip = Fill("BTCUSDT", Side.SELL, D("0.015"), D("21000"), fee=D("0.000000025"))
    assert income_entries(account, flip, MARKET) == (
        IncomeEntry(0, IncomeType.REALIZED_PNL, D("10.00000"), "USDT", "BTCUSDT"),
        IncomeEntry(1, IncomeType.COMMISSION, D("-0.00000002"), "USDT", "BTCUSDT"),
    )
    # Opening, no fee: nothing to write.
    assert income_entries(Account(), Fill("BTCUSDT", Side.BUY, D("1"), D("1")), MARKET) == ()


def test_an_orders_trade_carries_its_id_and_pnl() -> None:
    order = Order(5, "c", "BTCUSDT", Side.SELL, OrderType.MARKET, D("0.004"))
    filled = Order(
        5, "c", "BTCUSDT", Side.SELL, OrderType.MARKET, D("0.004"), status=OrderStatus.FILLED
    )
    trade = Trade(77, D("0.004"), D("21000"), D("0.0336"), False, D("4"))
    update = OrderUpdate(filled, Execution.TRADE, trade, time=9)
    assert order.symbol == "BTCUSDT"
    assert income_entries(Account(), update, MARKET) == (
        IncomeEntry(0, IncomeType.REALIZED_PNL, D("4"), "USDT", "BTCUSDT", 77),
        IncomeEntry(1, IncomeType.COMMISSION, D("-0.0336"), "USDT", "BTCUSDT", 77),
    )
    placed = OrderUpdate(order, Execution.NEW, time=8)
    assert income_entries(Account(), placed, MARKET) == ()


def test_funding_is_one_entry_per_side_and_zero_is_left_out() -> None:
    fee = FundingFee(
        "BTCUSDT",
        0,
        D("0.0001"),
        D("92000"),
        ((PositionSide.LONG, D("-0.0184")), (PositionSide.SHORT, D("0"))),
    )
    assert income_entries(Account(), fee, MARKET) == (
        IncomeEntry(0, IncomeType.FUNDING_FEE, D("-0.0184"), "USDT", "BTCUSDT"),
    )
    assert income_entries(Account(), SetLeverage("BTCUSDT", 5), MARKET) == ()


def test_the_wire_row_is_binances() -> None:
    entry = IncomeEntry(1, IncomeType.COMMISSION, D("-0.0336"), "USDT", "BTCUSDT", 2059192)
    tran = make_tran_id(968932239, 1)
    assert (tran, entry_index(tran)) == (9689322391, 1)
    assert income_row(entry, tran, 1570636800000) == {
        "symbol": "BTCUSDT",
        "incomeType": "COMMISSION",
        "income": "-0.03360000",
        "asset": "USDT",
        "info": "COMMISSION",
        "time": 1570636800000,
        "tranId": 9689322391,
        "tradeId": "2059192",
    }
    transfer = IncomeEntry(0, IncomeType.TRANSFER, D("-0.375"), "USDT")
    assert income_row(transfer, 10, 1)["income"] == "-0.37500000"
    assert income_row(transfer, 10, 1)["tradeId"] == ""
