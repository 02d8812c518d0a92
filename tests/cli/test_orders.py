"""``posrisk order list|cancel`` on a database file: the open orders of a scenario, canceled
one, by symbol or all, durably; refusals exit 1 with Binance's code and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from posrisk.service.registry import FIRST_ID

from .test_admin import ok, refused

LIBRARY = Path(__file__).parents[2] / "examples" / "scenarios"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "orders.db"
    ok(path, "scenario", "load", str(LIBRARY / "resting-orders.json"), "--create")
    return path


def test_the_open_orders_are_listed(db: Path) -> None:
    listed = ok(db, "order", "list", "rita")
    rows = [line.replace("│", " ").split() for line in listed.splitlines()]
    assert [row[:7] for row in rows if row and row[0].isdigit()] == [
        [str(FIRST_ID), "BTCUSDT", "SELL", "BOTH", "LIMIT", "0.050", "63000.00"],
        [str(FIRST_ID + 1), "BTCUSDT", "BUY", "BOTH", "LIMIT", "0.020", "58000.00"],
    ]
    assert str(FIRST_ID) not in ok(db, "order", "list", "rita", "--symbol", "ETHUSDT")


def test_one_order_then_the_rest_are_canceled_durably(db: Path) -> None:
    answer = ok(db, "order", "cancel", "rita", "--order-id", str(FIRST_ID + 1))
    assert answer == f"canceled 1 orders: {FIRST_ID + 1}\n"
    assert str(FIRST_ID + 1) not in ok(db, "order", "list", "rita")  # a new process: stored
    assert (
        ok(db, "order", "cancel", "rita", "--symbol", "BTCUSDT")
        == f"canceled 1 orders: {FIRST_ID}\n"
    )
    assert ok(db, "order", "cancel", "rita") == "canceled 0 orders\n"


def test_refusals_change_nothing(db: Path) -> None:
    assert "error -2011: Unknown order sent." in refused(
        db, "order", "cancel", "rita", "--order-id", "7"
    )
    assert "error -1121" in refused(db, "order", "cancel", "rita", "--symbol", "NOPEUSDT")
    assert "error -1130" in refused(db, "order", "list", "nobody")
    assert ok(db, "order", "list", "rita").count("LIMIT") == 2
