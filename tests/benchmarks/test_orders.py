"""The order benchmarks, smoke-tested at tiny sizes: each runs end to end in seconds and
reports figures that say the orders really went through (fills, stream events, no
refusals) — a benchmark that measured refusals would report nothing worth having."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest
from benchmarks.order_path import run as order_path
from benchmarks.orders import HEADER, row_line, run_db, scenario
from benchmarks.ticks import run as ticks


@pytest.mark.timeout(120)
def test_order_place_against_account_position_on_sqlite(tmp_path: Path) -> None:
    scenario_path = tmp_path / "scenario.json"
    scenario_path.write_text(json.dumps(scenario(16)))
    args = argparse.Namespace(connections=2, accounts_per_connection=8, seconds=0.3, rounds=1)
    rows = run_db("sqlite", str(tmp_path / "orders.db"), scenario_path, args)
    assert [row["case"] for row in rows] == ["position", "order"]
    position, order = rows
    assert position["ratio"] == 1.0 and 0 < order["ratio"] < 1
    assert position["errors"] == order["errors"] == 0
    assert order["rps"] > 0 and order["events_per_s"] > 0  # fills reached the user streams
    assert position["events_per_s"] == 0
    assert "req/s" in HEADER and "order" in row_line(order)


@pytest.mark.timeout(60)
def test_order_path_splits_a_request_into_its_parts(tmp_path: Path) -> None:
    means = asyncio.run(order_path(20, tmp_path))
    assert set(means) == {"commit", "matching", "apply", "request"}
    assert 0 < means["matching"] < means["request"]
    assert means["commit"] + means["matching"] + means["apply"] < means["request"]


@pytest.mark.timeout(60)
def test_mark_ticks_with_resting_orders_quiet_and_crossed() -> None:
    rows = asyncio.run(ticks([40, 400], 20, [1, 3], ticks=5, repeats=2))
    assert [row["resting"] for row in rows] == [40, 400]
    for row in rows:
        assert row["quiet_us"] > 0 and row["k1_us"] > 0 and row["k3_us"] > 0
