"""Hostile frames thrown at ``ApiService.handle`` directly: no socket, many examples.

What is thrown (Hypothesis): arbitrary bytes; arbitrary text (lone surrogates included);
arbitrary JSON documents written as text by our own writer, so that what a JSON library
would refuse to produce gets in too — integers wider than 64 bits, floats, the literals
``NaN``/``Infinity``/``1e400``, very long strings, unicode (surrogate escapes, RTL
overrides, zero-width and combining characters, BOMs), duplicate keys, and nesting of
thousands of levels built as text; then well-formed envelopes for every method name
(``account.position``, ``v2/account.position``, ``session.logon/status/logout``,
``userDataStream.start/ping/stop``, unknown ones) whose params are hostile: one standard
param replaced by a value of the wrong type (bool, float, list, object, null, huge or
negative integers, empty, very long or unicode strings), signatures made with another
account's secret, and account B's key with extra params naming account A
(``account``, ``name``, ``email``...). A last test replays sequences of such frames on one
connection, logons and logouts included.

What must hold for every frame:

- ``handle()`` never raises and answers exactly one JSON object;
- ``id`` is the request's, with its JSON type, when the request could be read (our own
  reading: strict UTF-8 JSON, no NaN/Infinity, finite numbers, no lone surrogates), and
  null otherwise;
- ``status`` is an int in {200, 400, 401, 418, 429, 500} — and never 500 here: -1001 is
  the catch-all for an exception the service did not expect;
- a refusal carries ``error`` with an int ``code`` and a str ``msg``; a frame that cannot
  be read is 400/-1000;
- for ``account.position``/``v2/account.position`` the answer is exactly what SPEC §2-§6,
  §12 and the README's authentication order predict for the params sent (the error code of
  the first problem, or 200), and a 200 holds only rows of the account whose key signed
  the request (alice: one-way, BTCUSDT 0.010 long and ETHUSDT -1.000 short; bob: hedge,
  BTCUSDT LONG 0.001) — never the other account's;
- afterwards the service still answers a valid signed request for each account correctly.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from posrisk.engine import Market
from posrisk.protocol import (
    MAX_PARAM_LENGTH,
    MAX_PARAMS,
    MAX_REQUEST_BYTES,
    LimitRules,
    canonical_payload,
    hmac_signature,
    load_private_key,
)
from posrisk.protocol.limits import RequestWeightLimiter
from posrisk.service.admin import AdminService
from posrisk.service.api import ApiService, Connection
from posrisk.service.clock import ManualClock
from posrisk.service.registry import Registry
from posrisk.store import SQLiteStore

from ..service.conftest import (
    ED_KEY,
    HEDGE_KEY,
    HEDGE_SECRET,
    HMAC_KEY,
    HMAC_SECRET,
    RSA_KEY,
    Keys,
    known_scenario,
)

NOW = 1_700_000_000_000
STATUSES = {200, 400, 401, 418, 429, 500}
POSITION_METHODS = ("account.position", "v2/account.position")
METHODS = (
    *POSITION_METHODS,
    "session.logon",
    "session.status",
    "session.logout",
    "userDataStream.start",
    "userDataStream.ping",
    "userDataStream.stop",
    "v1/account.position",
    "account.positions",
    "ACCOUNT.POSITION",
    "account.position ",
    "",
    "order.unknown",
)

# Each account's open positions, as (symbol, positionSide) -> positionAmt.
OPEN = {
    "alice": {("BTCUSDT", "BOTH"): "0.010", ("ETHUSDT", "BOTH"): "-1.000"},
    "bob": {("BTCUSDT", "LONG"): "0.001"},
}
SIDES = {"alice": {"BOTH"}, "bob": {"LONG", "SHORT"}}
ACCOUNT_OF = {HMAC_KEY: "alice", ED_KEY: "alice", RSA_KEY: "alice", HEDGE_KEY: "bob"}

FUZZ = settings(
    max_examples=250,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- the service under test ----------------------------------------------------------


@dataclass
class World:
    api: ApiService
    keys: Keys
    store: SQLiteStore

    def __post_init__(self) -> None:
        self.private = {
            ED_KEY: load_private_key(self.keys.ed25519_private),
            RSA_KEY: load_private_key(self.keys.rsa_private),
        }

    def sign(self, api_key: str, params: dict[str, Any]) -> str:
        """What the key's owner would send as ``signature`` for ``params``."""
        payload = canonical_payload(params)
        if api_key == HMAC_KEY:
            return hmac_signature(HMAC_SECRET, payload)
        if api_key == HEDGE_KEY:
            return hmac_signature(HEDGE_SECRET, payload)
        return self.private[api_key].sign(payload)

    def send(self, conn: Connection, frame: bytes | str) -> dict[str, Any]:
        """One frame through ``handle``: the answer, checked for the envelope's shape."""
        answer = self.api.handle(conn, frame)
        assert isinstance(answer, bytes), type(answer)
        reply = json.loads(answer)  # the stdlib reads wide ids exactly
        check_shape(reply)
        error = reply.get("error")
        event(f"status {reply['status']}" + (f" code {error['code']}" if error else ""))
        return reply  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(keys: Keys) -> Iterator[World]:
    """The services fixture's world, built once for the module, with a limit that the
    thousands of examples never reach (429/418 are not what this file is about)."""

    async def build() -> World:
        store = SQLiteStore(":memory:")
        await store.open()
        clock = ManualClock(NOW)
        registry = Registry(Market.default())
        await AdminService(store, registry, clock).load_scenario(known_scenario(keys))
        limiter = RequestWeightLimiter(LimitRules(request_weight=10**15))
        return World(ApiService(registry, limiter, clock), keys, store)

    built = asyncio.run(build())
    yield built
    asyncio.run(built.store.close())


