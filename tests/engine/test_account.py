import copy
from dataclasses import replace
from decimal import Decimal

import pytest

from posrisk.engine import (
    Account,
    AccountChange,
    AmountNotPositive,
    BalanceChange,
    CrossBalanceInsufficient,
    EngineError,
    Event,
    ExceedsMaxPosition,
    Fill,
    InvalidLeverage,
    InvalidSymbol,
    InvalidValue,
    IsolatedBalanceInsufficient,
    IsolatedMarginTransfer,
    LeverageReductionIsolated,
    MarginInsufficient,
    MarginType,
    MarginTypeLocked,
    MarginTypeUnchanged,
    Market,
    NotIsolatedPosition,
    Order,
    OrderType,
    PositionIsZero,
    PositionMode,
    PositionModeLocked,
    PositionModeUnchanged,
    PositionSide,
    PositionSideMismatch,
    PrecisionOverMaximum,
    PriceNotPositive,
    QuantityNotPositive,
    ReduceOnlyRejected,
    SetAutoAddMargin,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    SymbolSettings,
    UpdateReason,
    WalletTransfer,
    apply,
    has_open_orders,
)

from .conftest import D, run

BUY, SELL = Side.BUY, Side.SELL
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH


def fill(
    side: Side,
    qty: str,
    price: str,
    fee: str = "0",
    ps: PositionSide = BOTH,
    symbol: str = "BTCUSDT",
    time: int = 1,
) -> Fill:
    return Fill(symbol, side, D(qty), D(price), ps, D(fee), time)


def funded(market: Market, amount: str = "100000", **kwargs: object) -> Account:
    account = Account(**kwargs)  # type: ignore[arg-type]
    return run([WalletTransfer("USDT", D(amount))], market, account)


# --- fills: entry, break-even, realized PnL, flips ----------------------------------


def test_growing_fills_average_the_entry_price(market: Market) -> None:
    account = run(
        [fill(BUY, "1", "100"), fill(BUY, "1", "200"), fill(BUY, "2", "300")],
        market,
        funded(market),
    )
    position = account.position("BTCUSDT", BOTH)
    assert position.amount == D("4")
    assert position.entry_price == D("225")  # (100 + 200 + 600) / 4


def test_a_partial_close_realizes_pnl_and_keeps_the_entry(market: Market) -> None:
    account = run(
        [fill(BUY, "1", "100"), fill(BUY, "1", "200"), fill(SELL, "0.5", "180")],
        market,
        funded(market),
    )
    position = account.position("BTCUSDT", BOTH)
    assert (position.amount, position.entry_price) == (D("1.5"), D("150"))
    assert position.realized_pnl == D("15")  # 0.5 × (180 − 150)


def test_a_short_realizes_with_the_opposite_direction(market: Market) -> None:
    account = run([fill(SELL, "2", "100"), fill(BUY, "1", "90")], market, funded(market))
    position = account.position("BTCUSDT", BOTH)
    assert (position.amount, position.entry_price, position.realized_pnl) == (
        D("-1"),
        D("100"),
        D("10"),
    )


def test_a_one_way_fill_crossing_zero_flips_and_splits_the_fee(market: Market) -> None:
    account = run(
        [fill(BUY, "1.5", "150"), fill(SELL, "2", "120", fee="0.2")], market, funded(market)
    )
    position = account.position("BTCUSDT", BOTH)
    assert position.amount == D("-0.5")
    assert position.entry_price == D("120")
    assert position.realized_pnl == D("-45")  # 1.5 × (120 − 150)
    # 0.2 split pro rata: 0.15 closes, 0.05 opens the short → bep 120 − 0.05/0.5.
    assert position.open_fees == D("0.05")
    assert position.break_even_price == D("119.9")
    assert account.wallet_balance("USDT") == D("100000") - 45 - D("0.2")


def test_a_full_close_returns_to_flat(market: Market) -> None:
    account = run(
        [fill(BUY, "1", "100", fee="0.1"), fill(SELL, "1", "110", fee="0.11")],
        market,
        funded(market),
    )
    position = account.position("BTCUSDT", BOTH)
    assert (position.amount, position.entry_price, position.open_fees) == (0, 0, 0)
    assert position.break_even_price == 0
    assert position.realized_pnl == D("10")


