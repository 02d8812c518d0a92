"""place_algo: Binance's checks of POST /fapi/v1/algoOrder in its order, first failure
wins; triggered_request: the regular order a trigger sends; algo_status_update,
cancel_algo, expired_algos: how an algo order ends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

import pytest

from posrisk.engine import (
    Account,
    AlgoOrder,
    AlgoRequest,
    AlgoStatus,
    EngineError,
    Market,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    TimeInForce,
    algo_status_update,
    apply,
    cancel_algo,
    expired_algos,
    place_algo,
    triggered_request,
)
from posrisk.engine.order_request import OrderRequest
from posrisk.engine.position import Position

from .conftest import D

BUY, SELL = Side.BUY, Side.SELL
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH
NOW = 1_700_000_000_000
MARKS: Mapping[str, Decimal] = {"BTCUSDT": D("100000")}
HEDGE = replace(Account(), position_mode=PositionMode.HEDGE)


def request(
    order_type: OrderType = OrderType.STOP_MARKET, side: Side = BUY, /, **fields: object
) -> AlgoRequest:
    """A request that is accepted at MARKS unless ``fields`` say otherwise."""
    defaults: dict[str, object] = {"quantity": D("0.010"), "client_algo_id": "a1"}
    if order_type is OrderType.TRAILING_STOP_MARKET:
        defaults["callback_rate"] = D("1")
    else:
        defaults["trigger_price"] = D("110000") if side is BUY else D("90000")
        if order_type in (OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_MARKET):
            defaults["trigger_price"] = D("90000") if side is BUY else D("110000")
    if order_type in (OrderType.STOP, OrderType.TAKE_PROFIT):
        defaults["price"] = D("100500")
    return AlgoRequest("BTCUSDT", side, order_type, **{**defaults, **fields})  # type: ignore[arg-type]


def place(
    req: AlgoRequest,
    market: Market,
    account: Account | None = None,
    marks: Mapping[str, Decimal] = MARKS,
    algo_id: int = 1000000001,
) -> AlgoOrder:
    update = place_algo(account or Account(), req, market, marks, algo_id=algo_id, now=NOW)
    assert update.time == NOW
    return update.algo


def refusal(
    req: AlgoRequest,
    market: Market,
    account: Account | None = None,
    marks: Mapping[str, Decimal] = MARKS,
) -> tuple[int, str]:
    with pytest.raises(EngineError) as caught:
        place(req, market, account, marks)
    return caught.value.code, caught.value.msg


def with_algos(account: Account, *algos: AlgoOrder) -> Account:
    return replace(account, algos={**account.algos, **{a.algo_id: a for a in algos}})


def with_position(account: Account, side: PositionSide, amount: str) -> Account:
    position = Position("BTCUSDT", side, D(amount), D("100000"))
    return replace(account, positions={**account.positions, ("BTCUSDT", side): position})


def open_algos(market: Market, count: int, symbol_marks: str = "BTCUSDT") -> list[AlgoOrder]:
    return [
        replace(place(request(client_algo_id=f"o{i}"), market, algo_id=i), symbol=symbol_marks)
        for i in range(count)
    ]


def mandatory(param: str) -> tuple[int, str]:
    return -1102, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed."


def not_required(param: str) -> tuple[int, str]:
    return -1106, f"Parameter '{param}' sent when not required."


def test_accepted_algo_is_new_and_applies(market: Market) -> None:
    algo = place(request(working_type="MARK_PRICE", price_protect=True), market)
    assert algo == AlgoOrder(
        algo_id=1000000001,
        client_algo_id="a1",
        symbol="BTCUSDT",
        side=BUY,
        order_type=OrderType.STOP_MARKET,
        quantity=D("0.010"),
        trigger_price=D("110000"),
        working_type="MARK_PRICE",
        price_protect=True,
        create_time=NOW,
        update_time=NOW,
    )
    account = apply(
        Account(), place_algo(Account(), request(), market, MARKS, algo_id=7, now=NOW), market
    ).account
    assert list(account.algos) == [7]
    assert account.algos[7].status is AlgoStatus.NEW


def test_no_margin_is_checked(market: Market) -> None:
    # An empty wallet: an untriggered algo order holds no margin.
    assert place(request(quantity=D("100")), market).quantity == D("100")


def test_first_failure_wins_in_binance_order(market: Market) -> None:
    """A request that breaks every rule, fixed one rule at a time: each refusal is the
    next check in Binance's order."""
    nine = open_algos(market, 9)
    full = with_algos(HEDGE, *nine, replace(nine[0], algo_id=99, client_algo_id="dup"))
    req = AlgoRequest(
        "NOPE",
        BUY,
        OrderType.LIMIT,
        "dup",
        price=D("0.001"),
        time_in_force=TimeInForce.GTD,
        good_till_date=NOW,
        reduce_only=True,
        close_position=True,
        working_type="LAST_PRICE",
        price_match="OPPONENT_10",
    )
    steps: list[tuple[tuple[int, str], dict[str, object]]] = [
        ((-1121, "Invalid symbol."), {"symbol": "BTCUSDT"}),
        ((-1116, "Invalid orderType."), {"order_type": OrderType.STOP}),
        ((-4031, "Invalid parameter working type: LAST_PRICE"), {"working_type": "MARK_PRICE"}),
        (mandatory("triggerprice"), {"trigger_price": D("90000")}),
        (mandatory("quantity"), {"quantity": D("0.0001")}),
        ((-1128, "Combination of optional parameters invalid."), {"price": None}),
        ((-1130, "Data sent for parameter 'priceMatch' is not valid."), {"price_match": "NONE"}),
        (mandatory("price"), {"price": D("0.001")}),
        ((-5040, GTD_TEXT), {"good_till_date": NOW + 3_600_000}),
        ((-4061, POSITION_SIDE_TEXT), {"position_side": LONG}),
        (not_required("reduceonly"), {"reduce_only": False}),
        ((-4116, "ClientOrderId is duplicated."), {"client_algo_id": "new"}),
        (not_required("closeposition"), {"close_position": False}),
        ((-1111, PRECISION_TEXT), {"quantity": D("0")}),
        ((-1111, PRECISION_TEXT), {"price": D("0")}),
        ((-4003, "Quantity less than or equal to zero."), {"quantity": D("0.010")}),
        ((-4001, "Price less than 0."), {"price": D("95000")}),
        ((-2021, "Order would immediately trigger."), {"trigger_price": D("110000")}),
    ]
    for expected, fix in steps:
        assert refusal(req, market, full) == expected, fix
        req = replace(req, **fix)  # type: ignore[arg-type]
    assert refusal(req, market, full) == (-4045, "Reach max stop order limit.")
    fewer = replace(full, algos=dict(list(full.algos.items())[1:]))
    assert place(req, market, fewer).status is AlgoStatus.NEW


