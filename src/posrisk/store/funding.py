"""Funding settlements in the store: one row per (symbol, funding time), claimed once.

Settling a funding time runs in three steps across every gateway sharing the database:
``claim`` (insert the row if it is absent, then read it: the first claimer's rate and
mark win, so every gateway settles with the same numbers), the accounts' fees (ledger
events, exactly once per side by the engine's own marker), then ``finish``. A claim left
unfinished (a gateway that died) is listed by ``unfinished`` for someone to resume.
``funding_from`` is the time a new database starts settling from (its first start), so a
new server does not settle the past. Plans for every backend (see ``plan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from .codec import decode_decimal, encode_decimal
from .plan import Dialect, Plan
from .records import FundingSettlement

__all__ = [
    "FUNDING_FROM",
    "FundingClaim",
    "FundingStore",
    "claim_funding",
    "finish_funding",
    "read_funding_history",
    "read_last_funding",
    "read_unfinished_funding",
    "renew_funding",
    "start_funding",
    "write_funding_row",
]

T = TypeVar("T")

# The meta key holding when this database started settling funding (ms).
FUNDING_FROM = "funding_from"

_COLUMNS = "symbol, funding_time, rate, mark, claimed_at, finished_at"


@dataclass(frozen=True, slots=True)
class FundingClaim:
    """A claim's answer: the settlement as stored, and whether this claim wrote it."""

    settlement: FundingSettlement
    won: bool


def _settlement(row: Any) -> FundingSettlement:
    symbol, time, rate, mark, claimed, finished = row
    return FundingSettlement(
        str(symbol),
        int(time),
        decode_decimal(rate),
        decode_decimal(mark),
        int(claimed),
        None if finished is None else int(finished),
    )


def write_funding_row(dialect: Dialect, row: FundingSettlement) -> Plan[None]:
    """Write ``row`` as it is (``db copy``)."""
    yield dialect.query(
        f"INSERT INTO funding_settlements ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        row.symbol,
        row.funding_time,
        encode_decimal(row.rate),
        encode_decimal(row.mark),
        row.claimed_at,
        row.finished_at,
    )


def claim_funding(dialect: Dialect, proposed: FundingSettlement) -> Plan[FundingClaim]:
    """Insert ``proposed`` unless its (symbol, funding time) is claimed already; the row as
    stored either way (run in one transaction)."""
    inserted = yield dialect.query(
        f"INSERT INTO funding_settlements ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL) "
        "ON CONFLICT (symbol, funding_time) DO NOTHING RETURNING symbol",
        proposed.symbol,
        proposed.funding_time,
        encode_decimal(proposed.rate),
        encode_decimal(proposed.mark),
        proposed.claimed_at,
    )
    rows = yield dialect.query(
        f"SELECT {_COLUMNS} FROM funding_settlements WHERE symbol = ? AND funding_time = ?",
        proposed.symbol,
        proposed.funding_time,
    )
    return FundingClaim(_settlement(rows[0]), bool(inserted))


def finish_funding(dialect: Dialect, symbol: str, funding_time: int, now: int) -> Plan[None]:
    """Mark the settlement finished (the first finish's time stays)."""
    yield dialect.query(
        "UPDATE funding_settlements SET finished_at = ? "
        "WHERE symbol = ? AND funding_time = ? AND finished_at IS NULL",
        now,
        symbol,
        funding_time,
    )


def renew_funding(
    dialect: Dialect, symbol: str, funding_time: int, claimed_at: int, now: int
) -> Plan[bool]:
    """Move an unfinished claim's time from ``claimed_at`` to ``now``: whether it was still
    at ``claimed_at`` (compare and set). A settler renews its own claim as it goes; a
    gateway taking over a stale claim renews it, and only one of many can."""
    moved = yield dialect.query(
        "UPDATE funding_settlements SET claimed_at = ? WHERE symbol = ? AND funding_time = ? "
        "AND claimed_at = ? AND finished_at IS NULL RETURNING symbol",
        now,
        symbol,
        funding_time,
        claimed_at,
    )
    return bool(moved)


