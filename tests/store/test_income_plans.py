"""Every income read SQLite is asked (``read_income``: unfiltered, by symbol, by type, by
both) seeks an index on the account, its filters and the time, in the order it answers
in: no scan of the account's other rows, no sort. What the query planner says, not a
timing."""

from __future__ import annotations

import sqlite3

import pytest

from posrisk.store import IncomeQuery
from posrisk.store.income import read_income
from posrisk.store.plan import SQLITE, Query
from posrisk.store.schema import migrations, statements


def _schema() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for _, sql in migrations():
        for statement in statements(sql):
            db.execute(statement)
    return db


@pytest.mark.parametrize(
    ("symbol", "income_type", "index"),
    [
        (None, None, "income_time"),
        ("BTCUSDT", None, "income_symbol_time"),
        (None, "FUNDING_FEE", "income_type_time"),
        ("BTCUSDT", "FUNDING_FEE", "income_symbol_type_time"),
    ],
)
def test_each_income_read_seeks_its_index_in_time_order(
    symbol: str | None, income_type: str | None, index: str
) -> None:
    query = IncomeQuery(0, 2**63 - 1, 1000, 100_000, symbol, income_type)
    step = next(read_income(SQLITE, "alice", query))
    assert isinstance(step, Query)
    plan = [row[3] for row in _schema().execute("EXPLAIN QUERY PLAN " + step.sql, step.args)]
    assert any(line.startswith(f"SEARCH i USING INDEX {index} (account_id=?") for line in plan)
    assert not any("TEMP B-TREE" in line or line.startswith("SCAN") for line in plan), plan
