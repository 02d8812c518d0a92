"""What a mark source may carry besides the marks: index prices and funding rates.

A ``MarkSource`` yields batches of symbol → mark and nothing else; a source that knows more
(a replay file with ``index``/``fundingRate`` columns, Binance's ``markPriceUpdate`` with
``i`` and ``r``) also tells its ``on_extras`` listener, when one is set, each batch's
extras just before yielding the batch. ``read_funding_file`` reads ``--funding FILE``: a
series of funding rates in time order.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import PosriskError

__all__ = [
    "CarriesExtras",
    "ExtrasListener",
    "FundingFileError",
    "MarkExtras",
    "parse_extra",
    "read_funding_file",
]


@dataclass(frozen=True, slots=True)
class MarkExtras:
    """One symbol's index price and funding rate as a source saw them (None: not given)."""

    index: Decimal | None = None
    funding_rate: Decimal | None = None


# Told each batch's extras (symbol → extras), before the batch is yielded.
ExtrasListener = Callable[[Mapping[str, MarkExtras]], None]


@runtime_checkable
class CarriesExtras(Protocol):
    """A mark source that can tell index prices and funding rates."""

    on_extras: ExtrasListener | None


class FundingFileError(PosriskError, ValueError):
    """A funding file that cannot be read: says which line and why."""


def parse_extra(value: object, what: str, *, positive: bool) -> Decimal | None:
    """An optional decimal column (empty or absent: None); ``ValueError`` naming ``what``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float):
        raise ValueError(f"write the {what} as a string")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not number.is_finite() or (positive and number <= 0) or abs(number) >= 10**15:
        kind = "a positive number" if positive else "a finite number"
        raise ValueError(f"{what} {value!r} is not {kind}")
    return number


def _rate(value: object) -> Decimal:
    rate = parse_extra(value, "rate", positive=False)
    if rate is None:
        raise ValueError("the rate is missing")
    if abs(rate) > 1:
        raise ValueError(f"rate {value!r} is not within ±1")
    return rate


def read_funding_file(path: Path) -> list[tuple[int, str, Decimal]]:
    """(time ms, symbol, rate) rows of a CSV (``time,symbol,rate``, header optional) or
    JSONL (``{"time", "symbol", "rate"}`` per line; Binance's ``fundingTime`` and
    ``fundingRate`` are read too) file, in time order."""
    try:
        text = path.read_text()
    except OSError as e:
        raise FundingFileError(f"cannot read {path}: {e.strerror}") from None
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
    lines: Iterable[tuple[int, Any]]
    if jsonl:
        lines = enumerate(text.splitlines(), 1)
    else:
        lines = enumerate(csv.reader(text.splitlines()), 1)
    rows: list[tuple[int, str, Decimal]] = []
    for number, line in lines:
        try:
            if jsonl:
                if not line.strip():
                    continue
                item = json.loads(line)
                time = item["time"] if "time" in item else item["fundingTime"]
                symbol = item["symbol"]
                rate = item["rate"] if "rate" in item else item["fundingRate"]
            else:
                if not line or (number == 1 and line[0].strip().lower() == "time"):
                    continue
                if len(line) != 3:
                    raise ValueError(f"expected 3 columns (time,symbol,rate), got {len(line)}")
                time, symbol, rate = line
            if isinstance(time, bool | float):
                raise ValueError(f"time {time!r} is not whole milliseconds")
            rows.append((int(time), str(symbol).strip(), _rate(rate)))
        except (ValueError, KeyError, TypeError) as e:
            detail = e if isinstance(e, ValueError) and str(e) else "expected time, symbol, rate"
            raise FundingFileError(f"{path}:{number}: {detail}") from None
    rows.sort(key=lambda row: row[0])
    return rows
