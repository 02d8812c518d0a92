"""Ledger events to and from the JSON stored in ``ledger.body``.

Field names are the scenario file's; numbers are decimal strings, never floats. A funding
settlement (``FundingFee``, kind ``funding``) is a ledger event like the others: no table
of its own, so no migration. Orders
(``OrderUpdate``, ``AlgoUpdate``) are written by ``order_codec`` under the kinds ``order``
and ``algo``, leaving out every field that holds its default.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ..engine import (
    AlgoUpdate,
    Event,
    Fill,
    FundingFee,
    InsuranceClear,
    IsolatedMarginTransfer,
    MarginType,
    OrderUpdate,
    PositionMode,
    PositionSide,
    SetAutoAddMargin,
    SetCommission,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    WalletTransfer,
)
from ..engine.numbers import fmt_exact
from .order_codec import (
    decode_algo_update,
    decode_order_update,
    encode_algo_update,
    encode_order_update,
)

__all__ = ["decode_decimal", "decode_event", "encode_decimal", "encode_event", "kind_of"]

# The ``ledger.kind`` each event type is stored under.
_KINDS: dict[type, str] = {
    WalletTransfer: "wallet",
    InsuranceClear: "insurance_clear",
    Fill: "fill",
    IsolatedMarginTransfer: "isolated_margin",
    SetLeverage: "leverage",
    SetMarginType: "margin_type",
    SetAutoAddMargin: "auto_add_margin",
    SetPositionMode: "position_mode",
    SetCommission: "commission",
    OrderUpdate: "order",
    AlgoUpdate: "algo",
    FundingFee: "funding",
}


def kind_of(event_type: type) -> str:
    """The ``ledger.kind`` of an event type (``IsolatedMarginTransfer`` → ``isolated_margin``)."""
    return _KINDS[event_type]


def _optional(value: Decimal | None) -> str | None:
    return None if value is None else encode_decimal(value)


def _decode_optional(value: str | None) -> Decimal | None:
    return None if value is None else decode_decimal(value)


def encode_decimal(value: Decimal) -> str:
    """A decimal as plain digits (never ``1E-8``), as every reader of the ledger accepts."""
    return fmt_exact(value)


def decode_decimal(text: str) -> Decimal:
    """A stored decimal: plain digits, or the exponent form (``1E-8``) of marks that
    SQLite stores written before both backends shared one writer."""
    return Decimal(text)


def _funding_body(event: FundingFee) -> dict[str, Any]:
    return {
        "symbol": event.symbol,
        "fundingTime": event.funding_time,
        "rate": encode_decimal(event.rate),
        "mark": encode_decimal(event.mark),
        "fees": [[side.value, encode_decimal(fee)] for side, fee in event.fees],
    }


def encode_event(event: Event) -> tuple[str, str]:
    """(kind, body) of an event for the ledger table."""
    body: dict[str, Any]
    match event:
        case WalletTransfer():
            kind, body = "wallet", {"asset": event.asset, "amount": encode_decimal(event.amount)}
        case InsuranceClear():
            kind = "insurance_clear"
            body = {"asset": event.asset, "amount": encode_decimal(event.amount)}
        case Fill():
            kind, body = (
                "fill",
                {
                    "symbol": event.symbol,
                    "side": event.side.value,
                    "positionSide": event.position_side.value,
                    "qty": encode_decimal(event.qty),
                    "price": encode_decimal(event.price),
                    "fee": encode_decimal(event.fee),
                },
            )
        case IsolatedMarginTransfer():
            kind, body = (
                "isolated_margin",
                {
                    "symbol": event.symbol,
                    "positionSide": event.position_side.value,
                    "amount": encode_decimal(event.amount),
                },
            )
        case SetLeverage():
            kind, body = "leverage", {"symbol": event.symbol, "leverage": event.leverage}
        case SetMarginType():
            kind, body = (
                "margin_type",
                {
                    "symbol": event.symbol,
                    "marginType": event.margin_type.value,
                },
            )
        case SetAutoAddMargin():
            kind, body = "auto_add_margin", {"symbol": event.symbol, "enabled": event.enabled}
        case SetPositionMode():
            kind, body = "position_mode", {"positionMode": event.mode.value}
        case SetCommission():
            kind, body = (
                "commission",
                {
                    "maker": _optional(event.maker),
                    "taker": _optional(event.taker),
                    "symbols": [[s, _optional(m), _optional(t)] for s, m, t in event.symbols],
                },
            )
        case FundingFee():
            kind, body = "funding", _funding_body(event)
        case OrderUpdate():
            return "order", encode_order_update(event)
        case AlgoUpdate():
            return "algo", encode_algo_update(event)
        case _:
            raise TypeError(f"not a ledger event: {event!r}")
    return kind, json.dumps(body, separators=(",", ":"))


def decode_event(kind: str, body: str, time: int) -> Event:
    """The event of a ledger row; its time is the row's (bodies hold none)."""
    if kind == "order":
        return decode_order_update(body, time)
    if kind == "algo":
        return decode_algo_update(body, time)
    data = json.loads(body)
    match kind:
        case "wallet":
            return WalletTransfer(data["asset"], decode_decimal(data["amount"]), time)
        case "insurance_clear":
            return InsuranceClear(data["asset"], decode_decimal(data["amount"]), time)
        case "fill":
            return Fill(
                data["symbol"],
                Side(data["side"]),
                decode_decimal(data["qty"]),
                decode_decimal(data["price"]),
                PositionSide(data["positionSide"]),
                decode_decimal(data["fee"]),
                time,
            )
        case "isolated_margin":
            return IsolatedMarginTransfer(
                data["symbol"],
                decode_decimal(data["amount"]),
                PositionSide(data["positionSide"]),
                time,
            )
        case "leverage":
            return SetLeverage(data["symbol"], int(data["leverage"]), time)
        case "margin_type":
            return SetMarginType(data["symbol"], MarginType(data["marginType"]), time)
        case "auto_add_margin":
            return SetAutoAddMargin(data["symbol"], bool(data["enabled"]), time)
        case "position_mode":
            return SetPositionMode(PositionMode(data["positionMode"]), time)
        case "funding":
            return FundingFee(
                data["symbol"],
                int(data["fundingTime"]),
                decode_decimal(data["rate"]),
                decode_decimal(data["mark"]),
                tuple((PositionSide(side), decode_decimal(fee)) for side, fee in data["fees"]),
                time,
            )
        case "commission":
            return SetCommission(
                _decode_optional(data["maker"]),
                _decode_optional(data["taker"]),
                tuple(
                    (str(s), _decode_optional(m), _decode_optional(t))
                    for s, m, t in data["symbols"]
                ),
                time,
            )
    raise ValueError(f"unknown ledger entry kind {kind!r}")
