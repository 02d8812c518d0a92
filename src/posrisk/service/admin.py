"""Administration: the one set of operations behind the CLI, the admin API and scenarios.

Every write follows the same path: plan it — validate completely with the engine against
the served state, a refusal raises and nothing is written — as store ``Change``s; commit
them in one transaction (durable when it returns); then hand the same changes to the one
owner of the served state, ``Registry.apply_committed``, which tells its subscribers
(streams, dashboard, bus) once. Writes are serialised by one lock; what other gateways
committed comes in through ``catch_up`` and the same door.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar

from ..engine import (
    Account,
    Applied,
    EngineError,
    Event,
    Fill,
    InvalidValue,
    IsolatedMarginTransfer,
    PositionMode,
    SetPositionMode,
    WalletTransfer,
    apply,
    check_margin,
    describe_account,
    liquidation_updates,
)
from ..store import (
    AppendEvent,
    Change,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    StaleRevision,
    Store,
    moves_revision,
)
from .clock import Clock
from .errors import AccountExists, ServiceError, UnknownKey
from .income import with_income
from .inputs import parse_account_name
from .keys import CreatedKey, make_key
from .registry import AccountEntry, Registry, StateChanged, delta_changes
from .scenario import ScenarioPlan, plan_scenario

__all__ = ["AdminService", "MarksHook"]

T = TypeVar("T")

# How often a write is planned again after other gateways wrote first, before it holds
# them back (``Store.alone``) for one last plan.
_STALE_RETRIES = 3

# Awaited after an administrator set marks (the mark feed liquidates what they crossed).
MarksHook = Callable[[Mapping[str, Decimal]], Awaitable[None]]


# How many queued plans one group commit takes at most.
_MAX_BATCH = 64


@dataclass(slots=True)
class _Planned:
    """A write waiting for the lock: its account, its plan, and its caller's answer."""

    account: str
    plan: Callable[[Account, int], Sequence[Event]]
    future: asyncio.Future[list[Event]]