@pytest.mark.parametrize(
    ("symbol", "qty", "price", "fee", "expected"),
    [
        ("ADAUSDT", "30", "0.385", "0.00231", "0.385077"),  # 0.02% fee, Binance's example
        ("BTCUSDT", "0.002", "58039.5", "0.0464316", "58062.7158"),  # a captured live row
    ],
)
def test_break_even_price_adds_the_opening_fees(
    market: Market, symbol: str, qty: str, price: str, fee: str, expected: str
) -> None:
    account = run([fill(BUY, qty, price, fee=fee, symbol=symbol)], market, funded(market))
    assert account.position(symbol, BOTH).break_even_price == D(expected)


def test_a_partial_close_releases_its_share_of_the_opening_fees(market: Market) -> None:
    account = run(
        [fill(SELL, "2", "100", fee="0.4"), fill(BUY, "0.5", "100", fee="0.1")],
        market,
        funded(market),
    )
    position = account.position("BTCUSDT", BOTH)
    assert position.open_fees == D("0.3")
    assert position.break_even_price == D("99.8")  # short: 100 − 0.3/1.5


def test_hedge_mode_keeps_long_and_short_apart(market: Market) -> None:
    account = funded(market, position_mode=PositionMode.HEDGE)
    account = run(
        [
            fill(BUY, "1", "100", ps=LONG),
            fill(SELL, "2", "110", ps=SHORT),
            fill(BUY, "0.5", "105", ps=SHORT),
            fill(SELL, "0.25", "120", ps=LONG),
        ],
        market,
        account,
    )
    long, short = account.position("BTCUSDT", LONG), account.position("BTCUSDT", SHORT)
    assert (long.amount, long.entry_price, long.realized_pnl) == (D("0.75"), 100, D("5"))
    assert (short.amount, short.entry_price, short.realized_pnl) == (D("-1.5"), 110, D("2.5"))


def test_hedge_mode_refuses_to_close_more_than_a_side_holds(market: Market) -> None:
    account = run(
        [fill(BUY, "1", "100", ps=LONG)], market, funded(market, position_mode=PositionMode.HEDGE)
    )
    with pytest.raises(ReduceOnlyRejected) as info:
        apply(account, fill(SELL, "1.5", "100", ps=LONG), market)
    assert info.value.code == -2022
    with pytest.raises(ReduceOnlyRejected):
        apply(account, fill(BUY, "0.1", "100", ps=SHORT), market)


@pytest.mark.parametrize(
    ("mode", "side"),
    [(PositionMode.ONE_WAY, LONG), (PositionMode.ONE_WAY, SHORT), (PositionMode.HEDGE, BOTH)],
)
def test_a_fill_on_the_wrong_side_for_the_mode_is_refused(
    market: Market, mode: PositionMode, side: PositionSide
) -> None:
    account = funded(market, position_mode=mode)
    with pytest.raises(PositionSideMismatch) as info:
        apply(account, fill(BUY, "1", "100", ps=side), market)
    assert (info.value.code, info.value.msg) == (
        -4061,
        "Order's position side does not match user's setting.",
    )


@pytest.mark.parametrize(
    ("event", "error", "code"),
    [
        (fill(BUY, "0", "100"), QuantityNotPositive, -4003),
        (fill(BUY, "-1", "100"), QuantityNotPositive, -4003),
        (fill(BUY, "1", "0"), PriceNotPositive, -4001),
        (fill(BUY, "0.0001", "100"), PrecisionOverMaximum, -1111),
        (fill(BUY, "1", "100", symbol="NOPE"), InvalidSymbol, -1121),
        (Fill("BTCUSDT", BUY, D("NaN"), D("1")), InvalidValue, -1130),
        (fill(BUY, "1", "60000", symbol="BTCUSDT"), None, None),
    ],
)
def test_fill_validation(
    market: Market, event: Fill, error: type[EngineError] | None, code: int | None
) -> None:
    account = funded(market)
    if error is None:
        apply(account, event, market)
        return
    with pytest.raises(error) as info:
        apply(account, event, market)
    assert info.value.code == code