GTD_TEXT = (
    "The goodTillDate timestamp must be greater than the current time plus 600 seconds"
    " and smaller than 253402300799000"
)
POSITION_SIDE_TEXT = "Order's position side does not match user's setting."
PRECISION_TEXT = "Precision is over the maximum defined for this asset."


@pytest.mark.parametrize(
    ("order_type", "missing"),
    [
        (OrderType.STOP, "trigger_price"),
        (OrderType.STOP_MARKET, "trigger_price"),
        (OrderType.TAKE_PROFIT, "trigger_price"),
        (OrderType.TAKE_PROFIT_MARKET, "trigger_price"),
        (OrderType.STOP, "price"),
        (OrderType.TAKE_PROFIT, "price"),
        (OrderType.TRAILING_STOP_MARKET, "callback_rate"),
        (OrderType.STOP_MARKET, "quantity"),
        (OrderType.TRAILING_STOP_MARKET, "quantity"),
    ],
)
def test_mandatory_parameters(market: Market, order_type: OrderType, missing: str) -> None:
    assert refusal(request(order_type, **{missing: None}), market) == mandatory(
        missing.replace("_", "")
    )


@pytest.mark.parametrize("rate", ["0.09", "10.1", "0", "-1"])
def test_callback_rate_outside_its_range(market: Market, rate: str) -> None:
    req = request(OrderType.TRAILING_STOP_MARKET, callback_rate=D(rate))
    assert refusal(req, market) == mandatory("callbackrate")