def fresh() -> Connection:
    return Connection("10.9.8.7", NOW)


# -- properties ------------------------------------------------------------------------


def check_shape(reply: object) -> None:
    """One JSON object with an int status (never 500) and, on refusal, code and msg."""
    assert isinstance(reply, dict), reply
    assert "id" in reply and "status" in reply, reply
    assert reply["id"] is None or type(reply["id"]) in (str, int), reply
    status = reply["status"]
    assert type(status) is int and status in STATUSES, reply
    assert status != 500, f"internal error (-1001) answered: {reply}"
    if status == 200:
        assert "result" in reply and "error" not in reply, reply
    else:
        error = reply.get("error")
        assert isinstance(error, dict), reply
        assert type(error.get("code")) is int and isinstance(error.get("msg"), str), reply
        assert "result" not in reply, reply


def check_rows(rows: object, account: str, v2: bool, symbol: str | None = None) -> None:
    """Rows of ``account`` and of no other: its sides, its sizes, nothing else open."""
    assert isinstance(rows, list), rows
    held = {}
    for row in rows:
        assert isinstance(row, dict), row
        side = row["positionSide"]
        assert side in SIDES[account], (account, row)
        if symbol is not None:
            assert row["symbol"] == symbol, (symbol, row)
        if float(row["positionAmt"]) != 0:
            held[(row["symbol"], side)] = row["positionAmt"]
    expected = {k: v for k, v in OPEN[account].items() if symbol in (None, k[0])}
    assert held == expected, (account, held)
    if v2:
        assert len(rows) == len(expected), rows
    else:
        assert len(rows) == (345 if symbol is None else 1) * len(SIDES[account]), len(rows)


def check_alive(world: World) -> None:
    """A valid signed request for each account still gets that account's rows."""
    for api_key, symbol in ((HMAC_KEY, None), (HEDGE_KEY, "BTCUSDT"), (ED_KEY, "ETHUSDT")):
        params: dict[str, Any] = {"apiKey": api_key, "timestamp": NOW}
        if symbol:
            params["symbol"] = symbol
        params["signature"] = world.sign(api_key, params)
        frame = json.dumps({"id": "alive", "method": "v2/account.position", "params": params})
        reply = world.send(fresh(), frame)
        assert (reply["id"], reply["status"]) == ("alive", 200), reply
        check_rows(reply["result"], ACCOUNT_OF[api_key], True, symbol)


# -- reading a frame as a strict JSON reader would ---------------------------------------


class Unreadable(Exception):
    pass


