"""How each ``Change`` is written to the SQLite ledger, inside the caller's transaction."""

from __future__ import annotations

import sqlite3

from .codec import encode_event
from .errors import StaleRevision, StoreError
from .records import (
    AppendEvent,
    Change,
    NewAccount,
    NewKey,
    RevokeKey,
    SetMarks,
    SetMeta,
    moves_revision,
)

__all__ = ["write_changes"]


def write_changes(
    db: sqlite3.Connection, changes: tuple[Change, ...], expect: int | None, where: str
) -> int | None:
    """Write ``changes``; the revision they made (None when they move none).

    Raises ``StaleRevision`` (naming ``where``) when ``expect`` is not the store's revision.
    """
    revision: int | None = None
    ids: dict[str, int] = {}
    if moves_revision(changes):
        row = db.execute(
            "UPDATE revision SET n = n + 1 WHERE ? IS NULL OR n = ? RETURNING n",
            (expect, expect),
        ).fetchone()
        if row is None:
            raise StaleRevision(where, expect)
        revision = int(row[0])

    def account_id(name: str) -> int:
        if name not in ids:
            row = db.execute("SELECT id FROM accounts WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise StoreError(f"no account named {name!r}")
            ids[name] = row[0]
        return ids[name]

    for change in changes:
        match change:
            case NewAccount():
                cursor = db.execute(
                    "INSERT INTO accounts (name, created_at, revision) VALUES (?, ?, ?)",
                    (change.name, change.created_at, revision),
                )
                ids[change.name] = int(cursor.lastrowid or 0)
            case NewKey(key=key):
                db.execute(
                    "INSERT INTO api_keys (api_key, account_id, kind, secret, public_key, "
                    "created_at, revoked_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key.api_key,
                        account_id(key.account),
                        key.kind,
                        key.secret,
                        key.public_key,
                        key.created_at,
                        key.revoked_at,
                        revision,
                    ),
                )
            case RevokeKey():
                db.execute(
                    "UPDATE api_keys SET revoked_at = ?, revision = ? WHERE api_key = ?",
                    (change.time, revision, change.api_key),
                )
            case AppendEvent():
                kind, body = encode_event(change.event)
                db.execute(
                    "INSERT INTO ledger (account_id, time, kind, body, revision) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (account_id(change.account), change.time, kind, body, revision),
                )
            case SetMarks():
                db.executemany(
                    "INSERT INTO marks (symbol, price, time) VALUES (?, ?, ?) "
                    "ON CONFLICT(symbol) DO UPDATE SET price = excluded.price, "
                    "time = excluded.time",
                    [(s, str(p), change.time) for s, p in change.marks.items()],
                )
            case SetMeta():
                db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (change.key, change.value),
                )
    return revision