@pytest.mark.parametrize("rate", ["0.1", "10", "2.5"])
def test_callback_rate_within_its_range(market: Market, rate: str) -> None:
    algo = place(request(OrderType.TRAILING_STOP_MARKET, callback_rate=D(rate)), market)
    assert algo.callback_rate == D(rate)


def test_price_match_only_on_limit_types(market: Market) -> None:
    assert refusal(request(price_match="OPPONENT"), market) == (
        -5038,
        "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT",
    )
    algo = place(request(OrderType.STOP, price=None, price_match="QUEUE_5"), market)
    assert (algo.price, algo.price_match) == (0, "QUEUE_5")


@pytest.mark.parametrize(
    ("good_till_date", "kept"),
    [
        (NOW + 600_000, None),
        (NOW + 600_999, None),  # ms dropped: exactly now + 600 s
        (NOW + 601_000, NOW + 601_000),
        (NOW + 601_999, NOW + 601_000),
        (253402300798999, 253402300798000),
        (253402300799000, None),
        (0, None),
    ],
)
def test_good_till_date(market: Market, good_till_date: int, kept: int | None) -> None:
    req = request(time_in_force=TimeInForce.GTD, good_till_date=good_till_date)
    if kept is None:
        assert refusal(req, market) == (-5040, GTD_TEXT)
    else:
        assert place(req, market).good_till_date == kept


def test_good_till_date_is_dropped_without_gtd(market: Market) -> None:
    assert place(request(good_till_date=NOW + 3_600_000), market).good_till_date == 0


@pytest.mark.parametrize(
    ("account", "side", "accepted"),
    [
        (Account(), None, BOTH),
        (Account(), BOTH, BOTH),
        (Account(), LONG, None),
        (HEDGE, None, None),
        (HEDGE, BOTH, None),
        (HEDGE, LONG, LONG),
        (HEDGE, SHORT, SHORT),
    ],
)
def test_position_side(
    market: Market, account: Account, side: PositionSide | None, accepted: PositionSide | None
) -> None:
    req = request(position_side=side)
    if accepted is None:
        assert refusal(req, market, account) == (-4061, POSITION_SIDE_TEXT)
    else:
        assert place(req, market, account).position_side is accepted


def test_reduce_only_in_hedge_mode(market: Market) -> None:
    req = request(position_side=SHORT, reduce_only=True)
    assert refusal(req, market, HEDGE) == not_required("reduceonly")
    assert place(request(reduce_only=True), market).reduce_only


def test_client_algo_id_of_an_open_algo(market: Market) -> None:
    account = with_algos(Account(), place(request(), market))
    assert refusal(request(), market, account) == (-4116, "ClientOrderId is duplicated.")
    assert place(request(client_algo_id="a2"), market, account, algo_id=2).client_algo_id == "a2"


@pytest.mark.parametrize(
    "order_type", [OrderType.STOP, OrderType.TAKE_PROFIT, OrderType.TRAILING_STOP_MARKET]
)
def test_close_position_only_on_market_stops(market: Market, order_type: OrderType) -> None:
    req = request(order_type, close_position=True)
    assert refusal(req, market) == not_required("closeposition")


