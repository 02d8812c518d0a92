"""Income rows, written with the ledger rows they come from.

Every commit goes through ``AdminService.commit``, which hands its changes to
``with_income`` first: each ``AppendEvent`` gets the income entries its event makes
(``engine.income_entries``), and the store writes them in the same transaction as the
ledger row. Only an operator ``Fill`` needs the account before it (its realized PnL is
computed, not stored): that state is the served one folded through the commit's earlier
events, so what the table holds is what ``ledger.apply`` paid.

A database whose ledger predates the income table (or a ``posrisk db copy``) carries
``INCOME_REBUILD`` in meta: ``rebuild_income`` replays its ledger once at start and writes
the entries, keyed by each ledger row's seq, so a rebuild on two gateways writes each once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..engine import Account, Event, Fill, Market, apply
from ..engine.income import income_entries
from ..store import INCOME_REBUILD, AddIncome, AppendEvent, Change, SetMeta, Snapshot, Store
from .registry import AccountEntry

__all__ = ["rebuild_income", "with_income"]


class _States:
    """Accounts as a commit's earlier events leave them, folded only when a fill asks."""

    def __init__(self, served: Mapping[str, AccountEntry], market: Market) -> None:
        self.served = served
        self.market = market
        # Per account: its state, and the commit's events since (not yet folded into it).
        self._states: dict[str, tuple[Account, list[Event]]] = {}

    def _served(self, name: str) -> Account:
        entry = self.served.get(name)
        return entry.account if entry is not None else Account()

    def before(self, name: str) -> Account:
        state, pending = self._states.get(name) or (self._served(name), [])
        for event in pending:
            state = apply(state, event, self.market).account
        self._states[name] = (state, [])
        return state

    def then(self, name: str, event: Event) -> None:
        state, pending = self._states.get(name) or (self._served(name), [])
        pending.append(event)
        self._states[name] = (state, pending)


def with_income(
    changes: Sequence[Change], served: Mapping[str, AccountEntry], market: Market
) -> list[Change]:
    """``changes`` with each ``AppendEvent``'s income entries, ``served`` holding every
    account's state before them (accounts created by the commit start empty)."""
    states = _States(served, market)
    out: list[Change] = []
    for change in changes:
        if isinstance(change, AppendEvent) and not change.income:
            event = change.event
            state = states.before(change.account) if isinstance(event, Fill) else Account()
            entries = income_entries(state, event, market)
            states.then(change.account, event)
            if entries:
                change = AppendEvent(change.account, event, change.time, entries)
        out.append(change)
    return out


async def rebuild_income(store: Store, snapshot: Snapshot, market: Market) -> int:
    """Write the income entries of ``snapshot``'s ledger when its meta asks for it
    (``INCOME_REBUILD``); returns the ledger rows that had some."""
    if snapshot.meta.get(INCOME_REBUILD) != "1":
        return 0
    states: dict[str, Account] = {}
    changes: list[Change] = []
    for record in snapshot.ledger:
        state = states.get(record.account, Account())
        entries = income_entries(state, record.event, market)
        states[record.account] = apply(state, record.event, market).account
        if entries:
            changes.append(AddIncome(record.account, record.seq, record.time, entries))
    await store.commit([*changes, SetMeta(INCOME_REBUILD, "0")])
    return len(changes)
