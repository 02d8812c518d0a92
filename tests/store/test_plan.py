"""The SQL steps a plan yields, in each backend's placeholders."""

from __future__ import annotations

from posrisk.store.plan import POSTGRES, SQLITE, Batch, Query


def test_sqlite_keeps_question_marks() -> None:
    assert SQLITE.query("SELECT ? WHERE a = ?", 1, 2) == Query("SELECT ? WHERE a = ?", (1, 2))


def test_postgres_numbers_them_in_order() -> None:
    assert POSTGRES.query("SELECT ? WHERE a = ? OR b = ?", 1, 2, 3) == Query(
        "SELECT $1 WHERE a = $2 OR b = $3", (1, 2, 3)
    )


def test_a_batch_holds_its_rows() -> None:
    rows = ((s, n) for s, n in [("a", 1), ("b", 2)])
    assert POSTGRES.batch("INSERT INTO t VALUES (?, ?)", rows) == Batch(
        "INSERT INTO t VALUES ($1, $2)", (("a", 1), ("b", 2))
    )


def test_keys_keep_creation_order_by_each_backends_column() -> None:
    assert (SQLITE.key_order, POSTGRES.key_order) == ("rowid", "seq")
