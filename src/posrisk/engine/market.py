"""Symbols, their precisions and leverage brackets: what the exchange publishes.

The shipped tables (package data) are Binance's real ``/fapi/v1/leverageBracket``
brackets for every perpetual symbol in ``data/leverage_brackets.json`` and the
precisions we could source (``data/precisions.json``). ``Market.from_binance`` builds a
market from Binance's own ``exchangeInfo`` and ``leverageBracket`` JSON, so a user can
refresh the tables from the live exchange.

Precision fallback: a symbol whose ``quantityPrecision`` is not known writes
``positionAmt`` as its normalised plain value (``"30"``, ``"0.5"``) and accepts fill
quantities of any scale; its ``pricePrecision`` is ``None``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import PosriskError
from .errors import InvalidSymbol
from .numbers import ZERO

__all__ = ["LeverageBracket", "Market", "MarketDataError", "Symbol"]

# Quote assets recognised when a table names no margin asset, longest first.
_KNOWN_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "BTC", "ETH", "BNB")


class MarketDataError(PosriskError, ValueError):
    """Exchange data that cannot be used: says which symbol and which field."""


@dataclass(frozen=True, slots=True)
class LeverageBracket:
    """One row of ``/fapi/v1/leverageBracket``: notional range, max leverage, MMR and cum."""

    bracket: int
    initial_leverage: int
    notional_floor: Decimal
    notional_cap: Decimal
    maint_margin_ratio: Decimal
    cum: Decimal


@dataclass(frozen=True, slots=True)
class Symbol:
    """A contract: its margin asset, precisions (``None`` when unknown) and brackets."""

    name: str
    margin_asset: str
    base_asset: str
    quote_asset: str
    quantity_precision: int | None
    price_precision: int | None
    brackets: tuple[LeverageBracket, ...]

    @property
    def max_leverage(self) -> int:
        """Bracket 1's initialLeverage: no leverage above it is valid."""
        return self.brackets[0].initial_leverage

    @property
    def default_leverage(self) -> int:
        """A new account's leverage: 20, or the symbol's maximum where that is lower."""
        return min(20, self.max_leverage)

    def bracket_for(self, notional: Decimal) -> LeverageBracket:
        """The bracket whose ``[notionalFloor, notionalCap)`` holds ``|notional|``.

        Above the last cap, the last bracket. The cum chain makes maintenance margin
        continuous, so the choice at an exact boundary does not change any number.
        """
        size = abs(notional)
        for bracket in self.brackets:
            if size < bracket.notional_cap:
                return bracket
        return self.brackets[-1]

    def max_notional(self, leverage: int) -> Decimal:
        """``maxNotionalValue``: the cap of the highest bracket allowing ``leverage``.

        BTCUSDT at 10x → 230000000 with the shipped table.
        """
        cap = self.brackets[0].notional_cap
        for bracket in self.brackets:
            if bracket.initial_leverage >= leverage:
                cap = bracket.notional_cap
        return cap


class Market:
    """The listed symbols by name, in the order the exchange lists them."""

    __slots__ = ("_symbols", "margin_assets")

    def __init__(self, symbols: Iterable[Symbol]) -> None:
        self._symbols: dict[str, Symbol] = {}
        for symbol in symbols:
            if symbol.name in self._symbols:
                raise MarketDataError(f"{symbol.name}: listed twice")
            self._symbols[symbol.name] = symbol
        # Every margin asset of the market, sorted by name (BTC, USDC, USDT with the shipped table).
        self.margin_assets: tuple[str, ...] = tuple(
            sorted({s.margin_asset for s in self._symbols.values()})
        )

    def __getitem__(self, name: str) -> Symbol:
        try:
            return self._symbols[name]
        except (KeyError, TypeError):
            raise InvalidSymbol(f"{name!r} is not a symbol of this market") from None

    def get(self, name: str) -> Symbol | None:
        return self._symbols.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._symbols

    def __iter__(self) -> Iterator[Symbol]:
        return iter(self._symbols.values())

    def __len__(self) -> int:
        return len(self._symbols)

    def __repr__(self) -> str:
        return f"<Market {len(self)} symbols>"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._symbols)

    @classmethod
    def default(cls) -> Market:
        """The shipped market: every perpetual symbol of Binance's bracket table.

        The table's dated contracts (``BTCUSDT_241227``...) are past their delivery date
        and are not listed.
        """
        return _default_market()

    @classmethod
    def from_binance(
        cls,
        leverage_brackets: str | bytes | Path | Sequence[Mapping[str, Any]],
        exchange_info: str | bytes | Path | Mapping[str, Any] | None = None,
        *,
        precisions: Mapping[str, Mapping[str, int]] | None = None,
    ) -> Market:
        """A market from Binance's ``leverageBracket`` (and optionally ``exchangeInfo``) JSON.

        Pass the JSON text (or a path to it): numbers are parsed as Decimal, never as
        float. With ``exchange_info``, the market is its symbols whose ``status`` is
        ``TRADING`` and that have brackets, with their margin asset and precisions;
        without it, every symbol of the bracket table that is not a dated contract, with
        precisions from ``precisions`` (symbol → ``{"quantityPrecision", "pricePrecision"}``).
        """
        bracket_rows = _load_json(leverage_brackets, "leverageBracket")
        if not isinstance(bracket_rows, list):
            raise MarketDataError("leverageBracket: expected a JSON list of symbols")
        tables: dict[str, tuple[tuple[LeverageBracket, ...], str | None]] = {}
        for row in bracket_rows:
            if not isinstance(row, Mapping) or not isinstance(row.get("symbol"), str):
                raise MarketDataError(f"leverageBracket: entry without a symbol: {row!r:.80}")
            name = row["symbol"]
            tables[name] = (_parse_brackets(name, row.get("brackets")), row.get("marginAsset"))

        symbols: list[Symbol] = []
        if exchange_info is None:
            precisions = precisions or {}
            for name, (brackets, margin_asset) in tables.items():
                if "_" in name:
                    continue
                precision = precisions.get(name, {})
                symbols.append(
                    _make_symbol(
                        name,
                        margin_asset,
                        None,
                        None,
                        precision.get("quantityPrecision"),
                        precision.get("pricePrecision"),
                        brackets,
                    )
                )
            return cls(symbols)

        info = _load_json(exchange_info, "exchangeInfo")
        if not isinstance(info, Mapping) or not isinstance(info.get("symbols"), list):
            raise MarketDataError("exchangeInfo: expected an object with a 'symbols' list")
        for entry in info["symbols"]:
            if not isinstance(entry, Mapping) or entry.get("status") != "TRADING":
                continue
            name = entry.get("symbol")
            if not isinstance(name, str) or name not in tables:
                continue
            brackets, table_asset = tables[name]
            symbols.append(
                _make_symbol(
                    name,
                    entry.get("marginAsset") or table_asset,
                    entry.get("baseAsset"),
                    entry.get("quoteAsset"),
                    _precision(name, entry, "quantityPrecision"),
                    _precision(name, entry, "pricePrecision"),
                    brackets,
                )
            )
        return cls(symbols)


