"""Funding settlements in the store, on SQLite and PostgreSQL alike: claimed once (the
first claimer's rate and mark win), finished, listed while unfinished, their history;
``db copy`` carries them and ``reset`` empties them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posrisk.store import FUNDING_FROM, FundingSettlement, NewAccount, SQLiteStore
from posrisk.store.copy import copy_database

pytestmark = pytest.mark.asyncio
D = Decimal
H8 = 8 * 3_600_000


async def test_the_first_claim_wins_and_every_claimer_reads_its_numbers(any_store: Any) -> None:
    first = await any_store.claim_funding("BTCUSDT", H8, D("0.0001"), D("92000.5"), 100)
    assert first.won
    assert first.settlement == FundingSettlement("BTCUSDT", H8, D("0.0001"), D("92000.5"), 100)
    second = await any_store.claim_funding("BTCUSDT", H8, D("0.0003"), D("91000"), 200)
    assert not second.won
    assert second.settlement == first.settlement
    other = await any_store.claim_funding("ETHUSDT", H8, D("-0.0002"), D("3000"), 300)
    assert other.won
    assert await any_store.unfinished_funding() == (first.settlement, other.settlement)
    await any_store.finish_funding("BTCUSDT", H8, 400)
    await any_store.finish_funding("BTCUSDT", H8, 500)  # the first finish's time stays
    assert await any_store.unfinished_funding() == (other.settlement,)
    again = await any_store.claim_funding("BTCUSDT", H8, D("0.0001"), D("1"), 600)
    assert (again.won, again.settlement.finished_at) == (False, 400)
    await any_store.claim_funding("BTCUSDT", 2 * H8, D("0.0001"), D("1"), 700)
    assert await any_store.last_funding() == {"BTCUSDT": 2 * H8, "ETHUSDT": H8}


async def test_the_history_reads_the_oldest_or_the_newest_ascending(any_store: Any) -> None:
    for n in range(1, 5):
        await any_store.claim_funding("BTCUSDT", n * H8, D("0.0001"), D(90000 + n), n)
        await any_store.claim_funding("ETHUSDT", n * H8, D("0.0002"), D(3000 + n), n)
    btc = await any_store.funding_history("BTCUSDT", 0, 10 * H8, limit=2)
    assert [(r.symbol, r.funding_time) for r in btc] == [("BTCUSDT", H8), ("BTCUSDT", 2 * H8)]
    newest = await any_store.funding_history("BTCUSDT", 0, 3 * H8, limit=2, newest_first=True)
    assert [r.funding_time for r in newest] == [2 * H8, 3 * H8]
    every = await any_store.funding_history(None, 2 * H8, 3 * H8, limit=10)
    assert [(r.funding_time, r.symbol) for r in every] == [
        (2 * H8, "BTCUSDT"),
        (2 * H8, "ETHUSDT"),
        (3 * H8, "BTCUSDT"),
        (3 * H8, "ETHUSDT"),
    ]
    assert every[0].mark == D("90002") and every[1].rate == D("0.0002")


async def test_funding_from_is_the_first_start_and_stays(any_store: Any) -> None:
    assert await any_store.funding_from(1_000) == 1_000
    assert await any_store.funding_from(2_000) == 1_000
    assert (await any_store.load()).meta[FUNDING_FROM] == "1000"


async def test_reset_empties_the_settlements(any_store: Any) -> None:
    await any_store.claim_funding("BTCUSDT", H8, D("0.0001"), D("92000"), 1)
    await any_store.reset()
    assert await any_store.unfinished_funding() == ()
    assert await any_store.last_funding() == {}


async def test_a_copy_carries_the_settlements(tmp_path: Path, any_store: Any) -> None:
    source = SQLiteStore(tmp_path / "source.db")
    await source.open()
    try:
        await source.commit([NewAccount("alice", 1)])
        await source.claim_funding("BTCUSDT", H8, D("0.0001"), D("92000"), 10)
        await source.finish_funding("BTCUSDT", H8, 20)
        await source.claim_funding("BTCUSDT", 2 * H8, D("-0.0003"), D("91000.25"), 30)
        await copy_database(source, any_store, "target")
        every = (None, 0, 2**62)
        copied = await any_store.funding_history(*every, limit=10)
        assert copied == await source.funding_history(*every, limit=10)
        assert len(copied) == 2
        assert await any_store.unfinished_funding() == await source.unfinished_funding()
    finally:
        await source.close()


async def test_a_claim_is_renewed_by_compare_and_set(any_store: Any) -> None:
    await any_store.claim_funding("BTCUSDT", H8, D("0.0001"), D("92000"), 100)
    assert await any_store.renew_funding("BTCUSDT", H8, 100, 200)
    assert not await any_store.renew_funding("BTCUSDT", H8, 100, 300)  # someone else's now
    [row] = await any_store.unfinished_funding()
    assert row.claimed_at == 200
    await any_store.finish_funding("BTCUSDT", H8, 400)
    assert not await any_store.renew_funding("BTCUSDT", H8, 200, 500)  # finished
