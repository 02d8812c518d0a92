"""An account's figures per margin asset: the worked example to the digit, isolated and
hedge cases computed by hand from the formulas, and properties over random accounts."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from posrisk.engine import (
    Account,
    AccountRisk,
    AssetRisk,
    Fill,
    IsolatedMarginTransfer,
    MarginType,
    Market,
    Order,
    OrderType,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    Side,
    WalletTransfer,
    available_balance,
    max_withdraw_amount,
)
from posrisk.engine.numbers import fmt_money

from .conftest import D, run
from .test_properties import MARKET, Scenario, play, scenarios

BUY, SELL = Side.BUY, Side.SELL
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH
DEPOSITED, FILLED = 1_700_000_000_000, 1_700_000_060_000


def worked_example(market: Market) -> Account:
    """Deposit 1000 USDT; MARKET BUY 0.002 BTCUSDT filled at 91739.90, fee 0.0917399 (taker
    0.0005); cross at the default 20x."""
    return run(
        [
            WalletTransfer("USDT", D("1000"), DEPOSITED),
            Fill("BTCUSDT", BUY, D("0.002"), D("91739.90"), fee=D("0.0917399"), time=FILLED),
        ],
        market,
    )


def limit(
    order_id: int,
    symbol: str,
    side: Side,
    qty: str,
    price: str,
    position_side: PositionSide = BOTH,
) -> Order:
    """An open LIMIT order (GTC, nothing executed)."""
    return Order(
        order_id, f"o{order_id}", symbol, side, OrderType.LIMIT, D(qty), D(price), position_side
    )


def with_orders(account: Account, *orders: Order) -> Account:
    """``account`` with ``orders`` open (and no other)."""
    return replace(account, orders={o.order_id: o for o in orders})


def figures(asset: AssetRisk) -> dict[str, str]:
    return {
        "walletBalance": fmt_money(asset.wallet_balance),
        "unrealizedProfit": fmt_money(asset.unrealized_pnl),
        "marginBalance": fmt_money(asset.margin_balance),
        "maintMargin": fmt_money(asset.maint_margin),
        "initialMargin": fmt_money(asset.initial_margin),
        "positionInitialMargin": fmt_money(asset.position_initial_margin),
        "openOrderInitialMargin": fmt_money(asset.open_order_initial_margin),
        "crossWalletBalance": fmt_money(asset.cross_wallet_balance),
        "crossUnPnl": fmt_money(asset.cross_unrealized_pnl),
        "availableBalance": fmt_money(asset.available_balance),
        "maxWithdrawAmount": fmt_money(asset.max_withdraw_amount),
    }


def test_the_worked_example(market: Market) -> None:
    usdt = AccountRisk(worked_example(market), market, {"BTCUSDT": D("92000")}).asset("USDT")
    assert figures(usdt) == {
        "walletBalance": "999.90826010",
        "unrealizedProfit": "0.52020000",
        "marginBalance": "1000.42846010",
        "maintMargin": "0.73600000",
        "initialMargin": "9.20000000",
        "positionInitialMargin": "9.20000000",
        "openOrderInitialMargin": "0.00000000",
        "crossWalletBalance": "999.90826010",
        "crossUnPnl": "0.52020000",
        "availableBalance": "991.22846010",
        "maxWithdrawAmount": "990.70826010",
    }
    assert usdt.update_time == FILLED


def test_the_worked_example_with_a_resting_order(market: Market) -> None:
    # BUY LIMIT 0.002 @ 90000 at 20x holds 0.002 × 90000 / 20 = 9.
    account = with_orders(worked_example(market), limit(1, "BTCUSDT", BUY, "0.002", "90000"))
    risk = AccountRisk(account, market, {"BTCUSDT": D("92000")})
    usdt = risk.asset("USDT")
    assert figures(usdt) == {
        "walletBalance": "999.90826010",
        "unrealizedProfit": "0.52020000",
        "marginBalance": "1000.42846010",
        "maintMargin": "0.73600000",
        "initialMargin": "18.20000000",
        "positionInitialMargin": "9.20000000",
        "openOrderInitialMargin": "9.00000000",
        "crossWalletBalance": "999.90826010",
        "crossUnPnl": "0.52020000",
        "availableBalance": "982.22846010",
        # 999.9082601 + min(0, 0.5202) − 9.2 − 9
        "maxWithdrawAmount": "981.70826010",
    }
    row = risk.position("BTCUSDT", BOTH)
    assert (row.position_initial_margin, row.open_order_initial_margin) == (D("9.2"), D("9"))
    assert row.initial_margin == D("18.2")


def test_an_order_alone_keeps_a_flat_side_among_the_open_rows(market: Market) -> None:
    account = with_orders(
        worked_example(market),
        limit(1, "ETHUSDT", BUY, "0.025", "2000"),  # 2.5 at 20x
        limit(2, "SOLUSDT", BUY, "1", "20", LONG),  # 1 at 20x
        limit(3, "NOPEUSDT", BUY, "1", "20"),
    )
    risk = AccountRisk(account, market, {"BTCUSDT": D("92000")})
    rows = risk.open_rows()
    # SOLUSDT LONG is not a side of one-way mode; an unknown symbol is ignored.
    assert [(r.symbol.name, r.position.side) for r in rows] == [
        ("BTCUSDT", BOTH),
        ("ETHUSDT", BOTH),
    ]
    eth = rows[1]
    assert (eth.position.amount, eth.initial_margin, eth.open_order_initial_margin) == (
        0,
        D("2.5"),
        D("2.5"),
    )
    assert risk.asset("USDT").open_order_initial_margin == D("3.5")


def test_an_isolated_position_counts_through_its_wallet(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000"), DEPOSITED),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", BUY, D("0.010"), D("20000"), fee=D("0.08"), time=FILLED),
        ],
        market,
    )
    usdt = AccountRisk(account, market, {"BTCUSDT": D("19000")}).asset("USDT")
    # Wallet 1000 − 0.08; isolated wallet 20 − 0.08 = 19.92 left the cross wallet (980).
    # uPnL 0.010 × (19000 − 20000) = −10; notional 190: MM 190 × 0.004, PIM 190 / 10.
    assert figures(usdt) == {
        "walletBalance": "999.92000000",
        "unrealizedProfit": "-10.00000000",
        "marginBalance": "989.92000000",
        "maintMargin": "0.76000000",
        "initialMargin": "19.00000000",
        "positionInitialMargin": "19.00000000",
        "openOrderInitialMargin": "0.00000000",
        "crossWalletBalance": "980.00000000",
        "crossUnPnl": "0.00000000",
        "availableBalance": "980.00000000",
        "maxWithdrawAmount": "980.00000000",
    }
    later = run([IsolatedMarginTransfer("BTCUSDT", D("5"), time=FILLED + 1)], market, account)
    moved = AccountRisk(later, market, {"BTCUSDT": D("19000")}).asset("USDT")
    assert (fmt_money(moved.cross_wallet_balance), moved.update_time) == (
        "975.00000000",
        FILLED + 1,
    )


def hedged(market: Market) -> Account:
    return run(
        [
            WalletTransfer("USDT", D("500"), DEPOSITED),
            Fill("BTCUSDT", BUY, D("0.010"), D("20000"), LONG, D("0.1"), FILLED),
            Fill("BTCUSDT", SELL, D("0.005"), D("21000"), SHORT, D("0.0525"), FILLED + 1),
        ],
        market,
        Account(position_mode=PositionMode.HEDGE),
    )


def test_hedge_sides_add_up_in_profit(market: Market) -> None:
    usdt = AccountRisk(hedged(market), market, {"BTCUSDT": D("20500")}).asset("USDT")
    # Wallet 500 − 0.1 − 0.0525. LONG uPnL 0.010 × 500 = 5, SHORT −0.005 × −500 = 2.5.
    # Notionals 205 and −102.5: PIM 10.25 + 5.125, MM 0.82 + 0.41.
    assert figures(usdt) == {
        "walletBalance": "499.84750000",
        "unrealizedProfit": "7.50000000",
        "marginBalance": "507.34750000",
        "maintMargin": "1.23000000",
        "initialMargin": "15.37500000",
        "positionInitialMargin": "15.37500000",
        "openOrderInitialMargin": "0.00000000",
        "crossWalletBalance": "499.84750000",
        "crossUnPnl": "7.50000000",
        # 499.8475 + 7.5 − 15.375; the profit does not count toward a withdrawal.
        "availableBalance": "491.97250000",
        "maxWithdrawAmount": "484.47250000",
    }
    assert usdt.update_time == FILLED + 1


def test_hedge_sides_add_up_in_loss(market: Market) -> None:
    usdt = AccountRisk(hedged(market), market, {"BTCUSDT": D("18000")}).asset("USDT")
    # LONG −20, SHORT +15: −5; notionals 180, −90: PIM 9 + 4.5, MM 0.72 + 0.36.
    assert figures(usdt) == {
        "walletBalance": "499.84750000",
        "unrealizedProfit": "-5.00000000",
        "marginBalance": "494.84750000",
        "maintMargin": "1.08000000",
        "initialMargin": "13.50000000",
        "positionInitialMargin": "13.50000000",
        "openOrderInitialMargin": "0.00000000",
        "crossWalletBalance": "499.84750000",
        "crossUnPnl": "-5.00000000",
        "availableBalance": "481.34750000",
        "maxWithdrawAmount": "481.34750000",
    }


def test_an_asset_never_touched_is_all_zero(market: Market) -> None:
    usdc = AccountRisk(worked_example(market), market, {}).asset("USDC")
    assert set(figures(usdc).values()) == {"0.00000000"}
    assert usdc.update_time == 0


def test_the_formulas_directly() -> None:
    assert available_balance(D("100"), D("-120"), D("5"), D("1")) == D("-26")
    assert max_withdraw_amount(D("100"), D("-120"), D("5"), D("1")) == 0
    assert max_withdraw_amount(D("100"), D("50"), D("0")) == D("100")
    assert max_withdraw_amount(D("100"), D("-10"), D("20"), D("5")) == D("65")
    assert max_withdraw_amount(D("-3"), D("0"), D("0")) == 0


@given(scenarios(), st.dictionaries(st.sampled_from(("BTCUSDT", "ETHBTC")), st.integers(0, 500)))
def test_the_figures_hold_together(scenario: Scenario, orders: dict[str, int]) -> None:
    played = play(scenario)
    sides = (BOTH,) if scenario.mode is PositionMode.ONE_WAY else (LONG, SHORT)
    resting = [
        limit(i, name, BUY, "1", str(n), sides[0]) for i, (name, n) in enumerate(orders.items())
    ]
    risk = AccountRisk(with_orders(played.account, *resting), MARKET, scenario.marks)
    times = {0} | {e.time for e in scenario.setup + played.accepted}
    for asset in risk.assets:
        assert asset.margin_balance == asset.wallet_balance + asset.unrealized_pnl
        assert (
            asset.initial_margin == asset.position_initial_margin + asset.open_order_initial_margin
        )
        assert 0 <= asset.max_withdraw_amount <= max(asset.cross_wallet_balance, Decimal(0))
        assert asset.max_withdraw_amount <= max(asset.available_balance, Decimal(0))
        assert asset.update_time in times
        # The rows add up to the asset's sums (to the last of 60 digits: division rounds).
        rows = [r for r in risk.open_rows() if r.symbol.margin_asset == asset.asset]
        for part, total in (
            (lambda r: r.unrealized_pnl, asset.unrealized_pnl),
            (lambda r: r.initial_margin, asset.initial_margin),
            (lambda r: r.maint_margin, asset.maint_margin),
        ):
            assert abs(sum(map(part, rows), Decimal(0)) - total) < Decimal("1E-40")
