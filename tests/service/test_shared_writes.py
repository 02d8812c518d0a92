"""Two gateways sharing one database: each catches up with what the other committed, and
a write planned against a state another gateway has moved past is planned again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio

from posrisk.engine import EngineError, Fill, Market, PositionSide, Side
from posrisk.protocol import canonical_payload, hmac_signature
from posrisk.service.admin import AdminService
from posrisk.service.clock import ManualClock
from posrisk.service.registry import Registry, StateChanged
from posrisk.service.views import position_rows
from posrisk.store import SQLiteStore

from ..store.conftest import POSTGRES_DSN, postgres_schema

pytestmark = pytest.mark.asyncio
D = Decimal


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Two open stores on one database, as two gateway processes would hold them."""
    admin = schema = None
    if request.param == "sqlite":
        stores: list[Any] = [SQLiteStore(tmp_path / "shared.db") for _ in range(2)]
    else:
        from posrisk.store.postgres import PostgresStore

        admin, schema = await postgres_schema()
        stores = [PostgresStore(POSTGRES_DSN, schema=schema) for _ in range(2)]
    try:
        for store in stores:
            await store.open()
        yield stores
    finally:
        for store in stores:
            await store.close()
        if admin is not None:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.close()


async def gateway(store: Any) -> tuple[AdminService, list[tuple[str, Any]]]:
    """An admin service on ``store`` as a starting gateway builds it, and what its account
    listeners were told."""
    market = Market.default()
    registry = Registry.from_snapshot(await store.load(), market)
    admin = AdminService(store, registry, ManualClock(1_700_000_000_000))
    told: list[tuple[str, Any]] = []

    def changed(change: StateChanged) -> None:
        told.extend((item.account, item.applied.change) for item in change.applied)
        told.extend(("revoked", api_key) for api_key in change.revoked)

    registry.subscribe(changed)
    return admin, told


def rows(admin: AdminService, name: str) -> Any:
    registry = admin.registry
    return orjson.loads(orjson.dumps(position_rows(registry, registry.account(name), True, None)))


async def test_a_gateway_catches_up_with_what_another_committed(two_stores: Any) -> None:
    a, _ = await gateway(two_stores[0])
    b, told_b = await gateway(two_stores[1])
    await a.create_account("alice")
    await a.create_key("alice", "hmac", api_key="aliceKey1", secret="fake-secret")
    await a.wallet("alice", "USDT", D(1000))
    await a.set_marks({"BTCUSDT": D("21000")})
    await b.set_marks({"BTCUSDT": D("21000")})  # marks travel on the bus, not here
    await a.fill(
        "alice", Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000"), PositionSide.BOTH, D(0), 0)
    )
    assert "alice" not in b.registry.accounts
    assert await b.catch_up() == 2  # the deposit and the fill
    assert b.registry.revision == a.registry.revision
    assert rows(b, "alice") == rows(a, "alice")
    signed = {"apiKey": "aliceKey1", "timestamp": 1}
    signature = hmac_signature("fake-secret", canonical_payload(signed))
    assert b.registry.keys["aliceKey1"].credential.verify(signed, signature)
    assert [name for name, _ in told_b] == ["alice", "alice"]  # one update per entry
    assert await b.catch_up() is None  # nothing new: nothing applied twice


async def test_a_write_against_a_stale_state_is_planned_again(two_stores: Any) -> None:
    a, _ = await gateway(two_stores[0])
    await a.create_account("alice")
    await a.wallet("alice", "USDT", D(100))
    b, _ = await gateway(two_stores[1])  # both see 100 USDT
    await a.wallet("alice", "USDT", D(-100))
    # b still sees 100: its withdrawal is stale, caught up, planned again and refused.
    with pytest.raises(EngineError, match="insufficient"):
        await b.wallet("alice", "USDT", D(-100))
    snapshot = await two_stores[0].load()
    assert [r.event.amount for r in snapshot.ledger] == [D(100), D(-100)]
    # A write refused by a state that is behind is planned again after catching up.
    await a.wallet("alice", "USDT", D(50))
    await b.wallet("alice", "USDT", D(-20))
    fresh, _ = await gateway(two_stores[0])
    assert fresh.registry.account("alice").account.wallet_balance("USDT") == D(30)
    assert b.registry.account("alice").account.wallet_balance("USDT") == D(30)


async def test_a_revocation_elsewhere_reaches_the_key_listeners(two_stores: Any) -> None:
    a, _ = await gateway(two_stores[0])
    await a.create_account("alice")
    await a.create_key("alice", "hmac", api_key="aliceKey1", secret="fake-secret")
    b, told_b = await gateway(two_stores[1])
    await a.revoke_key("alice", "aliceKey1")
    await b.catch_up()
    assert b.registry.keys["aliceKey1"].revoked_at is not None
    assert told_b == [("revoked", "aliceKey1")]
