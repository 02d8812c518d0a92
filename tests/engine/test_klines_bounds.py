"""The work ``candles`` does is bounded by ``limit``, not by the time the history spans,
and it takes any LONG as a time: a year between two marks, or ``endTime`` at 2**63 - 1 on
monthly candles, costs at most ``limit`` periods; the candles are those a period-by-period
walk of the whole span selects (checked against one, written here as the reference)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posrisk.engine import klines
from posrisk.engine.klines import (
    DAY_MS,
    INTERVALS,
    MINUTE_MS,
    Candle,
    DayStats,
    MinuteBuckets,
    Span,
    candles,
    day_stats,
    period_end,
    period_start,
    span,
)

T0 = 1_700_000_400_000 - 1_700_000_400_000 % 3_600_000
LONG_MAX = 2**63 - 1
YEAR_MS = 365 * DAY_MS


def _buckets(minutes: list[int]) -> MinuteBuckets:
    prices = [100 + i for i in range(len(minutes))]
    return MinuteBuckets(minutes, prices, prices, prices, prices, [1] * len(minutes))


def _reference(
    buckets: MinuteBuckets, interval: str, now: int, start: int | None, end: int | None, limit: int
) -> list[Candle]:
    """Every period from the history's first to ``now`` walked one by one, then chosen."""
    lowest = period_start(buckets.minutes[0], interval)
    highest = period_start(max(now, buckets.minutes[-1]), interval)
    if end is not None:
        highest = min(highest, period_start(end, interval))
    if start is not None:
        begin = period_start(start, interval)
        lowest = max(lowest, begin if begin == start else period_end(begin, interval))
    opens = []
    at = lowest
    while at <= highest:
        opens.append(at)
        at = period_end(at, interval)
    chosen = opens[:limit] if start is not None else opens[-limit:]
    found = [candles_of(buckets, at, interval) for at in chosen]
    return [c for c in found if c is not None]


def candles_of(buckets: MinuteBuckets, at: int, interval: str) -> Candle | None:
    made = candles(buckets, interval, at, start_time=at, end_time=at, limit=1)
    return made[0] if made else None


