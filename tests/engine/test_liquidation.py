from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from posrisk.engine import (
    Account,
    AccountRisk,
    Event,
    Fill,
    InsuranceClear,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    Side,
    UpdateReason,
    WalletTransfer,
    apply,
    bankruptcy_price,
    is_crossed,
    liquidation_events,
)

from .conftest import D, run

BOTH, LONG, SHORT = PositionSide.BOTH, PositionSide.LONG, PositionSide.SHORT


def test_an_isolated_long_is_closed_at_its_bankruptcy_price(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", Side.BUY, D("1"), D("100"), fee=D("0.1")),
        ],
        market,
    )
    # LP = (9.9 − 100) / (0.004 − 1) = 90.46…: at 91 nothing happens, at 90 it is crossed.
    assert liquidation_events(account, market, {"BTCUSDT": D("91")}, 5) == []
    events = liquidation_events(account, market, {"BTCUSDT": D("90")}, 5)
    assert events == [Fill("BTCUSDT", Side.SELL, D("1"), D("90.1"), BOTH, D("0"), 5)]
    after = run(events, market, account)
    assert after.position("BTCUSDT", BOTH).amount == 0
    assert after.wallet_balance("USDT") == D("990")  # lost exactly the 9.9 of margin
    assert after.cross_wallet_balance("USDT", market) == D("990")


def test_a_cross_long_loses_the_cross_wallet(market: Market) -> None:
    account = run(
        [WalletTransfer("USDT", D("20")), Fill("BTCUSDT", Side.BUY, D("1"), D("100"))], market
    )
    events = liquidation_events(account, market, {"BTCUSDT": D("80")}, 7)
    assert events == [Fill("BTCUSDT", Side.SELL, D("1"), D("80"), BOTH, D("0"), 7)]
    assert run(events, market, account).wallet_balance("USDT") == 0


def test_a_cross_hedge_symbol_is_closed_on_both_sides(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("30")),
            Fill("BTCUSDT", Side.BUY, D("3"), D("100"), LONG),
            Fill("BTCUSDT", Side.SELL, D("1"), D("105"), SHORT),
        ],
        market,
        Account(position_mode=PositionMode.HEDGE),
    )
    events = liquidation_events(account, market, {"BTCUSDT": D("80")}, 1)
    # P = (3·100 − 1·105 − 30) / (3 − 1) = 82.5
    assert events == [
        Fill("BTCUSDT", Side.SELL, D("3"), D("82.5"), LONG, D("0"), 1),
        Fill("BTCUSDT", Side.BUY, D("1"), D("82.5"), SHORT, D("0"), 1),
    ]
    after = run(events, market, account)
    assert after.wallet_balance("USDT") == 0 and not after.open_positions()


def test_a_cross_account_past_bankruptcy_loses_its_wallet_and_no_more(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("20")),
            Fill("BTCUSDT", Side.BUY, D("1"), D("100")),
            Fill("ETHUSDT", Side.SELL, D("1"), D("100")),
        ],
        market,
    )
    marks = {"BTCUSDT": D("60"), "ETHUSDT": D("90")}
    events = liquidation_events(account, market, marks, 1)
    # BTC's bankruptcy price counts ETH's +10: (100 − 20 − 10) / 1 = 70. That leaves the
    # cross wallet at −10 against ETH's +10: ETH is then crossed too, and closed at 90.
    assert events == [
        Fill("BTCUSDT", Side.SELL, D("1"), D("70"), BOTH, D("0"), 1),
        Fill("ETHUSDT", Side.BUY, D("1"), D("90"), BOTH, D("0"), 1),
    ]
    after = run(events, market, account)
    assert after.wallet_balance("USDT") == 0 and not after.open_positions()


def test_the_insurance_fund_event(market: Market) -> None:
    applied = apply(Account(), InsuranceClear("USDT", D("3.5")), market)
    assert applied.account.wallet_balance("USDT") == D("3.5")
    assert applied.change.reason is UpdateReason.INSURANCE_CLEAR
    assert applied.change.balances[0].change == D("3.5")


def test_the_formula() -> None:
    from posrisk.engine import Position

    long = Position("BTCUSDT", BOTH, D("2"), D("100"))
    assert bankruptcy_price(D("50"), D("0"), [long]) == D("75")
    short = Position("BTCUSDT", BOTH, D("-2"), D("100"))
    assert bankruptcy_price(D("50"), D("0"), [short]) == D("125")
    flat = [Position("X", LONG, D("1"), D("1")), Position("X", SHORT, D("-1"), D("1"))]
    assert bankruptcy_price(D("1"), D("0"), flat) is None


@given(
    deposit=st.integers(5, 500),
    qty=st.integers(1, 50),
    price=st.integers(100, 1000),
    drop=st.integers(1, 99),
    isolated=st.booleans(),
    short=st.booleans(),
)
def test_after_liquidation_nothing_is_crossed_and_no_wallet_is_negative(
    deposit: int, qty: int, price: int, drop: int, isolated: bool, short: bool
) -> None:
    market = Market.default()
    setup: list[Event] = [WalletTransfer("USDT", Decimal(deposit)), SetLeverage("BTCUSDT", 20)]
    if isolated:
        setup.append(SetMarginType("BTCUSDT", MarginType.ISOLATED))
    side = Side.SELL if short else Side.BUY
    account = Account()
    for event in setup:
        account = apply(account, event, market).account
    try:
        account = apply(
            account, Fill("BTCUSDT", side, Decimal(qty).scaleb(-3), Decimal(price)), market
        ).account
    except Exception:
        return  # not enough margin for the isolated opening
    move = Decimal(price) * Decimal(drop) / 100
    marks = {"BTCUSDT": Decimal(price) + (move if short else -move)}
    events = liquidation_events(account, market, marks, 1)
    for event in events:
        account = apply(account, event, market).account
    assert not any(is_crossed(row) for row in AccountRisk(account, market, marks).open_rows())
    assert account.wallet_balance("USDT") >= 0
