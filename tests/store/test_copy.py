"""``posrisk db copy`` carries the order index: the target rebuilds it from the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from posrisk.store import NewAccount, SQLiteStore
from posrisk.store.copy import copy_database

from .test_order_index import history

pytestmark = pytest.mark.asyncio


async def test_a_copy_answers_the_order_queries_as_its_source(
    tmp_path: Path, any_store: Any
) -> None:
    source = SQLiteStore(tmp_path / "source.db")
    await source.open()
    try:
        await source.commit([NewAccount("alice", 1), *history()])
        copied = await copy_database(source, any_store, "target")
        assert (copied.accounts, copied.entries) == (1, len(history()))
        for store in (source, any_store):
            assert [o.order_id for o in await store.orders("alice", "BTCUSDT", limit=9)] == [1, 2]
        reads: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
            ("orders", ("alice", "BTCUSDT"), {"limit": 9}),
            ("trades", ("alice", "BTCUSDT"), {"limit": 9}),
            ("algo_orders", ("alice", "BTCUSDT"), {"limit": 9}),
            ("order", ("alice", "BTCUSDT"), {"client_order_id": "abc"}),
            ("algo_order", ("alice",), {"algo_id": 5}),
        ]
        for name, args, kwargs in reads:
            found = await getattr(any_store, name)(*args, **kwargs)
            assert found and found == await getattr(source, name)(*args, **kwargs)
    finally:
        await source.close()
