"""Reading what people send (scenario files, admin API bodies, CLI flags, the symbol of an
API request) into engine values.

One parser per shape, shared by every way in, using the scenario file's field names
(SPEC §10). Every problem raises ``InvalidValue`` naming the field and what was wrong;
unknown fields are refused rather than silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, overload

from ..engine import (
    Event,
    Fill,
    InvalidValue,
    IsolatedMarginTransfer,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    SetAutoAddMargin,
    SetCommission,
    SetLeverage,
    SetMarginType,
    Side,
    parse_decimal,
    rates_for,
)
from ..engine.numbers import fmt_shortest
from ..protocol import WireError, read_symbol

__all__ = [
    "ACCOUNT_NAME",
    "check_fields",
    "commission_json",
    "known_symbol",
    "parse_account_name",
    "parse_commission",
    "parse_fill",
    "parse_force",
    "parse_isolated_transfer",
    "parse_margin_type",
    "parse_marks",
    "parse_position_mode",
    "parse_position_side",
    "parse_symbol_settings",
    "parse_wallet_amount",
]

# Account names: what fits in a URL path and a shell without quoting.
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SYMBOL = re.compile(r"[A-Z0-9]{1,20}(_[0-9]{6})?")


def check_fields(data: object, where: str, allowed: set[str], required: set[str]) -> None:
    """``data`` must be an object holding ``required`` and nothing outside ``allowed``."""
    if not isinstance(data, Mapping):
        raise InvalidValue(where, f"{where} must be a JSON object, got {type(data).__name__}")
    missing = sorted(required - set(data))
    if missing:
        raise InvalidValue(missing[0], f"{where}: '{missing[0]}' is required")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidValue(
            unknown[0], f"{where}: unknown field '{unknown[0]}' (expected {sorted(allowed)})"
        )


def parse_account_name(value: object) -> str:
    if not isinstance(value, str) or not ACCOUNT_NAME.fullmatch(value):
        raise InvalidValue(
            "name",
            f"account names are 1-64 letters, digits, '_', '.', '-', got {value!r:.80}",
        )
    return value


def _symbol(value: object, field: str = "symbol") -> str:
    if not isinstance(value, str) or not _SYMBOL.fullmatch(value):
        raise InvalidValue(field, f"{value!r:.40} is not a symbol like 'BTCUSDT'")
    return value


@overload
def known_symbol(
    params: Mapping[str, object], market: Market, *, required: Literal[True]
) -> str: ...
@overload
def known_symbol(
    params: Mapping[str, object], market: Market, *, required: bool = False
) -> str | None: ...
def known_symbol(
    params: Mapping[str, object], market: Market, *, required: bool = False
) -> str | None:
    """The ``symbol`` param of a WS API or REST request (None when not sent; -1102 if
    ``required``), refused with Binance's -1121 when the market has no such symbol: one
    check, so every way in agrees."""
    symbol = read_symbol(params)
    if symbol is None and required:
        raise WireError.mandatory_param("symbol")
    if symbol is not None and symbol not in market:
        raise WireError.invalid_symbol()
    return symbol


def _enum_value(value: object, field: str, choices: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.lower() in choices:
        return choices[value.lower()]
    raise InvalidValue(field, f"{value!r:.40} is not one of {sorted(set(choices))}")


def parse_position_mode(value: object) -> PositionMode:
    return _enum_value(  # type: ignore[no-any-return]
        value, "positionMode", {"oneway": PositionMode.ONE_WAY, "hedge": PositionMode.HEDGE}
    )


def parse_margin_type(value: object) -> MarginType:
    return _enum_value(  # type: ignore[no-any-return]
        value,
        "marginType",
        {"cross": MarginType.CROSS, "crossed": MarginType.CROSS, "isolated": MarginType.ISOLATED},
    )


def parse_position_side(value: object) -> PositionSide:
    return _enum_value(  # type: ignore[no-any-return]
        value, "positionSide", {s.value.lower(): s for s in PositionSide}
    )


def _time(value: object, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**53:
        raise InvalidValue("time", f"time must be milliseconds since the epoch, got {value!r:.40}")
    return value


def _flag(value: object, field: str) -> bool:
    """A JSON boolean, or Binance's way of writing one: "true" / "false"."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidValue(field, f"expected true or false, got {value!r:.40}")
    return value


def parse_fill(data: object, *, default_time: int) -> Fill:
    """A fill as in a scenario file: symbol, side, qty, price, positionSide?, fee?, time?
    (and force?, read by ``parse_force``)."""
    check_fields(
        data,
        "fill",
        {"symbol", "side", "positionSide", "qty", "price", "fee", "time", "force"},
        {"symbol", "side", "qty", "price"},
    )
    assert isinstance(data, Mapping)
    return Fill(
        symbol=_symbol(data["symbol"]),
        side=_enum_value(data["side"], "side", {"buy": Side.BUY, "sell": Side.SELL}),
        qty=parse_decimal(data["qty"], "qty"),
        price=parse_decimal(data["price"], "price"),
        position_side=parse_position_side(data.get("positionSide", "BOTH")),
        fee=parse_decimal(data.get("fee", "0"), "fee"),
        time=_time(data.get("time"), default_time),
    )


