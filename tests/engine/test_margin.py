"""check_opening_margin: a fill's opening part needs initial margin + its fee within
availableBalance before the fill (Binance's -2019); closing parts need nothing. check_margin:
a lower leverage's extra initial margin (-2028), isolated margin added (-4050) or removed
(-4051) at the marks."""

from collections.abc import Mapping
from decimal import Decimal

import pytest

from posrisk.engine import (
    Account,
    CrossBalanceInsufficient,
    EngineError,
    Event,
    Fill,
    IsolatedBalanceInsufficient,
    IsolatedMarginTransfer,
    LeverageMarginInsufficient,
    MarginInsufficient,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    Side,
    WalletTransfer,
    apply,
    check_margin,
    check_opening_margin,
    removable_margin,
)

from .conftest import D, run

BUY, SELL = Side.BUY, Side.SELL
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH
NO_MARKS: Mapping[str, Decimal] = {}


def fill(side: Side, qty: str, price: str, fee: str = "0", ps: PositionSide = BOTH) -> Fill:
    return Fill("BTCUSDT", side, D(qty), D(price), ps, D(fee), 1)


def deposit(amount: str) -> WalletTransfer:
    return WalletTransfer("USDT", D(amount))


def accepted(
    account: Account, event: Event, market: Market, marks: Mapping[str, Decimal] = NO_MARKS
) -> Account:
    applied = apply(account, event, market)
    check_opening_margin(account, event, market, marks)
    return applied.account


def refused(
    account: Account, event: Event, market: Market, marks: Mapping[str, Decimal] = NO_MARKS
) -> MarginInsufficient:
    apply(account, event, market)  # the ledger alone would take it
    with pytest.raises(MarginInsufficient) as info:
        check_opening_margin(account, event, market, marks)
    assert (info.value.code, info.value.msg) == (-2019, "Margin is insufficient.")
    return info.value


def test_a_fee_beyond_the_wallet_is_refused(market: Market) -> None:
    # The case: 100 in the wallet, a fee of 500 would leave it at −400.
    account = run([deposit("100")], market)
    error = refused(account, fill(BUY, "0.001", "20000", fee="500"), market)
    assert error.detail == (
        "opening 0.001 BTCUSDT at 20000 needs 1.00000000 USDT initial margin at 20x + "
        "500.00000000 fee; availableBalance is 100.00000000"
    )


def test_initial_margin_and_fee_may_use_all_of_the_available_balance(market: Market) -> None:
    account = run([deposit("100")], market)
    # 0.099 × 20000 / 20 = 99, + 1 fee = 100: exactly what is available.
    after = accepted(account, fill(BUY, "0.099", "20000", fee="1"), market)
    assert after.wallet_balance("USDT") == D("99")
    refused(account, fill(BUY, "0.099", "20000", fee="1.00000001"), market)
    accepted(account, fill(BUY, "0.100", "20000"), market)  # 100, no fee
    refused(account, fill(BUY, "0.100", "20000", fee="0.00000001"), market)


def test_a_cross_opening_on_a_negative_wallet_is_refused(market: Market) -> None:
    # A close at a loss beyond the wallet (closes are never refused) leaves it at −10.
    account = run([deposit("100"), fill(BUY, "0.01", "20000"), fill(SELL, "0.01", "9000")], market)
    assert account.wallet_balance("USDT") == D("-10")
    refused(account, fill(BUY, "0.001", "20000"), market)
    refused(account, fill(SELL, "0.001", "20000"), market)


def test_an_isolated_opening_needs_margin_and_fee_within_the_available_balance(
    market: Market,
) -> None:
    account = run(
        [deposit("25"), SetMarginType("BTCUSDT", MarginType.ISOLATED), SetLeverage("BTCUSDT", 10)],
        market,
    )
    # 0.010 × 20000 / 10 = 20 moves in, the fee of 8 is paid from it: 28 > 25. The ledger
    # alone would take it (the cross wallet holds the 20), leaving 12 in the isolated wallet.
    refused(account, fill(BUY, "0.010", "20000", fee="8"), market)
    after = accepted(account, fill(BUY, "0.010", "20000", fee="5"), market)
    assert after.position("BTCUSDT", BOTH).isolated_wallet == D("15")
    assert after.cross_wallet_balance("USDT", market) == D("5")


def test_unrealized_profit_counts_and_so_does_a_loss(market: Market) -> None:
    # 0.1 @ 20000 at 20x locks all 100.
    account = run([deposit("100"), fill(BUY, "0.1", "20000")], market)
    # No mark: marked at entry, nothing is available.
    refused(account, fill(BUY, "0.001", "20000"), market)
    # Mark 22000: +200 uPnL, 110 initial margin → 190 available; 0.17 more needs 187.
    up = {"BTCUSDT": D("22000")}
    accepted(account, fill(BUY, "0.17", "22000"), market, up)
    refused(account, fill(BUY, "0.18", "22000"), market, up)
    # Mark 19000: −100 uPnL, 95 initial margin → −95: nothing opens, closing still does.
    down = {"BTCUSDT": D("19000")}
    refused(account, fill(BUY, "0.001", "19000"), market, down)
    accepted(account, fill(SELL, "0.05", "19000"), market, down)


def test_a_one_way_flip_needs_margin_for_the_excess_only(market: Market) -> None:
    # Long 0.01 @ 20000 locks 10 of 20.5: 10.5 available.
    account = run([deposit("20.5"), fill(BUY, "0.01", "20000")], market)
    # SELL 0.02 closes 0.01 and opens 0.01 short: 10 margin + the opening half of the fee
    # (0.5 of 1) = 10.5 fits; the whole fee would not.
    accepted(account, fill(SELL, "0.02", "20000", fee="1"), market)
    refused(account, fill(SELL, "0.02", "20000", fee="1.00000002"), market)
    # Opening 0.02 short needs 20.
    refused(account, fill(SELL, "0.03", "20000"), market)