def test_quantities_with_trailing_zeros_are_within_precision(market: Market) -> None:
    account = run([fill(BUY, "0.0010", "100")], market, funded(market))
    assert account.position("BTCUSDT", BOTH).amount == D("0.001")


def test_a_position_over_the_leverage_cap_is_refused(market: Market) -> None:
    account = run([SetLeverage("BTCUSDT", 125)], market, funded(market))
    with pytest.raises(ExceedsMaxPosition) as info:
        apply(account, fill(BUY, "1", "60000"), market)  # 60000 > 50000 at 125x
    assert info.value.code == -2027


# --- wallets -------------------------------------------------------------------------


def test_cross_fills_settle_pnl_and_fees_in_the_wallet(market: Market) -> None:
    account = run(
        [fill(BUY, "1", "100", fee="0.1"), fill(SELL, "1", "110", fee="0.11")],
        market,
        funded(market, "1000"),
    )
    assert account.wallet_balance("USDT") == D("1009.79")
    assert account.cross_wallet_balance("USDT", market) == D("1009.79")


def test_isolated_fills_move_margin_between_cross_and_isolated(market: Market) -> None:
    account = run(
        [SetMarginType("BTCUSDT", MarginType.ISOLATED), SetLeverage("BTCUSDT", 10)],
        market,
        funded(market, "1000"),
    )
    steps = [
        # buy 1 @ 100: IM 10 moves to isolated, then the fee is paid from it
        (fill(BUY, "1", "100", fee="0.1"), "9.9", "999.9", "990"),
        # sell half @ 110: +5 − 0.055 into isolated, then half of it back to cross
        (fill(SELL, "0.5", "110", fee="0.055"), "7.4225", "1004.845", "997.4225"),
        # close the rest @ 90: −5 − 0.045, then everything back
        (fill(SELL, "0.5", "90", fee="0.045"), "0", "999.8", "999.8"),
    ]
    for event, isolated, wallet, cross in steps:
        account = apply(account, event, market).account
        assert account.position("BTCUSDT", BOTH).isolated_wallet == D(isolated)
        assert account.wallet_balance("USDT") == D(wallet)
        assert account.cross_wallet_balance("USDT", market) == D(cross)


def test_an_isolated_flip_returns_the_old_margin_and_posts_new(market: Market) -> None:
    account = run(
        [
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            fill(BUY, "1", "100"),
            fill(SELL, "3", "100"),
        ],
        market,
        funded(market, "1000"),
    )
    position = account.position("BTCUSDT", BOTH)
    assert position.amount == D("-2")
    assert position.isolated_wallet == D("20")
    assert account.cross_wallet_balance("USDT", market) == D("980")


def test_opening_isolated_needs_the_margin_in_the_cross_wallet(market: Market) -> None:
    account = run(
        [SetMarginType("BTCUSDT", MarginType.ISOLATED), SetLeverage("BTCUSDT", 10)],
        market,
        funded(market, "5"),
    )
    with pytest.raises(MarginInsufficient) as info:
        apply(account, fill(BUY, "1", "100"), market)  # needs 10
    assert info.value.code == -2019


def test_deposits_and_withdrawals(market: Market) -> None:
    applied = apply(Account(), WalletTransfer("USDT", D("25")), market)
    assert applied.change == AccountChange(UpdateReason.DEPOSIT, (BalanceChange("USDT", D("25")),))
    applied = apply(applied.account, WalletTransfer("USDT", D("-5")), market)
    assert applied.change.reason is UpdateReason.WITHDRAW
    assert applied.account.wallet_balance("USDT") == D("20")
    with pytest.raises(CrossBalanceInsufficient):
        apply(applied.account, WalletTransfer("USDT", D("-20.01")), market)
    with pytest.raises(InvalidValue, match="'DOGE' is not a margin asset"):
        apply(applied.account, WalletTransfer("DOGE", D("1")), market)
    with pytest.raises(InvalidValue, match="amount"):
        apply(applied.account, WalletTransfer("USDT", D("0")), market)


# --- isolated margin transfers ---------------------------------------------------------


