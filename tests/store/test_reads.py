"""How rows become records: marks stored in either text form read back identically."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from posrisk.store import SetMarks, SQLiteStore

from .conftest import fresh_postgres

# Before one writer served both backends, SQLite stored marks as str(price) ("1E-7") and
# PostgreSQL as plain digits ("0.0000001"). Either text must load as the same Decimal.
PRICES = [Decimal(p) for p in ("0.0000001", "0.00000010", "21000.10", "950", "0.000001234")]
OLD_SQLITE_TEXT = {f"S{i}USDT": str(p) for i, p in enumerate(PRICES)}
PLAIN_TEXT = {f"S{i}USDT": format(p, "f") for i, p in enumerate(PRICES)}
EXPECTED = {f"S{i}USDT": p for i, p in enumerate(PRICES)}


def same(loaded: dict[str, Decimal]) -> bool:
    """Equal and with the same digits and exponent, so it prints the same everywhere."""
    return {s: p.as_tuple() for s, p in loaded.items()} == {
        s: p.as_tuple() for s, p in EXPECTED.items()
    }


def test_the_two_forms_differ() -> None:
    assert OLD_SQLITE_TEXT["S0USDT"] == "1E-7"
    assert PLAIN_TEXT["S0USDT"] == "0.0000001"


@pytest.mark.asyncio
@pytest.mark.parametrize("texts", [OLD_SQLITE_TEXT, PLAIN_TEXT], ids=["str", "plain"])
async def test_sqlite_reads_marks_in_either_form(tmp_path: Path, texts: dict[str, str]) -> None:
    path = tmp_path / "ledger.db"
    store = SQLiteStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO marks VALUES (?, ?, 1)", texts.items())
    store = SQLiteStore(path)
    await store.open()
    try:
        assert same(dict((await store.load()).marks))
        await store.commit([SetMarks(EXPECTED, 2)])  # and as this version writes them
        assert same(dict((await store.load()).marks))
    finally:
        await store.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("texts", [OLD_SQLITE_TEXT, PLAIN_TEXT], ids=["str", "plain"])
async def test_postgres_reads_marks_in_either_form(texts: dict[str, str]) -> None:
    async with fresh_postgres() as (store, db):
        await db.executemany("INSERT INTO marks VALUES ($1, $2, 1)", texts.items())
        assert same(dict((await store.load()).marks))
        await store.commit([SetMarks(EXPECTED, 2)])
        assert same(dict((await store.load()).marks))
