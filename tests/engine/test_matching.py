"""Placing, matching, amending and canceling orders against the mark (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from posrisk.engine import (
    Account,
    EngineError,
    Execution,
    Market,
    Matched,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    Side,
    TimeInForce,
    WalletTransfer,
    apply,
    cancel_order,
    fills_on_mark,
    liquidation_updates,
    modify_order,
    place_order,
)
from posrisk.engine.events import MarginType

from .conftest import D, run

BUY, SELL = Side.BUY, Side.SELL
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC, FOK, GTX = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTX


@dataclass
class Ids:
    order: int = 1000000000
    trade: int = 1000000000

    def next_order_id(self) -> int:
        self.order += 1
        return self.order

    def next_trade_id(self) -> int:
        self.trade += 1
        return self.trade


def funded(
    market: Market, amount: str = "100000", mode: PositionMode = PositionMode.ONE_WAY
) -> Account:
    return run([WalletTransfer("USDT", D(amount))], market, Account(position_mode=mode))


def req(
    side: Side,
    qty: str,
    price: str | None = None,
    *,
    type: OrderType | None = None,
    tif: TimeInForce | None = None,
    symbol: str = "BTCUSDT",
    ps: PositionSide | None = None,
    reduce_only: bool = False,
    cid: str = "c1",
    match: str = "NONE",
) -> OrderRequest:
    kind = type or (LIMIT if price is not None or match != "NONE" else MARKET)
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=kind,
        client_order_id=cid,
        quantity=D(qty),
        price=None if price is None else D(price),
        position_side=ps,
        time_in_force=tif or (GTC if kind is LIMIT else None),
        reduce_only=reduce_only,
        price_match=match,
    )


# One id source for the module: an order placed on a state that holds others gets a new id.
IDS = Ids()


def place(
    account: Account, request: OrderRequest, market: Market, mark: str, now: int = 10
) -> Matched:
    return place_order(account, request, market, {request.symbol: D(mark)}, ids=IDS, now=now)


def code_of(call: Callable[[], object]) -> int:
    with pytest.raises(EngineError) as info:
        call()
    return info.value.code


# -- immediate fills -----------------------------------------------------------------


def test_a_market_buy_fills_in_full_at_the_ask_as_taker(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.002"), market, "91739.9")
    new, trade = matched.events
    assert new.execution is Execution.NEW and new.order.status is OrderStatus.NEW
    assert trade.execution is Execution.TRADE and trade.trade is not None
    assert trade.order.status is OrderStatus.FILLED
    assert trade.trade.price == D("91739.9") and not trade.trade.maker
    assert trade.trade.fee == D("0.002") * D("91739.9") * D("0.0005")
    position = matched.account.position("BTCUSDT", BOTH)
    # The live capture: a taker BUY 0.002 @ 91739.9 shows breakEvenPrice 91785.76995.
    assert position.break_even_price == D("91785.76995")
    assert matched.account.wallet_balance("USDT") == D("100000") - D("0.09173990")


def test_the_touch_rounds_the_mark_to_the_tick_away_from_the_buyer(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.01"), market, "50000.001")
    assert matched.events[-1].trade.price == D("50000.01")  # type: ignore[union-attr]
    matched = place(funded(market), req(SELL, "0.01"), market, "50000.009")
    assert matched.events[-1].trade.price == D("50000.00")  # type: ignore[union-attr]


def test_a_marketable_limit_fills_at_the_touch_not_its_price(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.01", "50100"), market, "50000")
    assert matched.events[-1].trade.price == D("50000")  # type: ignore[union-attr]
    assert matched.events[-1].order.status is OrderStatus.FILLED


# -- resting, maker fills ------------------------------------------------------------


def test_a_limit_below_the_ask_rests_and_fills_at_its_own_price_as_maker(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.01", "49000"), market, "50000")
    (new,) = matched.events
    account = matched.account
    assert list(account.orders) == [new.order.order_id]
    assert (
        fills_on_mark(account, "BTCUSDT", market, {"BTCUSDT": D("49500")}, ids=IDS, now=20).events
        == []
    )
    filled = fills_on_mark(account, "BTCUSDT", market, {"BTCUSDT": D("48000")}, ids=IDS, now=20)
    (trade,) = filled.events
    assert trade.trade is not None and trade.trade.price == D("49000") and trade.trade.maker
    assert trade.trade.fee == D("0.01") * D("49000") * D("0.0002")
    assert not filled.account.orders
    assert filled.account.position("BTCUSDT", BOTH).amount == D("0.01")


def test_ioc_that_does_not_reach_expires_with_reason_2(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.01", "49000", tif=IOC), market, "50000")
    _new, expired = matched.events
    assert expired.execution is Execution.EXPIRED and expired.expire_reason == 2
    assert not matched.account.orders


def test_fok_that_cannot_fill_and_post_only_that_would_take_are_refused(market: Market) -> None:
    account = funded(market)
    assert (
        code_of(lambda: place(account, req(BUY, "0.01", "49000", tif=FOK), market, "50000"))
        == -5021
    )
    assert (
        code_of(lambda: place(account, req(BUY, "0.01", "50001", tif=GTX), market, "50000"))
        == -5022
    )
    posted = place(account, req(BUY, "0.01", "49999", tif=GTX), market, "50000")
    assert posted.events[-1].order.status is OrderStatus.NEW


# -- refusals ------------------------------------------------------------------------


def test_refusals_carry_binances_codes(market: Market) -> None:
    account = funded(market)
    hedge = funded(market, mode=PositionMode.HEDGE)
    cases = [
        (account, req(BUY, "0.01", "49000", ps=LONG), "50000", -4061),
        (hedge, req(BUY, "0.01", "49000"), "50000", -4061),
        (hedge, req(BUY, "0.01", "49000", ps=LONG, reduce_only=True), "50000", -1106),
        (account, req(BUY, "0.01", "49000.001"), "50000", -1111),
        (account, req(BUY, "0.0001", "49000"), "50000", -1111),
        (account, req(BUY, "0.01", "60000"), "50000", -4016),
        (account, req(SELL, "0.01", "40000"), "50000", -4024),
        (account, req(BUY, "0.0001"), "50000", -1111),
        (account, req(BUY, "0.001", "1000"), "1000", -4164),
        (account, req(SELL, "0.01", reduce_only=True), "50000", -2022),
        (account, req(BUY, "50"), "50000", -2019),
        (funded(market, "1000000000"), req(BUY, "5000"), "50000", -2027),
    ]
    for state, request, mark, code in cases:
        with pytest.raises(EngineError) as info:
            place(state, request, market, mark)
        assert info.value.code == code, request
    no_mark = lambda: place_order(account, req(BUY, "0.01"), market, {}, ids=IDS, now=1)  # noqa: E731
    assert code_of(no_mark) == -2020


def test_a_client_id_is_unique_among_open_orders(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.01", "49000", cid="same"), market, "50000")
    again = lambda: place(matched.account, req(BUY, "0.01", "48000", cid="same"), market, "50000")  # noqa: E731
    assert code_of(again) == -4116
    canceled = apply(
        matched.account,
        cancel_order(matched.account, "BTCUSDT", client_order_id="same", now=11),
        market,
    ).account
    assert place(canceled, req(BUY, "0.01", "48000", cid="same"), market, "50000").events


def test_resting_orders_hold_margin_for_the_next_placement(market: Market) -> None:
    # 1000 USDT at 20x: 0.3 BTC @ 49000 holds 735; another 0.3 needs 735 more: -2019.
    first = place(funded(market, "1000"), req(BUY, "0.3", "49000"), market, "50000")
    second = lambda: place(first.account, req(BUY, "0.3", "49000", cid="c2"), market, "50000")  # noqa: E731
    assert code_of(second) == -2019


# -- reduce-only and hedge closes ----------------------------------------------------


def test_a_reduce_only_order_larger_than_the_position_is_clipped(market: Market) -> None:
    long = place(funded(market), req(BUY, "0.01"), market, "50000").account
    matched = place(long, req(SELL, "0.03", reduce_only=True, cid="r"), market, "50000")
    _new, trade, expired = matched.events
    assert trade.trade is not None and trade.trade.quantity == D("0.01")
    assert trade.order.status is OrderStatus.PARTIALLY_FILLED
    assert expired.order.status is OrderStatus.EXPIRED and expired.expire_reason == 4
    assert matched.account.position("BTCUSDT", BOTH).amount == 0


def test_hedge_closes_beyond_the_side_net_of_open_closes_are_refused(market: Market) -> None:
    hedge = funded(market, mode=PositionMode.HEDGE)
    held = place(hedge, req(BUY, "0.02", ps=LONG), market, "50000").account
    rest = place(held, req(SELL, "0.015", "51000", ps=LONG, cid="a"), market, "50000").account
    over = lambda: place(rest, req(SELL, "0.01", "51000", ps=LONG, cid="b"), market, "50000")  # noqa: E731
    assert code_of(over) == -2022
    assert place(rest, req(SELL, "0.005", "51000", ps=LONG, cid="b"), market, "50000").events


def test_a_one_way_flip_through_an_order(market: Market) -> None:
    long = place(funded(market), req(BUY, "0.01"), market, "50000").account
    flipped = place(long, req(SELL, "0.03", cid="f"), market, "51000").account
    position = flipped.position("BTCUSDT", BOTH)
    assert position.amount == D("-0.02") and position.entry_price == D("51000")
    assert position.realized_pnl == D("10")


def test_isolated_orders_move_margin_from_the_cross_wallet(market: Market) -> None:
    account = run(
        [SetMarginType("BTCUSDT", MarginType.ISOLATED), SetLeverage("BTCUSDT", 10)],
        market,
        funded(market),
    )
    matched = place(account, req(BUY, "0.1"), market, "50000")
    position = matched.account.position("BTCUSDT", BOTH)
    fee = D("0.1") * D("50000") * D("0.0005")
    assert position.isolated_wallet == D("500") - fee


# -- cancel, modify ------------------------------------------------------------------


def test_cancel_and_unknown_orders(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.01", "49000"), market, "50000")
    order_id = matched.events[0].order.order_id
    update = cancel_order(matched.account, "BTCUSDT", order_id=order_id, now=11)
    assert update.execution is Execution.CANCELED and update.order.status is OrderStatus.CANCELED
    after = apply(matched.account, update, market).account
    assert code_of(lambda: cancel_order(after, "BTCUSDT", order_id=order_id, now=12)) == -2011
    assert (
        code_of(lambda: cancel_order(matched.account, "ETHUSDT", order_id=order_id, now=12))
        == -2011
    )


def test_modify_amends_then_fills_when_made_marketable(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.01", "49000"), market, "50000")
    order_id = matched.events[0].order.order_id
    marks = {"BTCUSDT": D("50000")}

    def same():
        return modify_order(
            matched.account,
            req(BUY, "0.01", "49000"),
            market,
            marks,
            order_id=order_id,
            ids=Ids(),
            now=12,
        )

    assert code_of(same) == -5027

    def side():
        return modify_order(
            matched.account,
            req(SELL, "0.01", "49500"),
            market,
            marks,
            order_id=order_id,
            ids=Ids(),
            now=12,
        )

    assert code_of(side) == -1130
    moved = modify_order(
        matched.account,
        req(BUY, "0.02", "49500"),
        market,
        marks,
        order_id=order_id,
        ids=Ids(),
        now=12,
    )
    (amended,) = moved.events
    assert amended.execution is Execution.AMENDMENT and amended.order.quantity == D("0.02")
    assert amended.order.modify_count == 1
    taken = modify_order(
        moved.account,
        req(BUY, "0.02", "50100"),
        market,
        marks,
        order_id=order_id,
        ids=Ids(),
        now=13,
    )
    assert [e.execution for e in taken.events] == [Execution.AMENDMENT, Execution.TRADE]
    assert taken.events[-1].trade.price == D("50000")  # type: ignore[union-attr]
    assert (
        code_of(
            lambda: modify_order(
                taken.account,
                req(BUY, "0.02", "49000"),
                market,
                marks,
                order_id=order_id,
                ids=Ids(),
                now=14,
            )
        )
        == -2013
    )


def test_price_match_sets_the_price_from_the_touch(market: Market) -> None:
    account = funded(market)
    queue = place(account, req(BUY, "0.01", match="QUEUE_5"), market, "50000")
    assert queue.events[0].order.price == D("49999.96")
    opponent = place(account, req(SELL, "0.01", match="OPPONENT"), market, "50000")
    assert opponent.events[-1].order.status is OrderStatus.FILLED


# -- liquidation ---------------------------------------------------------------------


def test_a_liquidation_expires_open_orders_then_closes_by_a_liquidation_order(
    market: Market,
) -> None:
    long = place(funded(market, "600"), req(BUY, "0.2"), market, "50000").account
    resting = place(long, req(SELL, "0.1", "60000", cid="tp"), market, "50000").account
    events = liquidation_updates(resting, market, {"BTCUSDT": D("47000")}, ids=IDS, now=30)
    expired = events[0]
    assert isinstance(expired, OrderUpdate) and expired.expire_reason == 5
    close = next(
        e for e in events if isinstance(e, OrderUpdate) and e.execution is Execution.CALCULATED
    )
    assert close.order.type is OrderType.LIQUIDATION
    assert close.order.client_order_id == "autoclose-30"
    state = run(events, market, resting)
    assert not state.orders and state.position("BTCUSDT", BOTH).amount == 0


# -- properties ----------------------------------------------------------------------

_step = st.one_of(
    st.tuples(
        st.just("order"),
        st.sampled_from([BUY, SELL]),
        st.integers(1, 30),
        st.integers(-300, 300),
        st.booleans(),
        st.booleans(),
    ),
    st.tuples(st.just("mark"), st.integers(-400, 400)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_step, max_size=25))
@example(  # one tick fills a reduce-only SELL to flat, then a plain SELL opens a short
    [
        ("order", BUY, 2, 0, False, False),
        ("order", SELL, 2, 1, True, True),
        ("order", SELL, 3, 1, True, False),
        ("mark", 1),
    ]
)
def test_orders_conserve_money_never_fill_worse_than_their_limit_and_reduce_only_never_grows(
    market: Market, steps: list[tuple[object, ...]]
) -> None:
    account = funded(market, "1000000")
    mark = D("50000")
    fees = realized = D("0")
    ids = Ids()
    for n, step in enumerate(steps):
        if step[0] == "mark":
            mark = D("50000") + Decimal(cast(int, step[1])) * 10
            matched = fills_on_mark(account, "BTCUSDT", market, {"BTCUSDT": mark}, ids=ids, now=n)
        else:
            _, side, qty, offset, limit, reduce = step
            price = str(mark + Decimal(cast(int, offset)) * 5) if limit else None
            quantity = str(Decimal(cast(int, qty)) / 1000)
            request = req(cast(Side, side), quantity, price, reduce_only=bool(reduce), cid=f"c{n}")
            before = account
            try:
                matched = place_order(account, request, market, {"BTCUSDT": mark}, ids=ids, now=n)
            except EngineError:
                assert account == before  # a refusal leaves the state as it was
                continue
        # The position as each trade of this step finds it (one tick may fill several).
        running = account.position("BTCUSDT", BOTH).amount
        for update in matched.events:
            trade = update.trade
            if trade is None:
                continue
            order = update.order
            if order.type is LIMIT:  # never worse than its limit
                assert (
                    trade.price <= order.price if order.side is BUY else trade.price >= order.price
                )
            fees += trade.fee.quantize(D("1E-8"))
            realized += trade.realized_pnl
            signed = trade.quantity if order.side is BUY else -trade.quantity
            if order.reduce_only:  # only toward zero, never through it
                assert running * signed < 0 and trade.quantity <= abs(running)
            running += signed
        assert running == matched.account.position("BTCUSDT", BOTH).amount
        account = matched.account
    # Money: the wallet is the deposit, plus what was realized, minus the fees paid.
    assert account.wallet_balance("USDT") == D("1000000") + realized - fees


def test_modify_takes_a_price_match_instead_of_a_price(market: Market) -> None:
    matched = place(funded(market), req(BUY, "0.01", "49000", cid="pm"), market, "50000")
    order_id = matched.events[0].order.order_id
    marks = {"BTCUSDT": D("50000.005")}  # bid 50000.00, ask 50000.01
    request = req(BUY, "0.01", match="QUEUE")
    moved = modify_order(
        matched.account, request, market, marks, order_id=order_id, ids=IDS, now=12
    )
    (amended,) = moved.events  # at the bid: it rests
    assert amended.order.price == D("50000.00") and amended.order.status is OrderStatus.NEW


MODES = [(PositionMode.ONE_WAY, None), (PositionMode.HEDGE, LONG)]


@pytest.mark.parametrize("margin", [MarginType.CROSS, MarginType.ISOLATED])
@pytest.mark.parametrize(("mode", "ps"), MODES)
@pytest.mark.parametrize("tif", [GTC, IOC, FOK, GTX, None])
@pytest.mark.parametrize("marketable", [True, False])
def test_every_type_and_time_in_force_in_each_mode_and_margin_type(
    market: Market,
    margin: MarginType,
    mode: PositionMode,
    ps: PositionSide | None,
    tif: TimeInForce | None,
    marketable: bool,
) -> None:
    """MARKET (tif None) and LIMIT × GTC/IOC/FOK/GTX, at or away from the touch, one-way
    and hedge, cross and isolated: what each does is the matching model's."""
    account = funded(market, mode=mode)
    if margin is MarginType.ISOLATED:
        account = run([SetMarginType("BTCUSDT", margin)], market, account)
    if tif is None:
        if not marketable:
            return  # a MARKET order always takes
        request = req(BUY, "0.010", ps=ps)
    else:
        request = req(BUY, "0.010", "50000" if marketable else "49000", tif=tif, ps=ps)
    expected: dict[tuple[TimeInForce | None, bool], object] = {
        (None, True): [Execution.NEW, Execution.TRADE],
        (GTC, True): [Execution.NEW, Execution.TRADE],
        (IOC, True): [Execution.NEW, Execution.TRADE],
        (FOK, True): [Execution.NEW, Execution.TRADE],
        (GTX, True): -5022,
        (GTC, False): [Execution.NEW],
        (IOC, False): [Execution.NEW, Execution.EXPIRED],
        (FOK, False): -5021,
        (GTX, False): [Execution.NEW],
    }
    outcome = expected[tif, marketable]
    if isinstance(outcome, int):
        with pytest.raises(EngineError) as info:
            place(account, request, market, "50000")
        assert info.value.code == outcome
        return
    matched = place(account, request, market, "50000")
    assert [e.execution for e in matched.events] == outcome
    position = matched.account.position("BTCUSDT", ps or BOTH)
    traded = outcome[-1] is Execution.TRADE
    assert position.amount == (D("0.010") if traded else 0)
    if traded and margin is MarginType.ISOLATED:  # 500 / 20 of margin, less the taker fee
        assert position.isolated_wallet == D("25") - D("0.25")
    rested = outcome == [Execution.NEW]
    assert bool(matched.account.orders) is rested


def test_a_partial_close_through_an_order_realizes_its_share(market: Market) -> None:
    long = place(funded(market), req(BUY, "0.030"), market, "50000").account
    closed = place(long, req(SELL, "0.010", cid="part"), market, "51000")
    position = closed.account.position("BTCUSDT", BOTH)
    assert position.amount == D("0.020") and position.entry_price == D("50000")
    trade = closed.events[-1].trade
    assert trade is not None and trade.realized_pnl == D("10")
    # The taker fee to open 0.030 at 50000 was 0.75; a third of it leaves break-even.
    assert position.break_even_price == D("50000") + D("0.5") / D("0.020")
