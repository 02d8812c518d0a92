"""The order path's split, smoke-tested: a few orders, every part timed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from benchmarks.order_path import run as order_path


@pytest.mark.timeout(60)
def test_order_path_splits_a_request_into_its_parts(tmp_path: Path) -> None:
    means = asyncio.run(order_path(20, tmp_path))
    assert set(means) == {"commit", "matching", "apply", "request"}
    assert 0 < means["matching"] < means["request"]
    assert means["commit"] + means["matching"] + means["apply"] < means["request"]
