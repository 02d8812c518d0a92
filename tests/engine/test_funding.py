from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posrisk.engine import (
    Account,
    AccountChange,
    BalanceChange,
    Event,
    Fill,
    FundingFee,
    InvalidValue,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    PositionSideMismatch,
    SetMarginType,
    SetPositionMode,
    Side,
    UpdateReason,
    WalletTransfer,
    apply,
)
from posrisk.engine.funding import (
    FundingSchedule,
    SymbolFunding,
    due_funding_times,
    funding_events,
    is_funding_time,
    next_funding_time,
    side_fee,
    symbol_funding_events,
)

from .conftest import D, run

HOUR = 3_600_000


def test_funding_is_due_at_whole_intervals_from_midnight_utc() -> None:
    assert next_funding_time(0, 8) == 8 * HOUR
    assert next_funding_time(8 * HOUR - 1, 8) == 8 * HOUR
    assert next_funding_time(8 * HOUR, 8) == 16 * HOUR  # strictly after
    assert next_funding_time(5 * HOUR, 4) == 8 * HOUR


def test_a_schedule_gives_the_defaults_unless_a_symbol_differs() -> None:
    schedule = FundingSchedule({"ETHUSDT": SymbolFunding(D("0.05"), interval_hours=4)})
    assert schedule.of("BTCUSDT").clamped_rate == D("0.0001")
    assert schedule.of("BTCUSDT").is_default
    eth = schedule.of("ETHUSDT")
    assert eth.clamped_rate == D("0.02") and not eth.is_default  # clamped to the cap
    assert schedule.next_time("ETHUSDT", 5 * HOUR) == 8 * HOUR
    assert SymbolFunding(D("-0.5")).clamped_rate == D("-0.02")


# -- settlement ---------------------------------------------------------------------------

T = 8 * HOUR  # a funding time of every interval that divides 8 h
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH
BTC_MARK = {"BTCUSDT": D("92000")}


def _holding(
    market: Market, *events: Event, hedge: bool = False, isolated: bool = False
) -> Account:
    setup: list[Event] = [WalletTransfer("USDT", D("100000"))]
    if hedge:
        setup.append(SetPositionMode(PositionMode.HEDGE))
    if isolated:
        setup += [SetMarginType("BTCUSDT", MarginType.ISOLATED)]
    return run([*setup, *events], market)


def _settle(account: Account, market: Market, events: list[FundingFee]) -> Account:
    for event in events:
        account = apply(account, event, market).account
    return account


def test_a_long_pays_a_positive_rate_into_its_cross_wallet(market: Market) -> None:
    account = _holding(market, Fill("BTCUSDT", Side.BUY, D("0.002"), D("90000")))
    events = funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    assert events == [FundingFee("BTCUSDT", T, D("0.0001"), D("92000"), ((BOTH, D("-0.0184")),), T)]
    applied = apply(account, events[0], market)
    assert applied.account.wallet_balance("USDT") == D("99999.9816")
    assert applied.account.balance_update_time("USDT") == T
    assert applied.change == AccountChange(
        UpdateReason.FUNDING_FEE, (BalanceChange("USDT", D("-0.0184")),)
    )
    assert applied.account.positions == account.positions  # cross: no position moves


def test_a_short_receives_a_positive_rate_and_pays_a_negative_one(market: Market) -> None:
    account = _holding(market, Fill("BTCUSDT", Side.SELL, D("0.002"), D("90000")))
    [event] = funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    assert event.fees == ((BOTH, D("0.0184")),)
    negative = FundingSchedule({"BTCUSDT": SymbolFunding(D("-0.0003"))})
    [event] = funding_events(account, market, BTC_MARK, negative, T)
    assert (event.rate, event.fees) == (D("-0.0003"), ((BOTH, D("-0.0552")),))
    after = apply(account, event, market).account
    assert after.wallet_balance("USDT") == D("99999.9448")


def test_hedge_cross_sides_settle_in_one_event(market: Market) -> None:
    account = _holding(
        market,
        Fill("BTCUSDT", Side.BUY, D("0.003"), D("90000"), LONG),
        Fill("BTCUSDT", Side.SELL, D("0.001"), D("90000"), SHORT),
        hedge=True,
    )
    [event] = funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    assert event.fees == ((LONG, D("-0.0276")), (SHORT, D("0.0092")))
    applied = apply(account, event, market)
    assert applied.change.balances == (BalanceChange("USDT", D("-0.0184")),)
    assert applied.change.positions == ()