def test_close_position_rules(market: Market) -> None:
    closing = request(OrderType.TAKE_PROFIT_MARKET, SELL, close_position=True, quantity=None)
    algo = place(closing, market)
    assert (algo.close_position, algo.quantity, algo.reduce_only) == (True, 0, False)
    assert refusal(replace(closing, quantity=D("0.010")), market) == (
        -4137,
        "Quantity must be zero with closePosition equals true",
    )
    assert refusal(replace(closing, reduce_only=True), market) == not_required("reduceonly")
    assert place(replace(closing, position_side=LONG), market, HEDGE).position_side is LONG
    assert refusal(replace(closing, position_side=SHORT), market, HEDGE) == (
        -4061,
        POSITION_SIDE_TEXT,
    )
    buy = request(OrderType.STOP_MARKET, BUY, close_position=True, quantity=None)
    assert place(replace(buy, position_side=SHORT), market, HEDGE).side is BUY
    assert refusal(replace(buy, position_side=LONG), market, HEDGE) == (-4061, POSITION_SIDE_TEXT)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"quantity": D("0.0101")}, (-1111, PRECISION_TEXT)),
        ({"trigger_price": D("110000.001")}, (-1111, PRECISION_TEXT)),
        ({"quantity": D("-1")}, (-4003, "Quantity less than or equal to zero.")),
        ({"trigger_price": D("0")}, (-4006, "Stop price less than zero.")),
        ({"trigger_price": D("-5")}, (-4006, "Stop price less than zero.")),
    ],
)
def test_numbers(market: Market, fields: dict[str, object], expected: tuple[int, str]) -> None:
    assert refusal(request(**fields), market) == expected


def test_trailing_numbers(market: Market) -> None:
    trailing = request(OrderType.TRAILING_STOP_MARKET, SELL)
    assert refusal(replace(trailing, activate_price=D("0")), market) == (
        -4135,
        "Invalid activation price",
    )
    assert refusal(replace(trailing, activate_price=D("100001.005")), market)[0] == -1111
    assert refusal(replace(request(OrderType.STOP), price=D("-1")), market) == (
        -4001,
        "Price less than 0.",
    )


@pytest.mark.parametrize(
    ("order_type", "side", "trigger"),
    [
        (OrderType.STOP, BUY, "100000"),
        (OrderType.STOP_MARKET, BUY, "99999"),
        (OrderType.STOP, SELL, "100000"),
        (OrderType.STOP_MARKET, SELL, "100001"),
        (OrderType.TAKE_PROFIT, BUY, "100000"),
        (OrderType.TAKE_PROFIT_MARKET, BUY, "100001"),
        (OrderType.TAKE_PROFIT, SELL, "100000"),
        (OrderType.TAKE_PROFIT_MARKET, SELL, "99999"),
    ],
)
def test_already_triggered(market: Market, order_type: OrderType, side: Side, trigger: str) -> None:
    req = request(order_type, side, trigger_price=D(trigger))
    assert refusal(req, market) == (-2021, "Order would immediately trigger.")
    # Without a mark there is nothing to trigger on yet.
    assert place(req, market, marks={}).status is AlgoStatus.NEW


@pytest.mark.parametrize(
    ("side", "activate", "refused"),
    [
        (BUY, "100000", True),
        (BUY, "100001", True),
        (BUY, "99999", False),
        (SELL, "100000", True),
        (SELL, "99999", True),
        (SELL, "100001", False),
    ],
)
def test_trailing_activation_already_reached(
    market: Market, side: Side, activate: str, refused: bool
) -> None:
    req = request(OrderType.TRAILING_STOP_MARKET, side, activate_price=D(activate))
    if refused:
        assert refusal(req, market) == (-2021, "Order would immediately trigger.")
    else:
        algo = place(req, market)
        assert (algo.activate_price, algo.extreme) == (D(activate), 0)


