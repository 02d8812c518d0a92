from decimal import Decimal

import pytest

from posrisk.engine import (
    Account,
    AccountRisk,
    Fill,
    LeverageBracket,
    LiquidationLeg,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    Side,
    Symbol,
    WalletTransfer,
    available_balance,
    liquidation_price,
    maintenance_margin,
)
from posrisk.engine.numbers import fmt_money

from .conftest import D, run

BUY, SELL = Side.BUY, Side.SELL
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH


def hedge_example(market: Market) -> Account:
    """SPEC §1/§9: hedge LONG 0.001 @ 22185.2, cross, cross wallet 2.53267053."""
    return run(
        [
            WalletTransfer("USDT", D("2.53267053")),
            Fill("BTCUSDT", BUY, D("0.001"), D("22185.2"), LONG, time=1655217461579),
        ],
        market,
        Account(position_mode=PositionMode.HEDGE),
    )


def test_the_seed_hedge_row(market: Market) -> None:
    risk = AccountRisk(hedge_example(market), market, {"BTCUSDT": D("21123.05052574")})
    row = risk.position("BTCUSDT", LONG)
    assert row.unrealized_pnl == D("-1.06214947426")
    assert fmt_money(row.unrealized_pnl) == "-1.06214947"
    assert row.notional == D("21.12305052574")
    assert fmt_money(row.notional) == "21.12305052"


def test_the_liquidation_golden_case(market: Market) -> None:
    risk = AccountRisk(hedge_example(market), market, {"BTCUSDT": D("21123.05052574")})
    price = risk.position("BTCUSDT", LONG).liquidation_price
    assert fmt_money(price) == "19731.45529116"
    # (2.53267053 − 0.001 × 22185.2) / (0.001 × 0.004 − 0.001)
    assert price == (D("2.53267053") - D("22.1852")) / (D("0.000004") - D("0.001"))
    assert risk.position("BTCUSDT", SHORT).liquidation_price == 0


def test_the_formula_directly() -> None:
    btc = Market.default()["BTCUSDT"]
    leg = LiquidationLeg(1, D("0.001"), D("22185.2"), D("21123.05052574"), btc)
    assert fmt_money(liquidation_price(D("2.53267053"), D("0"), D("0"), [leg])) == "19731.45529116"
    assert liquidation_price(D("1"), D("0"), D("0"), []) == 0


def ada_market() -> Market:
    """ADAUSDT with the bracket of the v2 example's day (MMR 0.0065)."""
    bracket = LeverageBracket(1, 75, D("0"), D("5000"), D("0.0065"), D("0"))
    return Market([Symbol("ADAUSDT", "USDT", "ADA", "USDT", 0, None, (bracket,))])


def test_the_v2_ada_example() -> None:
    market = ada_market()
    account = run(
        [
            WalletTransfer("USDT", D("10")),
            Fill("ADAUSDT", BUY, D("30"), D("0.385"), fee=D("0.00231")),
        ],
        market,
    )
    row = AccountRisk(account, market, {"ADAUSDT": D("0.41047590")}).position("ADAUSDT", BOTH)
    assert row.unrealized_pnl == D("0.764277")
    assert row.notional == D("12.314277")
    assert row.initial_margin == D("0.61571385")
    assert fmt_money(row.maint_margin) == "0.08004280"  # 0.0800428005
    assert row.position.break_even_price == D("0.385077")
    cross = D("10") - D("0.00231")
    assert row.liquidation_price == (cross - 30 * D("0.385")) / (30 * D("0.0065") - 30)


def test_max_notional_follows_leverage(market: Market) -> None:
    account = run([SetLeverage("BTCUSDT", 10)], market)
    row = AccountRisk(account, market, {}).position("BTCUSDT", BOTH)
    assert row.max_notional == D("230000000")


def test_isolated_liquidation_uses_only_the_positions_own_wallet(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", BUY, D("1"), D("100"), fee=D("0.1")),
            Fill("ETHUSDT", BUY, D("1"), D("100")),
        ],
        market,
    )
    risk = AccountRisk(account, market, {"BTCUSDT": D("95"), "ETHUSDT": D("50")})
    row = risk.position("BTCUSDT", BOTH)
    assert row.position.isolated_wallet == D("9.9")
    assert row.liquidation_price == (D("9.9") - 100) / (D("0.004") - 1)
    assert row.isolated_margin == D("9.9") + D("-5")  # isolatedWallet + uPnL