class Counting:
    """Counts the periods ``candles`` steps over (``period_end`` and month steps)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.steps = 0
        for name in ("period_end", "_month_start"):
            original = getattr(klines, name)
            monkeypatch.setattr(klines, name, self._counted(original))

    def _counted(self, original: Any) -> Any:
        def counted(*args: Any) -> Any:
            self.steps += 1
            return original(*args)

        return counted


@pytest.mark.parametrize("interval", ["1m", "1h", "1w", "1M"])
def test_a_year_between_two_marks_costs_limit_periods(
    monkeypatch: pytest.MonkeyPatch, interval: str
) -> None:
    buckets = _buckets([T0, T0 + MINUTE_MS])
    now = T0 + 3 * YEAR_MS
    counting = Counting(monkeypatch)
    made = candles(buckets, interval, now, limit=5)
    assert len(made) == 5 and made[-1].open_time == period_start(now, interval)
    # 5 candles: their ends, and a few for the alignment of the bounds (a walk over the
    # span would take 1,576,800 steps at 1m).
    assert counting.steps <= 25
    counting.steps = 0
    first = period_start(T0, interval)
    made = candles(buckets, interval, now, start_time=first, limit=5)
    assert made[0].open_time == first and len(made) == 5
    assert counting.steps <= 25


@pytest.mark.parametrize("interval", list(INTERVALS))
def test_any_long_is_a_time(interval: str) -> None:
    buckets = _buckets([T0, T0 + MINUTE_MS])
    newest = candles(buckets, interval, T0 + 2 * MINUTE_MS, limit=1)
    assert candles(buckets, interval, T0 + 2 * MINUTE_MS, end_time=LONG_MAX, limit=1) == newest
    assert candles(buckets, interval, T0, start_time=LONG_MAX, end_time=LONG_MAX) == []
    assert candles(buckets, interval, T0, start_time=0, end_time=0) == []
    assert candles(buckets, interval, T0, start_time=0, limit=1)[0].open == 100


@settings(deadline=None, max_examples=300)
@given(
    gaps=st.lists(st.integers(1, 3000), min_size=0, max_size=6),
    interval=st.sampled_from(["1m", "3m", "1h", "8h", "1d", "3d", "1w", "1M"]),
    after=st.integers(0, 40 * DAY_MS),
    start=st.none() | st.integers(-5 * DAY_MS, 60 * DAY_MS),
    end=st.none() | st.integers(-5 * DAY_MS, 60 * DAY_MS),
    limit=st.integers(1, 40),
)
def test_the_candles_are_those_of_a_walk_over_every_period(
    gaps: list[int],
    interval: str,
    after: int,
    start: int | None,
    end: int | None,
    limit: int,
) -> None:
    minutes = [T0]
    for gap in gaps:
        minutes.append(minutes[-1] + gap * MINUTE_MS)
    buckets = _buckets(minutes)
    now = minutes[-1] + after
    start_time = None if start is None else max(0, T0 + start)
    end_time = None if end is None else max(0, T0 + end)
    if start_time is not None and end_time is not None and start_time > end_time:
        start_time, end_time = end_time, start_time
    found = candles(buckets, interval, now, start_time=start_time, end_time=end_time, limit=limit)
    assert found == _reference(buckets, interval, now, start_time, end_time, limit)


def _reference_day(buckets: MinuteBuckets, now: int) -> DayStats:
    """The day walked bucket by bucket: the open until the first bucket, each close until
    the next bucket (or now)."""
    window = now - DAY_MS
    minutes = list(buckets.minutes)
    inside = [i for i, m in enumerate(minutes) if window - window % MINUTE_MS <= m <= now]
    before = [i for i, m in enumerate(minutes) if m < window - window % MINUTE_MS]
    if not inside and not before:
        return DayStats(window, now, 0, 0, 0, 0, 0, 0)
    carried = buckets.closes[before[-1]] if before else None
    if not inside:
        flat = buckets.closes[before[-1]]
        return DayStats(window, now, flat, flat, flat, flat, flat, 0)
    opened = buckets.opens[inside[0]] if carried is None else carried
    since = window if carried is not None else max(window, minutes[inside[0]])
    area, at, price = 0, since, opened
    for i in inside:
        begin = max(minutes[i], since)
        area += price * (begin - at)
        at, price = begin, buckets.closes[i]
    area += price * (now - at)
    average = area // (now - since) if now > since else buckets.closes[inside[-1]]
    return DayStats(
        window,
        now,
        opened,
        max([opened, *(buckets.highs[i] for i in inside)]),
        min([opened, *(buckets.lows[i] for i in inside)]),
        buckets.closes[inside[-1]],
        average,
        sum(buckets.counts[i] for i in inside),
    )


@settings(deadline=None, max_examples=300)
@given(
    gaps=st.lists(st.integers(1, 600), min_size=0, max_size=12),
    prices=st.lists(st.integers(1, 10**12), min_size=13, max_size=13),
    after=st.integers(0, 2 * DAY_MS),
    at=st.lists(st.integers(0, 2 * DAY_MS), min_size=1, max_size=4),
)
def test_day_stats_are_those_of_a_walk_and_kept_spans_change_nothing(
    gaps: list[int], prices: list[int], after: int, at: list[int]
) -> None:
    minutes = [T0]
    for gap in gaps:
        minutes.append(minutes[-1] + gap * MINUTE_MS)
    n = len(minutes)
    highs = [p + 7 for p in prices[:n]]
    lows = [max(0, p - 5) for p in prices[:n]]
    buckets = MinuteBuckets(minutes, prices[:n], highs, lows, prices[1 : n + 1], [2] * n)
    kept: dict[tuple[int, int, int], Span | None] = {}

    def keeping(b: MinuteBuckets, lo: int, hi: int) -> Span | None:
        key = (b.minutes[lo], b.minutes[hi - 1], hi - lo) if lo < hi else (0, 0, 0)
        if key not in kept:
            kept[key] = span(b, lo, hi)
        return kept[key]

    for offset in [after, *at]:
        now = T0 + offset - DAY_MS // 2
        expected = _reference_day(buckets, now)
        assert day_stats(buckets, now) == expected
        assert day_stats(buckets, now, keeping) == expected
