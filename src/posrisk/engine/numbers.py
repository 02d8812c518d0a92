"""Decimal arithmetic and Binance's number formats: the one place money becomes text.

Every public engine entry point computes under ``CONTEXT`` (60 significant digits,
traps on invalid operations), whatever the caller's thread context says, so results do
not depend on ``decimal.getcontext()``. Wallet amounts are kept at 8 decimals
(``to_money``); prices and sizes are exact. Only the formatters cut numbers for the wire,
always toward zero, as Binance does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from .errors import InvalidValue

__all__ = [
    "AMOUNT_LIMIT",
    "CONTEXT",
    "ONE",
    "ZERO",
    "check_amount",
    "fmt_double",
    "fmt_exact",
    "fmt_integer",
    "fmt_marks",
    "fmt_money",
    "fmt_money_or_zero",
    "fmt_normalized",
    "fmt_price",
    "fmt_quantity",
    "fmt_shortest",
    "parse_decimal",
    "to_money",
]

CONTEXT = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
ZERO = Decimal(0)
ONE = Decimal(1)

# What a ledger number may look like: optional sign, digits, optional fraction.
# No exponents, no NaN/Infinity, no spaces, no "1." or ".5": Binance's own format.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# The one cap on every amount that comes in (prices, quantities, marks, fees, deposits,
# withdrawals, isolated transfers): magnitudes stay under it, so every product the engine
# forms, with its 8 or 10 decimals, fits CONTEXT's 60 digits.
AMOUNT_LIMIT = Decimal("1E+15")

_Q8 = Decimal("1E-8")
_Q10 = Decimal("1E-10")
_QUANTUM = {n: Decimal(1).scaleb(-n) for n in range(0, 19)}


def parse_decimal(value: object, field: str) -> Decimal:
    """A ledger number from a JSON string, an int or a Decimal; never from a float.

    Raises ``InvalidValue`` naming ``field`` for anything else: floats (their binary
    value is not the decimal the user wrote), exponents, NaN, Infinity, booleans, and
    magnitudes of ``AMOUNT_LIMIT`` (1e15) or more (``check_amount``).
    """
    if isinstance(value, bool):
        raise InvalidValue(field, f"expected a decimal string, got {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        if len(value) > 64 or not _PLAIN_DECIMAL.fullmatch(value):
            raise InvalidValue(field, f"{value[:64]!r} is not a plain decimal like '12.5'")
        number = Decimal(value)
    elif isinstance(value, float):
        raise InvalidValue(field, f'{value!r} is a float; write it as a string, e.g. "{value}"')
    else:
        raise InvalidValue(field, f"expected a decimal string, got {type(value).__name__}")
    return check_amount(number, field)


def check_amount(value: Decimal, field: str) -> Decimal:
    """``value`` if it is a finite number under ``AMOUNT_LIMIT`` in magnitude.

    The one cap rule for every amount, whichever way it comes in (parsed by
    ``parse_decimal`` or built as an event by a caller); ``InvalidValue`` names ``field``.
    """
    if not value.is_finite():
        raise InvalidValue(field, f"{value} is not a finite number")
    if abs(value) >= AMOUNT_LIMIT:
        raise InvalidValue(field, f"{value} is not below {AMOUNT_LIMIT:f}")
    return value


def to_money(value: Decimal) -> Decimal:
    """A wallet amount: rounded half-even to 8 decimals, Binance's balance precision.

    Everything that moves into or out of a wallet (realized PnL, isolated initial margin,
    a fee's share, an isolated wallet's returned share) goes through here, so wallet
    arithmetic stays exact however many digits an average entry price has.
    """
    return value.quantize(_Q8, ROUND_HALF_EVEN, CONTEXT)


def is_money(value: Decimal) -> bool:
    """True when ``value`` needs no more than 8 decimals (fees, deposits, transfers)."""
    return value == value.quantize(_Q8, ROUND_DOWN, CONTEXT)


def _plain(d: Decimal) -> str:
    # "-0.00000000" never reaches the wire: a cut value of zero is written unsigned.
    return format(d if d else d.copy_abs(), "f")


def fmt_exact(value: Decimal) -> str:
    """Every digit the value has, nothing cut or added (marks, tick sizes): what was set is
    what is shown and stored. ``61000.10`` → ``"61000.10"``, ``1E-8`` → ``"0.00000001"``."""
    return format(value, "f")


def fmt_shortest(value: Decimal) -> str:
    """Every digit that counts, trailing zeros dropped (commission rates, isolated margin
    amounts): ``0.00020`` → ``"0.0002"``, ``100`` → ``"100"``, 0 → ``"0"``."""
    return format(value.normalize(), "f") if value else "0"


def fmt_double(value: Decimal) -> str:
    """``value`` as the JSON number Binance writes for a double, from its exact digits
    (no float): ``100`` → ``100.0``, ``0.50`` → ``0.5``."""
    text = fmt_shortest(value)
    return text if "." in text else text + ".0"


def fmt_marks(marks: Mapping[str, Decimal]) -> dict[str, str]:
    """Marks as their exact decimal texts (stored, shared between gateways, shown)."""
    return {symbol: fmt_exact(price) for symbol, price in marks.items()}


def fmt_money(value: Decimal) -> str:
    """8 decimals cut toward zero: ``-1.06214947426`` → ``"-1.06214947"``, 0 → ``"0.00000000"``."""
    return _plain(value.quantize(_Q8, ROUND_DOWN, CONTEXT))


def fmt_money_or_zero(value: Decimal) -> str:
    """As ``fmt_money``, but exactly ``"0"`` when the cut value is zero (notional, liq. price)."""
    cut = value.quantize(_Q8, ROUND_DOWN, CONTEXT)
    return _plain(cut) if cut else "0"


def fmt_normalized(value: Decimal, decimals: int = 8) -> str:
    """Cut toward zero at ``decimals`` (8 unless told), then written without trailing zeros,
    as Binance writes openOrderInitialMargin, bidNotional, askNotional and the numbers of
    its order and account events: ``31`` → ``"31"``, ``46.2600`` → ``"46.26"``, 0 → ``"0"``.
    Entry and break-even prices in events keep 10 decimals (``"70.900038636"``)."""
    cut = value.quantize(_QUANTUM[decimals], ROUND_DOWN, CONTEXT)
    return _plain(cut.normalize(CONTEXT)) if cut else "0"


def fmt_price(value: Decimal) -> str:
    """entryPrice/breakEvenPrice: cut at 10 decimals, trailing zeros stripped, one decimal kept.

    ``22185.2`` → ``"22185.2"``, ``70.90003863636`` → ``"70.9000386363"``, 0 → ``"0.0"``.
    """
    cut = value.quantize(_Q10, ROUND_DOWN, CONTEXT)
    if not cut:
        return "0.0"
    text = format(cut, "f").rstrip("0")
    return text + "0" if text.endswith(".") else text


def fmt_quantity(value: Decimal, precision: int | None) -> str:
    """positionAmt at the symbol's quantityPrecision (``"0.001"``, ``"-10.000"``, ``"30"``).

    With an unknown precision, the normalised plain value (``"30"``, ``"0.5"``, ``"0"``).
    """
    if precision is None:
        return _plain(value.normalize(CONTEXT)) if value else "0"
    return _plain(value.quantize(_QUANTUM[precision], ROUND_DOWN, CONTEXT))


def fmt_integer(value: Decimal | int) -> str:
    """leverage, maxNotionalValue: an integer string, cut toward zero."""
    if isinstance(value, int):
        return str(value)
    return format(value.to_integral_value(ROUND_DOWN, CONTEXT), "f")
