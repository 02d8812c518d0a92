"""Income written with every commit: whatever an account goes through (deposits,
withdrawals, operator fills opening, closing and flipping, several in one commit, funding
settlements, cross and isolated, one-way and hedge), its income rows add up per asset to
its wallet balance, to the last decimal."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from posrisk.engine import (
    EngineError,
    Fill,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    SetMarginType,
    Side,
    WalletTransfer,
)
from posrisk.engine.funding import FundingSchedule, funding_events
from posrisk.service.admin import AdminService
from posrisk.service.clock import ManualClock
from posrisk.service.registry import Registry
from posrisk.store import IncomeQuery, SQLiteStore

D = Decimal
EIGHT_HOURS = 8 * 3_600_000
EVERY = IncomeQuery(0, 2**63 - 1, 1000)

# A one-way account's fills are BOTH, a hedge account's LONG or SHORT (``_sided``).
_SIDES = st.sampled_from([PositionSide.LONG, PositionSide.SHORT])
_FILL = st.builds(
    lambda symbol, side, qty, price, fee, position_side: Fill(
        symbol, side, qty, price, position_side, fee
    ),
    st.sampled_from(["BTCUSDT", "ETHUSDT"]),
    st.sampled_from(list(Side)),
    st.sampled_from([D("0.001"), D("0.003"), D("0.010"), D("0.5")]),
    st.sampled_from([D("900"), D("20000.1"), D("21123.3"), D("1000")]),
    st.sampled_from([D(0), D("0.000000015"), D("0.0336"), D("1.23456789")]),
    _SIDES,
)
_EVENT = st.one_of(
    st.builds(
        lambda amount: WalletTransfer("USDT", amount),
        st.sampled_from([D("-500"), D("-0.00000001"), D("0.12345678"), D("5000")]),
    ),
    _FILL,
    st.builds(
        lambda symbol: SetMarginType(symbol, MarginType.ISOLATED),
        st.sampled_from(["BTCUSDT", "ETHUSDT"]),
    ),
    st.just("funding"),
)


async def _run(hedge: bool, commits: list[list[Any]]) -> None:
    store = SQLiteStore(":memory:")
    await store.open()
    try:
        clock = ManualClock(1_700_000_000_000)
        admin = AdminService(store, Registry(Market.default()), clock)
        await admin.create_account("acct", PositionMode.HEDGE if hedge else None)
        await admin.set_marks({"BTCUSDT": D("21000.5"), "ETHUSDT": D("951.13")})
        await admin.wallet("acct", "USDT", D("100000"))
        for events in commits:
            clock.advance(EIGHT_HOURS)
            await _commit(admin, [_sided(e, hedge) for e in events if e != "funding"])
            if "funding" in events:
                await _settle(admin, clock.now_ms() // EIGHT_HOURS * EIGHT_HOURS)
        account = admin.registry.account("acct").account
        rows = await store.income("acct", EVERY)
        assert sum((r.entry.income for r in rows), D(0)) == account.wallet_balance("USDT")
        assert len({r.tran_id for r in rows}) == len(rows)
        for kind in sorted({r.entry.income_type.value for r in rows}):
            event(kind)
        assert [r.time for r in rows] == sorted(r.time for r in rows)
    finally:
        await store.close()


def _sided(event: Any, hedge: bool) -> Any:
    if isinstance(event, Fill) and not hedge:
        return replace(event, position_side=PositionSide.BOTH)
    return event


async def _commit(admin: AdminService, events: list[Any]) -> None:
    with contextlib.suppress(EngineError):  # refused as a whole: nothing written
        await admin.apply_events("acct", events, force=True)


async def _settle(admin: AdminService, funding_time: int) -> None:
    def plan(state: Any, now: int) -> list[Any]:
        marks = admin.registry.marks
        return list(funding_events(state, admin.market, marks, FundingSchedule(), funding_time))

    await admin.plan_events("acct", plan)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hedge=st.booleans(), commits=st.lists(st.lists(_EVENT, min_size=1, max_size=4), max_size=8))
def test_income_adds_up_to_the_wallet(hedge: bool, commits: list[list[Any]]) -> None:
    asyncio.run(_run(hedge, commits))
