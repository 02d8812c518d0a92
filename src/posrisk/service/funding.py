"""Funding settlement: the one owner of paying funding fees, exactly once.

``settle_due()`` settles every funding time that came due: for each listed symbol with
a mark, the funding times in (last settled, now], in time order. Each (symbol, funding
time) is settled in steps that any gateway sharing the database may run:

1. **claim** the settlement in the store: the first claimer writes the rate (the
   schedule's at that funding time, clamped) and the symbol's current mark; every gateway
   settles with the numbers stored, whoever claimed them;
2. **settle** every account holding the symbol through ``AdminService.plan_events``, with
   a plan that recomputes the fees from the state it is given: a side that already settled
   that time (the engine remembers, ``Account.funded``) pays nothing again, and a plan made
   against a state another gateway has moved is stale and made again;
3. **liquidate** the accounts that paid, when liquidation is on (``Liquidator``);
4. **finish** the settlement in the store.

A settlement another gateway claimed and has not finished is left to it for ``grace_ms``
(by the injected clock) since it last renewed its claim (the settler renews it after each
chunk of accounts), then taken over by one gateway (compare and set on the claim's time)
and resumed; a restarted process resumes its own the same way.
Double payment is impossible, not unlikely: the engine refuses a second fee for a side,
and a commit made against a stale state is refused by the store's revision check.

A new database settles from its first start (``funding_from``), not the past; after a
downtime at most the last ``CATCH_UP_MS`` (7 days) of funding times are caught up, each
at the mark of the moment it is settled (the marks of the past are not kept).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..engine import Account, Event
from ..engine.funding import (
    FundingSchedule,
    due_funding_times,
    next_funding_time,
    side_fee,
    symbol_funding_events,
)
from ..store import FundingSettlement
from .admin import AdminService
from .liquidation import Liquidator

if TYPE_CHECKING:
    from .mark_feed import MarkFeed

__all__ = ["CATCH_UP_MS", "CHUNK", "GRACE_MS", "FundingService", "Schedule", "start_funding"]

log = logging.getLogger("posrisk.funding")

# now (ms) → the funding schedule in force then.
Schedule = Callable[[int], FundingSchedule]

# How long a claim of another process may stay unfinished before this one resumes it.
GRACE_MS = 30_000
# How far back a server that was down settles the funding times it missed.
CATCH_UP_MS = 7 * 24 * 3_600_000
# How many accounts are settled concurrently (their plans share group commits).
CHUNK = 256


@dataclass(slots=True)
class _Pass:
    """One pass over what is due: the symbols held back (a time of theirs is another's,
    or failed), whether anything was left for later, what was finished."""

    now: int
    blocked: set[str] = field(default_factory=set)
    pending: bool = False
    finished: int = 0


class FundingService:
    """Settles the funding that comes due, once per side, across every gateway."""

    def __init__(
        self,
        admin: AdminService,
        liquidator: Liquidator,
        schedule: Schedule,
        *,
        liquidate: bool = False,
        grace_ms: int = GRACE_MS,
        chunk: int = CHUNK,
    ) -> None:
        self.admin = admin
        self.liquidator = liquidator
        self.schedule = schedule
        self.liquidate = liquidate
        self.grace_ms = grace_ms
        self.chunk = chunk
        self.registry = admin.registry
        self.market = admin.market
        self._lock = asyncio.Lock()
        # When the database settles from (``start``: its first start).
        self._from: int | None = None
        # The time of the last pass that left nothing for later (None: none yet).
        self._checked: int | None = None
        # Claims this process holds and has not finished, with their claim time as
        # stored (renewed as the settlement goes; resumed at once, no grace).
        self._mine: dict[tuple[str, int], int] = {}
        # Settlements this process finished, and the fees it committed.
        self.settlements = 0
        self.fees = 0

    def __repr__(self) -> str:
        return f"<FundingService {self.settlements} settlements, {self.fees} fees>"

    async def start(self) -> None:
        """Read (on a new database: write) when settling starts from."""
        self._from = await self.admin.store.funding_from(self.admin.clock.now_ms())

    async def settle_due(self) -> int:
        """Settle what came due since the last call; returns the settlements finished.
        Cheap when nothing is due (no database read)."""
        async with self._lock:
            now = self.admin.clock.now_ms()
            if self._from is None:
                await self.start()
            if not self._maybe_due(now):
                return 0
            done = await self._pass(now)
            self._checked = None if done.pending else now
            return done.finished

    def _maybe_due(self, now: int) -> bool:
        # Whether a funding time of some interval fell in (last quiet pass, now].
        if self._checked is None:
            return True
        schedule = self.schedule(now)
        intervals = {schedule.of(symbol.name).interval_hours for symbol in self.market}
        return any(next_funding_time(self._checked, hours) <= now for hours in intervals)

    async def _pass(self, now: int) -> _Pass:
        store = self.admin.store
        assert self._from is not None
        start = max(self._from, now - CATCH_UP_MS)
        last = await store.last_funding()
        work: dict[int, list[tuple[str, FundingSettlement | None]]] = {}
        for row in await store.unfinished_funding():  # claimed, never finished: resumed
            work.setdefault(row.funding_time, []).append((row.symbol, row))
        schedule = self.schedule(now)
        for symbol in self.market:
            if symbol.name in self.registry.marks:
                after = max(start, last.get(symbol.name, start))
                for time in due_funding_times(schedule, symbol.name, after, now):
                    work.setdefault(time, []).append((symbol.name, None))
        done = _Pass(now)
        for time in sorted(work):
            rows = await self._claim(time, work[time], done)
            if rows and await self._settle_time(time, rows):
                for row in rows:
                    await store.finish_funding(row.symbol, time, self.admin.clock.now_ms())
                    self._mine.pop((row.symbol, time), None)
                done.finished += len(rows)
                self.settlements += len(rows)
            elif rows:
                done.pending = True
                done.blocked.update(row.symbol for row in rows)
        return done

    async def _claim(
        self, time: int, items: list[tuple[str, FundingSettlement | None]], done: _Pass
    ) -> list[FundingSettlement]:
        """The settlements of ``time`` this pass runs: claimed now, its own, or another's
        left unfinished past the grace and taken over (one gateway only: the claim's time
        is renewed by compare and set); the others hold their symbols back."""
        store = self.admin.store
        rows = []
        for symbol, row in items:
            key = (symbol, time)
            if symbol in done.blocked:
                done.pending = True
                continue
            if row is None:
                rate = self.schedule(time).of(symbol).clamped_rate
                mark = self.registry.marks[symbol]
                claim = await store.claim_funding(symbol, time, rate, mark, done.now)
                row = claim.settlement
                if claim.won:
                    self._mine[key] = row.claimed_at
            if row.finished_at is not None:
                continue
            if key in self._mine:
                rows.append(row)
            elif done.now - row.claimed_at >= self.grace_ms and await store.renew_funding(
                symbol, time, row.claimed_at, done.now
            ):
                log.warning("resuming the funding of %s at %d claimed at %d", *key, row.claimed_at)
                self._mine[key] = done.now
                rows.append(row)
            else:  # another gateway is settling it
                done.blocked.add(symbol)
                done.pending = True
        return rows

    async def _renew(self, rows: Sequence[FundingSettlement]) -> bool:
        # Tell the other gateways these claims are alive; False if one was taken over.
        store, alive = self.admin.store, True
        for row in rows:
            key, now = (row.symbol, row.funding_time), self.admin.clock.now_ms()
            if await store.renew_funding(row.symbol, row.funding_time, self._mine[key], now):
                self._mine[key] = now
            else:
                del self._mine[key]
                alive = False
        return alive

    async def _settle_time(self, time: int, rows: Sequence[FundingSettlement]) -> bool:
        """Settle ``rows`` (all of funding time ``time``) in every account holding one of
        their symbols, then liquidate the payers; whether all of it went through."""
        by_symbol = {row.symbol: row for row in rows}
        holders = [
            name
            for name, entry in list(self.registry.accounts.items())
            if any(p.amount and p.symbol in by_symbol for p in entry.account.positions.values())
        ]

        def plan(state: Account, now: int) -> list[Event]:
            events: list[Event] = []
            for row in rows:
                events += symbol_funding_events(
                    state, self.market, row.symbol, time, row.rate, row.mark
                )
            return events

        ok = True
        for first in range(0, len(holders), self.chunk):
            part = holders[first : first + self.chunk]
            results = await asyncio.gather(
                *(self.admin.plan_events(name, plan) for name in part), return_exceptions=True
            )
            for name, result in zip(part, results, strict=True):
                if isinstance(result, BaseException) and not isinstance(result, Exception):
                    raise result  # cancelled, or the process is going down
                if isinstance(result, Exception):
                    log.error("funding at %d for %s failed: %r (resumed later)", time, name, result)
                    ok = False
                else:
                    self.fees += len(result)
            if not await self._renew(rows):
                return False  # another gateway took it over: it finishes it
        if ok and self.liquidate:
            payers = [name for name in holders if self._pays(name, rows)]
            try:
                await self.liquidator.accounts(payers)
            except Exception:
                log.exception("liquidating after funding at %d failed (resumed later)", time)
                ok = False
        return ok

    def _pays(self, name: str, rows: Sequence[FundingSettlement]) -> bool:
        # Whether the account pays (rather than receives) at one of these settlements.
        account = self.registry.account(name).account
        return any(
            side_fee(p.amount, row.mark, row.rate) < 0
            for row in rows
            for p in account.positions.values()
            if p.symbol == row.symbol and p.amount
        )


async def start_funding(
    admin: AdminService, feed: MarkFeed, schedule: Schedule, *, grace_ms: int = GRACE_MS
) -> FundingService:
    """A started ``FundingService`` woken by ``feed``'s periodic save, liquidating with
    the feed's ``Liquidator`` when the feed liquidates."""
    funding = FundingService(
        admin, feed.liquidator, schedule, liquidate=feed.liquidate, grace_ms=grace_ms
    )
    await funding.start()
    feed.funding = funding
    return funding