def isolated_long(market: Market) -> Account:
    return run(
        [
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            fill(BUY, "1", "100"),
        ],
        market,
        funded(market, "100"),
    )


def test_isolated_transfers_move_money_both_ways(market: Market) -> None:
    account = isolated_long(market)
    applied = apply(account, IsolatedMarginTransfer("BTCUSDT", D("5"), time=7), market)
    position = applied.account.position("BTCUSDT", BOTH)
    assert (position.isolated_wallet, position.update_time) == (D("15"), 7)
    assert applied.account.cross_wallet_balance("USDT", market) == D("85")
    assert applied.change == AccountChange(
        UpdateReason.MARGIN_TRANSFER, (BalanceChange("USDT"),), (("BTCUSDT", BOTH),)
    )
    account = apply(applied.account, IsolatedMarginTransfer("BTCUSDT", D("-15")), market).account
    assert account.position("BTCUSDT", BOTH).isolated_wallet == 0


@pytest.mark.parametrize(
    ("amount", "error", "code"),
    [
        ("90.01", CrossBalanceInsufficient, -4050),
        ("-10.01", IsolatedBalanceInsufficient, -4051),
        ("0", AmountNotPositive, -4055),
    ],
)
def test_an_isolated_transfer_that_would_make_a_wallet_negative_is_refused(
    market: Market, amount: str, error: type[EngineError], code: int
) -> None:
    account = isolated_long(market)
    with pytest.raises(error) as info:
        apply(account, IsolatedMarginTransfer("BTCUSDT", D(amount)), market)
    assert info.value.code == code


def test_isolated_transfers_need_an_isolated_open_position(market: Market) -> None:
    with pytest.raises(NotIsolatedPosition) as cross:
        apply(funded(market), IsolatedMarginTransfer("BTCUSDT", D("1")), market)
    assert cross.value.code == -4049
    account = run([SetMarginType("BTCUSDT", MarginType.ISOLATED)], market, funded(market))
    with pytest.raises(PositionIsZero) as info:
        apply(account, IsolatedMarginTransfer("BTCUSDT", D("1")), market)
    assert (info.value.code, info.value.msg) == (
        -4054,
        "Cannot add position margin: position is 0.",
    )


# --- settings -------------------------------------------------------------------------


def test_defaults_and_setting_changes(market: Market) -> None:
    btc = market["BTCUSDT"]
    account = Account()
    assert account.settings_for(btc) == SymbolSettings(20, MarginType.CROSS, False)
    assert account.settings_for(market["FTTUSDT"]).leverage == 8
    account = run(
        [
            SetLeverage("BTCUSDT", 125),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetAutoAddMargin("BTCUSDT", True),
        ],
        market,
        account,
    )
    assert account.settings_for(btc) == SymbolSettings(125, MarginType.ISOLATED, True)
    assert account.settings_for(market["ETHUSDT"]) == SymbolSettings(20)


@pytest.mark.parametrize("leverage", [0, -1, 126])
def test_leverage_above_the_first_bracket_is_refused(market: Market, leverage: int) -> None:
    with pytest.raises(InvalidLeverage) as info:
        apply(Account(), SetLeverage("BTCUSDT", leverage), market)
    assert (info.value.code, info.value.msg) == (-4028, f"Leverage {leverage} is not valid")


def test_isolated_leverage_cannot_drop_under_an_open_position(market: Market) -> None:
    account = isolated_long(market)
    with pytest.raises(LeverageReductionIsolated):
        apply(account, SetLeverage("BTCUSDT", 5), market)
    apply(account, SetLeverage("BTCUSDT", 20), market)


def test_leverage_whose_cap_is_below_the_position_is_refused(market: Market) -> None:
    account = run([fill(BUY, "1", "60000")], market, funded(market))
    with pytest.raises(ExceedsMaxPosition):
        apply(account, SetLeverage("BTCUSDT", 125), market)