class AdminService:
    """Account administration over a ``Store`` and the live ``Registry``."""

    def __init__(self, store: Store, registry: Registry, clock: Clock) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.market = registry.market
        self._lock = asyncio.Lock()
        # Plans waiting for the lock (``plan_events``), committed together.
        self._planned: list[_Planned] = []
        self._marks_hooks: list[MarksHook] = []

    def __repr__(self) -> str:
        return f"<AdminService {self.store!r}>"

    def after_marks_set(self, hook: MarksHook) -> None:
        """Await ``hook`` after marks set by an administrator (before answering)."""
        self._marks_hooks.append(hook)

    # -- accounts and keys ------------------------------------------------------------

    async def create_account(
        self, name: object, position_mode: PositionMode | None = None
    ) -> AccountEntry:
        name = parse_account_name(name)

        async def plan() -> AccountEntry:
            if name in self.registry.accounts:
                raise AccountExists(name)
            now = self.clock.now_ms()
            changes: list[Change] = [NewAccount(name, now)]
            if position_mode is not None and position_mode is not Account().position_mode:
                event = SetPositionMode(position_mode, now)
                apply(Account(), event, self.market)  # refused before anything is written
                changes.append(AppendEvent(name, event, now))
            await self.commit(changes)
            return self.registry.accounts[name]

        return await self._write(plan)

    async def create_key(
        self,
        account: str,
        kind: str,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        public_key: str | None = None,
    ) -> CreatedKey:
        async def plan() -> CreatedKey:
            self.registry.account(account)
            record, created = make_key(
                account,
                kind,
                self.clock.now_ms(),
                api_key=api_key,
                secret=secret,
                public_key=public_key,
            )
            if record.api_key in self.registry.keys:
                raise ServiceError(f"API key {record.api_key!r} already exists.", status=409)
            await self.commit([NewKey(self.registry.sealed(record))])
            return created

        return await self._write(plan)

    async def revoke_key(self, account: str, api_key: str) -> None:
        async def plan() -> None:
            entry = self.registry.keys.get(api_key)
            if entry is None or entry.account != account:
                raise UnknownKey(api_key)
            if entry.revoked_at is None:
                await self.commit([RevokeKey(api_key, self.clock.now_ms())])

        await self._write(plan)

    async def commit(self, changes: Sequence[Change]) -> StateChanged:
        """Commit ``changes``, then apply them to the served state — both, even if the
        caller is cancelled meanwhile: a commit that reached the database must reach the
        registry, or later writes would be checked against a state the ledger has left.

        The commit expects the store at the registry's revision: when another gateway
        wrote first it raises ``StaleRevision`` and nothing is written (see ``_write``).
        """
        registry = self.registry

        async def commit_and_apply() -> StateChanged:
            expect = registry.revision if moves_revision(changes) else None
            stored = with_income(changes, registry.accounts, self.market)  # same transaction
            revision = await self.store.commit(stored, expect=expect)
            return registry.apply_committed(changes, revision)

        task = asyncio.ensure_future(commit_and_apply())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            while not task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([task])
            raise

    async def _write(self, plan: Callable[[], Awaitable[T]]) -> T:
        """Run ``plan`` (validate against the served state, then ``commit_then``) under
        the write lock. When another gateway sharing the database committed first — the
        commit is stale, or the plan was refused by a state that may be behind — catch up
        with what it wrote and plan again against that; a write that keeps losing plans
        its last time holding the other gateways' commits back, so it cannot starve."""
        async with self._lock:
            return await self._retrying(plan)

    async def _retrying(self, plan: Callable[[], Awaitable[T]]) -> T:
        # The body of ``_write``, with the write lock held.
        for _ in range(_STALE_RETRIES):
            try:
                return await plan()
            except StaleRevision:
                await self._catch_up()
            except (EngineError, ServiceError):
                if not await self._catch_up():
                    raise  # refused by the latest state: the refusal stands
        # Other gateways kept committing first: hold them back, catch up, plan once
        # more against the latest state, which nothing can move meanwhile.
        async with self.store.alone():
            await self._catch_up()
            try:
                return await plan()
            except StaleRevision:
                await self._catch_up()
        raise ServiceError("the database kept changing under this write; try again", status=503)

    async def drain(self) -> None:
        """Wait until the writes under way, and those queued behind them, have finished
        (the server's shutdown, before it closes the store: they were accepted)."""
        async with self._lock:
            pass

    async def catch_up(self) -> int | None:
        """Apply what other gateways committed since this one's revision (their events
        reach this gateway's streams through the registry). Returns the ledger entries
        applied (None when the store had nothing new at all)."""
        async with self._lock:
            return await self._catch_up()

    async def _catch_up(self) -> int | None:
        registry = self.registry
        delta = await self.store.changes_since(registry.revision)
        if delta.revision == registry.revision:
            return None
        changes = delta_changes(delta, registry.keys)
        return len(registry.apply_committed(changes, delta.revision, local=False).applied)

    # -- ledger events ----------------------------------------------------------------

    async def apply_events(
        self, account: str, events: Sequence[Event], *, force: bool = False
    ) -> list[Applied]:
        """Apply ``events`` to ``account`` all-or-nothing; return each step's result.
        Each needs its margin at the current marks (``engine.check_margin``: a fill's
        opening margin, a lower leverage's, isolated margin moved) unless ``force``d."""
        return await self._write(lambda: self._commit_events(account, events, not force))

    async def plan_events(
        self, account: str, plan: Callable[[Account, int], Sequence[Event]]
    ) -> list[Event]:
        """Commit what ``plan(state, now)`` decides, under the write lock: ``plan`` reads
        the account's served state (and whatever else it closes over: marks, ids) and
        returns the events to append, each one ``apply`` accepts in turn, or raises a
        refusal and nothing is written. Made again when another gateway wrote first.
        Returns the events committed.

        Plans that wait for the lock together commit together (group commit): each is
        made against the state the ones before it leave, their events are written in one
        transaction, and each caller is answered once that transaction is durable — one
        commit's wait shared by every write queued behind it, as a bot firing orders
        from many connections does."""
        item = _Planned(account, plan, asyncio.get_running_loop().create_future())
        self._planned.append(item)
        async with self._lock:
            while not item.future.done():
                batch = self._planned[:_MAX_BATCH]
                del self._planned[: len(batch)]
                try:
                    await self._retrying(functools.partial(self._commit_planned, batch))
                except Exception as error:  # the store failed: every write of the batch
                    for other in batch:
                        if not other.future.done():
                            other.future.set_exception(error)
        return item.future.result()

    async def _commit_planned(self, batch: list[_Planned]) -> None:
        # A refusal by a state that may be behind another gateway's: catch up, plan again.
        for _ in range(2):
            planned, refused = self._plan_each(batch)
            if not refused or not await self._catch_up():
                break
        changes = [AppendEvent(item.account, e, e.time) for item, events in planned for e in events]
        if changes:
            await self.commit(changes)
        for item, events in planned:
            item.future.set_result(events)
        for item, error in refused:
            item.future.set_exception(error)

    def _plan_each(
        self, batch: list[_Planned]
    ) -> tuple[list[tuple[_Planned, list[Event]]], list[tuple[_Planned, Exception]]]:
        """Each plan against the state the batch's earlier plans leave; the ids they take
        are marked taken (``Registry.ids``) so the next plan's come after them."""
        registry, now = self.registry, self.clock.now_ms()
        states: dict[str, Account] = {}
        planned: list[tuple[_Planned, list[Event]]] = []
        refused: list[tuple[_Planned, Exception]] = []
        counts = Counter(item.account for item in batch)
        for item in batch:
            counts[item.account] -= 1
            try:
                state = states.get(item.account) or registry.account(item.account).account
                events = list(item.plan(state, now))
                if counts[item.account]:  # a later plan of the batch reads this account
                    for event in events:
                        state = apply(state, event, self.market).account
            except Exception as error:  # a refusal, or a bug: this write's answer
                refused.append((item, error))
                continue
            for event in events:
                registry.ids.saw(event)
            states[item.account] = state
            planned.append((item, events))
        return planned, refused

    async def liquidate(self, account: str) -> list[Applied]:
        """Liquidate whatever the current marks have crossed, atomically: the account's
        open orders expire, then LIQUIDATION orders close the crossed positions."""

        async def plan() -> list[Applied]:
            entry = self.registry.account(account)
            now = self.clock.now_ms()
            registry = self.registry
            ids = registry.ids.next_ids()
            events = liquidation_updates(
                entry.account, self.market, registry.marks, ids=ids, now=now
            )
            return await self._commit_events(account, events, False)  # closes need no margin

        return await self._write(plan)

    async def _commit_events(
        self, account: str, events: Sequence[Event], margins: bool
    ) -> list[Applied]:
        # Under the write lock: validate every event (and its margin at the served marks)
        # on a copy of the state, then commit them together.
        state = self.registry.account(account).account
        now = self.clock.now_ms()
        # An event without a time happens now (and replays with that same time).
        events = [event if event.time else replace(event, time=now) for event in events]
        for event in events:
            after = apply(state, event, self.market).account
            if margins:
                check_margin(state, event, self.market, self.registry.marks)
            state = after
        if not events:
            return []
        changed = await self.commit([AppendEvent(account, e, e.time) for e in events])
        return [item.applied for item in changed.applied]

    async def wallet(self, account: str, asset: str, amount: Decimal) -> Account:
        event = WalletTransfer(asset, amount, self.clock.now_ms())
        return (await self.apply_events(account, [event]))[-1].account

    async def fill(self, account: str, fill: Fill, *, force: bool = False) -> Account:
        return (await self.apply_events(account, [fill], force=force))[-1].account

    async def isolated_margin(self, account: str, transfer: IsolatedMarginTransfer) -> Account:
        """The operator moves isolated margin within the wallets (the engine's bounds); the
        account owner's ``positionMargin`` is held to the marks too (``service.settings``)."""
        return (await self.apply_events(account, [transfer], force=True))[-1].account

    async def settings(
        self,
        account: str,
        position_mode: PositionMode | None = None,
        symbol_events: Sequence[Event] = (),
    ) -> Account:
        events: list[Event] = []
        if position_mode is not None:
            events.append(SetPositionMode(position_mode, self.clock.now_ms()))
        events.extend(symbol_events)
        if not events:
            raise InvalidValue("settings", "nothing to change: give positionMode or symbols")
        return (await self.apply_events(account, events))[-1].account

    # -- marks ------------------------------------------------------------------------

    async def set_marks(self, marks: Mapping[str, Decimal]) -> dict[str, Decimal]:
        for symbol in marks:
            self.market[symbol]  # -1121 for an unknown symbol
        async with self._lock:
            await self.commit([SetMarks(dict(marks), self.clock.now_ms())])
        for hook in self._marks_hooks:
            await hook(marks)
        return dict(self.registry.marks)

    # -- scenarios --------------------------------------------------------------------

    async def load_scenario(self, document: object) -> ScenarioPlan:
        """Load a scenario document into the served state: all of it or nothing."""
        registry = self.registry

        async def plan() -> ScenarioPlan:
            planned = plan_scenario(
                document,
                self.market,
                now=self.clock.now_ms(),
                taken_names=set(registry.accounts),
                taken_keys=set(registry.keys),
                marks=registry.marks,
                ids=registry.ids.next_ids(),
            )
            await self.commit(
                [
                    NewKey(registry.sealed(change.key)) if isinstance(change, NewKey) else change
                    for change in planned.changes()
                ]
            )
            return planned

        return await self._write(plan)

    # -- views ------------------------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        """An account as the admin API and ``posrisk account show`` present it."""
        entry = self.registry.account(name)
        keys = [self.registry.keys[k] for k in entry.keys]
        return {
            "name": entry.name,
            **describe_account(entry.account, self.market, self.registry.marks),
            "keys": [
                {"apiKey": k.api_key, "type": k.kind, "revoked": k.revoked_at is not None}
                for k in keys
            ],
        }

    def list_accounts(self) -> list[dict[str, Any]]:
        return [
            {
                "name": entry.name,
                "positionMode": entry.account.position_mode.value,
                "openPositions": len(entry.account.open_positions()),
                "keys": len(entry.keys),
            }
            for entry in self.registry.accounts.values()
        ]
