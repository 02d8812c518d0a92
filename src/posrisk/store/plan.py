"""What the store reads and writes, as SQL steps that any backend runs its own way.

A plan is a generator: it yields a ``Step``, the backend runs it (SQLite on its worker
thread, PostgreSQL awaiting asyncpg) and sends back the rows it returned; the plan's
return value is the result. So how each ``Change`` becomes rows, and how rows become
records, is written once, and a backend only knows how to run one statement.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

__all__ = ["POSTGRES", "SQLITE", "Batch", "Dialect", "Plan", "Query", "Rows", "Step"]

T = TypeVar("T")

# The rows a statement returned (tuples, or asyncpg Records: both unpack as tuples).
Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Query:
    """One statement; the backend sends back every row it returns (none for most writes)."""

    sql: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Batch:
    """One statement run once per entry of ``rows``; the backend sends back no rows."""

    sql: str
    rows: tuple[tuple[Any, ...], ...]


Step = Query | Batch
Plan = Generator[Step, Rows, T]

_PLACEHOLDER = re.compile(r"\?")


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the backends' SQL: the placeholders and key creation order.

    Plans are written with ``?`` placeholders; PostgreSQL numbers them (``$1``, ``$2``).
    """

    numbered: bool
    # The column that orders api_keys by creation (SQLite's rowid; PostgreSQL's seq).
    key_order: str

    def query(self, sql: str, *args: Any) -> Query:
        return Query(self._placeholders(sql), args)

    def batch(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> Batch:
        return Batch(self._placeholders(sql), tuple(rows))

    def _placeholders(self, sql: str) -> str:
        return _numbered(sql) if self.numbered else sql


@lru_cache(maxsize=64)
def _numbered(text: str) -> str:
    count = iter(range(1, text.count("?") + 1))
    return _PLACEHOLDER.sub(lambda _: f"${next(count)}", text)


SQLITE = Dialect(numbered=False, key_order="rowid")
POSTGRES = Dialect(numbered=True, key_order="seq")
