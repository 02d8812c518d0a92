"""The order benchmark, smoke-tested at a tiny size: it runs end to end in seconds and
reports figures that say the orders really went through (fills, stream events, no
refusals) — a benchmark that measured refusals would report nothing worth having."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from benchmarks.orders import HEADER, row_line, run_db, scenario


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