def test_isolated_short(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", SELL, D("1"), D("100")),
        ],
        market,
    )
    row = AccountRisk(account, market, {"BTCUSDT": D("100")}).position("BTCUSDT", BOTH)
    assert row.liquidation_price == D("110") / D("1.004")
    assert fmt_money(row.liquidation_price) == "109.56175298"


def test_isolated_hedge_sides_get_separate_prices(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", BUY, D("1"), D("100"), LONG),
            Fill("BTCUSDT", SELL, D("2"), D("100"), SHORT),
        ],
        market,
        Account(position_mode=PositionMode.HEDGE),
    )
    risk = AccountRisk(account, market, {"BTCUSDT": D("100")})
    assert risk.position("BTCUSDT", LONG).liquidation_price == D("-90") / D("-0.996")
    assert risk.position("BTCUSDT", SHORT).liquidation_price == D("220") / D("2.008")


def test_cross_liquidation_counts_other_cross_symbols_of_the_same_asset(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            WalletTransfer("USDC", D("5000")),
            Fill("BTCUSDT", BUY, D("1"), D("2000")),
            Fill("ETHUSDT", SELL, D("1"), D("100")),
            Fill("BTCUSDC", SELL, D("1"), D("100")),
        ],
        market,
    )
    marks = {"BTCUSDT": D("1900"), "ETHUSDT": D("120"), "BTCUSDC": D("5")}
    risk = AccountRisk(account, market, marks)
    eth = market["ETHUSDT"]
    eth_notional = D("-120")
    tmm1 = maintenance_margin(eth.bracket_for(eth_notional), eth_notional)
    upnl1 = D("-20")
    expected = (D("1000") - tmm1 + upnl1 - 2000) / (D("0.004") - 1)
    assert risk.position("BTCUSDT", BOTH).liquidation_price == expected
    # The USDC position (uPnL +95) does not help the USDT one.


def test_cross_hedge_puts_both_sides_in_one_formula(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("30")),
            Fill("BTCUSDT", BUY, D("0.003"), D("20000"), LONG),
            Fill("BTCUSDT", SELL, D("0.001"), D("21000"), SHORT),
        ],
        market,
        Account(position_mode=PositionMode.HEDGE),
    )
    risk = AccountRisk(account, market, {"BTCUSDT": D("20000")})
    long, short = risk.position("BTCUSDT", LONG), risk.position("BTCUSDT", SHORT)
    expected = (D("30") - D("0.003") * 20000 + D("0.001") * 21000) / (
        D("0.003") * D("0.004") + D("0.001") * D("0.004") - D("0.003") + D("0.001")
    )
    assert long.liquidation_price == short.liquidation_price == expected


def test_the_bracket_is_rechecked_at_the_liquidation_price(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("16000")),
            SetLeverage("BTCUSDT", 5),
            Fill("BTCUSDT", BUY, D("1"), D("60000")),
        ],
        market,
    )
    risk = AccountRisk(account, market, {"BTCUSDT": D("60000")})
    row = risk.position("BTCUSDT", BOTH)
    assert row.maint_margin == D("60000") * D("0.005") - 50  # bracket 2 at the mark
    # At LP the notional (~44177) is in bracket 1: the price is computed with it.
    assert row.liquidation_price == (D("16000") - 60000) / (D("0.004") - 1)
    assert market["BTCUSDT"].bracket_for(row.liquidation_price).bracket == 1


def test_an_overcollateralised_long_has_no_liquidation_price(market: Market) -> None:
    account = run(
        [WalletTransfer("USDT", D("100")), Fill("BTCUSDT", BUY, D("0.001"), D("22185.2"))], market
    )
    assert AccountRisk(account, market, {}).position("BTCUSDT", BOTH).liquidation_price == 0


def test_a_symbol_without_a_mark_is_marked_at_entry(market: Market) -> None:
    account = run(
        [WalletTransfer("USDT", D("100")), Fill("BTCUSDT", SELL, D("0.002"), D("30000"))], market
    )
    row = AccountRisk(account, market, {}).position("BTCUSDT", BOTH)
    assert (row.mark_price, row.unrealized_pnl, row.notional) == (0, 0, D("-60"))
    assert row.maint_margin == D("60") * D("0.004")
    assert row.liquidation_distance is None