def test_isolated_sides_settle_one_event_each_into_their_wallets(market: Market) -> None:
    account = _holding(
        market,
        Fill("BTCUSDT", Side.BUY, D("0.003"), D("90000"), LONG),
        Fill("BTCUSDT", Side.SELL, D("0.001"), D("90000"), SHORT),
        hedge=True,
        isolated=True,
    )
    events = funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    assert [e.fees for e in events] == [((LONG, D("-0.0276")),), ((SHORT, D("0.0092")),)]
    applied = apply(account, events[0], market)
    assert applied.change == AccountChange(
        UpdateReason.FUNDING_FEE,
        (BalanceChange("USDT", D("-0.0276")),),
        (("BTCUSDT", LONG),),
    )
    long_before = account.position("BTCUSDT", LONG)
    long_after = applied.account.position("BTCUSDT", LONG)
    assert long_after.isolated_wallet == long_before.isolated_wallet - D("0.0276")
    assert long_after.update_time == T
    cross_before = account.cross_wallet_balance("USDT", market)
    after = _settle(account, market, events)
    assert after.wallet_balance("USDT") == account.wallet_balance("USDT") - D("0.0184")
    assert after.cross_wallet_balance("USDT", market) == cross_before  # only isolated moved
    short = after.position("BTCUSDT", SHORT)
    assert short.isolated_wallet == account.position("BTCUSDT", SHORT).isolated_wallet + D("0.0092")


def test_flat_sides_and_symbols_without_a_mark_settle_nothing(market: Market) -> None:
    account = _holding(
        market,
        Fill("BTCUSDT", Side.BUY, D("0.002"), D("90000")),
        Fill("BTCUSDT", Side.SELL, D("0.002"), D("91000")),  # flat again
        Fill("ETHUSDT", Side.BUY, D("1"), D("3000")),
    )
    marks = {"BTCUSDT": D("92000")}  # ETHUSDT has none
    assert funding_events(account, market, marks, FundingSchedule(), T) == []
    # A fee that rounds to 0 moves nothing.
    tiny = FundingSchedule({"ETHUSDT": SymbolFunding(D("0.000000000001"))})
    assert funding_events(account, market, {"ETHUSDT": D("3000")}, tiny, T) == []


def test_symbols_settle_at_their_own_intervals_in_market_order(market: Market) -> None:
    account = _holding(
        market,
        Fill("ETHUSDT", Side.BUY, D("1"), D("3000")),
        Fill("BTCUSDT", Side.SELL, D("0.002"), D("90000")),
    )
    schedule = FundingSchedule({"ETHUSDT": SymbolFunding(interval_hours=4)})
    marks = {"BTCUSDT": D("92000"), "ETHUSDT": D("3100")}
    assert [e.symbol for e in funding_events(account, market, marks, schedule, 4 * HOUR)] == [
        "ETHUSDT"
    ]
    events = funding_events(account, market, marks, schedule, 8 * HOUR)
    assert [(e.symbol, e.fees) for e in events] == [
        ("BTCUSDT", ((BOTH, D("0.0184")),)),
        ("ETHUSDT", ((BOTH, D("-0.31")),)),
    ]
    assert funding_events(account, market, marks, schedule, 8 * HOUR + 1) == []


def test_due_funding_times_lists_those_after_the_last_settled_up_to_now() -> None:
    schedule = FundingSchedule({"ETHUSDT": SymbolFunding(interval_hours=4)})
    assert due_funding_times(schedule, "BTCUSDT", 8 * HOUR, 24 * HOUR) == [16 * HOUR, 24 * HOUR]
    assert due_funding_times(schedule, "BTCUSDT", 8 * HOUR, 24 * HOUR - 1) == [16 * HOUR]
    assert due_funding_times(schedule, "ETHUSDT", 5 * HOUR, 12 * HOUR) == [8 * HOUR, 12 * HOUR]
    assert due_funding_times(schedule, "BTCUSDT", 8 * HOUR, 8 * HOUR) == []
    assert is_funding_time(schedule, "ETHUSDT", 4 * HOUR)
    assert not is_funding_time(schedule, "BTCUSDT", 4 * HOUR)


def test_side_fee_rounds_half_even_to_8_decimals() -> None:
    assert side_fee(D("0.002"), D("92000"), D("0.0001")) == D("-0.0184")
    assert side_fee(D("-0.001"), D("250"), D("0.0000001")) == D("0.00000002")  # 2.5 → 2
    assert side_fee(D("-0.001"), D("350"), D("0.0000001")) == D("0.00000004")  # 3.5 → 4


