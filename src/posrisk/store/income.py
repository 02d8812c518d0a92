"""The income table: what each ledger row paid into or took out of a wallet
(``engine.income``), written by the commit that appends the row, and the one read
``GET /fapi/v1/income`` makes of it (see ``plan``).

A row's ``tran_id`` is ``engine.income.tran_id(seq, index)``: the ledger row's ``seq``
names its entries, so they keep their ids across restarts, gateways and rebuilds.
``INCOME_REBUILD`` in meta (set by the migration that made the table over an existing
ledger, and by ``posrisk db copy``) asks the next start to replay the ledger and write
the entries that are missing (``AddIncome``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..engine.income import IncomeEntry, IncomeType, entry_index, tran_id
from .codec import decode_decimal, encode_decimal
from .plan import Dialect, Plan

__all__ = [
    "INCOME_REBUILD",
    "IncomeQuery",
    "IncomeReads",
    "IncomeRecord",
    "read_income",
    "write_income",
    "write_incomes",
]

T = TypeVar("T")

# The meta key asking for the income table to be rebuilt from the ledger ("1": asked).
INCOME_REBUILD = "income_rebuild"

_INSERT = (
    "INSERT INTO income (tran_id, account_id, time, symbol, income_type, income, asset, "
    "trade_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class IncomeRecord:
    """A stored income entry, its ``tranId`` and time."""

    tran_id: int
    time: int
    entry: IncomeEntry


@dataclass(frozen=True, slots=True)
class IncomeQuery:
    """Which of an account's income rows: timed in ``[start, end]``, of ``symbol`` and
    ``income_type`` when given, ``limit`` of them after skipping ``offset``, by time."""

    start: int
    end: int
    limit: int
    offset: int = 0
    symbol: str | None = None
    income_type: str | None = None


def write_income(
    dialect: Dialect,
    account: int,
    seq: int,
    time: int,
    entries: Sequence[IncomeEntry],
    *,
    replay: bool = False,
) -> Plan[None]:
    """Insert the ``entries`` of ledger row ``seq`` (``account``'s id, at ``time``);
    ``replay``: leave the ones already there (a rebuild may run on two gateways)."""
    yield from write_incomes(dialect, [(account, seq, time, entries)], replay=replay)


def write_incomes(
    dialect: Dialect,
    rows: Sequence[tuple[int, int, int, Sequence[IncomeEntry]]],
    *,
    replay: bool = False,
) -> Plan[None]:
    """The entries of many ledger rows, ``(account id, seq, time, entries)`` each, in one
    batch."""
    values = [
        (
            tran_id(seq, e.index),
            account,
            time,
            e.symbol,
            e.income_type.value,
            encode_decimal(e.income),
            e.asset,
            "" if e.trade_id is None else str(e.trade_id),
        )
        for account, seq, time, entries in rows
        for e in entries
    ]
    if not values:
        return
    sql = _INSERT + (" ON CONFLICT (tran_id) DO NOTHING" if replay else "")
    yield dialect.batch(sql, values)


def read_income(
    dialect: Dialect, account: str, query: IncomeQuery
) -> Plan[tuple[IncomeRecord, ...]]:
    """``account``'s income rows that ``query`` asks for, by time then ``tran_id``."""
    filters = [(" AND i.symbol = ?", query.symbol), (" AND i.income_type = ?", query.income_type)]
    given = [(condition, value) for condition, value in filters if value is not None]
    rows = yield dialect.query(
        "SELECT i.tran_id, i.time, i.symbol, i.income_type, i.income, i.asset, i.trade_id "
        "FROM income i JOIN accounts a ON a.id = i.account_id "
        "WHERE a.name = ? AND i.time >= ? AND i.time <= ?"
        + "".join(condition for condition, _ in given)
        + " ORDER BY i.time, i.tran_id LIMIT ? OFFSET ?",
        account,
        query.start,
        query.end,
        *(value for _, value in given),
        query.limit,
        query.offset,
    )
    return tuple(_record(*row) for row in rows)


def _record(
    tran: int, time: int, symbol: str, kind: str, income: str, asset: str, trade: str
) -> IncomeRecord:
    entry = IncomeEntry(
        entry_index(int(tran)),
        IncomeType(kind),
        decode_decimal(income),
        asset,
        symbol,
        int(trade) if trade else None,
    )
    return IncomeRecord(int(tran), int(time), entry)


class IncomeReads:
    """The income read of a store, run through the store's ``_read_plan``."""

    dialect: Dialect

    async def _read_plan(self, plan: Plan[T]) -> T:
        raise NotImplementedError

    async def income(self, account: str, query: IncomeQuery) -> tuple[IncomeRecord, ...]:
        return await self._read_plan(read_income(self.dialect, account, query))