def test_closing_fills_are_never_refused_for_margin(market: Market) -> None:
    account = run([deposit("100"), fill(BUY, "0.1", "20000")], market)
    crashed = {"BTCUSDT": D("1000")}  # far below the bankruptcy price
    accepted(account, fill(SELL, "0.1", "1000", fee="50"), market, crashed)
    hedge = run(
        [deposit("100"), fill(BUY, "0.1", "20000", ps=LONG)],
        market,
        Account(position_mode=PositionMode.HEDGE),
    )
    accepted(hedge, fill(SELL, "0.1", "1000", ps=LONG), market, crashed)
    refused(hedge, fill(SELL, "0.001", "20000", ps=SHORT), market)  # SHORT opens


@pytest.mark.parametrize(
    "event",
    [deposit("-1"), SetLeverage("BTCUSDT", 10), SetMarginType("ETHUSDT", MarginType.ISOLATED)],
)
def test_other_events_need_no_margin(market: Market, event: Event) -> None:
    account = run([deposit("100"), fill(BUY, "0.1", "20000")], market)
    check_opening_margin(account, event, market, {"BTCUSDT": D("1")})


def test_each_margin_asset_stands_alone(market: Market) -> None:
    # USDC in the wallet does not margin a USDT symbol.
    account = run([WalletTransfer("USDC", D("1000"))], market)
    with pytest.raises(EngineError) as info:
        check_opening_margin(account, fill(BUY, "0.001", "20000"), market, NO_MARKS)
    assert info.value.code == -2019


# -- check_margin: leverage (-2028) and isolated margin moved (-4050, -4051) --------------


def test_a_lower_leverage_needs_its_extra_initial_margin_available(market: Market) -> None:
    # 0.1 BTCUSDT @ 20000 cross 20x, marked at 19000: notional 1900, PIM 95, uPnL −100.
    account = run([deposit("300"), fill(BUY, "0.1", "20000")], market)
    marks = {"BTCUSDT": D("19000")}
    # available = 300 − 100 − 95 = 105; at 10x: 190 − 95 = 95 more (fits); at 9x:
    # 211.11 − 95 = 116.11 more (does not).
    check_margin(account, SetLeverage("BTCUSDT", 10), market, marks)
    with pytest.raises(LeverageMarginInsufficient) as info:
        check_margin(account, SetLeverage("BTCUSDT", 9), market, marks)
    assert (info.value.code, info.value.msg) == (
        -2028,
        "Leverage is smaller than permitted: insufficient margin balance.",
    )
    assert info.value.detail == (
        "BTCUSDT at 9x needs 116.11111111 USDT more initial margin; availableBalance is "
        "105.00000000"
    )
    # Raising the leverage, or a flat symbol, needs nothing.
    check_margin(account, SetLeverage("BTCUSDT", 125), market, marks)
    check_margin(account, SetLeverage("ETHUSDT", 1), market, marks)


def test_both_hedge_sides_count_toward_the_extra_margin(market: Market) -> None:
    account = run(
        [deposit("150"), fill(BUY, "0.1", "20000", ps=LONG), fill(SELL, "0.1", "20000", ps=SHORT)],
        market,
        Account(position_mode=PositionMode.HEDGE),
    )
    # available = 150 − 100 − 100 = −50 < 0: any lower leverage is refused.
    with pytest.raises(LeverageMarginInsufficient):
        check_margin(account, SetLeverage("BTCUSDT", 19), market, NO_MARKS)


def isolated_short(market: Market) -> Account:
    """ETHUSDT isolated 10x short 1 @ 1000: isolated wallet 100, cross wallet 900."""
    return run(
        [
            deposit("1000"),
            SetMarginType("ETHUSDT", MarginType.ISOLATED),
            SetLeverage("ETHUSDT", 10),
            Fill("ETHUSDT", SELL, D("1"), D("1000"), BOTH, D("0"), 1),
        ],
        market,
    )


@pytest.mark.parametrize(
    ("mark", "removable"),
    [
        ("950", "5"),  # 100 + min(0, +50) − 95
        ("1000", "0"),  # 100 + 0 − 100
        ("900", "10"),  # 100 + 0 − 90: a profit is not removable
        ("1050", "0"),  # 100 − 50 − 105 < 0
    ],
)
def test_removable_margin(market: Market, mark: str, removable: str) -> None:
    account = isolated_short(market)
    marks = {"ETHUSDT": D(mark)}
    assert removable_margin(account, "ETHUSDT", BOTH, market, marks) == D(removable)


def test_isolated_margin_moved_within_what_the_marks_allow(market: Market) -> None:
    account = isolated_short(market)
    marks = {"ETHUSDT": D("950")}

    def moved(amount: str) -> IsolatedMarginTransfer:
        return IsolatedMarginTransfer("ETHUSDT", D(amount), BOTH, 2)

    check_margin(account, moved("-5"), market, marks)
    with pytest.raises(IsolatedBalanceInsufficient) as removed:
        check_margin(account, moved("-5.00000001"), market, marks)
    assert removed.value.code == -4051
    # A cross loss lowers what may be added: BTCUSDT long 0.01 @ 20000 marked at 10000.
    crossed = run([fill(BUY, "0.01", "20000")], market, account)
    both = {**marks, "BTCUSDT": D("10000")}
    # available = 900 − 100 − 5 = 795
    check_margin(crossed, moved("795"), market, both)
    with pytest.raises(CrossBalanceInsufficient) as added:
        check_margin(crossed, moved("795.00000001"), market, both)
    assert added.value.code == -4050