def test_a_settlement_that_is_not_what_the_positions_give_is_refused(market: Market) -> None:
    account = _holding(
        market,
        Fill("BTCUSDT", Side.BUY, D("0.003"), D("90000"), LONG),
        Fill("BTCUSDT", Side.SELL, D("0.001"), D("90000"), SHORT),
        hedge=True,
    )
    rate, mark = D("0.0001"), D("92000")
    good = ((LONG, D("-0.0276")), (SHORT, D("0.0092")))
    wrong: list[FundingFee] = [
        FundingFee("BTCUSDT", T, rate, mark, ((LONG, D("-0.0275")), good[1])),  # amount
        FundingFee("BTCUSDT", T, rate, mark, good[:1]),  # a cross side left out
        FundingFee("BTCUSDT", T, rate, mark, (*good, good[0])),  # a side twice
        FundingFee("BTCUSDT", T, rate, mark, ()),
        FundingFee("BTCUSDT", T, rate, D("91000"), good),  # not at this mark
        FundingFee("BTCUSDT", T, rate, D("0"), ((LONG, D("0")), (SHORT, D("0")))),
        FundingFee("BTCUSDT", T, D("NaN"), mark, good),
        FundingFee("ETHUSDT", T, rate, mark, good),  # no position there
    ]
    for event in wrong:
        with pytest.raises(InvalidValue):
            apply(account, event, market)
    with pytest.raises(PositionSideMismatch):
        apply(account, FundingFee("BTCUSDT", T, rate, mark, ((BOTH, D("0")),)), market)
    assert apply(account, FundingFee("BTCUSDT", T, rate, mark, good), market)
    isolated = _holding(
        market,
        Fill("BTCUSDT", Side.BUY, D("0.003"), D("90000"), LONG),
        Fill("BTCUSDT", Side.SELL, D("0.001"), D("90000"), SHORT),
        hedge=True,
        isolated=True,
    )
    for event in [
        FundingFee("BTCUSDT", T, rate, mark, good),  # isolated sides settle one at a time
        FundingFee("BTCUSDT", T, rate, mark, ((LONG, D("0")),)),
    ]:
        with pytest.raises(InvalidValue):
            apply(isolated, event, market)
    assert apply(isolated, FundingFee("BTCUSDT", T, rate, mark, good[1:]), market)


# -- money is conserved --------------------------------------------------------------------

_Q8 = D("0.00000001")
_amounts = st.integers(min_value=-3000, max_value=3000).map(lambda n: Decimal(n).scaleb(-3))


@st.composite
def _books(draw: st.DrawFn) -> list[tuple[bool, bool, Decimal, Decimal]]:
    """Accounts as (hedge, isolated, first side amount, second side amount)."""
    return draw(st.lists(st.tuples(st.booleans(), st.booleans(), _amounts, _amounts), max_size=5))


def _account(market: Market, hedge: bool, isolated: bool, a: Decimal, b: Decimal) -> Account:
    fills: list[Event] = []
    if hedge:
        for side, qty in ((LONG, abs(a)), (SHORT, abs(b))):
            if qty:
                buy = Side.BUY if side is LONG else Side.SELL
                fills.append(Fill("BTCUSDT", buy, qty, D("50000"), side))
    elif a:
        fills.append(Fill("BTCUSDT", Side.BUY if a > 0 else Side.SELL, abs(a), D("50000")))
    return _holding(market, *fills, hedge=hedge, isolated=isolated)


@settings(deadline=None, max_examples=60)
@given(
    _books(),
    st.decimals(min_value=D("1"), max_value=D("200000"), places=2),
    st.decimals(min_value=D("-0.02"), max_value=D("0.02"), places=8),
)
def test_money_is_conserved(
    market: Market, books: list[tuple[bool, bool, Decimal, Decimal]], mark: Decimal, rate: Decimal
) -> None:
    schedule = FundingSchedule({"BTCUSDT": SymbolFunding(rate)})
    paid = expected = Decimal(0)
    for book in books:
        account = _account(market, *book)
        events = funding_events(account, market, {"BTCUSDT": mark}, schedule, T)
        after = _settle(account, market, events)
        paid += after.wallet_balance("USDT") - account.wallet_balance("USDT")
        for position in account.open_positions():
            expected += (-position.amount * mark * rate).quantize(_Q8, ROUND_HALF_EVEN)
            moved = after.position("BTCUSDT", position.side).isolated_wallet
            fee = sum((f for e in events for s, f in e.fees if s is position.side), Decimal(0))
            assert moved - position.isolated_wallet == (fee if book[1] else 0)
        cross_moved = after.cross_wallet_balance("USDT", market) - account.cross_wallet_balance(
            "USDT", market
        )
        assert cross_moved == (0 if book[1] else paid_by(events))
    assert paid == expected


def paid_by(events: list[FundingFee]) -> Decimal:
    return sum((fee for event in events for _, fee in event.fees), Decimal(0))


