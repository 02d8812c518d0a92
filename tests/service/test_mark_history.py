"""The marks' 1-minute history: buckets per symbol, at most ``minutes`` each, the oldest
dropped first; marks past a 64-bit integer of 1e-8 left out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from posrisk.engine.klines import MINUTE_MS
from posrisk.service.mark_history import HISTORY_MINUTES, MarkHistory

T0 = 1_700_000_040_000  # on a minute


def test_one_bucket_per_minute_with_first_high_low_last_and_count() -> None:
    history = MarkHistory()
    for offset, mark in ((0, "10"), (5_000, "12"), (59_999, "9"), (MINUTE_MS, "11")):
        history.record({"BTCUSDT": Decimal(mark)}, T0 + offset)
    buckets = history.buckets("BTCUSDT")
    assert list(buckets.minutes) == [T0, T0 + MINUTE_MS]
    assert (buckets.opens[0], buckets.highs[0], buckets.lows[0], buckets.closes[0]) == (
        10 * 10**8,
        12 * 10**8,
        9 * 10**8,
        9 * 10**8,
    )
    assert list(buckets.counts) == [3, 1]
    assert history.buckets("ETHUSDT").minutes == ()


def test_a_clock_gone_back_lands_in_the_latest_bucket() -> None:
    history = MarkHistory()
    history.record({"BTCUSDT": Decimal(5)}, T0 + MINUTE_MS)
    history.record({"BTCUSDT": Decimal(7)}, T0)
    buckets = history.buckets("BTCUSDT")
    assert (list(buckets.minutes), buckets.closes[0]) == ([T0 + MINUTE_MS], 7 * 10**8)


def test_the_bound_drops_the_oldest_minutes() -> None:
    assert HISTORY_MINUTES == 1500
    history = MarkHistory(minutes=3)
    for minute in range(5):
        history.record({"BTCUSDT": Decimal(minute + 1)}, T0 + minute * MINUTE_MS)
    buckets = history.buckets("BTCUSDT")
    assert list(buckets.minutes) == [T0 + k * MINUTE_MS for k in (2, 3, 4)]
    assert list(buckets.opens) == [3 * 10**8, 4 * 10**8, 5 * 10**8]
    assert "≤3 each" in repr(history)
    with pytest.raises(ValueError, match="at least 1 minute"):
        MarkHistory(minutes=0)


def test_a_mark_past_the_arrays_is_not_recorded() -> None:
    history = MarkHistory()
    history.record({"BTCUSDT": Decimal("92233720368.54775807")}, T0)
    history.record({"BTCUSDT": Decimal("92233720368.54775808")}, T0 + MINUTE_MS)
    assert list(history.buckets("BTCUSDT").minutes) == [T0]
