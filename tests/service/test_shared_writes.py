"""Two gateways sharing one database: each catches up with what the other committed, and
a write planned against a state another gateway has moved past is planned again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio

from posrisk.engine import (
    EngineError,
    Fill,
    Market,
    OrderRequest,
    OrderType,
    OrderUpdate,
    PositionSide,
    Side,
    TimeInForce,
)
from posrisk.protocol import canonical_payload, hmac_signature
from posrisk.service.admin import AdminService
from posrisk.service.clock import ManualClock
from posrisk.service.orders import OrderService
from posrisk.service.registry import Registry, StateChanged
from posrisk.service.views import position_rows
from posrisk.store import AppendEvent, SetMarks, SQLiteStore

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


def resting_buy(price: str) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, f"buy-{price}", D("0.010"), D(price),
        time_in_force=TimeInForce.GTC,
    )  # fmt: skip


def trades_of(snapshot: Any, order_id: int) -> list[int]:
    """The trade ids of ``order_id``'s TRADE events in the ledger."""
    return [
        r.event.trade.trade_id
        for r in snapshot.ledger
        if isinstance(r.event, OrderUpdate)
        and r.event.trade is not None
        and r.event.order.order_id == order_id
    ]


async def test_two_gateways_matching_one_mark_fill_a_resting_order_once(two_stores: Any) -> None:
    a, _ = await gateway(two_stores[0])
    await a.create_account("alice")
    await a.wallet("alice", "USDT", D(1000))
    b, _ = await gateway(two_stores[1])
    on_a, on_b = OrderService(a), OrderService(b)
    for admin in (a, b):
        await admin.set_marks({"BTCUSDT": D("21000")})
    placed = [await on_a.place("alice", resting_buy(p)) for p in ("20900", "20950")]
    placed.append(await on_b.place("alice", resting_buy("20990")))  # b catches up first
    await b.catch_up()
    assert len(b.registry.account("alice").account.orders) == 3
    # Both gateways' feeds see the mark cross all three, and both match.
    moved = {"BTCUSDT": D("20800")}
    for admin in (a, b):
        admin.registry.apply_committed([SetMarks(moved, 0)])
    await asyncio.gather(on_a.on_marks(moved), on_b.on_marks(moved))
    await a.catch_up()
    await b.catch_up()
    snapshot = await two_stores[0].load()
    trade_ids = [trades_of(snapshot, p.accepted.order_id) for p in placed]
    assert [len(ids) for ids in trade_ids] == [1, 1, 1]
    assert on_a.fills + on_b.fills == 3
    # Ids stay unique whoever planned them.
    assert len({p.accepted.order_id for p in placed}) == 3
    assert len({i for ids in trade_ids for i in ids}) == 3
    for admin in (a, b):
        assert not admin.registry.account("alice").account.orders
    assert rows(a, "alice") == rows(b, "alice")


async def test_an_order_coming_to_rest_past_a_mark_that_moved_meanwhile_is_matched(
    two_stores: Any,
) -> None:
    """The mark moves while the order is being committed: the tick finds nothing resting,
    then the order comes to rest already crossed; it fills without waiting for a tick."""
    a, _ = await gateway(two_stores[0])
    await a.create_account("alice")
    await a.wallet("alice", "USDT", D(1000))
    await a.set_marks({"BTCUSDT": D("21000")})
    orders = OrderService(a)
    store = a.store
    commit = store.commit
    moved = {"BTCUSDT": D("20800")}

    async def commit_while_the_mark_moves(changes: Any, *, expect: Any = None) -> Any:
        if any(isinstance(c, AppendEvent) and isinstance(c.event, OrderUpdate) for c in changes):
            a.registry.apply_committed([SetMarks(moved, 0)])  # a feed tick, meanwhile
            await orders.on_marks(moved)  # finds nothing: the order is not resting yet
            assert orders.fills == 0
        return await commit(changes, expect=expect)

    store.commit = commit_while_the_mark_moves  # type: ignore[method-assign]
    placed = await orders.place("alice", resting_buy("20900"))
    store.commit = commit  # type: ignore[method-assign]
    assert placed.result.status.value == "NEW"
    await orders.matched()  # the matching runs as a task of its own
    assert orders.fills == 1
    assert len(trades_of(await store.load(), placed.accepted.order_id)) == 1
    await orders.stop()


async def test_marks_heard_from_another_gateway_are_matched_here(two_stores: Any) -> None:
    """Only b's feed moved the mark, before b heard of a's order: a, told the mark by the
    bus, fills it."""
    a, _ = await gateway(two_stores[0])
    await a.create_account("alice")
    await a.wallet("alice", "USDT", D(1000))
    b, _ = await gateway(two_stores[1])
    on_a, on_b = OrderService(a), OrderService(b)
    for admin in (a, b):
        await admin.set_marks({"BTCUSDT": D("21000")})
    placed = await on_a.place("alice", resting_buy("20900"))
    moved = {"BTCUSDT": D("20800")}
    b.registry.apply_committed([SetMarks(moved, 0)])  # b's feed ticks
    await on_b.on_marks(moved)  # b has not heard of the order: nothing
    assert on_b.fills == 0
    a.registry.apply_committed([SetMarks(moved, 0)], local=False)  # the bus tells a
    await on_a.matched()
    assert on_a.fills == 1
    await b.catch_up()
    assert not b.registry.account("alice").account.orders
    assert len(trades_of(await two_stores[0].load(), placed.accepted.order_id)) == 1
    for service in (on_a, on_b):
        await service.stop()