def _no_constant(name: str) -> object:
    raise Unreadable(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Unreadable(text)
    return value


def _depth(document: object) -> int:
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if isinstance(value, dict):
                "".join(value).encode("utf-8")  # keys too
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            value.encode("utf-8")  # a lone surrogate makes it unreadable
    return deepest


AMBIGUOUS = object()  # too deep to say: the server may read it or refuse it


def read_frame(frame: bytes | str) -> object:
    """The JSON document in ``frame``; ``Unreadable`` if it is not strict JSON;
    ``AMBIGUOUS`` when it nests deeper than parsers are expected to go."""
    # Duplicate keys: the last wins, but the members it overwrites must be readable too
    # (a lone surrogate anywhere spoils the frame).
    overwritten: list[object] = []

    def members(pairs: list[tuple[str, object]]) -> dict[str, object]:
        document: dict[str, object] = {}
        for key, value in pairs:
            if key in document:
                overwritten.append(document[key])
            document[key] = value
        return document

    try:
        text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
        text.encode("utf-8")
        document = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=members
        )
        depth = _depth(document)
        _depth(overwritten)
    except RecursionError:
        return AMBIGUOUS
    except (ValueError, UnicodeError, Unreadable):
        raise Unreadable from None
    return AMBIGUOUS if depth > 1000 else document


def readable_id(document: object) -> tuple[bool, object]:
    """(True, id) when the server must echo ``id``: an object whose id is a string, an
    integer or null (or absent: null)."""
    if not isinstance(document, dict):
        return False, None
    value = document.get("id")
    if value is None or isinstance(value, str):
        return True, value
    if isinstance(value, int) and not isinstance(value, bool):
        return True, value
    return False, None


def over_structure(frame: bytes | str) -> bool:
    """A frame longer than a request can be (64 KiB), or over 1 KiB with more quotes,
    commas, ``{`` and ``[`` in its bytes than a request of MAX_PARAMS params can hold:
    refused before it is read."""
    if len(frame) > MAX_REQUEST_BYTES:
        return True
    data = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame
    return len(frame) > 1024 and sum(data.count(c) for c in (b'"', b"{", b"[", b",")) > (
        5 * MAX_PARAMS + 16
    )


def params_refusal(params: dict[str, Any]) -> tuple[int, int] | None:
    """What no request may carry: more than MAX_PARAMS params (-1101), a nested value or
    a value longer than MAX_PARAM_LENGTH characters, numbers included (-1130)."""
    if len(params) > MAX_PARAMS:
        return 400, -1101
    for value in params.values():
        if isinstance(value, dict | list):
            return 400, -1130
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(text, str) and len(text) > MAX_PARAM_LENGTH:
            return 400, -1130
    return None


def check_answer_to(frame: bytes | str, reply: dict[str, Any]) -> None:
    """The id rule and the -1000 rule, from our own reading of the frame."""
    if over_structure(frame):
        assert reply["id"] is None, reply
        assert (reply["status"], reply["error"]["code"]) == (400, -1000), reply
        return
    try:
        document = read_frame(frame)
    except Unreadable:
        assert reply["id"] is None, reply
        assert (reply["status"], reply["error"]["code"]) == (400, -1000), reply
        return
    if document is AMBIGUOUS:
        return
    ok, request_id = readable_id(document)
    if not ok:
        assert reply["id"] is None, reply
        assert (reply["status"], reply["error"]["code"]) == (400, -1000), reply
        return
    assert reply["id"] == request_id and type(reply["id"]) is type(request_id), reply
    assert isinstance(document, dict)
    params = document.get("params")
    if not isinstance(document.get("method"), str) or not isinstance(params, dict | None):
        assert (reply["status"], reply["error"]["code"]) == (400, -1000), reply
    elif (refusal := params_refusal(params or {})) is not None:
        assert (reply["status"], reply["error"]["code"]) == refusal, reply
    elif document["method"] not in METHODS[:8]:
        assert (reply["status"], reply["error"]["code"]) == (400, -1000), reply
        assert reply["error"]["msg"] == f"Unknown method '{document['method']}'.", reply


# -- strategies: JSON written as text ------------------------------------------------------

