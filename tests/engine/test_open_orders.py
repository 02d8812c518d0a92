"""What open orders hold: openOrderInitialMargin from their opening quantity (closing
orders use up the held size in orderId order), bid/ask notional, and the -2019 check of a
new order against availableBalance."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from posrisk.engine import (
    Account,
    AccountRisk,
    Fill,
    MarginType,
    Market,
    OpenOrderMargin,
    Order,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    Side,
    WalletTransfer,
    added_open_order_margin,
    available_for_orders,
    check_order_margin,
    open_order_margins,
    opening_quantities,
    opening_quantity,
    side_open_orders,
)
from posrisk.engine.errors import MarginInsufficient

from .conftest import D, run

BUY, SELL = Side.BUY, Side.SELL
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH


def limit(
    order_id: int,
    side: Side,
    qty: str,
    price: str,
    position_side: PositionSide = BOTH,
    symbol: str = "BTCUSDT",
    **changes: object,
) -> Order:
    order = Order(
        order_id, f"c{order_id}", symbol, side, OrderType.LIMIT, D(qty), D(price), position_side
    )
    return replace(order, **changes)  # type: ignore[arg-type]


def resting(account: Account, *orders: Order) -> Account:
    return replace(account, orders={o.order_id: o for o in orders})


def funded(market: Market, *events: object, mode: PositionMode = PositionMode.ONE_WAY) -> Account:
    start = Account(position_mode=mode)
    return run([WalletTransfer("USDT", D("1000")), *events], market, start)  # type: ignore[list-item]


def test_a_buy_of_notional_5_at_20x_locks_a_quarter(market: Market) -> None:
    # Measured on Binance 2026-07.
    account = resting(funded(market), limit(1, BUY, "0.001", "5000"))
    assert open_order_margins(account, market) == {
        ("BTCUSDT", BOTH): OpenOrderMargin(D("0.25"), D("5"), D("0"))
    }
    risk = AccountRisk(account, market, {"BTCUSDT": D("5000")})
    usdt = risk.asset("USDT")
    assert (usdt.open_order_initial_margin, usdt.available_balance) == (D("0.25"), D("999.75"))
    assert available_for_orders(account, market, {}, "USDT") == D("999.75")


def test_no_orders_hold_nothing(market: Market) -> None:
    assert open_order_margins(funded(market), market) == {}
    assert available_for_orders(funded(market), market, {}, "USDT") == D("1000")


def test_one_way_closing_orders_use_up_the_held_size_in_order_id_order(market: Market) -> None:
    account = funded(market, Fill("BTCUSDT", BUY, D("0.010"), D("90000")))
    # Inserted out of order: orderId decides which closes first.
    orders = [
        limit(7, SELL, "0.004", "100000"),  # 0.002 closes, 0.002 opens short
        limit(3, SELL, "0.004", "95000"),  # closes 0.004
        limit(5, SELL, "0.004", "96000"),  # closes 0.004
        limit(4, BUY, "0.001", "80000"),  # in the held direction: opens
    ]
    account = resting(account, *orders)
    assert opening_quantities(account, "BTCUSDT", BOTH) == {
        3: 0,
        4: D("0.001"),
        5: 0,
        7: D("0.002"),
    }
    [(key, held)] = open_order_margins(account, market).items()
    assert key == ("BTCUSDT", BOTH)
    # (0.002 × 100000 + 0.001 × 80000) / 20 = 14
    assert held.initial_margin == D("14")
    assert held.bid_notional == D("80")
    assert held.ask_notional == D("380") + D("384") + D("400")
    # One side alone (an ORDER_TRADE_UPDATE's b/a) is what the whole account gives it.
    assert side_open_orders(account, market, "BTCUSDT", BOTH) == held
    assert side_open_orders(account, market, "ETHUSDT", BOTH) == OpenOrderMargin()


def test_one_way_short_buys_close(market: Market) -> None:
    account = funded(market, Fill("BTCUSDT", SELL, D("0.003"), D("90000")))
    account = resting(account, limit(1, BUY, "0.005", "80000"), limit(2, SELL, "0.001", "95000"))
    assert opening_quantities(account, "BTCUSDT", BOTH) == {1: D("0.002"), 2: D("0.001")}
    held = open_order_margins(account, market)[("BTCUSDT", BOTH)]
    assert held.initial_margin == (D("0.002") * 80000 + D("0.001") * 95000) / 20


def test_one_way_flat_every_order_opens(market: Market) -> None:
    account = resting(funded(market), limit(1, BUY, "0.002", "80000"), limit(2, SELL, "0.002", "1"))
    assert opening_quantities(account, "BTCUSDT", BOTH) == {1: D("0.002"), 2: D("0.002")}


def test_hedge_sell_on_long_and_buy_on_short_close(market: Market) -> None:
    account = funded(
        market,
        Fill("BTCUSDT", BUY, D("0.004"), D("90000"), LONG),
        Fill("BTCUSDT", SELL, D("0.001"), D("90000"), SHORT),
        mode=PositionMode.HEDGE,
    )
    account = resting(
        account,
        limit(1, SELL, "0.003", "95000", LONG),  # closes 0.003 of 0.004
        limit(2, SELL, "0.003", "96000", LONG),  # closes 0.001; a LONG SELL never opens
        limit(3, BUY, "0.001", "85000", LONG),  # opens long
        limit(4, BUY, "0.002", "85000", SHORT),  # closes 0.001, never opens
        limit(5, SELL, "0.001", "97000", SHORT),  # opens short
    )
    assert opening_quantities(account, "BTCUSDT", LONG) == {1: 0, 2: 0, 3: D("0.001")}
    assert opening_quantities(account, "BTCUSDT", SHORT) == {4: 0, 5: D("0.001")}
    margins = open_order_margins(account, market)
    long, short = margins[("BTCUSDT", LONG)], margins[("BTCUSDT", SHORT)]
    # The part of a LONG SELL beyond the held size cannot open a short: it holds nothing.
    assert long.initial_margin == D("0.001") * 85000 / 20
    assert (long.bid_notional, long.ask_notional) == (D("85"), D("285") + D("288"))
    assert short.initial_margin == D("0.001") * 97000 / 20
    assert (short.bid_notional, short.ask_notional) == (D("170"), D("97"))
    risk = AccountRisk(account, market, {"BTCUSDT": D("90000")})
    assert [(r.position.side, r.bid_notional) for r in risk.open_rows()] == [
        (LONG, D("85")),
        (SHORT, D("170")),
    ]


def test_reduce_only_beyond_the_position_holds_nothing(market: Market) -> None:
    account = funded(market, Fill("BTCUSDT", BUY, D("0.002"), D("90000")))
    account = resting(
        account,
        limit(1, SELL, "0.005", "95000", reduce_only=True),
        limit(2, SELL, "0.001", "96000"),  # the held size is used up by order 1
    )
    assert opening_quantities(account, "BTCUSDT", BOTH) == {1: 0, 2: D("0.001")}


def test_the_remaining_quantity_counts_at_the_symbols_leverage(market: Market) -> None:
    account = funded(market, SetLeverage("BTCUSDT", 10))
    partly = limit(1, BUY, "0.010", "50000", executed_qty=D("0.004"))
    account = resting(account, replace(partly, status=OrderStatus.PARTIALLY_FILLED))
    held = open_order_margins(account, market)[("BTCUSDT", BOTH)]
    # 0.006 left × 50000 / 10
    assert (held.initial_margin, held.bid_notional) == (D("30"), D("300"))


def test_isolated_orders_take_from_the_cross_available_balance(market: Market) -> None:
    account = funded(market, SetMarginType("BTCUSDT", MarginType.ISOLATED))
    account = resting(account, limit(1, BUY, "0.002", "50000"))
    usdt = AccountRisk(account, market, {}).asset("USDT")
    assert (usdt.open_order_initial_margin, usdt.available_balance) == (D("5"), D("995"))


def test_orders_of_symbols_the_market_lacks_are_left_out(market: Market) -> None:
    account = resting(funded(market), limit(1, BUY, "1", "100", symbol="NOPEUSDT"))
    assert open_order_margins(account, market) == {}


def test_a_side_with_only_a_closing_order_keeps_its_row(market: Market) -> None:
    account = funded(market, Fill("ETHUSDT", SELL, D("0.5"), D("2000")))
    account = resting(account, limit(1, BUY, "0.5", "1900", symbol="ETHUSDT"))
    assert open_order_margins(account, market) == {
        ("ETHUSDT", BOTH): OpenOrderMargin(D("0"), D("950"), D("0"))
    }


def test_a_new_order_comes_after_the_open_ones(market: Market) -> None:
    account = funded(market, Fill("BTCUSDT", BUY, D("0.003"), D("90000")))
    account = resting(account, limit(10, SELL, "0.002", "95000"))
    new = limit(0, SELL, "0.004", "95000")  # no id yet: still last of its side
    assert opening_quantity(account, new) == D("0.003")
    assert added_open_order_margin(account, market, new) == D("0.003") * 95000 / 20
    closing = limit(11, SELL, "0.001", "95000")
    assert opening_quantity(account, closing) == 0
    assert added_open_order_margin(account, market, closing) == 0
    assert opening_quantity(account, limit(12, BUY, "0.001", "80000")) == D("0.001")


def test_placement_needs_the_added_margin_within_available_balance(market: Market) -> None:
    account = funded(market, SetLeverage("BTCUSDT", 1))
    marks = {"BTCUSDT": D("100000")}
    check_order_margin(account, limit(1, BUY, "0.010", "100000"), market, marks)  # exactly 1000
    with pytest.raises(MarginInsufficient) as error:
        check_order_margin(account, limit(1, BUY, "0.01001", "100000"), market, marks)
    assert (error.value.code, error.value.msg) == (-2019, "Margin is insufficient.")
    # Open orders already hold part of it.
    account = resting(account, limit(1, BUY, "0.004", "100000"))
    assert available_for_orders(account, market, marks, "USDT") == D("600")
    check_order_margin(account, limit(2, BUY, "0.006", "100000"), market, marks)
    with pytest.raises(MarginInsufficient):
        check_order_margin(account, limit(2, BUY, "0.007", "100000"), market, marks)


def test_a_closing_order_needs_no_margin(market: Market) -> None:
    account = funded(market, Fill("BTCUSDT", BUY, D("0.010"), D("90000")))
    account = run([WalletTransfer("USDT", D("-1000"))], market, account)
    marks = {"BTCUSDT": D("80000")}  # a loss: availableBalance below zero
    assert available_for_orders(account, market, marks, "USDT") < 0
    check_order_margin(account, limit(1, SELL, "0.010", "95000"), market, marks)
    with pytest.raises(MarginInsufficient):
        check_order_margin(account, limit(1, SELL, "0.011", "95000"), market, marks)


def test_algo_orders_hold_nothing(market: Market) -> None:
    from posrisk.engine import AlgoOrder

    algo = AlgoOrder(1, "a", "BTCUSDT", BUY, OrderType.STOP, D("1"), D("90000"), D("90000"))
    account = replace(funded(market), algos={1: algo})
    assert open_order_margins(account, market) == {}
    assert AccountRisk(account, market, {}).asset("USDT").available_balance == Decimal(1000)
