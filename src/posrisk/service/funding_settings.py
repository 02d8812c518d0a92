"""Funding settings as an operator states them (admin API, CLI, scenario) and as stored.

A symbol's setting is its whole ``SymbolFunding`` (rate, interval, cap, floor) and when
its rate was stated (``rate_time``, None: the rate was never stated, only the interval,
cap or floor). Bodies map a symbol to the fields that change:
``{"BTCUSDT": {"rate": "0.0001", "intervalHours": 4, "cap": "0.02", "floor": "-0.02"}}``.

Decided (Binance publishes no rules for these, only the values it uses):
- ``rate``: a plain decimal with at most 8 decimals and ``|rate| ≤ 1``; it may lie outside
  the cap and floor (stored as given, clamped when shown and settled, as Binance clamps).
- ``intervalHours``: 1, 2, 4 or 8 (each divides a day, so funding times stay whole
  multiples from 00:00 UTC).
- ``cap`` and ``floor``: plain decimals with at most 8 decimals, within ±1, ``cap > floor``.

Each setting is stored in the store's meta table under ``funding:<SYMBOL>`` as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ..engine import InvalidSymbol, InvalidValue, Market
from ..engine.funding import SymbolFunding
from ..engine.numbers import parse_decimal
from ..store import SetMeta

__all__ = [
    "FUNDING_FIELDS",
    "FUNDING_META_PREFIX",
    "INTERVAL_HOURS",
    "FundingSetting",
    "decode_setting",
    "parse_funding",
    "setting_json",
]

FUNDING_META_PREFIX = "funding:"
INTERVAL_HOURS = (1, 2, 4, 8)
FUNDING_FIELDS = ("rate", "intervalHours", "cap", "floor")
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class FundingSetting:
    """One symbol's funding as set, and when its rate was stated (None: never)."""

    funding: SymbolFunding
    rate_time: int | None = None

    def meta(self, symbol: str) -> SetMeta:
        """The meta row that stores it."""
        return SetMeta(FUNDING_META_PREFIX + symbol, json.dumps(setting_json(self)))


def setting_json(setting: FundingSetting) -> dict[str, Any]:
    """The setting in the body's field names (decimals as strings), plus ``rateTime``."""
    funding = setting.funding
    return {
        "rate": str(funding.rate),
        "intervalHours": funding.interval_hours,
        "cap": str(funding.cap),
        "floor": str(funding.floor),
        "rateTime": setting.rate_time,
    }


def decode_setting(text: str) -> FundingSetting:
    """A stored setting (``ValueError`` for one that cannot be read)."""
    try:
        data = json.loads(text)
        funding = SymbolFunding(
            rate=Decimal(data["rate"]),
            interval_hours=int(data["intervalHours"]),
            cap=Decimal(data["cap"]),
            floor=Decimal(data["floor"]),
        )
        rate_time = data.get("rateTime")
        return FundingSetting(funding, None if rate_time is None else int(rate_time))
    except (ArithmeticError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"unreadable funding setting {text[:80]!r}: {e!r}") from None


def _number(value: object, field: str, *, limit: Decimal = _ONE) -> Decimal:
    number = parse_decimal(value, field)
    if number.as_tuple().exponent < -8:  # type: ignore[operator]
        raise InvalidValue(field, f"{field} has at most 8 decimals, got {value}")
    if abs(number) > limit:
        raise InvalidValue(field, f"{field} must lie within ±{limit}, got {value}")
    return number


def _interval(value: object, field: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in INTERVAL_HOURS:
        choices = ", ".join(map(str, INTERVAL_HOURS))
        raise InvalidValue(field, f"{field} must be one of {choices} (hours), got {value!r:.40}")
    return value


def _symbol_setting(
    symbol: str, fields: object, base: FundingSetting, now: int, where: str
) -> FundingSetting:
    """``base`` with the stated ``fields`` of one symbol changed (checked)."""
    if not isinstance(fields, Mapping) or not fields:
        raise InvalidValue(
            where, f"{where} must be an object with some of {', '.join(FUNDING_FIELDS)}"
        )
    unknown = sorted(set(fields) - set(FUNDING_FIELDS))
    if unknown:
        raise InvalidValue(
            f"{where}.{unknown[0]}",
            f"{where}: unknown field '{unknown[0]}' (expected {', '.join(FUNDING_FIELDS)})",
        )
    funding, rate_time = base.funding, base.rate_time
    if "rate" in fields:
        funding = replace(funding, rate=_number(fields["rate"], f"{where}.rate"))
        rate_time = now
    if "intervalHours" in fields:
        hours = _interval(fields["intervalHours"], f"{where}.intervalHours")
        funding = replace(funding, interval_hours=hours)
    if "cap" in fields:
        funding = replace(funding, cap=_number(fields["cap"], f"{where}.cap"))
    if "floor" in fields:
        funding = replace(funding, floor=_number(fields["floor"], f"{where}.floor"))
    if funding.cap <= funding.floor:
        raise InvalidValue(
            f"{where}.cap", f"{where}: cap {funding.cap} must be above floor {funding.floor}"
        )
    return FundingSetting(funding, rate_time)


def parse_funding(
    body: object,
    market: Market,
    *,
    now: int,
    current: Mapping[str, FundingSetting] | None = None,
    where: str = "funding",
) -> dict[str, FundingSetting]:
    """Each symbol of ``body`` with its whole setting: the stated fields over its
    ``current`` setting (the defaults without one). ``InvalidValue`` (-1130) names the
    field (``funding.BTCUSDT.intervalHours``); an unlisted symbol is -1121."""
    if not isinstance(body, Mapping) or not body:
        raise InvalidValue(where, f"{where} must map at least one symbol to its funding")
    settings: dict[str, FundingSetting] = {}
    for symbol, fields in body.items():
        if not isinstance(symbol, str):
            raise InvalidValue(where, f"{symbol!r:.40} is not a symbol like 'BTCUSDT'")
        if market.get(symbol) is None:
            raise InvalidSymbol(f"{where}: {symbol!r} is not a symbol of this market")
        base = (current or {}).get(symbol, FundingSetting(SymbolFunding()))
        settings[symbol] = _symbol_setting(symbol, fields, base, now, f"{where}.{symbol}")
    return settings
