"""When the mark fires an algo order: STOP*/TAKE_PROFIT* against triggerPrice, a trailing
order's activation, the extreme it follows and its callback."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posrisk.engine import (
    AlgoOrder,
    OrderType,
    Side,
    algo_on_mark,
    is_triggered,
    trailing_trigger_price,
    trigger_bounds,
)

from .conftest import D

BUY, SELL = Side.BUY, Side.SELL
STOP, STOP_MARKET = OrderType.STOP, OrderType.STOP_MARKET
TAKE_PROFIT, TAKE_PROFIT_MARKET = OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_MARKET
TRAILING = OrderType.TRAILING_STOP_MARKET


def algo(order_type: OrderType, side: Side, trigger: str = "100", **fields: object) -> AlgoOrder:
    return AlgoOrder(1, "c", "BTCUSDT", side, order_type, D("1"), D(trigger), **fields)  # type: ignore[arg-type]


def trailing(side: Side, rate: str = "1", activate: str = "0", extreme: str = "0") -> AlgoOrder:
    return AlgoOrder(
        1,
        "c",
        "BTCUSDT",
        side,
        TRAILING,
        D("1"),
        activate_price=D(activate),
        callback_rate=D(rate),
        extreme=D(extreme),
    )


@pytest.mark.parametrize(
    ("order_type", "side", "fires_at", "quiet_at"),
    [
        # STOP*: BUY when the mark rises to the trigger, SELL when it falls to it.
        (STOP, BUY, ["100", "100.01", "150"], ["99.99", "50"]),
        (STOP_MARKET, BUY, ["100", "100.01"], ["99.99"]),
        (STOP, SELL, ["100", "99.99", "50"], ["100.01", "150"]),
        (STOP_MARKET, SELL, ["100", "99.99"], ["100.01"]),
        # TAKE_PROFIT*: reversed.
        (TAKE_PROFIT, BUY, ["100", "99.99", "50"], ["100.01", "150"]),
        (TAKE_PROFIT_MARKET, BUY, ["100", "99.99"], ["100.01"]),
        (TAKE_PROFIT, SELL, ["100", "100.01", "150"], ["99.99", "50"]),
        (TAKE_PROFIT_MARKET, SELL, ["100", "100.01"], ["99.99"]),
    ],
)
def test_trigger_direction(
    order_type: OrderType, side: Side, fires_at: list[str], quiet_at: list[str]
) -> None:
    order = algo(order_type, side)
    assert [is_triggered(order, D(m)) for m in fires_at] == [True] * len(fires_at)
    assert [is_triggered(order, D(m)) for m in quiet_at] == [False] * len(quiet_at)
    # The mark leaves a non-trailing order as it is.
    assert algo_on_mark(order, D("100"), now=5) is None


@pytest.mark.parametrize(
    ("order_type", "side", "bounds"),
    [
        (STOP, BUY, (D("100"), None)),
        (STOP_MARKET, BUY, (D("100"), None)),
        (STOP, SELL, (None, D("100"))),
        (STOP_MARKET, SELL, (None, D("100"))),
        (TAKE_PROFIT, BUY, (None, D("100"))),
        (TAKE_PROFIT_MARKET, BUY, (None, D("100"))),
        (TAKE_PROFIT, SELL, (D("100"), None)),
        (TAKE_PROFIT_MARKET, SELL, (D("100"), None)),
        (TRAILING, BUY, (None, None)),
        (TRAILING, SELL, (None, None)),
    ],
)
def test_trigger_bounds(
    order_type: OrderType, side: Side, bounds: tuple[Decimal | None, Decimal | None]
) -> None:
    assert trigger_bounds(algo(order_type, side)) == bounds


def follow(order: AlgoOrder, marks: list[str]) -> list[tuple[Decimal, bool]]:
    """The extreme after each mark and whether the order fired there."""
    seen = []
    for text in marks:
        mark = D(text)
        order = algo_on_mark(order, mark, now=0) or order
        seen.append((order.extreme, is_triggered(order, mark)))
    return seen


def test_trailing_sell_activates_at_or_above_the_activation_price() -> None:
    order = trailing(SELL, rate="1", activate="105")
    assert follow(order, ["104", "104.99", "105", "110", "109", "108.9", "108.89"]) == [
        (D("0"), False),
        (D("0"), False),
        (D("105"), False),  # active: the highest mark since is 105
        (D("110"), False),
        (D("110"), False),
        (D("110"), True),  # 110 × 0.99 = 108.9
        (D("110"), True),
    ]


def test_trailing_buy_activates_at_or_below_the_activation_price() -> None:
    order = trailing(BUY, rate="2", activate="95")
    assert follow(order, ["96", "95.01", "95", "90", "91.79", "91.8"]) == [
        (D("0"), False),
        (D("0"), False),
        (D("95"), False),
        (D("90"), False),
        (D("90"), False),
        (D("90"), True),  # 90 × 1.02 = 91.8
    ]


def test_trailing_without_activation_price_starts_at_its_first_mark() -> None:
    order = trailing(SELL, rate="10")
    assert follow(order, ["200", "190", "180.01", "180"]) == [
        (D("200"), False),
        (D("200"), False),
        (D("200"), False),
        (D("200"), True),
    ]


def test_trailing_mark_moves_report_only_changes() -> None:
    active = trailing(BUY, rate="1", extreme="100")
    assert algo_on_mark(active, D("100"), now=9) is None
    assert algo_on_mark(active, D("100.5"), now=9) is None
    lower = algo_on_mark(active, D("99"), now=9)
    assert lower is not None
    assert (lower.extreme, lower.update_time) == (D("99"), active.update_time)
    waiting = trailing(SELL, activate="105")
    assert algo_on_mark(waiting, D("104"), now=9) is None


def test_trailing_trigger_price() -> None:
    assert trailing_trigger_price(trailing(BUY, rate="0.1", extreme="50000")) == D("50050")
    assert trailing_trigger_price(trailing(SELL, rate="10", extreme="50000")) == D("45000")
    assert trailing_trigger_price(trailing(SELL, activate="105")) is None
    assert trailing_trigger_price(algo(STOP, BUY)) is None
    assert not is_triggered(trailing(SELL, activate="105"), D("1"))


marks = st.decimals(min_value="1", max_value="200", places=2)


@settings(deadline=None)
@given(
    order_type=st.sampled_from([STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET]),
    side=st.sampled_from([BUY, SELL]),
    trigger=marks,
    path=st.lists(marks, max_size=30),
)
def test_a_trigger_fires_at_the_first_mark_on_its_side(
    order_type: OrderType, side: Side, trigger: Decimal, path: list[Decimal]
) -> None:
    order = algo(order_type, side, str(trigger))
    rising = (order_type in (STOP, STOP_MARKET)) == (side is BUY)
    expected = next(
        (i for i, m in enumerate(path) if (m >= trigger if rising else m <= trigger)), None
    )
    fired = None
    for i, mark in enumerate(path):
        order = algo_on_mark(order, mark, now=i) or order
        if is_triggered(order, mark):
            fired = i
            break
    assert fired == expected
    above, below = trigger_bounds(order)
    assert (above, below) == ((trigger, None) if rising else (None, trigger))


@settings(deadline=None)
@given(
    side=st.sampled_from([BUY, SELL]),
    rate=st.decimals(min_value="0.1", max_value="10", places=1),
    path=st.lists(marks, min_size=1, max_size=30),
)
def test_trailing_fires_at_the_first_callback_from_the_extreme(
    side: Side, rate: Decimal, path: list[Decimal]
) -> None:
    """Without activatePrice: the extreme is the best mark so far; the order fires at the
    first mark ``rate`` percent back from it."""
    order = trailing(side, rate=str(rate))
    expected = None
    for i in range(len(path)):
        best = min(path[: i + 1]) if side is BUY else max(path[: i + 1])
        back = best * (1 + rate / 100) if side is BUY else best * (1 - rate / 100)
        if path[i] >= back if side is BUY else path[i] <= back:
            expected = i
            break
    fired = None
    for i, mark in enumerate(path):
        order = algo_on_mark(order, mark, now=i) or order
        if is_triggered(order, mark):
            fired = i
            break
    assert fired == expected
