"""The abuse benchmark, smoke-tested: its hostile frames are what they claim to be, and a
tiny run (one pattern, a fraction of a second) prints a table with every column."""

from __future__ import annotations

import asyncio
import json

import pytest
from benchmarks.abuse import PATTERNS, deep_frame, run, table, wide_frame


def depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def test_the_deep_frame_holds_thousands_of_200_deep_arrays_in_under_1_mib() -> None:
    frame = deep_frame()
    assert 900_000 < len(frame) <= 1 << 20
    document = json.loads(frame)
    assert document["method"] == "nope"
    arrays = list(document["params"].values())
    assert len(arrays) > 2000 and {depth(a) for a in arrays} == {200}


def test_the_largest_deep_frame_still_read_is_under_64_kib() -> None:
    frame = deep_frame(65_000)
    assert 60_000 < len(frame) <= 64 * 1024
    assert {depth(a) for a in json.loads(frame)["params"].values()} == {200}


def test_the_wide_frame_is_signed_with_40k_params_and_an_unknown_key() -> None:
    params = json.loads(wide_frame())["params"]
    assert len(params) == 40_000 + 3 and params["apiKey"] == "noSuchKey0001"
    assert len(params["signature"]) == 64


def test_every_pattern_of_the_issue_is_there() -> None:
    assert set(PATTERNS) == {
        "flood",
        "deep",
        "deep64",
        "wide",
        "fragments",
        "unread",
        "streams",
        "silent",
        "slowloris",
        "longhead",
        "httpunread",
    }


@pytest.mark.timeout(60)
def test_a_tiny_run_prints_the_table() -> None:
    rows = asyncio.run(run(0.2, ["unread"]))
    assert [row["pattern"] for row in rows] == ["alone", "unread"]
    assert rows[1]["ip"] == "127.0.0.2" and rows[1]["got"].get("requests sent")
    text = table(rows)
    assert "p50 ms" in text and "RSS MiB before -> after" in text and "unread" in text