def test_margin_type_changes(market: Market) -> None:
    with pytest.raises(MarginTypeUnchanged) as unchanged:
        apply(Account(), SetMarginType("BTCUSDT", MarginType.CROSS), market)
    assert unchanged.value.code == -4046
    account = run([fill(BUY, "1", "100")], market, funded(market))
    with pytest.raises(MarginTypeLocked) as locked:
        apply(account, SetMarginType("BTCUSDT", MarginType.ISOLATED), market)
    assert locked.value.code == -4048
    applied = apply(account, SetMarginType("ETHUSDT", MarginType.ISOLATED), market)
    assert applied.change == AccountChange(
        UpdateReason.MARGIN_TYPE_CHANGE, (), (("ETHUSDT", BOTH),)
    )


def test_position_mode_changes(market: Market) -> None:
    with pytest.raises(PositionModeUnchanged) as unchanged:
        apply(Account(), SetPositionMode(PositionMode.ONE_WAY), market)
    assert unchanged.value.code == -4059
    account = run([fill(BUY, "1", "100")], market, funded(market))
    with pytest.raises(PositionModeLocked) as locked:
        apply(account, SetPositionMode(PositionMode.HEDGE), market)
    assert locked.value.code == -4068
    account = run([fill(SELL, "1", "100"), SetPositionMode(PositionMode.HEDGE)], market, account)
    assert account.position_mode is PositionMode.HEDGE
    assert apply(account, SetLeverage("BTCUSDT", 3), market).change.reason is None


def test_a_refused_event_leaves_the_account_exactly_as_it_was(market: Market) -> None:
    account = isolated_long(market)
    before = copy.deepcopy(account)
    refused: list[Event] = [
        fill(SELL, "30", "100", fee="1"),
        IsolatedMarginTransfer("BTCUSDT", D("-99")),
        SetMarginType("BTCUSDT", MarginType.CROSS),
        SetLeverage("BTCUSDT", 1),
        SetPositionMode(PositionMode.HEDGE),
        fill(BUY, "100", "100"),
    ]
    for event in refused:
        with pytest.raises(EngineError):
            apply(account, event, market)
        assert account == before
        assert repr(account) == repr(before)


def test_fills_report_what_changed(market: Market) -> None:
    applied = apply(funded(market), fill(BUY, "1", "100"), market)
    assert applied.change == AccountChange(
        UpdateReason.ORDER, (BalanceChange("USDT"),), (("BTCUSDT", BOTH),)
    )
    assert applied.account.position("BTCUSDT", BOTH).update_time == 1
    assert Decimal(0) == applied.change.balances[0].change


def test_a_fee_keeps_its_digits_for_break_even_and_the_wallet_pays_it_rounded(
    market: Market,
) -> None:
    # Binance's break-even uses the unrounded fee: price × qty × rate to every digit.
    cases = [
        ("BTCUSDT", BUY, "0.002", "91739.9", "0.0005", "91785.76995"),
        ("SOLUSDT", SELL, "1", "70.92841", "0.0004", "70.900038636"),
        ("XRPUSDT", BUY, "10", "2.3483", "0.00045", "2.349356735"),
    ]
    for symbol, side, qty, price, rate, bep in cases:
        fee = D(qty) * D(price) * D(rate)
        event = Fill(symbol, side, D(qty), D(price), BOTH, fee, 1)
        account = apply(funded(market), event, market).account
        assert account.position(symbol, BOTH).break_even_price == D(bep)
        assert account.wallet_balance("USDT") == D("100000") - fee.quantize(D("1E-8"))


def test_money_inputs_have_at_most_8_decimals(market: Market) -> None:
    with pytest.raises(InvalidValue, match="amount"):
        apply(Account(), WalletTransfer("USDT", D("1.000000001")), market)


