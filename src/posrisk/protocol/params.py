r"""Typed reading of request params, each failure with Binance's code (SPEC §2, §5, §12).

Real clients send numbers and booleans either as JSON values or as strings (Binance's
SDK sends every value as a string, ccxt sends JSON), so every reader takes both forms.
Decisions:

- A LONG is a JSON integer or a string of 1–20 decimal digits, at most 2**63 − 1 (a
  signed 64-bit integer, as Binance's LONG is); anything else (float, boolean, sign,
  exponent, spaces, 2**64) is -1100 with legal range ``^[0-9]{1,20}$``, as Binance
  answers. A negative number is therefore -1100, not -1130.
- Missing, ``null`` and ``""`` all mean "not sent": -1102 for a mandatory param, the
  default for an optional one.
- A DECIMAL is a string (or JSON integer) matching ``^([0-9]{1,20})(\.[0-9]{1,20})?$``;
  anything else (sign, exponent, float) is -1100 with that legal range.
- A symbol must match ``^[A-Z0-9-_.]{1,20}$`` (-1100); whether it exists is the
  service's question (-1121).
- An API key is 1–128 characters of ``[A-Za-z0-9]``; anything else, the empty string
  included, is -2014. Missing or null is None: the session may supply the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from .errors import WireError

__all__ = [
    "DECIMAL_RANGE",
    "DEFAULT_RECV_WINDOW",
    "LONG_RANGE",
    "MAX_RECV_WINDOW",
    "SYMBOL_RANGE",
    "check_timestamp",
    "read_api_key",
    "read_bool",
    "read_decimal",
    "read_long",
    "read_recv_window",
    "read_signature",
    "read_symbol",
]

LONG_RANGE = "^[0-9]{1,20}$"
DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
SYMBOL_RANGE = "^[A-Z0-9-_.]{1,20}$"
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60_000
# Timestamps this far ahead of the server's clock are refused (SPEC §5).
_AHEAD_MS = 1000

_LONG = re.compile(r"[0-9]{1,20}")
_DECIMAL = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_SYMBOL = re.compile(r"[A-Z0-9\-_.]{1,20}")
_API_KEY = re.compile(r"[A-Za-z0-9]{1,128}")
_LONG_LIMIT = 2**63  # a signed 64-bit integer


def _sent(params: Mapping[str, object], name: str) -> object:
    """The value of ``name``, or None when missing, null or the empty string."""
    value = params.get(name)
    return None if value == "" else value


def read_long(params: Mapping[str, object], name: str, *, required: bool) -> int | None:
    """A LONG param: JSON integer or decimal-digit string; None if optional and not sent."""
    value = _sent(params, name)
    if value is None:
        if required:
            raise WireError.mandatory_param(name)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < _LONG_LIMIT:
            return value
    elif isinstance(value, str) and _LONG.fullmatch(value):
        number = int(value)
        if number < _LONG_LIMIT:
            return number
    raise WireError.illegal_chars(name, LONG_RANGE)


def read_decimal(params: Mapping[str, object], name: str, *, required: bool) -> Decimal | None:
    """A DECIMAL param as its exact digits; None if optional and not sent."""
    value = _sent(params, name)
    if value is None:
        if required:
            raise WireError.mandatory_param(name)
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    elif isinstance(value, float) and value >= 0:
        # A JSON number over the WS API: its shortest round-trip text is what the client
        # wrote (0.01 → "0.01"); an exponent form ("1e-05") is refused as Binance does.
        value = repr(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return Decimal(value)
    raise WireError.illegal_chars(name, DECIMAL_RANGE)


def read_bool(params: Mapping[str, object], name: str, default: bool | None) -> bool:
    """A BOOLEAN param: JSON ``true``/``false`` or the strings, any case; else -1130.
    ``default`` None: mandatory (-1102 when not sent)."""
    value = _sent(params, name)
    if value is None:
        if default is None:
            raise WireError.mandatory_param(name)
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    raise WireError.invalid_value(name)


def read_symbol(params: Mapping[str, object], name: str = "symbol") -> str | None:
    """The symbol as sent (``^[A-Z0-9-_.]{1,20}$``, else -1100), None when not sent."""
    value = _sent(params, name)
    if value is None:
        return None
    if isinstance(value, str) and _SYMBOL.fullmatch(value):
        return value
    raise WireError.illegal_chars(name, SYMBOL_RANGE)


def read_api_key(params: Mapping[str, object]) -> str | None:
    """``apiKey``: 1–128 of ``[A-Za-z0-9]`` (else -2014); None when missing or null."""
    value = params.get("apiKey")
    if value is None:
        return None
    # ``type is str``: a JSON integer of more than 64 digits arrives as ``WideInt`` digits.
    if type(value) is str and _API_KEY.fullmatch(value):
        return value
    raise WireError.api_key_format()


def read_signature(params: Mapping[str, object]) -> str | None:
    """``signature`` as sent, None when not sent; a non-string cannot verify: -1022."""
    value = _sent(params, "signature")
    if value is None:
        return None
    if type(value) is str:
        return value
    raise WireError.invalid_signature()


def read_recv_window(params: Mapping[str, object]) -> int:
    """``recvWindow``: default 5000; a LONG in 1..60000, else -1130 (SPEC §5)."""
    value = read_long(params, "recvWindow", required=False)
    if value is None:
        return DEFAULT_RECV_WINDOW
    if not 0 < value <= MAX_RECV_WINDOW:
        raise WireError.invalid_value("recvWindow")
    return value


def check_timestamp(
    timestamp: int, recv_window: int, server_time: int, *, advanced: int = 0
) -> None:
    """Accept iff ``timestamp < server_time + 1000`` and ``server_time - timestamp <= recv_window``.

    Raises -1021 with the "ahead" message for the first rule, "outside" for the second.
    A server whose clock was moved ``advanced`` ms ahead of the machine's accepts every
    timestamp from ``recv_window`` before the machine's time on: a client stamping with
    the machine's clock, one synced with the server's, and one that measured its offset
    between two moves (python-binance measures it once) all stay inside.
    """
    if advanced and server_time - advanced - recv_window <= timestamp < server_time + _AHEAD_MS:
        return
    if timestamp >= server_time + _AHEAD_MS:
        raise WireError.timestamp_ahead()
    if server_time - timestamp > recv_window:
        raise WireError.timestamp_outside_window()
