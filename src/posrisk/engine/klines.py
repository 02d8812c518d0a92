"""Candles and 24-hour statistics from a symbol's 1-minute mark buckets.

The marks' history is a series of 1-minute buckets (``MinuteBuckets``): for each minute
in which the mark moved, its first, highest, lowest and last value and how many times it
moved, prices as integers of 1e-8 (the 8 decimals Binance prints marks with). Pure: the
series in, candles and statistics out.

Decided (Binance has no trade tape here to draw from):

- A minute with no bucket kept the previous minute's last mark: candles carry it forward,
  so a candle's open is the mark at its open time when the history knows it (else the first
  mark recorded in it), its high and low include that open, and a candle in which the mark
  never moved is flat at it. Candles before the history's first mark are not made.
- Periods as Binance's: fixed lengths aligned on the epoch (UTC), weeks starting Monday
  00:00 UTC, months on the calendar month. A long candle (``3d``, ``1w``, ``1M``) holds
  what the history covers of it.
- 24-hour statistics: the window is the 24 hours before ``now``; the open is the mark at
  its start (or the first recorded in it), the weighted average price is the mark's
  average over the window weighted by time (no volume to weigh by).
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from operator import mul, sub
from typing import NamedTuple

from .numbers import CONTEXT

__all__ = [
    "DAY_MS",
    "INTERVALS",
    "MINUTE_MS",
    "PRICE_SCALE",
    "Candle",
    "DayStats",
    "MinuteBuckets",
    "Span",
    "SpanOf",
    "candles",
    "day_stats",
    "period_end",
    "period_start",
    "scaled_price",
    "scaled_text",
    "scaled_to_decimal",
    "span",
]

MINUTE_MS = 60_000
DAY_MS = 86_400_000
# Prices in the history are integers of 1e-8.
PRICE_SCALE = 100_000_000
_SCALE = Decimal(PRICE_SCALE)
_WEEK_MS = 7 * DAY_MS
# 1970-01-05, the first Monday of the epoch: weeks start on Mondays.
_MONDAY_MS = 4 * DAY_MS
# Binance's kline intervals → their fixed length in ms (None: a calendar month).
INTERVALS: dict[str, int | None] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": _WEEK_MS,
    "1M": None,
}


class MinuteBuckets(NamedTuple):
    """One symbol's buckets, ascending by minute (the same length each)."""

    minutes: Sequence[int]  # each bucket's open time, ms, on a minute
    opens: Sequence[int]
    highs: Sequence[int]
    lows: Sequence[int]
    closes: Sequence[int]
    counts: Sequence[int]  # marks recorded in the minute


@dataclass(frozen=True, slots=True)
class Candle:
    """One kline: open and close time (ms, inclusive), prices in 1e-8, marks counted."""

    open_time: int
    close_time: int
    open: int
    high: int
    low: int
    close: int
    count: int


@dataclass(frozen=True, slots=True)
class DayStats:
    """What ``ticker/24hr`` reports, prices in 1e-8 (zeros: no mark known)."""

    open_time: int
    close_time: int
    open: int
    high: int
    low: int
    last: int
    weighted_average: int
    count: int


def scaled_price(mark: Decimal) -> int:
    """A mark as an integer of 1e-8, rounded half-even."""
    return int((mark * _SCALE).to_integral_value(ROUND_HALF_EVEN, CONTEXT))


def scaled_to_decimal(value: int) -> Decimal:
    return Decimal(value).scaleb(-8, CONTEXT)