SPECIAL = [
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # BOM / zero-width no-break space
    "\u0301",  # combining acute accent
    "\u0000",
    "\u2028",
    "\u00e9",
    "\U0001f600",
    "\uffff",
    "\\",
    '"',
]
# Text a JSON writer can produce (no lone surrogates: those have strategies of their own).
utf8 = st.characters(codec="utf-8")
unicode_text = st.text(alphabet=st.one_of(utf8, st.sampled_from(SPECIAL)), max_size=30)
surrogates = st.integers(0xD800, 0xDFFF).map(chr)
# Long strings are built from small draws, so that Hypothesis never prints them whole.
long_text = st.builds(
    lambda n, c: c * n, st.sampled_from([1_000, 70_000, 300_000]), st.sampled_from("A\u202e9é")
)
huge_ints = st.one_of(
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**20]),
    st.integers(min_value=2**64, max_value=2**400),
    st.integers(min_value=-(2**400), max_value=-(2**63) - 1),
)
LITERALS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "-0.0",
    "0e0",
    "1E+2",
    "01",
    "1.",
    ".5",
    "+1",
    "0x10",
    "true",
    "null",
    "nul",
    "undefined",
    "'x'",
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\u0000"',
    '"\\x41"',
    '"tab\there"',
]


def json_string(text: str, ascii_only: bool = False) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)


scalar_text = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    huge_ints.map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.just("null"),
    st.sampled_from(LITERALS),
    st.builds(json_string, unicode_text, st.booleans()),
    surrogates.map(lambda c: json_string(c, True)),
    surrogates.map(
        lambda c: json_string(c, False).encode("utf-8", "surrogatepass").decode("latin-1")
    ),
    long_text.map(json_string),
)
KEYS = ["id", "method", "params", "apiKey", "signature", "timestamp", "symbol", "a", ""]
key_text = st.one_of(st.sampled_from(KEYS), unicode_text).map(json_string)


def _containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arrays = st.lists(children, max_size=5).map(lambda items: "[" + ",".join(items) + "]")
    objects = st.lists(st.tuples(key_text, children), max_size=5).map(
        lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"
    )
    return arrays | objects


json_text = st.recursive(scalar_text, _containers, max_leaves=25)


@st.composite
def deep_text(draw: st.DrawFn) -> str:
    """Nesting of thousands of levels, built as text (no parser could have written it)."""
    depth = draw(st.sampled_from([1025, 1100, 5000, 100_000]))
    open_, close = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"params":', "}")]))
    inner = draw(st.sampled_from(["1", "[]", '"x"', "", "null"]))
    body = open_ * depth + inner + close * draw(st.sampled_from([depth, depth - 1, 0]))
    where = draw(st.sampled_from(["frame", "id", "method", "params", "param"]))
    if where == "frame":
        return body
    value = {"id": '"d"', "method": '"v2/account.position"', "params": "{}"}
    if where == "param":
        value["params"] = f'{{"apiKey":"{HMAC_KEY}","timestamp":{NOW},"x":{body}}}'
    else:
        value[where] = body
    return "{" + ",".join(f'"{k}":{v}' for k, v in value.items()) + "}"


@st.composite
def envelope_text(draw: st.DrawFn) -> str:
    """A request object written by hand: maybe duplicate keys, maybe hostile members."""
    members = []
    for key in draw(st.permutations(["id", "method", "params"])):
        if draw(st.integers(0, 9)) == 0:
            continue  # a member left out
        if key == "method":
            value = draw(st.sampled_from(METHODS).map(json_string) | json_text)
        elif key == "id":
            value = draw(
                st.one_of(
                    st.text(max_size=20).map(json_string),
                    st.integers().map(str),
                    huge_ints.map(str),
                    json_text,
                )
            )
        else:
            value = draw(json_text)
        members.append(f'"{key}":{value}')
        if draw(st.integers(0, 5)) == 0:  # the same key again: the last one wins
            members.append(f'"{key}":{draw(json_text)}')
    return "{" + ",".join(members) + "}"


# -- strategies: well-formed envelopes with hostile params ---------------------------------

