"""Administration: the one set of operations behind the CLI, the admin API and scenarios.

Every write follows the same path: validate completely with the engine against the
current state (a refusal raises and nothing is written), commit to the store in one
transaction (durable when it returns), then swap the new state into the registry and
tell the listeners (user data streams). Writes are serialised by one lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from ..engine import (
    Account,
    AccountChange,
    AccountRisk,
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
    check_opening_margin,
    liquidation_events,
    position_row_v2,
)
from ..engine.numbers import fmt_money
from ..store import (
    AppendEvent,
    Change,
    KeyRecord,
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
from .inputs import parse_account_name
from .keys import KEY_TYPES, CreatedKey, make_key  # re-exported: the keys admin makes
from .registry import AccountEntry, Registry
from .scenario import ScenarioPlan, plan_scenario

__all__ = [
    "KEY_TYPES",
    "AccountUpdateListener",
    "AdminService",
    "CreatedKey",
    "load_scenario",
    "make_key",
]

T = TypeVar("T")

# How often a write is planned again after other gateways wrote first.
_STALE_RETRIES = 5

# Called after a committed change: (account name, account after, what changed, time).
AccountUpdateListener = Callable[[str, Account, AccountChange, int], None]


class AdminService:
    """Account administration over a ``Store`` and the live ``Registry``."""

    def __init__(self, store: Store, registry: Registry, clock: Clock) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.market = registry.market
        self._lock = asyncio.Lock()
        self._listeners: list[AccountUpdateListener] = []
        self._key_listeners: list[Callable[[str], None]] = []
        self._mark_listeners: list[Callable[[Mapping[str, Decimal]], Awaitable[None]]] = []
        self._commit_listeners: list[Callable[[int], None]] = []

    def __repr__(self) -> str:
        return f"<AdminService {self.store!r}>"

    def on_account_update(self, listener: AccountUpdateListener) -> None:
        self._listeners.append(listener)

    def on_key_revoked(self, listener: Callable[[str], None]) -> None:
        self._key_listeners.append(listener)

    def on_commit(self, listener: Callable[[int], None]) -> None:
        """Told the store revision of every commit this process made (the bus tells the
        other gateways)."""
        self._commit_listeners.append(listener)

    def on_marks_set(self, listener: Callable[[Mapping[str, Decimal]], Awaitable[None]]) -> None:
        """Told of marks set by an administrator (the mark feed liquidates after them)."""
        self._mark_listeners.append(listener)

    # -- accounts and keys ------------------------------------------------------------

    async def create_account(
        self, name: object, position_mode: PositionMode | None = None
    ) -> AccountEntry:
        name = parse_account_name(name)

        async def plan() -> AccountEntry:
            if name in self.registry.accounts:
                raise AccountExists(name)
            now = self.clock.now_ms()
            account = Account()
            changes: list[Change] = [NewAccount(name, now)]
            if position_mode is not None and position_mode is not account.position_mode:
                event = SetPositionMode(position_mode, now)
                account = apply(account, event, self.market).account
                changes.append(AppendEvent(name, event, now))
            entry = AccountEntry(name, now, account, len(changes) - 1)
            await self.commit_then(changes, lambda: self.registry.accounts.__setitem__(name, entry))
            return entry

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
            await self.commit_then(
                [NewKey(self.sealed(record))], lambda: self.registry.add_key(record)
            )
            return created

        return await self._write(plan)

    async def revoke_key(self, account: str, api_key: str) -> None:
        async def plan() -> bool:
            entry = self.registry.keys.get(api_key)
            if entry is None or entry.account != account:
                raise UnknownKey(api_key)
            if entry.revoked_at is not None:
                return False
            now = self.clock.now_ms()

            def revoked() -> None:
                entry.revoked_at = now

            await self.commit_then([RevokeKey(api_key, now)], revoked)
            return True

        if await self._write(plan):
            for listener in self._key_listeners:
                listener(api_key)

    async def commit_then(self, changes: Sequence[Change], swap: Callable[[], object]) -> None:
        """Commit ``changes``, then ``swap`` the served state — both, even if the caller is
        cancelled meanwhile: a commit that reached the database must reach the registry,
        or later writes would be checked against a state the ledger has left behind.

        The commit expects the store at the registry's revision: when another gateway
        wrote first it raises ``StaleRevision`` and nothing is written (see ``_write``).
        """
        registry = self.registry

        async def commit_and_swap() -> None:
            expect = registry.revision if moves_revision(changes) else None
            revision = await self.store.commit(changes, expect=expect)
            swap()
            if revision is not None:
                registry.revision = revision
                for listener in self._commit_listeners:
                    listener(revision)

        task = asyncio.ensure_future(commit_and_swap())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            while not task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([task])
            raise

    async def _write(self, plan: Callable[[], Awaitable[T]]) -> T:
        """Run ``plan`` (validate against the served state, then ``commit_then``) under
        the write lock. When another gateway sharing the database committed first — the
        commit is stale, or the plan was refused by a state that may be behind — catch up
        with what it wrote and plan again against that."""
        async with self._lock:
            for _ in range(_STALE_RETRIES):
                try:
                    return await plan()
                except StaleRevision:
                    await self._catch_up()
                except (EngineError, ServiceError):
                    if not await self._catch_up():
                        raise  # refused by the latest state: the refusal stands
            raise ServiceError("the database kept changing under this write; try again", status=503)

    async def catch_up(self) -> int | None:
        """Apply what other gateways committed since this one's revision; tell the
        listeners (ACCOUNT_UPDATE to this gateway's streams). Returns the ledger entries
        applied (None when the store had nothing new at all)."""
        async with self._lock:
            return await self._catch_up()

    async def _catch_up(self) -> int | None:
        delta = await self.store.changes_since(self.registry.revision)
        if delta.revision == self.registry.revision:
            return None
        caught = self.registry.apply_delta(delta)
        for record, applied in caught.applied:
            for listener in self._listeners:
                listener(record.account, applied.account, applied.change, record.time)
        for api_key in caught.revoked:
            for key_listener in self._key_listeners:
                key_listener(api_key)
        return len(caught.applied)

    def sealed(self, record: KeyRecord) -> KeyRecord:
        """The record as stored: an HMAC secret sealed with the master key."""
        box = self.registry.box
        if record.kind != "hmac" or record.secret is None or box is None:
            return record
        return replace(record, secret=box.seal(record.secret, record.api_key))

    # -- ledger events ----------------------------------------------------------------

    async def apply_events(
        self, account: str, events: Sequence[Event], *, force: bool = False
    ) -> list[Applied]:
        """Apply ``events`` to ``account`` all-or-nothing; return each step's result.
        Fills need their opening margin at the current marks unless ``force``d."""
        results, now = await self._write(lambda: self._commit_events(account, events, not force))
        self._notify(account, results, now)
        return results

    async def liquidate(self, account: str) -> list[Applied]:
        """Liquidate whatever the current marks have crossed (SPEC §12), atomically."""

        async def plan() -> tuple[list[Applied], int]:
            entry = self.registry.account(account)
            now = self.clock.now_ms()
            events = liquidation_events(entry.account, self.market, self.registry.marks, now)
            if not events:
                return [], now
            return await self._commit_events(account, events, False)  # closes need no margin

        results, now = await self._write(plan)
        self._notify(account, results, now)
        return results

    async def _commit_events(
        self, account: str, events: Sequence[Event], check_margin: bool
    ) -> tuple[list[Applied], int]:
        # Under the write lock: validate every event (and fills' margin at the served
        # marks), commit them together, swap the state.
        entry = self.registry.account(account)
        now = self.clock.now_ms()
        # An event without a time happens now (and replays with that same time).
        events = [event if event.time else replace(event, time=now) for event in events]
        state = entry.account
        results = []
        for event in events:
            applied = apply(state, event, self.market)
            if check_margin:
                check_opening_margin(state, event, self.market, self.registry.marks)
            results.append(applied)
            state = applied.account
        if results:

            def swap() -> None:
                entry.account = state
                entry.version += len(results)

            await self.commit_then(
                [AppendEvent(account, event, event.time) for event in events], swap
            )
        return results, now

    def _notify(self, account: str, results: list[Applied], now: int) -> None:
        for applied in results:
            for listener in self._listeners:
                listener(account, applied.account, applied.change, now)

    async def wallet(self, account: str, asset: str, amount: Decimal) -> Account:
        event = WalletTransfer(asset, amount, self.clock.now_ms())
        return (await self.apply_events(account, [event]))[-1].account

    async def fill(self, account: str, fill: Fill, *, force: bool = False) -> Account:
        return (await self.apply_events(account, [fill], force=force))[-1].account

    async def isolated_margin(self, account: str, transfer: IsolatedMarginTransfer) -> Account:
        return (await self.apply_events(account, [transfer]))[-1].account

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
            await self.commit_then(
                [SetMarks(dict(marks), self.clock.now_ms())],
                lambda: self.registry.update_marks(marks),
            )
        for listener in self._mark_listeners:
            await listener(marks)
        return dict(self.registry.marks)

    # -- views ------------------------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        """An account as the admin API and ``posrisk account show`` present it."""
        entry = self.registry.account(name)
        risk = AccountRisk(entry.account, self.market, self.registry.marks)
        balances = [
            {
                "asset": asset.asset,
                "walletBalance": fmt_money(asset.wallet_balance),
                "crossWalletBalance": fmt_money(asset.cross_wallet_balance),
                "unrealizedProfit": fmt_money(asset.unrealized_pnl),
                "marginBalance": fmt_money(asset.margin_balance),
                "maintMargin": fmt_money(asset.maint_margin),
            }
            for asset in risk.assets
            if asset.wallet_balance or asset.maint_margin
        ]
        keys = [self.registry.keys[k] for k in entry.keys]
        return {
            "name": entry.name,
            "positionMode": entry.account.position_mode.value,
            "balances": balances,
            "positions": [position_row_v2(row) for row in risk.open_rows()],
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


async def load_scenario(admin: AdminService, document: object) -> ScenarioPlan:
    """Load a scenario document into a running registry: all of it or nothing."""
    registry = admin.registry

    async def write() -> ScenarioPlan:
        plan = plan_scenario(
            document,
            admin.market,
            now=admin.clock.now_ms(),
            taken_names=set(registry.accounts),
            taken_keys=set(registry.keys),
        )
        changes = [
            NewKey(admin.sealed(change.key)) if isinstance(change, NewKey) else change
            for change in plan.changes()
        ]

        def swap() -> None:
            for planned in plan.accounts:
                registry.accounts[planned.name] = AccountEntry(
                    planned.name, plan.created_at, planned.account, len(planned.events)
                )
                for key in planned.keys:
                    registry.add_key(key)
            if plan.marks:
                registry.update_marks(plan.marks)

        await admin.commit_then(changes, swap)
        return plan

    return await admin._write(write)
