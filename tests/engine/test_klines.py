"""Candles and 24-hour statistics from 1-minute mark buckets: periods as Binance's, the
mark carried over minutes it did not move, Binance's selection by startTime, endTime and
limit, and the time-weighted average."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posrisk.engine.klines import (
    DAY_MS,
    INTERVALS,
    MINUTE_MS,
    Candle,
    DayStats,
    MinuteBuckets,
    candles,
    day_stats,
    period_end,
    period_start,
    scaled_price,
    scaled_text,
)

# 2023-11-14 22:00 UTC (a Tuesday).
T0 = 1_700_000_400_000 - 1_700_000_400_000 % 3_600_000
P = 100_000_000  # 1.00000000


def _buckets(*rows: tuple[int, ...]) -> MinuteBuckets:
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), (), (), ()]
    return MinuteBuckets(*columns)


def test_prices_are_integers_of_1e_8_printed_with_8_decimals() -> None:
    assert scaled_price(Decimal("21123.05052574")) == 2_112_305_052_574
    assert scaled_price(Decimal("0.000000015")) == 2  # half-even
    assert scaled_text(2_112_305_052_574) == "21123.05052574"
    assert scaled_text(5) == "0.00000005"


def test_periods_are_aligned_as_binance_aligns_them() -> None:
    assert set(INTERVALS) == {
        *("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h"),
        *("1d", "3d", "1w", "1M"),
    }
    t = 1_700_000_123_456  # 2023-11-14 22:15:23.456 UTC
    assert period_start(t, "1m") == 1_700_000_100_000
    assert period_start(t, "1h") == 1_699_999_200_000
    assert period_start(t, "1d") == 1_699_920_000_000  # 2023-11-14 00:00
    assert period_start(t, "1w") == 1_699_833_600_000  # Monday 2023-11-13 00:00
    assert period_start(t, "1M") == 1_698_796_800_000  # 2023-11-01 00:00
    assert period_end(1_698_796_800_000, "1M") == 1_701_388_800_000  # 2023-12-01
    assert period_end(1_701_388_800_000, "1M") == 1_704_067_200_000  # 2024-01-01 (December)


def test_a_minute_without_a_bucket_keeps_the_last_mark() -> None:
    buckets = _buckets(
        (T0, 10 * P, 12 * P, 9 * P, 11 * P, 3),
        (T0 + 3 * MINUTE_MS, 13 * P, 13 * P, 8 * P, 8 * P, 2),
    )
    made = candles(buckets, "1m", T0 + 3 * MINUTE_MS + 5)
    assert made == [
        Candle(T0, T0 + MINUTE_MS - 1, 10 * P, 12 * P, 9 * P, 11 * P, 3),
        Candle(T0 + MINUTE_MS, T0 + 2 * MINUTE_MS - 1, 11 * P, 11 * P, 11 * P, 11 * P, 0),
        Candle(T0 + 2 * MINUTE_MS, T0 + 3 * MINUTE_MS - 1, 11 * P, 11 * P, 11 * P, 11 * P, 0),
        # Opens at the mark it inherits (11), not the first mark recorded in it (13).
        Candle(T0 + 3 * MINUTE_MS, T0 + 4 * MINUTE_MS - 1, 11 * P, 13 * P, 8 * P, 8 * P, 2),
    ]
    [five] = candles(buckets, "5m", T0 + 4 * MINUTE_MS)
    assert five == Candle(T0, T0 + 5 * MINUTE_MS - 1, 10 * P, 13 * P, 8 * P, 8 * P, 5)


def test_the_candle_under_way_runs_to_now_and_none_come_before_the_history() -> None:
    buckets = _buckets((T0 + MINUTE_MS, 5 * P, 5 * P, 5 * P, 5 * P, 1))
    made = candles(buckets, "1m", T0 + 10 * MINUTE_MS)
    assert [c.open_time for c in made] == [T0 + k * MINUTE_MS for k in range(1, 11)]
    assert candles(_buckets(), "1m", T0) == []


def test_start_end_and_limit_select_as_binance() -> None:
    buckets = _buckets((T0, P, P, P, P, 1))
    now = T0 + 59 * MINUTE_MS
    opens = [c.open_time for c in candles(buckets, "1m", now, limit=3)]
    assert opens == [now - 2 * MINUTE_MS, now - MINUTE_MS, now]  # the newest
    opens = [c.open_time for c in candles(buckets, "1m", now, start_time=T0 + 1, limit=2)]
    assert opens == [T0 + MINUTE_MS, T0 + 2 * MINUTE_MS]  # open time from startTime on
    opens = [c.open_time for c in candles(buckets, "1m", now, end_time=T0 + 5 * MINUTE_MS)]
    assert opens == [T0 + k * MINUTE_MS for k in range(6)]  # open time up to endTime
    opens = [
        c.open_time
        for c in candles(buckets, "1m", now, start_time=T0, end_time=T0 + 9 * MINUTE_MS, limit=500)
    ]
    assert len(opens) == 10
    assert candles(buckets, "1m", now, start_time=now + MINUTE_MS) == []


def test_day_stats_open_at_the_window_start_and_weigh_by_time() -> None:
    now = T0 + DAY_MS
    buckets = _buckets(
        (T0 - 10 * MINUTE_MS, 4 * P, 4 * P, 4 * P, 4 * P, 1),  # before the window: the open
        (T0 + 12 * 3_600_000, 6 * P, 9 * P, 2 * P, 8 * P, 7),  # half-way
    )
    stats = day_stats(buckets, now)
    assert stats == DayStats(T0, now, 4 * P, 9 * P, 2 * P, 8 * P, 6 * P, 7)


def test_day_stats_without_a_move_in_the_window_are_flat_and_without_a_mark_zero() -> None:
    now = T0 + 3 * DAY_MS
    flat = day_stats(_buckets((T0, P, 2 * P, P, 3 * P, 4)), now)
    assert flat == DayStats(now - DAY_MS, now, 3 * P, 3 * P, 3 * P, 3 * P, 3 * P, 0)
    assert day_stats(_buckets(), now) == DayStats(now - DAY_MS, now, 0, 0, 0, 0, 0, 0)


def test_day_stats_of_a_history_younger_than_a_day_start_at_its_first_mark() -> None:
    now = T0 + 10 * MINUTE_MS
    stats = day_stats(_buckets((T0, 2 * P, 2 * P, 2 * P, 2 * P, 1)), now)
    assert (stats.open, stats.weighted_average, stats.count) == (2 * P, 2 * P, 1)


@settings(deadline=None, max_examples=60)
@given(
    moves=st.lists(
        st.tuples(st.integers(0, 3000), st.integers(1, 10**12)), min_size=1, max_size=40
    ),
    interval=st.sampled_from(["1m", "3m", "15m", "1h", "4h", "1d", "1w", "1M"]),
)
def test_candles_bound_the_marks_and_chain_close_to_open(
    moves: list[tuple[int, int]], interval: str
) -> None:
    """Every candle's high/low hold its open and close; each opens at the close before."""
    rows: dict[int, list[int]] = {}
    for minute, price in sorted(moves):
        at = T0 + minute * MINUTE_MS
        row = rows.setdefault(at, [at, price, price, price, price, 0])
        row[2], row[3], row[4], row[5] = max(row[2], price), min(row[3], price), price, row[5] + 1
    buckets = _buckets(*(tuple(r) for r in rows.values()))
    now = T0 + 3001 * MINUTE_MS
    made = candles(buckets, interval, now, limit=1500)
    assert made
    for before, after in itertools.pairwise(made):
        assert after.open == before.close
        assert after.open_time == before.close_time + 1
    for candle in made:
        assert candle.low <= min(candle.open, candle.close)
        assert candle.high >= max(candle.open, candle.close)
    assert sum(c.count for c in made) == len(moves) or len(made) == 1500
    assert made[-1].close == buckets.closes[-1]


@pytest.mark.parametrize("interval", sorted(INTERVALS))
def test_every_interval_makes_the_candle_under_way(interval: str) -> None:
    buckets = _buckets((T0, P, P, P, P, 1))
    [*_, last] = candles(buckets, interval, T0 + 30 * MINUTE_MS)
    assert last.open_time <= T0 + 30 * MINUTE_MS <= last.close_time