def parse_force(data: object) -> bool:
    """A fill's ``"force"`` (default false): true records it even where Binance would have
    refused it for margin (-2019), to import real history."""
    return _flag(data.get("force", False), "force") if isinstance(data, Mapping) else False


def parse_isolated_transfer(data: object, *, default_time: int) -> IsolatedMarginTransfer:
    """``{"symbol", "positionSide"?, "amount"}``; a negative amount removes margin."""
    check_fields(
        data,
        "isolated margin transfer",
        {"symbol", "positionSide", "amount"},
        {
            "symbol",
            "amount",
        },
    )
    assert isinstance(data, Mapping)
    return IsolatedMarginTransfer(
        symbol=_symbol(data["symbol"]),
        amount=parse_decimal(data["amount"], "amount"),
        position_side=parse_position_side(data.get("positionSide", "BOTH")),
        time=default_time,
    )


def parse_wallet_amount(asset: object, amount: object) -> tuple[str, Decimal]:
    if not isinstance(asset, str) or not re.fullmatch(r"[A-Z0-9]{1,10}", asset):
        raise InvalidValue("asset", f"{asset!r:.40} is not an asset like 'USDT'")
    return asset, parse_decimal(amount, "amount")


def parse_symbol_settings(symbols: object, *, time: int) -> list[Event]:
    """``{"BTCUSDT": {"leverage": 10, "marginType": "isolated", "isAutoAddMargin": true}}``."""
    if not isinstance(symbols, Mapping):
        raise InvalidValue("symbols", "symbols must map a symbol to its settings")
    events: list[Event] = []
    for name, settings in symbols.items():
        symbol = _symbol(name)
        check_fields(
            settings, f"symbols.{symbol}", {"leverage", "marginType", "isAutoAddMargin"}, set()
        )
        assert isinstance(settings, Mapping)
        if "marginType" in settings:
            events.append(SetMarginType(symbol, parse_margin_type(settings["marginType"]), time))
        if "leverage" in settings:
            leverage = settings["leverage"]
            if isinstance(leverage, str) and leverage.isdigit():
                leverage = int(leverage)
            if isinstance(leverage, bool) or not isinstance(leverage, int):
                raise InvalidValue("leverage", f"leverage must be an integer, got {leverage!r:.40}")
            events.append(SetLeverage(symbol, leverage, time))
        if "isAutoAddMargin" in settings:
            flag = _flag(settings["isAutoAddMargin"], "isAutoAddMargin")
            events.append(SetAutoAddMargin(symbol, flag, time))
    return events


def _rate(data: Mapping[str, Any], name: str, field: str) -> Decimal | None:
    return parse_decimal(data[name], field) if data.get(name) is not None else None


def parse_commission(data: object, *, time: int) -> SetCommission:
    """``{"maker": "0.0002", "taker": "0.0005", "symbols": {"ETHUSDC": {"maker": "0"}}}``:
    every part optional (what is left out keeps the default, 0.0002 / 0.0005)."""
    check_fields(data, "commission", {"maker", "taker", "symbols"}, set())
    assert isinstance(data, Mapping)
    symbols = data.get("symbols") or {}
    if not isinstance(symbols, Mapping):
        raise InvalidValue("symbols", "symbols must map a symbol to its maker and taker rates")
    overrides = []
    for name, rates in symbols.items():
        symbol = _symbol(name)
        check_fields(rates, f"symbols.{symbol}", {"maker", "taker"}, set())
        assert isinstance(rates, Mapping)
        maker = _rate(rates, "maker", f"symbols.{symbol}.maker")
        overrides.append((symbol, maker, _rate(rates, "taker", f"symbols.{symbol}.taker")))
    maker, taker = _rate(data, "maker", "maker"), _rate(data, "taker", "taker")
    return SetCommission(maker, taker, tuple(overrides), time)


def commission_json(commission: SetCommission) -> dict[str, Any]:
    """An account's commission as ``parse_commission`` reads it, the defaults filled in."""
    rates = rates_for(commission, "")
    symbols: dict[str, dict[str, str]] = {}
    for name, maker, taker in commission.symbols:
        given = {"maker": maker, "taker": taker}
        symbols[name] = {k: fmt_shortest(v) for k, v in given.items() if v is not None}
    return {
        "maker": fmt_shortest(rates.maker),
        "taker": fmt_shortest(rates.taker),
        "symbols": symbols,
    }


def parse_marks(data: object) -> dict[str, Decimal]:
    """``{"BTCUSDT": "61000.1", ...}``: positive mark prices."""
    if not isinstance(data, Mapping) or not data:
        raise InvalidValue("marks", "marks must map at least one symbol to a price")
    marks = {}
    for name, value in data.items():
        symbol = _symbol(name)
        price = parse_decimal(value, f"marks.{symbol}")
        if price <= 0:
            raise InvalidValue(f"marks.{symbol}", f"a mark price must be positive, got {value}")
        marks[symbol] = price
    return marks