def test_asset_totals_and_margin_ratio(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("ETHUSDT", MarginType.ISOLATED),
            Fill("BTCUSDT", BUY, D("1"), D("2000")),
            Fill("ETHUSDT", BUY, D("1"), D("100")),
        ],
        market,
    )
    risk = AccountRisk(account, market, {"BTCUSDT": D("1900"), "ETHUSDT": D("110")})
    usdt = risk.asset("USDT")
    assert usdt.wallet_balance == D("1000")
    assert usdt.cross_wallet_balance == D("995")  # 5 posted to ETHUSDT isolated at 20x
    assert usdt.unrealized_pnl == D("-90")
    assert usdt.cross_unrealized_pnl == D("-100")
    assert usdt.cross_maint_margin == D("1900") * D("0.004")
    assert usdt.margin_balance == D("910")
    assert usdt.cross_margin_ratio == D("7.6") / D("895")
    assert risk.asset("USDC").wallet_balance == 0
    assert "open positions" in repr(risk)


@pytest.mark.parametrize("mark", ["21000", "19731.45529116"])
def test_liquidation_distance(market: Market, mark: str) -> None:
    row = AccountRisk(hedge_example(market), market, {"BTCUSDT": D(mark)}).position("BTCUSDT", LONG)
    distance = row.liquidation_distance
    assert distance is not None
    assert distance == abs(D(mark) - row.liquidation_price) / D(mark)
    assert isinstance(distance, Decimal)


def spec_15_1_example(market: Market) -> Account:
    """SPEC §15.1: deposit 1000 USDT; BUY 0.002 BTCUSDT @ 91739.90 (taker fee 0.0917399),
    cross at the default 20x."""
    return run(
        [
            WalletTransfer("USDT", D("1000")),
            Fill("BTCUSDT", BUY, D("0.002"), D("91739.90"), fee=D("0.0917399")),
        ],
        market,
    )


def test_available_balance_golden_case(market: Market) -> None:
    asset = AccountRisk(spec_15_1_example(market), market, {"BTCUSDT": D("92000")}).asset("USDT")
    assert fmt_money(asset.wallet_balance) == "999.90826010"
    assert fmt_money(asset.unrealized_pnl) == "0.52020000"
    assert fmt_money(asset.margin_balance) == "1000.42846010"
    assert fmt_money(asset.maint_margin) == "0.73600000"
    assert fmt_money(asset.initial_margin) == "9.20000000"
    assert fmt_money(asset.cross_initial_margin) == "9.20000000"
    assert fmt_money(asset.available_balance) == "991.22846010"
    # The formula, term by term: cross wallet + cross uPnL − Σ cross initial margin.
    assert asset.available_balance == D("999.9082601") + D("0.5202") - D("9.2")
    # With a resting BUY LIMIT 0.002 @ 90000 (openOrderInitialMargin 9), as SPEC §15.1.
    with_order = available_balance(
        asset.cross_wallet_balance, asset.cross_unrealized_pnl, asset.cross_initial_margin, D("9")
    )
    assert fmt_money(with_order) == "982.22846010"


def test_available_balance_counts_a_loss_and_may_go_negative(market: Market) -> None:
    asset = AccountRisk(spec_15_1_example(market), market, {"BTCUSDT": D("1000")}).asset("USDT")
    # uPnL 0.002 × (1000 − 91739.9) = −181.4798; initial margin at the mark 0.1.
    assert asset.available_balance == D("999.9082601") - D("181.4798") - D("0.1")
    # Fully used (0.1 @ 20000 at 20x locks all 100), then a 5% drop: −100 uPnL.
    full = run(
        [WalletTransfer("USDT", D("100")), Fill("BTCUSDT", BUY, D("0.1"), D("20000"))], market
    )
    dropped = AccountRisk(full, market, {"BTCUSDT": D("19000")}).asset("USDT")
    assert dropped.available_balance == D("100") - D("100") - D("95")


def test_isolated_positions_count_through_their_wallets_only(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", BUY, D("0.010"), D("20000"), fee=D("0.08")),
        ],
        market,
    )
    asset = AccountRisk(account, market, {"BTCUSDT": D("10000")}).asset("USDT")
    # 20 left the cross wallet for the isolated one; its loss and margin are its own.
    assert (asset.cross_initial_margin, asset.initial_margin) == (0, D("10"))
    assert asset.available_balance == D("999.92") - D("19.92")