hostile_scalar = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.integers(-(10**6), -1),
    st.integers(0, 10**6),
    huge_ints,
    st.just(""),
    unicode_text,
    long_text,
    st.sampled_from(["-1", "0", "1.5", "1e3", " 1", "NaN", "true", "BTCUSDT ", "btcusdt"]),
)
# Inside arrays and objects, integers stay within 64 bits here; wider nested ones are
# covered by test_a_wide_integer_nested_in_a_param_can_be_signed.
nested_scalar = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.integers(-(2**63), 2**64 - 1),
    unicode_text,
    st.sampled_from(["", "-1", "1e3", "NaN"]),
)
hostile_value = hostile_scalar | st.recursive(
    nested_scalar,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(utf8, max_size=6), c, max_size=4),
    max_leaves=10,
)
# Keys (key, secret owner): alice's three and bob's one.
SIGNERS = [HMAC_KEY, ED_KEY, RSA_KEY, HEDGE_KEY]
OTHER_SIGNER = {HMAC_KEY: HEDGE_KEY, ED_KEY: HEDGE_KEY, RSA_KEY: HEDGE_KEY, HEDGE_KEY: HMAC_KEY}
NAMING = ["account", "name", "email", "user", "userId", "accountId", "uid", "subAccount", "as"]
NAMES = ["alice", "bob", HMAC_KEY, HEDGE_KEY, "alice@example.com", "*", "../alice", 1, None]
STANDARD = ["apiKey", "timestamp", "recvWindow", "symbol", "signature", "returnRateLimits"]
# Values at the edges of each standard param's rules.
EDGES: dict[str, list[Any]] = {
    "apiKey": ["noSuchKey1", HEDGE_KEY, HMAC_KEY, ED_KEY, "", "a" * 128, "a" * 129, None],
    "timestamp": [NOW + 999, NOW + 1000, NOW - 5000, NOW - 5001, 0, str(NOW), 10**20 - 1, 10**20],
    "recvWindow": [0, 1, 60_000, 60_001, "0", "60000", 10**20 - 1, None],
    "symbol": ["NOPEUSDT", "btcusdt", "BTC/USDT", "A" * 20, "A" * 21, "ETHUSDT", "BTCUSDT_240329"],
    "signature": ["", None, 123, "0" * 64, ["0" * 64]],
    "returnRateLimits": ["FALSE", "yes", 0, 1, None, "", "true"],
}


@dataclass
class Case:
    method: str
    params: dict[str, Any]
    # The key whose secret made ``signature`` (None: no signature, or a made-up one).
    signed_by: str | None
    # The standard param given a hostile value (or removed), if any.
    mutated: str | None
    request_id: Any

    def frame(self) -> str:
        return json.dumps({"id": self.request_id, "method": self.method, "params": self.params})


MISSING = object()


@st.composite
def cases(draw: st.DrawFn, world: World, methods: tuple[str, ...] = METHODS) -> Case:
    # Half of them for the position methods, whose every answer the oracle predicts.
    method = draw(st.sampled_from(POSITION_METHODS) | st.sampled_from(methods))
    signer = draw(st.sampled_from(SIGNERS))
    params: dict[str, Any] = {"apiKey": signer, "timestamp": NOW - draw(st.integers(0, 4000))}
    if draw(st.booleans()):
        params["symbol"] = draw(st.sampled_from(["BTCUSDT", "ETHUSDT", "SOLUSDT"]))
    if draw(st.booleans()):
        params["recvWindow"] = draw(st.sampled_from([5000, "60000", 4001]))
    if draw(st.booleans()):
        params["returnRateLimits"] = draw(st.sampled_from([True, False, "false", "TRUE"]))
    # Extra params naming the other account (or anything): accepted, signed, ignored.
    extras = draw(
        st.dictionaries(
            st.sampled_from(NAMING) | st.text(utf8, max_size=8),
            st.sampled_from(NAMES) | hostile_value,
            max_size=3,
        )
    )
    for name, value in extras.items():
        if name not in STANDARD:
            params[name] = value
    mutated = None
    if draw(st.booleans()):
        mutated = draw(st.sampled_from(STANDARD))
        value = draw(st.just(MISSING) | hostile_value | st.sampled_from(EDGES[mutated]))
        if value is MISSING:
            params.pop(mutated, None)
        else:
            params[mutated] = value
    signing = draw(st.sampled_from(["own", "own", "own", "other", "none", "garbage"]))
    signed_by = None
    if mutated == "signature":
        pass  # the hostile value stays
    elif signing in ("own", "other"):
        signed_by = signer if signing == "own" else OTHER_SIGNER[signer]
        params["signature"] = world.sign(signed_by, params)
    elif signing == "garbage":
        params["signature"] = draw(st.sampled_from(["0" * 64, "AAAA", "%2F%2B%3D", "é" * 64]))
    request_id = draw(st.one_of(st.text(utf8, max_size=12), st.integers(), huge_ints, st.none()))
    return Case(method, params, signed_by, mutated, request_id)


