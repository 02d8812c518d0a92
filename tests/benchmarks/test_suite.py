"""The suite's judgement and the profiler's arithmetic, on made-up figures: a benchmark
that cannot say FAIL, or miscounts samples, would report nothing worth having."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.profile import aggregate
from benchmarks.suite import targets


def row(db: str, auth: str, ratio: float | None, p99: float, errors: int = 0) -> dict[str, Any]:
    return {
        "db": db,
        "mode": "oneway",
        "positions": 10,
        "symbol": "with",
        "auth": auth,
        "connections": 16,
        "rps": 60_000.0,
        "p99": p99,
        "ratio": ratio,
        "errors": errors,
    }


MEMORY = {"kib_per_connection": 23.2, "connections": 5000, "rss_before_kib": 1, "rss_after_kib": 2}


def test_targets_pass_fail_and_say_what_was_not_measured() -> None:
    rows = [
        row("bare", "hmac", None, 0.3),
        row("sqlite", "hmac", 0.65, 0.5),
        row("sqlite", "logon", 0.59, 0.4),  # under the ratio
        row("postgres", "hmac", 0.70, 5.2),  # over the p99
        row("postgres", "logon", 0.80, 0.4, errors=3),  # errors fail it too
    ]
    results = {t["target"][:20]: t["result"] for t in targets(rows, MEMORY)}
    assert results == {
        "(a) sqlite hmac acco": "PASS",
        "(b) sqlite logon acc": "FAIL",
        "(a) postgres hmac ac": "FAIL",
        "(b) postgres logon a": "FAIL",
        "(c) memory per idle ": "PASS",
    }
    # A database measured without the logon run says so rather than passing.
    partial = targets([row("sqlite", "hmac", 0.7, 0.5)], None)
    assert [t["result"] for t in partial] == ["PASS", "not measured", "not measured"]


def test_memory_over_the_limit_fails() -> None:
    found = targets([], {**MEMORY, "kib_per_connection": 50.5})
    assert [t["result"] for t in found] == ["FAIL"]
    assert [t["result"] for t in targets([], None)] == ["not measured"]


def test_profile_counts_own_and_inclusive_samples_per_function(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "run (a.py:1);submit (posrisk/service/api.py:10);send (posrisk/gateway/server.py:5) 6\n"
        "run (a.py:1);submit (posrisk/service/api.py:12) 3\n"
        "run (a.py:2) 1\n"
    )
    total, own, inclusive = aggregate(raw)
    assert total == 10
    assert own == {
        "send (posrisk/gateway/server.py)": 6,
        "submit (posrisk/service/api.py)": 3,
        "run (a.py)": 1,
    }
    assert inclusive["run (a.py)"] == 10  # two lines of one function count once per sample
    assert inclusive["submit (posrisk/service/api.py)"] == 9