def test_trailing_without_activation_price_is_active_at_the_mark(market: Market) -> None:
    algo = place(request(OrderType.TRAILING_STOP_MARKET, SELL, trigger_price=D("1")), market)
    assert (algo.activate_price, algo.extreme, algo.trigger_price) == (0, D("100000"), 0)
    assert place(request(OrderType.TRAILING_STOP_MARKET), market, marks={}).extreme == 0


def test_max_stop_orders_per_symbol(market: Market) -> None:
    nine = with_algos(Account(), *open_algos(market, 9))
    assert place(request(), market, nine).status is AlgoStatus.NEW
    ten = with_algos(nine, replace(place(request(client_algo_id="x"), market), algo_id=50))
    assert refusal(request(), market, ten) == (-4045, "Reach max stop order limit.")
    elsewhere = with_algos(Account(), *open_algos(market, 10, "ETHUSDT"))
    assert place(request(), market, elsewhere).status is AlgoStatus.NEW


def test_market_stops_send_a_market_order(market: Market) -> None:
    for order_type in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
        algo = place(
            request(order_type, SELL, working_type="MARK_PRICE", price_protect=True), market
        )
        sent = triggered_request(algo, Account())
        assert sent == OrderRequest(
            symbol="BTCUSDT",
            side=SELL,
            type=OrderType.MARKET,
            client_order_id="a1",
            quantity=D("0.010"),
            position_side=BOTH,
            orig_type=order_type,
            stop_price=algo.trigger_price,
            working_type="MARK_PRICE",
            price_protect=True,
        )


def test_limit_stops_send_a_limit_order(market: Market) -> None:
    req = request(
        OrderType.TAKE_PROFIT,
        SELL,
        time_in_force=TimeInForce.GTD,
        good_till_date=NOW + 3_600_000,
        self_trade_prevention="EXPIRE_BOTH",
        position_side=LONG,
    )
    sent = triggered_request(place(req, market, HEDGE), HEDGE)
    assert (sent.type, sent.price, sent.time_in_force, sent.good_till_date) == (
        OrderType.LIMIT,
        D("100500"),
        TimeInForce.GTD,
        NOW + 3_600_000,
    )
    assert (sent.orig_type, sent.stop_price, sent.position_side) == (
        OrderType.TAKE_PROFIT,
        D("110000"),
        LONG,
    )
    assert (sent.self_trade_prevention, sent.reduce_only, sent.close_position) == (
        "EXPIRE_BOTH",
        False,
        False,
    )
    matched = place(request(OrderType.STOP, price=None, price_match="OPPONENT"), market)
    sent = triggered_request(matched, Account())
    assert (sent.type, sent.price, sent.price_match, sent.time_in_force) == (
        OrderType.LIMIT,
        None,
        "OPPONENT",
        TimeInForce.GTC,
    )


def test_trailing_sends_a_market_order_at_its_trigger(market: Market) -> None:
    algo = place(request(OrderType.TRAILING_STOP_MARKET, SELL, callback_rate=D("2")), market)
    sent = triggered_request(algo, Account())
    assert (sent.type, sent.orig_type, sent.stop_price, sent.price) == (
        OrderType.MARKET,
        OrderType.TRAILING_STOP_MARKET,
        D("98000"),
        None,
    )


@pytest.mark.parametrize(
    ("mode_account", "side", "position_side", "held", "quantity"),
    [
        (Account(), SELL, None, "0.5", "0.5"),
        (Account(), BUY, None, "-0.25", "0.25"),
        (HEDGE, SELL, LONG, "0.3", "0.3"),
        (HEDGE, BUY, SHORT, "0.7", "0.7"),
    ],
)
def test_close_position_sends_the_whole_side(
    market: Market,
    mode_account: Account,
    side: Side,
    position_side: PositionSide | None,
    held: str,
    quantity: str,
) -> None:
    account = mode_account
    if position_side is None:
        account = with_position(account, BOTH, held)
    else:
        # The other side's size must not count.
        account = with_position(account, LONG, "0.3")
        account = with_position(account, SHORT, "-0.7")
    req = request(
        OrderType.STOP_MARKET, side, close_position=True, quantity=None, position_side=position_side
    )
    sent = triggered_request(place(req, market, account), account)
    assert (sent.quantity, sent.reduce_only, sent.close_position) == (D(quantity), True, True)