def _load_json(source: str | bytes | Path | object, what: str) -> object:
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, str | bytes):
        try:
            return json.loads(source, parse_float=Decimal)
        except ValueError as e:
            raise MarketDataError(f"{what}: not JSON ({e})") from None
    return source


def _number(name: str, field: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        kind = "a float: pass the JSON text" if isinstance(value, float) else repr(value)
        raise MarketDataError(f"{name}: {field} is {kind}")
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise MarketDataError(f"{name}: {field} {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise MarketDataError(f"{name}: {field} {value!r} is not a finite non-negative number")
    return number


def _integer(name: str, field: str, value: object) -> int:
    number = _number(name, field, value)
    if number != number.to_integral_value():
        raise MarketDataError(f"{name}: {field} {value!r} is not an integer")
    return int(number)


def _parse_brackets(name: str, rows: object) -> tuple[LeverageBracket, ...]:
    if not isinstance(rows, list) or not rows:
        raise MarketDataError(f"{name}: no brackets")
    brackets = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise MarketDataError(f"{name}: bracket is not an object: {row!r:.80}")
        try:
            brackets.append(
                LeverageBracket(
                    bracket=_integer(name, "bracket", row["bracket"]),
                    initial_leverage=_integer(name, "initialLeverage", row["initialLeverage"]),
                    notional_floor=_number(name, "notionalFloor", row["notionalFloor"]),
                    notional_cap=_number(name, "notionalCap", row["notionalCap"]),
                    maint_margin_ratio=_number(name, "maintMarginRatio", row["maintMarginRatio"]),
                    cum=_number(name, "cum", row["cum"]),
                )
            )
        except KeyError as e:
            raise MarketDataError(f"{name}: bracket without {e.args[0]}") from None
    brackets.sort(key=lambda b: b.bracket)
    if brackets[0].initial_leverage < 1:
        raise MarketDataError(f"{name}: bracket 1 allows no leverage")
    if brackets[0].notional_floor != ZERO:
        raise MarketDataError(f"{name}: bracket 1 does not start at notional 0")
    for lower, upper in itertools.pairwise(brackets):
        if upper.notional_floor != lower.notional_cap:
            raise MarketDataError(
                f"{name}: bracket {upper.bracket} starts at {upper.notional_floor}, "
                f"bracket {lower.bracket} ends at {lower.notional_cap}"
            )
    return tuple(brackets)


def _precision(name: str, entry: Mapping[str, Any], field: str) -> int | None:
    value = entry.get(field)
    if value is None:
        return None
    precision = _integer(name, field, value)
    if precision > 18:
        raise MarketDataError(f"{name}: {field} {precision} is more than 18")
    return precision


def _make_symbol(
    name: str,
    margin_asset: object,
    base_asset: object,
    quote_asset: object,
    quantity_precision: int | None,
    price_precision: int | None,
    brackets: tuple[LeverageBracket, ...],
) -> Symbol:
    quote = quote_asset if isinstance(quote_asset, str) and quote_asset else None
    if quote is None:
        quote = next((q for q in _KNOWN_QUOTES if name.endswith(q) and name != q), None)
    asset = margin_asset if isinstance(margin_asset, str) and margin_asset else quote
    if asset is None:
        raise MarketDataError(f"{name}: no marginAsset and no known quote asset to take it from")
    if quote is None:
        quote = asset
    base = base_asset if isinstance(base_asset, str) and base_asset else None
    if base is None:
        base = name[: -len(quote)] if name.endswith(quote) and name != quote else name
    return Symbol(name, asset, base, quote, quantity_precision, price_precision, brackets)


@cache
def _default_market() -> Market:
    data = resources.files(__package__) / "data"
    precisions = json.loads((data / "precisions.json").read_text())["symbols"]
    return Market.from_binance(
        (data / "leverage_brackets.json").read_bytes(), precisions=precisions
    )
