"""How rows become records, for every backend (see ``plan``).

A backend that can say more about damaged text than the codec's own errors passes its
own ``event`` and ``price`` decoders (SQLite names the file and calls it damaged).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ..engine import Event
from .codec import decode_decimal, decode_event, kind_of
from .plan import Dialect, Plan
from .records import AccountRecord, Delta, KeyRecord, LedgerRecord, Snapshot

__all__ = [
    "EventDecoder",
    "PriceDecoder",
    "read_account_events",
    "read_delta",
    "read_meta",
    "read_snapshot",
]

# (seq, kind, body, time) of a ledger row -> its event.
EventDecoder = Callable[[int, str, str, int], Event]
# (symbol, price) of a marks row -> the price.
PriceDecoder = Callable[[str, str], Decimal]


def _event(seq: int, kind: str, body: str, time: int) -> Event:
    return decode_event(kind, body, time)


def _price(symbol: str, price: str) -> Decimal:
    return decode_decimal(price)


def read_delta(dialect: Dialect, after: int, event: EventDecoder = _event) -> Plan[Delta]:
    """Accounts, keys and ledger entries committed after revision ``after``, in commit
    order, and the store's revision (run it in one read transaction, so they agree)."""
    accounts = yield dialect.query(
        "SELECT id, name, created_at FROM accounts WHERE revision > ? ORDER BY id", after
    )
    keys = yield dialect.query(
        "SELECT k.api_key, a.name, k.kind, k.secret, k.public_key, k.created_at, "
        "k.revoked_at FROM api_keys k JOIN accounts a ON a.id = k.account_id "
        f"WHERE k.revision > ? ORDER BY k.{dialect.key_order}",  # creation order
        after,
    )
    ledger = yield dialect.query(
        "SELECT l.seq, a.name, l.time, l.kind, l.body FROM ledger l "
        "JOIN accounts a ON a.id = l.account_id WHERE l.revision > ? ORDER BY l.seq",
        after,
    )
    revision = yield dialect.query("SELECT n FROM revision")
    return Delta(
        int(revision[0][0]),
        tuple(AccountRecord(*row) for row in accounts),
        tuple(KeyRecord(*row) for row in keys),
        tuple(
            LedgerRecord(seq, name, time, event(seq, kind, body, time))
            for seq, name, time, kind, body in ledger
        ),
    )


def read_snapshot(
    dialect: Dialect, event: EventDecoder = _event, price: PriceDecoder = _price
) -> Plan[Snapshot]:
    """Every account, key, ledger entry (in order), mark and meta value."""
    delta = yield from read_delta(dialect, -1, event)
    marks = yield dialect.query("SELECT symbol, price FROM marks")
    meta = yield dialect.query("SELECT key, value FROM meta")
    return Snapshot(
        delta.accounts,
        delta.keys,
        delta.ledger,
        {symbol: price(symbol, text) for symbol, text in marks},
        {key: value for key, value in meta},
        revision=delta.revision,
    )


def read_meta(dialect: Dialect, prefix: str) -> Plan[dict[str, str]]:
    """The meta values whose keys start with ``prefix`` (what other processes set)."""
    rows = yield dialect.query(
        "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", len(prefix), prefix
    )
    return {key: value for key, value in rows}


def read_account_events(
    dialect: Dialect,
    account: str,
    event_type: type,
    start: int,
    end: int,
    event: EventDecoder = _event,
    *,
    limit: int,
    newest_first: bool = False,
) -> Plan[tuple[LedgerRecord, ...]]:
    """At most ``limit`` of ``account``'s ledger entries of ``event_type`` whose time is in
    ``[start, end]``: the oldest ones, or the newest with ``newest_first``; returned by
    time (then commit order) either way."""
    order = "DESC" if newest_first else "ASC"
    rows = yield dialect.query(
        "SELECT l.seq, a.name, l.time, l.kind, l.body FROM ledger l "
        "JOIN accounts a ON a.id = l.account_id "
        "WHERE a.name = ? AND l.kind = ? AND l.time >= ? AND l.time <= ? "
        f"ORDER BY l.time {order}, l.seq {order} LIMIT ?",
        account,
        kind_of(event_type),
        start,
        end,
        limit,
    )
    records = [
        LedgerRecord(seq, name, time, event(seq, kind, body, time))
        for seq, name, time, kind, body in rows
    ]
    return tuple(reversed(records) if newest_first else records)