# -- the oracle: what SPEC §2-§6/§12 and the README predict ---------------------------------


def _sent(params: dict[str, Any], name: str) -> object:
    value = params.get(name)
    return None if value == "" else value


def _is_long(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value < 2**63
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20):
        return False
    return int(value) < 2**63


def _long(value: object) -> int:
    assert isinstance(value, int | str)
    return int(value)


def _is_api_key(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and value.isalnum() and 1 <= len(value) <= 128


def _symbol_ok(value: object) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    return isinstance(value, str) and 1 <= len(value) <= 20 and set(value) <= allowed


def expected(case: Case, session: str | None) -> tuple[int, int] | tuple[int, str]:
    """(status, code) of the first refusal, or (200, account) — account.position only."""
    params = case.params
    refusal = params_refusal(params)
    if refusal is not None:
        return refusal
    flag = _sent(params, "returnRateLimits")
    if flag is not None and not (
        isinstance(flag, bool) or (isinstance(flag, str) and flag.lower() in ("true", "false"))
    ):
        return 400, -1130
    api_key = params.get("apiKey")
    if api_key is None and _sent(params, "signature") is None and session is not None:
        account = ACCOUNT_OF[session]
    else:
        if api_key is None:
            return 400, -1102
        if not _is_api_key(api_key):
            return 401, -2014
        signature = _sent(params, "signature")
        if signature is None:
            return 400, -1102
        if not isinstance(signature, str):
            return 400, -1022
        account = ""
    timestamp = _sent(params, "timestamp")
    if timestamp is None:
        return 400, -1102
    if not _is_long(timestamp):
        return 400, -1100
    window = _sent(params, "recvWindow")
    if window is None:
        window = 5000
    elif not _is_long(window):
        return 400, -1100
    elif not 0 < _long(window) <= 60_000:
        return 400, -1130
    if _long(timestamp) >= NOW + 1000 or NOW - _long(timestamp) > _long(window):
        return 400, -1021
    if not account:
        if api_key not in ACCOUNT_OF:
            return 401, -2015
        if case.signed_by != api_key:
            return 400, -1022
        account = ACCOUNT_OF[api_key]
    symbol = _sent(params, "symbol")
    if symbol is not None:
        if not _symbol_ok(symbol):
            return 400, -1100
        if symbol not in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
            return 400, -1121
    return 200, account


def check_case(world: World, conn: Connection, case: Case, session: str | None) -> dict[str, Any]:
    frame = case.frame()
    reply = world.send(conn, frame)
    if over_structure(frame):  # refused unread
        assert (reply["id"], reply["status"], reply["error"]["code"]) == (None, 400, -1000)
        return reply
    assert reply["id"] == case.request_id and type(reply["id"]) is type(case.request_id), reply
    refusal = params_refusal(case.params)
    if refusal is not None:
        assert (reply["status"], reply["error"]["code"]) == refusal, reply
    elif case.method in POSITION_METHODS:
        outcome = expected(case, session)
        if outcome[0] == 200:
            assert reply["status"] == 200, (outcome, reply)
            symbol = _sent(case.params, "symbol")
            assert isinstance(symbol, str | None)
            check_rows(reply["result"], str(outcome[1]), case.method.startswith("v2/"), symbol)
        else:
            assert (reply["status"], reply["error"]["code"]) == outcome, reply
    elif case.method not in METHODS[:8]:
        assert (reply["status"], reply["error"]["code"]) == (400, -1000), reply
    if reply["status"] == 200:
        show = _sent(case.params, "returnRateLimits")
        hidden = show is False or (isinstance(show, str) and show.lower() == "false")
        assert ("rateLimits" in reply) is not hidden, reply
    return reply


# -- the tests -----------------------------------------------------------------------------


@settings(FUZZ, max_examples=600)
@given(frame=st.binary(max_size=4096))
@example(frame=b"")
@example(frame=b"\xef\xbb\xbf{}")
@example(frame=b'{"id":1,"method":"session.status"}\x00')
@example(frame=b'{"id":"\xed\xa0\x80","method":"session.status"}')
@example(frame=b"\xff" * 100)
def test_arbitrary_bytes(world: World, frame: bytes) -> None:
    reply = world.send(fresh(), frame)
    check_answer_to(frame, reply)
    check_alive(world)


@settings(FUZZ, max_examples=400)
@given(text=st.text(alphabet=st.one_of(st.characters(), surrogates, st.sampled_from(SPECIAL))))
@example(text='{"id": "\ud800", "method": "session.status"}')
@example(text='{"id": 1, "method": "session.status"}\ud800')
@example(text='\ufeff{"id": 1, "method": "session.status"}')
def test_arbitrary_text(world: World, text: str) -> None:
    for frame in (text, text.encode("utf-8", "surrogatepass")):
        reply = world.send(fresh(), frame)
        check_answer_to(frame, reply)
    check_alive(world)


@settings(FUZZ, max_examples=300)
@given(text=json_text | envelope_text() | deep_text())
@example(text='{"id": 18446744073709551616, "method": "session.status"}')
@example(text='{"id": -9223372036854775809, "method": "nope"}')
@example(text='{"id": 1e400, "method": "session.status"}')
@example(text='{"id": NaN, "method": "session.status"}')
@example(text='{"id": 1, "method": "session.status", "params": {"x": Infinity}}')
@example(text='{"id": 1, "id": "two", "method": "nope", "method": "session.status"}')
@example(text='{"id": "\\ud800", "method": "session.status"}')
@example(text='{"id": 2, "method": "session.status", "params": {"x": 1e999}}')
@example(text='{"id": 3, "method": "session.status", "params": [1]}')
@example(text='{"id": 4, "method": "session.status", "params": null}')
@example(text='{"id": 5.0, "method": "session.status"}')
@example(text='{"id": true, "method": "session.status"}')
@example(text='{"id": 6, "method": ["session.status"]}')
@example(text="[" * 5000 + "]" * 5000)
@example(text='{"id": 7, "method": "session.status", "params": ' + "[" * 5000 + "]" * 5000 + "}")
def test_arbitrary_json_documents(world: World, text: str) -> None:
    for frame in (text, text.encode("utf-8", "surrogatepass")):
        reply = world.send(fresh(), frame)
        check_answer_to(frame, reply)
    check_alive(world)


@settings(FUZZ, max_examples=500)
@given(data=st.data())
def test_envelopes_with_hostile_params(world: World, data: st.DataObject) -> None:
    case = data.draw(cases(world))
    check_case(world, fresh(), case, None)
    check_alive(world)


@settings(FUZZ, max_examples=300)
@given(data=st.data())
def test_another_accounts_key_never_reads_the_other_account(
    world: World, data: st.DataObject
) -> None:
    """bob's key (or alice's) with params naming the other account, signed by either."""
    signer = data.draw(st.sampled_from([HEDGE_KEY, *SIGNERS]))
    victim = "bob" if ACCOUNT_OF[signer] == "alice" else "alice"
    identities = [victim, OTHER_SIGNER[signer], f"{victim}@example.com", [victim], {"name": victim}]
    params: dict[str, Any] = {"apiKey": signer, "timestamp": NOW}
    for name in NAMING:
        if data.draw(st.integers(0, 3)):
            params[name] = data.draw(st.just(victim) | st.sampled_from(identities))
    if data.draw(st.booleans()):
        params["symbol"] = "BTCUSDT"
    own = data.draw(st.integers(0, 3)) > 0
    params["signature"] = world.sign(signer if own else OTHER_SIGNER[signer], params)
    method = data.draw(st.sampled_from(POSITION_METHODS))
    reply = world.send(fresh(), json.dumps({"id": 1, "method": method, "params": params}))
    if params_refusal(params) is not None:  # a nested identity: no request reads it
        assert (reply["status"], reply["error"]["code"]) == (400, -1130), reply
    elif own:
        assert reply["status"] == 200, reply
        v2 = method.startswith("v2/")
        check_rows(reply["result"], ACCOUNT_OF[signer], v2, params.get("symbol"))
    else:
        assert (reply["status"], reply["error"]["code"]) == (400, -1022), reply


@settings(FUZZ, max_examples=500)
@given(data=st.data())
def test_one_hostile_standard_param(world: World, data: st.DataObject) -> None:
    """A position request signed by its key's owner with exactly one standard param
    hostile (or at the edge of its rules, or missing): the first refusal's code, or 200."""
    method = data.draw(st.sampled_from(POSITION_METHODS))
    signer = data.draw(st.sampled_from(SIGNERS))
    params: dict[str, Any] = {"apiKey": signer, "timestamp": NOW}
    if data.draw(st.booleans()):
        params["symbol"] = "BTCUSDT"
    mutated = data.draw(st.sampled_from(STANDARD))
    value = data.draw(st.sampled_from(EDGES[mutated]) | st.just(MISSING) | hostile_value)
    if value is MISSING:
        params.pop(mutated, None)
    else:
        params[mutated] = value
    signed_by = None
    if mutated != "signature":
        signed_by = signer
        params["signature"] = world.sign(signer, params)
    case = Case(method, params, signed_by, mutated, data.draw(st.integers() | st.text(utf8)))
    check_case(world, fresh(), case, None)


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_sequences_on_one_connection(world: World, data: st.DataObject) -> None:
    """Logons (Ed25519 only), logouts and hostile requests interleaved on one connection:
    a request without apiKey and signature speaks for the logged-on key, and only then."""
    conn = fresh()
    session: str | None = None
    for _ in range(data.draw(st.integers(1, 6))):
        action = data.draw(st.sampled_from(["logon", "logout", "status", "request", "request"]))
        if action == "logon":
            api_key = data.draw(st.sampled_from(SIGNERS))
            params: dict[str, Any] = {"apiKey": api_key, "timestamp": NOW}
            params["signature"] = world.sign(api_key, params)
            reply = world.send(
                conn, json.dumps({"id": 0, "method": "session.logon", "params": params})
            )
            if api_key == ED_KEY:
                assert reply["status"] == 200 and reply["result"]["apiKey"] == ED_KEY, reply
                session = ED_KEY
            else:
                code = -4057 if api_key == RSA_KEY else -4056
                assert reply["error"]["code"] == code, reply
        elif action in ("logout", "status"):
            reply = world.send(conn, json.dumps({"id": 0, "method": f"session.{action}"}))
            if action == "logout":
                session = None
            assert reply["status"] == 200 and reply["result"]["apiKey"] == session, reply
        else:
            case = data.draw(cases(world, POSITION_METHODS))
            if data.draw(st.booleans()):  # lean on the session: no key, no signature
                case.params.pop("apiKey", None)
                case.params.pop("signature", None)
                case.signed_by = None
            check_case(world, conn, case, session)
    check_alive(world)


@pytest.mark.parametrize(
    ("depth", "request_id", "code"),
    [(400, 1, -1130), (1000, None, -1000), (1020, None, -1000)],
)
def test_a_deeply_nested_param_is_refused_not_an_internal_error(
    world: World, depth: int, request_id: int | None, code: int
) -> None:
    """Params are scalars: a nested one is -1130 when the frame is read, and a frame over
    1 KiB holding more structure than a request can is refused before it is read."""
    deep = "[" * depth + "]" * depth
    frame = (
        f'{{"id":1,"method":"account.position","params":{{"apiKey":"{HMAC_KEY}",'
        f'"timestamp":{NOW},"signature":"{"ab" * 32}","x":{deep}}}}}'
    )
    reply = json.loads(world.api.handle(fresh(), frame))
    assert (reply["id"], reply["status"], reply["error"]["code"]) == (request_id, 400, code)


def test_a_wide_integer_param_can_be_signed(world: World) -> None:
    params: dict[str, Any] = {"apiKey": HMAC_KEY, "timestamp": NOW, "x": 2**64}
    # The payload as sent: x=18446744073709551616 (the integer exact, not orjson's float).
    payload = f"apiKey={HMAC_KEY}&timestamp={NOW}&x=18446744073709551616".encode()
    assert payload == canonical_payload(params)
    params["signature"] = hmac_signature(HMAC_SECRET, payload)
    frame = json.dumps({"id": 1, "method": "v2/account.position", "params": params})
    reply = json.loads(world.api.handle(fresh(), frame))
    assert reply["status"] == 200, reply