def test_wallet_amounts_are_rounded_to_8_decimals(market: Market) -> None:
    # Entry (100 + 200 + 200) / 3 = 166.666…; closing 1 at 100 realizes −66.66666667.
    account = run(
        [fill(BUY, "1", "100"), fill(BUY, "2", "200"), fill(SELL, "1", "100")],
        market,
        funded(market, "1000"),
    )
    assert account.position("BTCUSDT", BOTH).realized_pnl == D("-66.66666667")
    assert account.wallet_balance("USDT") == D("933.33333333")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (WalletTransfer("USDT", D("1E+15")), "amount"),
        (WalletTransfer("USDT", D("-1000000000000000")), "amount"),
        (WalletTransfer("USDT", D("99999999999999999999")), "amount"),
        (fill(BUY, "0.001", "100", fee="1000000000000000"), "fee"),
        (fill(BUY, "0.001", "100", fee="-1000000000000000"), "fee"),
        (fill(BUY, "1000000000000000", "1"), "quantity"),
        (fill(BUY, "1", "1000000000000000"), "price"),
        (IsolatedMarginTransfer("BTCUSDT", D("1000000000000000")), "amount"),
    ],
)
def test_every_amount_an_event_carries_is_capped_alike(
    market: Market, event: Event, field: str
) -> None:
    """One cap (1e15, ``numbers.check_amount``) for deposits, withdrawals, fees,
    quantities, prices and isolated transfers, however the event was built."""
    with pytest.raises(InvalidValue) as info:
        apply(funded(market), event, market)
    assert (info.value.code, info.value.field) == (-1130, field)
    assert info.value.msg == f"Data sent for parameter '{field}' is not valid."
    assert "is not below 1000000000000000" in info.value.detail


def test_each_asset_remembers_when_its_wallet_last_changed(market: Market) -> None:
    account = run([WalletTransfer("USDT", D("1000"), 100)], market)
    assert (account.balance_update_time("USDT"), account.balance_update_time("BTC")) == (100, 0)
    # Settings move no wallet; a fill without fee or PnL neither (cross).
    account = run(
        [
            SetLeverage("BTCUSDT", 10, 150),
            SetMarginType("ETHUSDT", MarginType.ISOLATED, 160),
            Fill("BTCUSDT", BUY, D("0.010"), D("20000"), time=200),
        ],
        market,
        account,
    )
    assert account.balance_update_time("USDT") == 100
    # A fee, realized PnL, isolated margin posted, an isolated transfer, a withdrawal.
    steps: list[tuple[Event, int]] = [
        (Fill("BTCUSDT", BUY, D("0.010"), D("20000"), fee=D("0.1"), time=300), 300),
        (Fill("BTCUSDT", SELL, D("0.010"), D("20100"), time=400), 400),
        (Fill("ETHUSDT", BUY, D("0.100"), D("1000"), time=500), 500),
        (IsolatedMarginTransfer("ETHUSDT", D("1"), time=600), 600),
        (WalletTransfer("USDT", D("-1"), 700), 700),
        # Without a time (0) the last one stays.
        (WalletTransfer("USDT", D("1")), 700),
        (WalletTransfer("BTC", D("1"), 800), 700),
    ]
    for event, expected in steps:
        account = run([event], market, account)
        assert account.balance_update_time("USDT") == expected, event
    assert account.balance_update_time("BTC") == 800
    assert dict(account.balance_times) == {"USDT": 700, "BTC": 800}


def test_a_leverage_set_names_itself_even_when_it_changes_nothing(market: Market) -> None:
    applied = apply(Account(), SetLeverage("BTCUSDT", 20), market)  # the default already
    assert applied.change == AccountChange(None, leverage=("BTCUSDT", 20))
    assert applied.account.settings_for(market["BTCUSDT"]).leverage == 20


def test_open_orders_are_checked_after_no_change_and_before_positions(market: Market) -> None:
    assert not has_open_orders(Account())
    account = run([fill(BUY, "1", "100")], market, funded(market))
    order = Order(1000000001, "c", "BTCUSDT", BUY, OrderType.LIMIT, D("1"), D("90"))
    account = replace(account, orders={order.order_id: order})
    assert has_open_orders(account) and has_open_orders(account, "BTCUSDT")
    assert not has_open_orders(account, "ETHUSDT")
    for event, code in (
        (SetMarginType("BTCUSDT", MarginType.CROSS), -4046),
        (SetMarginType("BTCUSDT", MarginType.ISOLATED), -4047),
        (SetPositionMode(PositionMode.ONE_WAY), -4059),
        (SetPositionMode(PositionMode.HEDGE), -4067),
    ):
        with pytest.raises(EngineError) as info:
            apply(account, event, market)
        assert info.value.code == code
