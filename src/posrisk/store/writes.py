"""How each ``Change`` becomes rows, for every backend, inside the caller's transaction.

One plan (see ``plan``) holds the revision check, the account lookups and every value's
serialisation, so SQLite and PostgreSQL store the same text for the same change. An order
event also keeps the order index (``order_index``), and an event's income entries the
income table (``income``), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from .codec import encode_decimal, encode_event
from .errors import StaleRevision, StoreError
from .funding import write_funding_row
from .income import write_income
from .order_index import index_event
from .plan import Dialect, Plan
from .records import (
    AddIncome,
    AppendEvent,
    Change,
    NewAccount,
    NewKey,
    PutFundingSettlement,
    RevokeKey,
    SetMarks,
    SetMeta,
    moves_revision,
)

__all__ = ["write_changes"]


def write_changes(
    dialect: Dialect, changes: Sequence[Change], expect: int | None, where: str
) -> Plan[int | None]:
    """Write ``changes``; the revision they made (None when they move none).

    Moving the revision comes first: it takes the revision row's lock, so concurrent
    writers commit one after the other and ledger ``seq`` follows commit order. Raises
    ``StaleRevision`` (naming ``where``) when ``expect`` is not the store's revision.
    """
    revision: int | None = None
    if moves_revision(changes):
        # The cast tells PostgreSQL the type of a parameter that may be NULL.
        moved = yield dialect.query(
            "UPDATE revision SET n = n + 1 WHERE CAST(? AS BIGINT) IS NULL OR n = ? RETURNING n",
            expect,
            expect,
        )
        if not moved:
            raise StaleRevision(where, expect)
        revision = int(moved[0][0])
    ids: dict[str, int] = {}  # account name -> id, as looked up or created in this commit
    for change in changes:
        yield from _write(dialect, change, revision, ids)
    return revision


def _write(
    dialect: Dialect, change: Change, revision: int | None, ids: dict[str, int]
) -> Plan[None]:
    match change:
        case NewAccount():
            created = yield dialect.query(
                "INSERT INTO accounts (name, created_at, revision) VALUES (?, ?, ?) RETURNING id",
                change.name,
                change.created_at,
                revision,
            )
            ids[change.name] = int(created[0][0])
        case NewKey(key=key):
            account = yield from _account_id(dialect, key.account, ids)
            yield dialect.query(
                "INSERT INTO api_keys (api_key, account_id, kind, secret, public_key, "
                "created_at, revoked_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                key.api_key,
                account,
                key.kind,
                key.secret,
                key.public_key,
                key.created_at,
                key.revoked_at,
                revision,
            )
        case RevokeKey():
            yield dialect.query(
                "UPDATE api_keys SET revoked_at = ?, revision = ? WHERE api_key = ?",
                change.time,
                revision,
                change.api_key,
            )
        case AppendEvent():
            yield from _append(dialect, change, revision, ids)
        case AddIncome():
            account = yield from _account_id(dialect, change.account, ids)
            yield from write_income(
                dialect, account, change.seq, change.time, change.entries, replay=True
            )
        case SetMarks():
            yield dialect.batch(
                "INSERT INTO marks (symbol, price, time) VALUES (?, ?, ?) "
                "ON CONFLICT (symbol) DO UPDATE SET price = excluded.price, time = excluded.time",
                ((s, encode_decimal(p), change.time) for s, p in change.marks.items()),
            )
        case SetMeta():
            yield dialect.query(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                change.key,
                change.value,
            )
        case PutFundingSettlement():
            yield from write_funding_row(dialect, change.settlement)


def _append(
    dialect: Dialect, change: AppendEvent, revision: int | None, ids: dict[str, int]
) -> Plan[None]:
    """One ledger row, its order index rows, and its income entries."""
    kind, body = encode_event(change.event)
    account = yield from _account_id(dialect, change.account, ids)
    # The row's seq names its income entries (``income``): asked for when it has some.
    seq = yield dialect.query(
        "INSERT INTO ledger (account_id, time, kind, body, revision) "
        "VALUES (?, ?, ?, ?, ?)" + (" RETURNING seq" if change.income else ""),
        account,
        change.time,
        kind,
        body,
        revision,
    )
    yield from index_event(dialect, account, change.event, change.time, body)
    if change.income:
        yield from write_income(dialect, account, int(seq[0][0]), change.time, change.income)


def _account_id(dialect: Dialect, name: str, ids: dict[str, int]) -> Plan[int]:
    if name not in ids:
        found = yield dialect.query("SELECT id FROM accounts WHERE name = ?", name)
        if not found:
            raise StoreError(f"no account named {name!r}")
        ids[name] = int(found[0][0])
    return ids[name]
