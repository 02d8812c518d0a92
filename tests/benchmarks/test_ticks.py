"""The mark-tick benchmark, smoke-tested at tiny sizes: quiet ticks fill nothing, crossed
ticks fill exactly k (the script asserts both)."""

from __future__ import annotations

import asyncio

import pytest
from benchmarks.ticks import run as ticks


@pytest.mark.timeout(60)
def test_mark_ticks_with_resting_orders_quiet_and_crossed() -> None:
    rows = asyncio.run(ticks([40, 400], 20, [1, 3], ticks=5, repeats=2))
    assert [row["resting"] for row in rows] == [40, 400]
    for row in rows:
        assert row["quiet_us"] > 0 and row["k1_us"] > 0 and row["k3_us"] > 0
