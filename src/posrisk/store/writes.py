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
from .income import write_income, write_incomes
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
    run: list[AppendEvent] = []  # ledger rows in a row, written together
    for change in changes:
        if isinstance(change, AppendEvent):
            run.append(change)
            continue
        if run:
            yield from _append(dialect, run, revision, ids)
            run = []
        yield from _write(dialect, change, revision, ids)
    if run:
        yield from _append(dialect, run, revision, ids)
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
    dialect: Dialect, run: Sequence[AppendEvent], revision: int | None, ids: dict[str, int]
) -> Plan[None]:
    """Ledger rows in one batch (one round trip for a whole group commit), then their
    order index rows and their income entries, named by the rows' seqs: the batch takes
    the last seqs of this commit's revision, in the order it inserted them."""
    rows = []
    for change in run:
        kind, body = encode_event(change.event)
        account = yield from _account_id(dialect, change.account, ids)
        rows.append((account, change.time, kind, body, revision))
    yield dialect.batch(
        "INSERT INTO ledger (account_id, time, kind, body, revision) VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    for change, (account, time, _, body, _) in zip(run, rows, strict=True):
        yield from index_event(dialect, account, change.event, time, body)
    if not any(change.income for change in run):
        return
    found = yield dialect.query(
        "SELECT seq FROM ledger WHERE revision = ? ORDER BY seq DESC LIMIT ?", revision, len(run)
    )
    seqs = [int(row[0]) for row in reversed(found)]
    yield from write_incomes(
        dialect,
        [
            (account, seq, change.time, change.income)
            for change, (account, *_), seq in zip(run, rows, seqs, strict=True)
            if change.income
        ],
    )


def _account_id(dialect: Dialect, name: str, ids: dict[str, int]) -> Plan[int]:
    if name not in ids:
        found = yield dialect.query("SELECT id FROM accounts WHERE name = ?", name)
        if not found:
            raise StoreError(f"no account named {name!r}")
        ids[name] = int(found[0][0])
    return ids[name]
