"""``posrisk db copy``: every account, key, ledger entry, mark, ban and funding
settlement of one store committed into another, empty one, in one transaction, then
checked. The income table is rebuilt from the copied ledger by the copy's first start
(``INCOME_REBUILD``).

HMAC secrets are copied sealed: the copy opens them with the source's master key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .income import INCOME_REBUILD
from .records import (
    AppendEvent,
    Change,
    FundingSettlement,
    NewAccount,
    NewKey,
    PutFundingSettlement,
    SetMarks,
    SetMeta,
)
from .sqlite import StoreError

if TYPE_CHECKING:
    from . import Store

__all__ = ["Copied", "CopyRefused", "copy_database"]


class CopyRefused(StoreError):
    """The target holds accounts already, or the copy came out different: nothing to serve."""


@dataclass(frozen=True, slots=True)
class Copied:
    """What the target holds after the copy."""

    accounts: int
    keys: int
    entries: int


async def copy_database(source: Store, target: Store, target_name: str) -> Copied:
    """Copy open ``source`` into open ``target`` (``target_name`` says which in a refusal)."""
    if await target.has_accounts():
        raise CopyRefused(f"{target_name} already holds accounts; copy into an empty database")
    snapshot = await source.load()
    changes: list[Change] = [NewAccount(a.name, a.created_at) for a in snapshot.accounts]
    changes += [NewKey(key) for key in snapshot.keys]
    changes += [AppendEvent(r.account, r.event, r.time) for r in snapshot.ledger]
    if snapshot.marks:
        changes.append(SetMarks(dict(snapshot.marks), 0))
    changes += [SetMeta(key, value) for key, value in snapshot.meta.items()]
    funding = await _settlements(source)
    changes += [PutFundingSettlement(row) for row in funding]
    if snapshot.ledger:  # the copy's ledger rows have seqs of their own: income follows them
        changes.append(SetMeta(INCOME_REBUILD, "1"))
    await target.commit(changes)
    copied = await target.load()
    counts = (len(copied.accounts), len(copied.keys), len(copied.ledger))
    if (
        counts != (len(snapshot.accounts), len(snapshot.keys), len(snapshot.ledger))
        or await _settlements(target) != funding
    ):
        raise CopyRefused("the copy does not match its source; nothing should be served from it")
    return Copied(*counts)


async def _settlements(store: Store) -> tuple[FundingSettlement, ...]:
    # Every funding settlement, oldest first (not part of the snapshot a server loads).
    return await store.funding_history(None, -(2**62), 2**62, limit=2**62)
