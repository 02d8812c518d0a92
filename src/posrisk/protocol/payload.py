"""What a request signature covers (SPEC §3): the payload, in every form a real client
signs.

Payload = every param except ``signature``, sorted by name, ``name=value`` joined by
``&``, UTF-8. Real clients disagree on how a value is written, so a signature is
checked against every accepted form (``signature_payloads``), raw form first:

1. raw: strings as sent, integers in decimal, booleans ``true``/``false`` (ccxt);
2. ``urllib.parse.urlencode`` of the same pairs (Binance's SDK, python-binance), for
   payloads up to ``MAX_URLENCODED`` characters (it costs ~50 ns a byte);
3. both again with booleans as Python writes them, ``True``/``False`` (Binance's SDK
   signs a boolean it injects that way while the JSON carries ``false``).

Other JSON values are written as compact JSON: a float as its shortest round-trip
text (``0.1``, ``1e-07``), null as ``null``, arrays and objects as orjson writes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from urllib.parse import unquote_plus, urlencode

import orjson

__all__ = ["MAX_URLENCODED", "canonical_payload", "signature_payloads", "total_params_payloads"]

# Text that urlencode() leaves as it is (its separators included).
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~=&-]*")
# The longest payload whose urlencode() form is tried (real requests are under 1 KiB).
MAX_URLENCODED = 4096


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def _text(value: object, python_bools: bool) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        if python_bools:
            return "True" if value else "False"
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    try:
        return _json_text(value)
    except TypeError:  # wider than 64 bits, or nested deeper than orjson goes
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (ValueError, TypeError, RecursionError):
            # Too deep even for the standard library: a value nobody can have signed.
            return "\x00unsignable"


def _pairs(params: Mapping[str, object], python_bools: bool) -> list[tuple[str, str]]:
    return [
        (name, _text(params[name], python_bools)) for name in sorted(params) if name != "signature"
    ]


def _utf8(text: str) -> bytes:
    # Surrogates cannot come from parse_request; elsewhere they must not make signing raise.
    return text.encode("utf-8", "surrogatepass")


def canonical_payload(params: Mapping[str, object]) -> bytes:
    """The raw form, the one a client should sign: ``a=1&b=x`` sorted, no ``signature``."""
    return _utf8(
        "&".join(
            [
                f"{name}={_text(params[name], False)}"
                for name in sorted(params)
                if name != "signature"
            ]
        )
    )


def signature_payloads(params: Mapping[str, object]) -> Iterator[bytes]:
    """Every accepted form of the payload, de-duplicated, the raw form first — made one
    at a time, so that a request signed in the raw form (most are) costs only that one."""
    first = canonical_payload(params)
    yield first
    forms: list[bytes] = [first]
    for python_bools in (False, True):
        if python_bools and not any(isinstance(v, bool) for v in params.values()):
            return
        pairs = _pairs(params, python_bools)
        joined = "&".join(f"{name}={value}" for name, value in pairs)
        raw = _utf8(joined)
        if raw not in forms:
            forms.append(raw)
            yield raw
        # urlencode() writes the same bytes for URL-safe text; and it runs in Python per
        # byte, so it is tried only for payloads of a real request's size.
        if len(joined) <= MAX_URLENCODED and not _URL_SAFE.fullmatch(joined):
            encoded = urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")
            if encoded not in forms:
                forms.append(encoded)
                yield encoded


def _unsigned(part: str) -> list[str]:
    """A query or body's ``name=value`` pairs as sent, without ``signature`` ones."""
    return [pair for pair in part.split("&") if pair and not pair.startswith("signature=")]


def total_params_payloads(query: str, body: str) -> Iterator[bytes]:
    """Every accepted form of a REST request's signed bytes, the exact one first.

    REST signs ``totalParams``: the raw query followed by the raw body, each without its
    ``signature`` pair, joined with no ``&``. Also accepted, in this order: the two parts
    joined with ``&``, and every pair percent-decoded (python-binance signs raw values
    and sends them encoded). Made one at a time: most requests cost one form."""
    query_pairs, body_pairs = _unsigned(query), _unsigned(body)
    raw_query, raw_body = "&".join(query_pairs), "&".join(body_pairs)
    exact = _utf8(raw_query + raw_body)
    yield exact
    forms = [exact]
    if raw_query and raw_body:
        joined = _utf8(f"{raw_query}&{raw_body}")
        forms.append(joined)
        yield joined
    decoded = _utf8("&".join(_decoded(pair) for pair in (*query_pairs, *body_pairs)))
    if decoded not in forms:
        yield decoded


def _decoded(pair: str) -> str:
    name, sep, value = pair.partition("=")
    return f"{unquote_plus(name)}{sep}{unquote_plus(value)}"
