"""The funding benchmark, smoke-tested at a tiny size: one settlement runs end to end and
really pays (the first account's wallet moves by its fees), with the WS API answering
throughout."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

import pytest
from benchmarks.funding import run_db, scenario


@pytest.mark.timeout(120)
def test_one_settlement_over_a_few_accounts_pays_and_is_measured(tmp_path: Path) -> None:
    scenario_path = tmp_path / "scenario.json"
    scenario_path.write_text(json.dumps(scenario(20, 3)))
    args = argparse.Namespace(accounts=20, positions=3, connections=2, before=0.5)
    row = run_db("sqlite", str(tmp_path / "funding.db"), scenario_path, args)
    assert row["errors"] == 0 and row["wall_s"] > 0
    assert row["before"]["rps"] > 0 and row["before"]["p99"] > 0
    # f0 holds three symbols at 100: short 2, long 1, short 2: −(−2 + 1 − 2) × 100 × 0.0001.
    assert Decimal(row["wallet"]) == Decimal("10000000") + Decimal("0.03")