def test_status_updates(market: Market) -> None:
    algo = place(request(), market)
    triggering = algo_status_update(algo, AlgoStatus.TRIGGERING, now=NOW + 5)
    assert triggering.time == NOW + 5
    assert (triggering.algo.status, triggering.algo.trigger_time) == (
        AlgoStatus.TRIGGERING,
        NOW + 5,
    )
    assert triggering.algo.update_time == NOW + 5
    triggered = algo_status_update(
        triggering.algo,
        AlgoStatus.TRIGGERED,
        now=NOW + 6,
        actual_order_id=42,
        actual_price=D("110010.5"),
        actual_qty=D("0.010"),
    ).algo
    assert (triggered.trigger_time, triggered.actual_order_id, triggered.actual_price) == (
        NOW + 5,
        42,
        D("110010.5"),
    )
    finished = algo_status_update(triggered, AlgoStatus.FINISHED, now=NOW + 7).algo
    assert (finished.status, finished.actual_qty, finished.update_time) == (
        AlgoStatus.FINISHED,
        D("0.010"),
        NOW + 7,
    )
    rejected = algo_status_update(
        triggering.algo, AlgoStatus.REJECTED, now=NOW + 6, reject_reason="Margin is insufficient."
    ).algo
    assert (rejected.status, rejected.reject_reason) == (
        AlgoStatus.REJECTED,
        "Margin is insufficient.",
    )


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (AlgoStatus.NEW, AlgoStatus.TRIGGERED),
        (AlgoStatus.NEW, AlgoStatus.FINISHED),
        (AlgoStatus.NEW, AlgoStatus.NEW),
        (AlgoStatus.TRIGGERING, AlgoStatus.CANCELED),
        (AlgoStatus.TRIGGERED, AlgoStatus.CANCELED),
        (AlgoStatus.FINISHED, AlgoStatus.CANCELED),
        (AlgoStatus.CANCELED, AlgoStatus.TRIGGERING),
        (AlgoStatus.EXPIRED, AlgoStatus.EXPIRED),
    ],
)
def test_impossible_status_moves(market: Market, start: AlgoStatus, to: AlgoStatus) -> None:
    algo = replace(place(request(), market), status=start)
    with pytest.raises(EngineError) as caught:
        algo_status_update(algo, to, now=NOW)
    assert caught.value.code == -1130


def test_cancel(market: Market) -> None:
    first = place(request(), market, algo_id=1)
    second = place(request(client_algo_id="b"), market, algo_id=2)
    account = with_algos(Account(), first, second)
    by_id = cancel_algo(account, algo_id=2, client_algo_id=None, now=NOW + 1)
    assert (by_id.algo.algo_id, by_id.algo.status, by_id.algo.update_time) == (
        2,
        AlgoStatus.CANCELED,
        NOW + 1,
    )
    assert apply(account, by_id, market).account.algos.keys() == {1}
    by_client = cancel_algo(account, algo_id=None, client_algo_id="a1", now=NOW)
    assert by_client.algo.algo_id == 1
    # algoId beats clientAlgoId.
    assert cancel_algo(account, algo_id=2, client_algo_id="a1", now=NOW).algo.algo_id == 2
    unknown = (-2011, "Unknown order sent.")
    for algo_id, client_algo_id in ((3, "a1"), (None, "zz"), (3, None)):
        with pytest.raises(EngineError) as caught:
            cancel_algo(account, algo_id=algo_id, client_algo_id=client_algo_id, now=NOW)
        assert (caught.value.code, caught.value.msg) == unknown
    with pytest.raises(EngineError) as caught:
        cancel_algo(account, algo_id=None, client_algo_id=None, now=NOW)
    assert (caught.value.code, caught.value.msg) == (
        -1102,
        "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!",
    )


