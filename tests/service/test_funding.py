"""Funding settlement in the service, with an injected clock: due times settled once,
in order, with the claimed rate and mark; a new database does not settle the past; a
downtime is caught up at most 7 days back; another gateway's claim is left to it for the
grace, then resumed; a restart pays nothing twice; funding fees can liquidate."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from posrisk.engine import (
    Event,
    Fill,
    FundingFee,
    PositionSide,
    Side,
    UpdateReason,
    WalletTransfer,
)
from posrisk.engine.funding import FundingSchedule, SymbolFunding
from posrisk.service.admin import AdminService
from posrisk.service.funding import CATCH_UP_MS, FundingService
from posrisk.service.liquidation import Liquidator
from posrisk.store import SQLiteStore

from .conftest import Env, restarted

pytestmark = pytest.mark.asyncio
D = Decimal
HOUR = 3_600_000
T = 1_700_006_400_000  # 2023-11-15 00:00 UTC, a funding time (the clock starts 1 h 47 m before)
BOTH = PositionSide.BOTH


def fees_of(snapshot_ledger: object) -> list[tuple[str, int]]:
    return [
        (r.account, r.event.funding_time)
        for r in snapshot_ledger  # type: ignore[attr-defined]
        if isinstance(r.event, FundingFee)
    ]


async def holding(env: Env, *names: str, qty: str = "0.010") -> None:
    for n, name in enumerate(names):
        await env.admin.create_account(name)
        side = Side.BUY if n % 2 == 0 else Side.SELL
        await env.admin.apply_events(
            name,
            [WalletTransfer("USDT", D("1000")), Fill("BTCUSDT", side, D(qty), D("20000"))],
        )
    await env.admin.set_marks({"BTCUSDT": D("21000")})
    env.updates.clear()


def service(
    admin: AdminService,
    schedule: FundingSchedule | None = None,
    *,
    liquidate: bool = False,
    grace_ms: int = 30_000,
) -> FundingService:
    plan = schedule or FundingSchedule()
    return FundingService(
        admin, Liquidator(admin), lambda now: plan, liquidate=liquidate, grace_ms=grace_ms
    )


async def test_a_funding_time_is_settled_once_with_the_claimed_numbers(env: Env) -> None:
    await holding(env, "alice", "bob")
    funding = service(env.admin)
    await funding.start()
    assert await funding.settle_due() == 0  # nothing due yet
    env.clock.now = T - 1
    assert await funding.settle_due() == 0
    env.clock.now = T + 500
    assert await funding.settle_due() == 1
    alice = env.registry.account("alice").account
    bob = env.registry.account("bob").account
    assert alice.wallet_balance("USDT") == D("1000") - D("0.021")  # 0.01 × 21000 × 0.0001
    assert bob.wallet_balance("USDT") == D("1000") + D("0.021")
    assert alice.balance_update_time("USDT") == T
    assert sorted((name, change.reason) for name, _, change, _ in env.updates) == [
        ("alice", UpdateReason.FUNDING_FEE),
        ("bob", UpdateReason.FUNDING_FEE),
    ]
    assert await funding.settle_due() == 0
    env.clock.now = T + HOUR
    assert await funding.settle_due() == 0
    [row] = await env.store.funding_history("BTCUSDT", 0, T * 2, limit=10)
    assert (row.funding_time, row.rate, row.mark, row.claimed_at) == (
        T,
        D("0.0001"),
        D("21000"),
        T + 500,
    )
    assert row.finished_at == T + 500
    assert await env.store.funding_history("ETHUSDT", 0, T * 2, limit=10) == ()  # no mark
    assert sorted(fees_of((await restarted(env.path))[0].ledger)) == [("alice", T), ("bob", T)]
    assert (funding.settlements, funding.fees) == (1, 2)


async def test_a_new_database_does_not_settle_the_past(env: Env) -> None:
    env.clock.now = T + 10 * HOUR  # first start after T and T + 8 h
    await holding(env, "alice")
    funding = service(env.admin)
    await funding.start()
    assert await funding.settle_due() == 0
    env.clock.now = T + 16 * HOUR
    assert await funding.settle_due() == 1
    assert fees_of((await restarted(env.path))[0].ledger) == [("alice", T + 16 * HOUR)]


async def test_a_downtime_is_caught_up_at_most_seven_days_back_in_order(env: Env) -> None:
    await holding(env, "alice")
    funding = service(env.admin)
    await funding.start()
    env.clock.now = T + 10 * 24 * HOUR
    assert await funding.settle_due() == 21  # 3 a day, 7 days
    times = [t for _, t in fees_of((await restarted(env.path))[0].ledger)]
    assert times == sorted(times) and len(times) == 21
    assert times[0] >= env.clock.now - CATCH_UP_MS
    assert times[-1] == T + 10 * 24 * HOUR


async def test_each_symbol_settles_at_its_own_interval_with_the_rate_then(env: Env) -> None:
    await holding(env, "alice")
    schedule = FundingSchedule({"BTCUSDT": SymbolFunding(D("0.0003"), interval_hours=4)})
    funding = service(env.admin, schedule)
    await funding.start()
    env.clock.now = T + 4 * HOUR
    assert await funding.settle_due() == 2
    rows = await env.store.funding_history("BTCUSDT", 0, T * 2, limit=10)
    assert [(r.funding_time, r.rate) for r in rows] == [
        (T, D("0.0003")),
        (T + 4 * HOUR, D("0.0003")),
    ]
    alice = env.registry.account("alice").account
    assert alice.wallet_balance("USDT") == D("1000") - 2 * D("0.063")


async def test_another_gateways_claim_is_left_to_it_then_resumed(env: Env) -> None:
    await holding(env, "alice")
    funding = service(env.admin, grace_ms=30_000)
    await funding.start()
    # Another gateway claimed T first, with its own rate and mark, and has not finished.
    await env.store.claim_funding("BTCUSDT", T, D("0.0002"), D("20000"), T + 100)
    env.clock.now = T + 1_000
    assert await funding.settle_due() == 0
    assert env.registry.account("alice").account.wallet_balance("USDT") == D("1000")
    env.clock.now = T + 100 + 30_000
    other = service(env.admin)  # a third gateway, at the same moment
    await other.start()
    results = await asyncio.gather(funding.settle_due(), other.settle_due())
    assert sorted(results) == [0, 1]  # one took it over, with the claimer's numbers
    assert env.registry.account("alice").account.wallet_balance("USDT") == D("1000") - D("0.04")
    assert await env.store.unfinished_funding() == ()


async def test_a_finished_claim_of_another_gateway_is_not_settled_again(env: Env) -> None:
    await holding(env, "alice")
    funding = service(env.admin)
    await funding.start()
    await env.store.claim_funding("BTCUSDT", T, D("0.0002"), D("20000"), T + 100)
    await env.store.finish_funding("BTCUSDT", T, T + 200)
    env.clock.now = T + 1_000
    assert await funding.settle_due() == 0
    assert env.registry.account("alice").account.wallet_balance("USDT") == D("1000")


async def test_a_restart_resumes_an_unfinished_settlement_without_paying_twice(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    await holding(env, "alice", "bob", "carol")
    funding = service(env.admin)
    await funding.start()
    env.clock.now = T + 500

    # The store fails after paying alice, before the others; then the process dies.
    paid = 0
    real = env.admin.plan_events

    async def dying(name: str, plan: Any) -> list[Event]:
        nonlocal paid
        if paid:
            raise RuntimeError("the disk is full")
        paid += 1
        return await real(name, plan)

    monkeypatch.setattr(env.admin, "plan_events", dying)
    assert await funding.settle_due() == 0
    monkeypatch.undo()
    assert len(fees_of((await restarted(env.path))[0].ledger)) == 1
    # A restarted process: a fresh store and registry from the file.
    store = SQLiteStore(env.path)
    await store.open()
    try:
        _, registry = await restarted(env.path)
        admin = AdminService(store, registry, env.clock)
        again = service(admin)
        await again.start()
        assert await again.settle_due() == 0  # someone's claim, within the grace
        env.clock.now = T + 500 + 30_000
        assert await again.settle_due() == 1
        assert await again.settle_due() == 0
        ledger = (await restarted(env.path))[0].ledger
        assert sorted(fees_of(ledger)) == [("alice", T), ("bob", T), ("carol", T)]
        assert await store.unfinished_funding() == ()
    finally:
        await store.close()


async def test_funding_alone_liquidates_a_cross_account_when_asked(env: Env) -> None:
    await env.admin.create_account("alice")
    await env.admin.apply_events(
        "alice",
        [WalletTransfer("USDT", D("2.2")), Fill("BTCUSDT", Side.BUY, D("1"), D("100"))],
        force=True,
    )
    await env.admin.set_marks({"BTCUSDT": D("100")})  # margin 2.2 over maintenance 0.4
    env.updates.clear()
    schedule = FundingSchedule({"BTCUSDT": SymbolFunding(D("0.02"))})  # the cap: pays 2
    funding = service(env.admin, schedule, liquidate=True)
    await funding.start()
    env.clock.now = T
    assert await funding.settle_due() == 1
    account = env.registry.account("alice").account
    assert not account.open_positions()
    reasons = [change.reason for _, _, change, _ in env.updates]
    assert reasons[0] is UpdateReason.FUNDING_FEE and UpdateReason.ORDER in reasons[1:]
    assert funding.liquidator.liquidations == 1


async def test_a_long_settlement_renews_its_claim_so_no_one_takes_it_over(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    await holding(env, "alice", "bob", "carol")
    funding = service(env.admin)
    funding.chunk = 1
    await funding.start()
    env.clock.now = T
    real = env.admin.plan_events
    calls = 0

    async def slow(name: str, plan: Any) -> list[Event]:
        nonlocal calls
        calls += 1
        env.clock.now += 20_000  # each account takes 20 s
        if calls == 3:
            raise RuntimeError("the disk is full")
        return await real(name, plan)

    monkeypatch.setattr(env.admin, "plan_events", slow)
    assert await funding.settle_due() == 0
    monkeypatch.undo()
    [row] = await env.store.unfinished_funding()
    assert row.claimed_at == T + 60_000  # renewed after each account, 20 s apart
    other = service(env.admin)
    await other.start()
    env.clock.now = T + 89_999  # 90 s after the claim, under 30 s after its renewal
    assert await other.settle_due() == 0
    assert await funding.settle_due() == 1  # its own: resumed at once
    assert len(fees_of((await restarted(env.path))[0].ledger)) == 3
