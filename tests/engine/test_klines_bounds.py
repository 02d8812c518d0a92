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
    MinuteBuckets,
    candles,
    period_end,
    period_start,
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