def test_gtd_expiry(market: Market) -> None:
    gtd = NOW + 3_600_000
    algo = place(request(time_in_force=TimeInForce.GTD, good_till_date=gtd), market)
    account = with_algos(Account(), algo, place(request(client_algo_id="b"), market, algo_id=2))
    assert expired_algos(account, gtd - 1) == []
    [expired] = expired_algos(account, gtd)
    assert (expired.algo.algo_id, expired.algo.status, expired.time) == (
        algo.algo_id,
        AlgoStatus.EXPIRED,
        gtd,
    )
    assert apply(account, expired, market).account.algos.keys() == {2}


def test_closing_algos_expire_when_their_side_is_flat(market: Market) -> None:
    reducing = replace(place(request(reduce_only=True), market, algo_id=3), create_time=NOW + 2)
    closing = place(
        request(
            OrderType.STOP_MARKET, SELL, close_position=True, quantity=None, client_algo_id="c"
        ),
        market,
        algo_id=4,
    )
    opening = place(request(client_algo_id="o"), market, algo_id=5)
    flat = with_algos(Account(), reducing, closing, opening)
    assert [u.algo.algo_id for u in expired_algos(flat, NOW)] == [4, 3]  # by createTime
    held = with_position(flat, BOTH, "-0.1")
    assert expired_algos(held, NOW) == []
    hedge_closing = place(
        request(
            OrderType.STOP_MARKET, BUY, close_position=True, quantity=None, position_side=SHORT
        ),
        market,
        HEDGE,
    )
    long_only = with_algos(with_position(HEDGE, LONG, "1"), hedge_closing)
    assert [u.algo.status for u in expired_algos(long_only, NOW)] == [AlgoStatus.EXPIRED]
    assert expired_algos(with_position(long_only, SHORT, "-1"), NOW) == []


def test_a_triggering_algo_neither_cancels_nor_expires(market: Market) -> None:
    gtd = NOW + 3_600_000
    algo = place(request(time_in_force=TimeInForce.GTD, good_till_date=gtd), market)
    triggering = algo_status_update(algo, AlgoStatus.TRIGGERING, now=NOW).algo
    account = with_algos(Account(), triggering)
    with pytest.raises(EngineError) as caught:
        cancel_algo(account, algo_id=algo.algo_id, client_algo_id=None, now=NOW)
    assert (caught.value.code, caught.value.msg) == (-4117, "stop order is triggering")
    assert expired_algos(account, gtd) == []


def test_an_algo_order_meets_the_filters_its_order_will(market: Market) -> None:
    # MARKS holds BTCUSDT at 100000: PERCENT_PRICE allows a STOP BUY's limit up to 105000.
    cases = [
        (request(quantity=D("0.0001")), -1111),  # BTCUSDT quantities have 3 decimals
        (request(trigger_price=D("110000.001")), -1111),
        (request(quantity=D("0.001"), trigger_price=D("1000")), -4164),  # filters first
        (request(trigger_price=D("99000")), -2021),  # a BUY stop under the mark fires now
        (request(OrderType.STOP, price=D("106000")), -4016),
        (request(OrderType.STOP, SELL, price=D("94000")), -4024),
        (request(quantity=D("0.00001")), -1111),
    ]
    for req, code in cases:
        assert refusal(req, market)[0] == code, req
    # Under 5 USDT at its trigger, opening: -4164; reduce-only is exempt.
    tiny = request(OrderType.STOP_MARKET, SELL, quantity=D("0.001"), trigger_price=D("4000"))
    assert refusal(tiny, market)[0] == -4164
    assert place(replace(tiny, reduce_only=True), market).status is AlgoStatus.NEW