# -- exactly once --------------------------------------------------------------------------


def test_a_side_settles_a_funding_time_once(market: Market) -> None:
    account = _holding(market, Fill("BTCUSDT", Side.BUY, D("0.002"), D("90000")))
    [event] = funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    paid = apply(account, event, market).account
    assert paid.funded == {("BTCUSDT", BOTH): T}
    with pytest.raises(InvalidValue, match="already settled funding at"):
        apply(paid, event, market)
    earlier = FundingFee("BTCUSDT", T - 8 * HOUR, D("0.0001"), D("92000"), event.fees)
    with pytest.raises(InvalidValue, match="fundingTime"):
        apply(paid, earlier, market)
    # Tried again (another gateway, a restart): nothing is left to pay.
    assert funding_events(paid, market, BTC_MARK, FundingSchedule(), T) == []
    assert symbol_funding_events(paid, market, "BTCUSDT", T, D("0.0001"), D("92000")) == []
    # The next funding time pays again.
    [later] = funding_events(paid, market, BTC_MARK, FundingSchedule(), T + 8 * HOUR)
    assert later.fees == event.fees


def test_a_position_opened_after_the_last_funding_time_pays_the_next_in_full(
    market: Market,
) -> None:
    account = _holding(market, Fill("BTCUSDT", Side.BUY, D("0.002"), D("90000")))
    account = _settle(
        account, market, funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    )
    # Opened an hour after T: nothing pro rata, the whole fee at T + 8 h.
    newcomer = _holding(market, Fill("BTCUSDT", Side.BUY, D("0.002"), D("90000"), time=T + HOUR))
    assert newcomer.funded == {}
    for holder in (account, newcomer):
        [event] = funding_events(holder, market, BTC_MARK, FundingSchedule(), T + 8 * HOUR)
        assert event.fees == ((BOTH, D("-0.0184")),)


def test_hedge_sides_remember_their_own_settlements(market: Market) -> None:
    account = _holding(market, Fill("BTCUSDT", Side.BUY, D("0.003"), D("90000"), LONG), hedge=True)
    account = _settle(
        account, market, funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    )
    # A short opened after the long settled T settles T on its own if T is tried again.
    account = apply(
        account, Fill("BTCUSDT", Side.SELL, D("0.001"), D("90000"), SHORT), market
    ).account
    [event] = funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    assert event.fees == ((SHORT, D("0.0092")),)
    with pytest.raises(InvalidValue, match="LONG already settled"):
        apply(
            account,
            FundingFee(
                "BTCUSDT", T, D("0.0001"), D("92000"), ((LONG, D("-0.0276")), event.fees[0])
            ),
            market,
        )


def test_replay_rebuilds_what_each_side_settled(market: Market) -> None:
    setup: list[Event] = [
        WalletTransfer("USDT", D("100000")),
        SetPositionMode(PositionMode.HEDGE),
        SetMarginType("BTCUSDT", MarginType.ISOLATED),
        Fill("BTCUSDT", Side.BUY, D("0.003"), D("90000"), LONG),
        Fill("BTCUSDT", Side.SELL, D("0.001"), D("90000"), SHORT),
    ]
    account = run(setup, market)
    events = funding_events(account, market, BTC_MARK, FundingSchedule(), T)
    live = _settle(account, market, events)
    replayed = run([*setup, *events], market)
    assert replayed == live
    assert replayed.funded == {("BTCUSDT", LONG): T, ("BTCUSDT", SHORT): T}
    with pytest.raises(InvalidValue):
        run([*setup, *events, events[0]], market)


@settings(deadline=None, max_examples=60)
@given(
    _books(),
    st.decimals(min_value=D("1"), max_value=D("200000"), places=2),
    st.decimals(min_value=D("-0.02"), max_value=D("0.02"), places=8),
)
def test_fees_are_minus_rate_times_signed_notional_and_paid_once(
    market: Market, books: list[tuple[bool, bool, Decimal, Decimal]], mark: Decimal, rate: Decimal
) -> None:
    paid = notional = Decimal(0)
    sides = 0
    for book in books:
        account = _account(market, *book)
        events = symbol_funding_events(account, market, "BTCUSDT", T, rate, mark)
        after = _settle(account, market, events)
        assert symbol_funding_events(after, market, "BTCUSDT", T, rate, mark) == []
        paid += after.wallet_balance("USDT") - account.wallet_balance("USDT")
        for position in account.open_positions():
            notional += position.amount * mark
            sides += 1
    # Each side's fee is rounded to 8 decimals: at most half a unit off each.
    assert abs(paid - (-rate * notional)) <= sides * _Q8 / 2