def read_unfinished_funding(dialect: Dialect) -> Plan[tuple[FundingSettlement, ...]]:
    """Every claimed settlement not finished yet, oldest funding time first."""
    rows = yield dialect.query(
        f"SELECT {_COLUMNS} FROM funding_settlements WHERE finished_at IS NULL "
        "ORDER BY funding_time, symbol"
    )
    return tuple(_settlement(row) for row in rows)


def read_last_funding(dialect: Dialect) -> Plan[dict[str, int]]:
    """The latest funding time claimed per symbol (finished or not)."""
    rows = yield dialect.query(
        "SELECT symbol, MAX(funding_time) FROM funding_settlements GROUP BY symbol"
    )
    return {str(symbol): int(time) for symbol, time in rows}


def read_funding_history(
    dialect: Dialect,
    symbol: str | None,
    start: int,
    end: int,
    limit: int,
    newest_first: bool,
) -> Plan[tuple[FundingSettlement, ...]]:
    """At most ``limit`` settlements (of ``symbol``, else every symbol) whose funding time
    is in ``[start, end]``: the oldest, or the newest with ``newest_first``; ascending by
    funding time (then symbol) either way."""
    order = "DESC" if newest_first else "ASC"
    where = "funding_time >= ? AND funding_time <= ?"
    args: list[Any] = [start, end]
    if symbol is not None:
        where += " AND symbol = ?"
        args.append(symbol)
    rows = yield dialect.query(
        f"SELECT {_COLUMNS} FROM funding_settlements WHERE {where} "
        f"ORDER BY funding_time {order}, symbol {order} LIMIT ?",
        *args,
        limit,
    )
    found = [_settlement(row) for row in rows]
    return tuple(reversed(found) if newest_first else found)


def start_funding(dialect: Dialect, now: int) -> Plan[int]:
    """When this database settles funding from: ``now`` if it never said (its first
    start), else what it said then."""
    yield dialect.query(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        FUNDING_FROM,
        str(now),
    )
    rows = yield dialect.query("SELECT value FROM meta WHERE key = ?", FUNDING_FROM)
    return int(rows[0][0])


class FundingStore:
    """The funding operations of a store: each runs its plan in ``dialect`` through the
    store's ``_read_plan`` (one read) or ``_write_plan`` (one transaction)."""

    dialect: Dialect

    async def _read_plan(self, plan: Plan[T]) -> T:
        raise NotImplementedError

    async def _write_plan(self, plan: Plan[T]) -> T:
        raise NotImplementedError

    async def claim_funding(
        self, symbol: str, funding_time: int, rate: Decimal, mark: Decimal, now: int
    ) -> FundingClaim:
        """Claim ``symbol``'s settlement at ``funding_time`` with this rate and mark: the
        row as stored (the first claimer's numbers), and whether this claim wrote it."""
        proposed = FundingSettlement(symbol, funding_time, rate, mark, now)
        return await self._write_plan(claim_funding(self.dialect, proposed))

    async def finish_funding(self, symbol: str, funding_time: int, now: int) -> None:
        await self._write_plan(finish_funding(self.dialect, symbol, funding_time, now))

    async def renew_funding(
        self, symbol: str, funding_time: int, claimed_at: int, now: int
    ) -> bool:
        """Move an unfinished claim's time from ``claimed_at`` to ``now`` (compare and
        set): whether it was still at ``claimed_at``."""
        return await self._write_plan(
            renew_funding(self.dialect, symbol, funding_time, claimed_at, now)
        )

    async def unfinished_funding(self) -> tuple[FundingSettlement, ...]:
        return await self._read_plan(read_unfinished_funding(self.dialect))

    async def last_funding(self) -> dict[str, int]:
        """The latest funding time claimed per symbol."""
        return await self._read_plan(read_last_funding(self.dialect))

    async def funding_history(
        self,
        symbol: str | None,
        start: int,
        end: int,
        *,
        limit: int,
        newest_first: bool = False,
    ) -> tuple[FundingSettlement, ...]:
        plan = read_funding_history(self.dialect, symbol, start, end, limit, newest_first)
        return await self._read_plan(plan)

    async def funding_from(self, now: int) -> int:
        """When this database settles funding from (``now`` at its first call)."""
        return await self._write_plan(start_funding(self.dialect, now))
