"""A symbol's filters and the placement checks: each code, at its boundary, with Binance's
exact text; the top of book a mark gives."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posrisk.engine import (
    Account,
    AlgoOrder,
    EngineError,
    Market,
    Order,
    OrderType,
    Side,
    SymbolFilters,
    ceil_tick,
    check_max_algo_orders,
    check_max_orders,
    check_min_notional,
    check_order_filters,
    check_percent_price,
    check_price,
    check_quantity,
    filters_for,
    floor_tick,
    top_of_book,
)
from posrisk.engine import filters as filters_module

from .conftest import D

BUY, SELL = Side.BUY, Side.SELL


def refusal(error: pytest.ExceptionInfo[EngineError]) -> tuple[int, str]:
    return error.value.code, error.value.msg


@pytest.fixture
def custom(monkeypatch: pytest.MonkeyPatch, market: Market) -> SymbolFilters:
    """BTCUSDT with filters whose grid is coarser than its precision (as Binance's real
    BTCUSDT: tickSize 0.10 at pricePrecision 2), so -4013/-4014/-4004/-4023 are reachable."""
    coarse = replace(
        filters_for(market["BTCUSDT"]),
        tick_size=D("0.10"),
        min_price=D("556.80"),
        max_price=D("4529764"),
        step_size=D("0.002"),
        min_qty=D("0.003"),
        max_qty=D("1000"),
        market_step_size=D("0.005"),
        market_min_qty=D("0.005"),
        market_max_qty=D("120"),
        min_notional=D("100"),
    )
    monkeypatch.setattr(filters_module, "filters_for", lambda symbol: coarse)
    return coarse


def test_filters_come_from_the_precisions(market: Market) -> None:
    btc = filters_for(market["BTCUSDT"])
    assert (btc.tick_size, btc.min_price, btc.max_price) == (D("0.01"), D("0.01"), D("10000000"))
    assert (btc.step_size, btc.min_qty, btc.max_qty) == (D("0.001"), D("0.001"), D("10000000"))
    assert (btc.market_step_size, btc.market_min_qty, btc.market_max_qty) == (
        D("0.001"),
        D("0.001"),
        D("10000000"),
    )
    assert (btc.max_num_orders, btc.max_num_algo_orders, btc.min_notional) == (200, 10, 5)
    assert (btc.multiplier_up, btc.multiplier_down, btc.multiplier_decimal) == (
        D("1.0500"),
        D("0.9500"),
        4,
    )
    assert (btc.price_precision, btc.quantity_precision) == (2, 3)
    ada = filters_for(market["ADAUSDT"])  # quantityPrecision 0, pricePrecision unknown
    assert (ada.step_size, ada.tick_size, ada.price_precision) == (1, D("1E-8"), 8)
    sol = filters_for(market["SOLUSDT"])  # neither known: 8 decimals
    assert (sol.step_size, sol.tick_size) == (D("1E-8"), D("1E-8"))
    assert filters_for(market["ETHUSDT"]) is btc  # one value per pair of precisions


@pytest.mark.parametrize(
    ("price", "code", "msg"),
    [
        ("0", -4001, "Price less than 0."),
        ("-5", -4001, "Price less than 0."),
        ("0.001", -1111, "Precision is over the maximum defined for this asset."),
        ("-0.001", -1111, "Precision is over the maximum defined for this asset."),
        ("91739.905", -1111, "Precision is over the maximum defined for this asset."),
        ("10000000.01", -4002, "Price greater than max price."),
    ],
)
def test_check_price_refuses(market: Market, price: str, code: int, msg: str) -> None:
    with pytest.raises(EngineError) as error:
        check_price(market["BTCUSDT"], D(price))
    assert refusal(error) == (code, msg)


@pytest.mark.parametrize("price", ["0.01", "91739.9", "91739.90", "91739.900", "10000000"])
def test_check_price_accepts_the_boundaries(market: Market, price: str) -> None:
    check_price(market["BTCUSDT"], D(price))


def test_the_price_filter_on_a_coarser_grid(market: Market, custom: SymbolFilters) -> None:
    btc = market["BTCUSDT"]
    for price, code, msg in [
        ("556.70", -4013, "Price less than min price."),
        ("4529764.10", -4002, "Price greater than max price."),
        ("91739.91", -4014, "Price not increased by tick size."),
        ("556.85", -4014, "Price not increased by tick size."),
    ]:
        with pytest.raises(EngineError) as error:
            check_price(btc, D(price))
        assert refusal(error) == (code, msg), price
    for price in ("556.80", "556.9", "4529764", "91739.90"):
        check_price(btc, D(price))


@pytest.mark.parametrize("market_order", [False, True])
@pytest.mark.parametrize(
    ("qty", "code", "msg"),
    [
        ("0", -4003, "Quantity less than or equal to zero."),
        ("-0.001", -4003, "Quantity less than or equal to zero."),
        ("0.0001", -1111, "Precision is over the maximum defined for this asset."),
        ("10000000.001", -4005, "Quantity greater than max quantity."),
    ],
)
def test_check_quantity_refuses(
    market: Market, market_order: bool, qty: str, code: int, msg: str
) -> None:
    with pytest.raises(EngineError) as error:
        check_quantity(market["BTCUSDT"], D(qty), market=market_order)
    assert refusal(error) == (code, msg)


def test_check_quantity_accepts_the_boundaries(market: Market) -> None:
    for qty in ("0.001", "0.0010", "10000000", "1.5"):
        check_quantity(market["BTCUSDT"], D(qty), market=False)
        check_quantity(market["BTCUSDT"], D(qty), market=True)
    check_quantity(market["ADAUSDT"], D("30"), market=False)
    with pytest.raises(EngineError) as error:
        check_quantity(market["ADAUSDT"], D("30.5"), market=False)
    assert error.value.code == -1111


def test_lot_size_or_market_lot_size(market: Market, custom: SymbolFilters) -> None:
    btc = market["BTCUSDT"]
    cases = [
        # LIMIT: minQty 0.003, step 0.002 from it, maxQty 1000
        (False, "0.002", -4004, "Quantity less than min quantity."),
        (False, "1000.001", -4005, "Quantity greater than max quantity."),
        (False, "0.004", -4023, "Qty not increased by step size."),
        # MARKET: minQty 0.005, step 0.005, maxQty 120
        (True, "0.003", -4004, "Quantity less than min quantity."),
        (True, "120.005", -4005, "Quantity greater than max quantity."),
        (True, "0.007", -4023, "Qty not increased by step size."),
    ]
    for market_order, qty, code, msg in cases:
        with pytest.raises(EngineError) as error:
            check_quantity(btc, D(qty), market=market_order)
        assert refusal(error) == (code, msg), (market_order, qty)
    for qty in ("0.003", "0.005", "999.999"):
        check_quantity(btc, D(qty), market=False)
    for qty in ("0.005", "0.010", "120"):
        check_quantity(btc, D(qty), market=True)


def test_check_order_filters_meets_them_in_binances_order(
    market: Market, custom: SymbolFilters
) -> None:
    btc = market["BTCUSDT"]

    def code(qty: str, price: str | None, market_order: bool = False) -> int:
        with pytest.raises(EngineError) as error:
            check_order_filters(
                btc, D(qty), None if price is None else D(price), market=market_order
            )
        return error.value.code

    assert code("0", "0.001") == -1111  # precision first
    assert code("0.0001", "0") == -1111
    assert code("0", "0") == -4003  # then quantity ≤ 0 before price ≤ 0
    assert code("0.001", "0") == -4001
    assert code("0.001", "1") == -4013  # PRICE_FILTER before LOT_SIZE
    assert code("0.001", "91739.9") == -4004
    assert code("0.003", None, True) == -4004  # MARKET: no price, MARKET_LOT_SIZE
    check_order_filters(btc, D("0.003"), D("91739.9"), market=False)
    check_order_filters(btc, D("0.005"), None, market=True)


def test_percent_price_against_the_mark(market: Market) -> None:
    btc = market["BTCUSDT"]
    mark = D("92000")
    check_percent_price(btc, BUY, D("96600"), mark)  # 92000 × 1.05 exactly
    check_percent_price(btc, SELL, D("87400"), mark)  # 92000 × 0.95 exactly
    check_percent_price(btc, BUY, D("1"), mark)  # far below: a BUY may rest
    check_percent_price(btc, SELL, D("1000000"), mark)
    with pytest.raises(EngineError) as high:
        check_percent_price(btc, BUY, D("96600.01"), mark)
    assert refusal(high) == (-4016, "Price is higher than mark price multiplier cap.")
    with pytest.raises(EngineError) as low:
        check_percent_price(btc, SELL, D("87399.99"), mark)
    assert refusal(low) == (-4024, "Price is lower than mark price multiplier floor.")
    check_percent_price(btc, BUY, D("1000000"), None)  # no mark, no check
    check_percent_price(btc, SELL, D("1"), D("0"))


def test_min_notional_on_the_opening_quantity(market: Market) -> None:
    btc = market["BTCUSDT"]
    check_min_notional(btc, D("0.001"), D("5000"))  # exactly 5
    check_min_notional(btc, D("0"), D("1"))  # closes only: exempt
    with pytest.raises(EngineError) as error:
        check_min_notional(btc, D("0.001"), D("4999.99"))
    assert refusal(error) == (
        -4164,
        "Order's notional must be no smaller than 5 (unless you choose reduce only).",
    )


def test_min_notional_writes_the_filters_value(market: Market, custom: SymbolFilters) -> None:
    with pytest.raises(EngineError) as error:
        check_min_notional(market["BTCUSDT"], D("0.001"), D("91739.9"))
    assert error.value.msg == (
        "Order's notional must be no smaller than 100 (unless you choose reduce only)."
    )


def _order(order_id: int, symbol: str) -> Order:
    return Order(order_id, f"c{order_id}", symbol, BUY, OrderType.LIMIT, D("1"), D("1"))


def test_max_open_orders_per_symbol(market: Market) -> None:
    btc = market["BTCUSDT"]
    orders = {i: _order(i, "BTCUSDT") for i in range(199)}
    orders[999] = _order(999, "ETHUSDT")
    account = Account(orders=orders)
    check_max_orders(account, btc)  # 199 open: a 200th may come
    orders[200] = _order(200, "BTCUSDT")
    with pytest.raises(EngineError) as error:
        check_max_orders(Account(orders=orders), btc)
    assert refusal(error) == (-2025, "Reach max open order limit.")
    check_max_orders(Account(orders=orders), market["ETHUSDT"])


def test_max_algo_orders_per_symbol(market: Market) -> None:
    btc = market["BTCUSDT"]

    def algo(i: int) -> AlgoOrder:
        return AlgoOrder(i, f"a{i}", "BTCUSDT", SELL, OrderType.STOP_MARKET, D("1"), D("80000"))

    check_max_algo_orders(Account(algos={i: algo(i) for i in range(9)}), btc)
    with pytest.raises(EngineError) as error:
        check_max_algo_orders(Account(algos={i: algo(i) for i in range(10)}), btc)
    assert refusal(error) == (-4045, "Reach max stop order limit.")


def test_ticks() -> None:
    assert ceil_tick(D("91739.901"), D("0.01")) == D("91739.91")
    assert floor_tick(D("91739.909"), D("0.01")) == D("91739.90")
    assert ceil_tick(D("91739.90"), D("0.01")) == floor_tick(D("91739.90"), D("0.01"))
    assert str(ceil_tick(D("100"), D("0.10"))) == "100.00"
    assert ceil_tick(D("100.01"), D("0.10")) == D("100.1")
    assert floor_tick(D("100.19"), D("0.10")) == D("100.1")


def test_top_of_book(market: Market) -> None:
    btc = market["BTCUSDT"]
    # No slippage: the mark rounded outward to ticks; on a tick, bid = ask = mark.
    assert top_of_book(btc, D("91739.905"), D("0")) == (D("91739.90"), D("91739.91"))
    assert top_of_book(btc, D("92000"), D("0")) == (D("92000"), D("92000"))
    assert [str(p) for p in top_of_book(btc, D("92000"), D("0"))] == ["92000.00", "92000.00"]
    # 10 bps: 92000 × 1.001 = 92092, 92000 × 0.999 = 91908.
    assert top_of_book(btc, D("92000"), D("0.001")) == (D("91908.00"), D("92092.00"))
    # 5 bps of 91739.9: ask ceil(91785.76995) = 91785.77, bid floor(91694.03005) = 91694.03
    assert top_of_book(btc, D("91739.9"), D("0.0005")) == (D("91694.03"), D("91785.77"))
    # A bid never reaches 0: one tick.
    assert top_of_book(btc, D("0.004"), D("0")) == (D("0.01"), D("0.01"))
    assert top_of_book(btc, D("0.02"), D("0.9")) == (D("0.01"), D("0.04"))


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=4),
    st.integers(0, 500),
)
def test_top_of_book_brackets_the_mark_on_ticks(mark: Decimal, bps: int) -> None:
    btc = Market.default()["BTCUSDT"]
    bid, ask = top_of_book(btc, mark, Decimal(bps) / 10000)
    tick = Decimal("0.01")
    assert bid % tick == 0 and ask % tick == 0
    assert 0 < bid <= ask
    assert bid <= mark or bid == tick
    assert ask >= mark
    assert ask - mark * (1 + Decimal(bps) / 10000) < tick