def scaled_text(value: int) -> str:
    """8 decimals, as Binance prints marks (``2112305052574`` → ``"21123.05052574"``)."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), PRICE_SCALE)
    return f"{sign}{whole}.{fraction:08d}"


def _month_start(time: int, months_ahead: int = 0) -> int:
    moment = datetime.fromtimestamp(time / 1000, UTC)
    index = moment.year * 12 + moment.month - 1 + months_ahead
    return calendar.timegm((index // 12, index % 12 + 1, 1, 0, 0, 0)) * 1000


def period_start(time: int, interval: str) -> int:
    """The open time of the ``interval`` candle holding ``time``."""
    length = INTERVALS[interval]
    if length is None:
        return _month_start(time)
    if length == _WEEK_MS:
        return time - (time - _MONDAY_MS) % _WEEK_MS
    return time - time % length


def period_end(start: int, interval: str) -> int:
    """The open time of the candle after the one opening at ``start``."""
    length = INTERVALS[interval]
    return _month_start(start, 1) if length is None else start + length


def _candle(buckets: MinuteBuckets, start: int, end: int) -> Candle | None:
    first = bisect_left(buckets.minutes, start)
    past = bisect_left(buckets.minutes, end, first)
    carried = buckets.closes[first - 1] if first > 0 else None
    if first == past:
        if carried is None:
            return None
        return Candle(start, end - 1, carried, carried, carried, carried, 0)
    opened = buckets.opens[first] if carried is None else carried
    return Candle(
        start,
        end - 1,
        opened,
        max(opened, max(buckets.highs[first:past])),
        min(opened, min(buckets.lows[first:past])),
        buckets.closes[past - 1],
        sum(buckets.counts[first:past]),
    )


def _opens(lowest: int, highest: int, interval: str, limit: int, *, forward: bool) -> list[int]:
    """The open times of at most ``limit`` periods in ``[lowest, highest]`` (both open
    times): the first ones when ``forward``, else the last ones. Steps only over those:
    a history with a year between two marks costs ``limit`` steps, not a year of them."""
    if limit < 1 or lowest > highest:
        return []
    length = INTERVALS[interval]
    if length is not None:  # fixed length: arithmetic
        if forward:
            return list(range(lowest, min(highest, lowest + (limit - 1) * length) + 1, length))
        return list(range(max(lowest, highest - (limit - 1) * length), highest + 1, length))
    opens: list[int] = []
    at = lowest if forward else highest
    while len(opens) < limit and lowest <= at <= highest:
        opens.append(at)
        at = _month_start(at, 1 if forward else -1)
    return opens if forward else opens[::-1]


def candles(
    buckets: MinuteBuckets,
    interval: str,
    now: int,
    *,
    start_time: int | None = None,
    end_time: int | None = None,
    limit: int = 500,
) -> list[Candle]:
    """The ``interval`` candles of the history, as Binance selects them: open time from
    ``start_time`` on and up to ``end_time``; the first ``limit`` from ``start_time`` when
    it is sent, else the last ``limit`` (the newest is the candle under way at ``now``).
    Times past the history's newest candle select nothing beyond it (any LONG is taken)."""
    if not buckets.minutes:
        return []
    newest = max(now, buckets.minutes[-1])
    if start_time is not None and start_time > newest:
        return []
    lowest = period_start(buckets.minutes[0], interval)
    highest = period_start(newest if end_time is None else min(end_time, newest), interval)
    if start_time is not None:
        begin = period_start(start_time, interval)
        lowest = max(lowest, begin if begin == start_time else period_end(begin, interval))
    chosen = _opens(lowest, highest, interval, limit, forward=start_time is not None)
    made = (_candle(buckets, at, period_end(at, interval)) for at in chosen)
    return [candle for candle in made if candle is not None]


@dataclass(frozen=True, slots=True)
class Span:
    """Buckets ``[lo, hi)`` of a series, summed: highest high, lowest low, marks counted,
    and the area of their closes over time (each close until the next bucket's minute)."""

    high: int
    low: int
    count: int
    area: int


# The sum of buckets ``[lo, hi)`` (``hi`` < the series' length: each has a next bucket).
SpanOf = Callable[[MinuteBuckets, int, int], "Span | None"]


def span(buckets: MinuteBuckets, lo: int, hi: int) -> Span | None:
    """``[lo, hi)`` summed (None when empty). Its buckets and the one after ``hi - 1``
    never change once a later bucket exists: a caller may keep the answer, by the minutes
    of ``lo`` and ``hi - 1`` (``day_stats`` asks for spans of closed buckets only)."""
    if lo >= hi:
        return None
    minutes = buckets.minutes
    area = sum(map(mul, buckets.closes[lo:hi], map(sub, minutes[lo + 1 : hi + 1], minutes[lo:hi])))
    return Span(
        max(buckets.highs[lo:hi]), min(buckets.lows[lo:hi]), sum(buckets.counts[lo:hi]), area
    )


def day_stats(buckets: MinuteBuckets, now: int, span_of: SpanOf = span) -> DayStats:
    """The mark's 24 hours before ``now`` (zeros when the history has no mark by then).
    ``span_of`` sums the buckets between the window's first and last (a caller may give
    one that keeps its answers: those buckets do not change within a minute)."""
    window = now - DAY_MS
    minutes = buckets.minutes
    first = bisect_left(minutes, window - window % MINUTE_MS)
    past = bisect_right(minutes, now)
    if past == 0:
        return DayStats(window, now, 0, 0, 0, 0, 0, 0)
    carried = buckets.closes[first - 1] if first > 0 else None
    opened = buckets.opens[first] if carried is None else carried
    if first >= past:
        flat = buckets.closes[past - 1]
        return DayStats(window, now, flat, flat, flat, flat, flat, 0)
    # The time-weighted mark: the open holds until the first bucket, each bucket's close
    # until the next one (or now). The first and last buckets here, the ones between
    # summed by ``span_of``.
    since = max(window, minutes[first]) if carried is None else window
    begun = max(minutes[first], since)
    last = past - 1
    high = max(opened, buckets.highs[first], buckets.highs[last])
    low = min(opened, buckets.lows[first], buckets.lows[last])
    count = buckets.counts[first] + (buckets.counts[last] if last > first else 0)
    area = opened * (begun - since) + buckets.closes[last] * (now - max(minutes[last], begun))
    if last > first:
        area += buckets.closes[first] * (minutes[first + 1] - begun)
    between = span_of(buckets, first + 1, last)
    if between is not None:
        high, low = max(high, between.high), min(low, between.low)
        count += between.count
        area += between.area
    span_ms = now - since
    average = area // span_ms if span_ms > 0 else buckets.closes[last]
    return DayStats(window, now, opened, high, low, buckets.closes[last], average, count)
