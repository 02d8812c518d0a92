"""Hostile requests to the admin HTTP API (aiohttp client), then a restart.

What is thrown (Hypothesis): to every endpoint — ``POST accounts``,
``accounts/{name}/keys``, ``/wallet``, ``/settings``, ``/fills``, ``/isolated-margin``,
``PUT accounts/{name}/commission``, ``PUT marks``, ``POST scenarios``, the GETs,
``DELETE accounts/{name}/keys/{apiKey}``, ``GET``/``DELETE accounts/{name}/orders``
with hostile ``symbol``/``orderId`` queries, and methods an endpoint does not take — bodies
of the endpoint's own shape with hostile
field values (numbers as strings, integers, floats and huge integers; unicode; nested
values; unknown fields), arbitrary JSON documents, JSON written by hand (NaN/Infinity,
duplicate keys, integers wider than 64 bits, 5000-level nesting), bytes that are not
JSON, empty bodies, bodies of 3 MiB and 5 MiB, wrong content types, wrong or missing
tokens; account names and key names that are hostile path segments (unicode,
``..``, percent-encoded slashes and NULs, 5000 characters).

What must hold: every answer is JSON — ``{"code": int, "msg": str}`` with a 4xx status
for a refusal, or a 2xx with the resulting state — never a 500 and never a hang; a
refused request changes nothing (accounts, keys, marks: compared exactly before and
after); and the ledger is never corrupted: after the run, a fresh server started on the
same database (no scenario) serves exactly the account.position rows the live one served
at the end, for alice and bob, and the same accounts, balances, positions, keys and marks
through the admin API.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import websockets
import yarl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posrisk.app import PosriskServer
from posrisk.protocol import LimitRules

from ..gateway.conftest import make_server
from ..gateway.test_server import ask, signed
from ..service.conftest import ED_KEY, HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, Keys

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

TOKEN = "fuzz-admin-token-not-a-secret"
# The auth scheme is case-insensitive (RFC 7235): both are the token.
VALID_AUTH = {f"Bearer {TOKEN}", f"bearer {TOKEN}"}
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "ETHBTC", "NOPEUSDT", "btcusdt", ""]
# Keys the final comparison reads with: never revoked here.
PROTECTED_KEYS = {HMAC_KEY, HEDGE_KEY}


async def start(tmp_path: Path, keys: Keys, **overrides: Any) -> PosriskServer:
    return await make_server(
        tmp_path, keys, admin_token=TOKEN, limits=LimitRules(request_weight=10**9), **overrides
    )


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await start(tmp_path, keys)
    yield running
    await running.stop()


# -- one request, and what must hold of its answer ------------------------------------------


@dataclass
class Request:
    method: str
    path: str  # after /admin/v1, already percent-encoded as it goes on the wire
    body: bytes | None = None
    content_type: str | None = "application/json"
    authorization: str | None = f"Bearer {TOKEN}"
    endpoint: str = ""

    def __repr__(self) -> str:
        body = self.body if self.body is None or len(self.body) < 300 else self.body[:300]
        return (
            f"Request({self.method} {self.path[:200]!r}, body={body!r}, "
            f"content_type={self.content_type!r}, authorization={self.authorization!r})"
        )


async def send(
    session: aiohttp.ClientSession, server: PosriskServer, request: Request
) -> tuple[int, Any]:
    """The status and parsed JSON answer; the answer must be JSON, in time."""
    headers = {}
    if request.authorization is not None:
        headers["Authorization"] = request.authorization
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    url = yarl.URL(f"{server.admin_url}{request.path}", encoded=True)
    async with session.request(
        request.method,
        url,
        data=request.body,
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=30),
    ) as response:
        raw = await response.read()
        kind = response.headers.get("Content-Type", "")
        assert kind.startswith("application/json"), (request, response.status, kind, raw[:300])
        return response.status, json.loads(raw)


def check_answer(request: Request, status: int, body: Any) -> None:
    assert status != 500, (request, body)
    if status >= 400:
        assert 400 <= status < 500, (request, status, body)
        assert isinstance(body, dict) and set(body) == {"code", "msg"}, (request, body)
        assert type(body["code"]) is int and isinstance(body["msg"], str), (request, body)
        if request.authorization not in VALID_AUTH:
            assert (status, body["code"]) == (401, -1002), (request, body)
    else:
        assert status in (200, 201), (request, status, body)
        assert request.authorization in VALID_AUTH, request
        assert isinstance(body, dict | list), (request, body)


def state(server: PosriskServer) -> tuple[Any, ...]:
    """Everything a write may change, exactly (engine accounts compare by value)."""
    registry = server.registry
    return (
        {name: (entry.version, entry.account) for name, entry in registry.accounts.items()},
        {key: (entry.account, entry.revoked_at) for key, entry in registry.keys.items()},
        dict(registry.marks),
        registry.marks_version,
    )


async def throw(
    session: aiohttp.ClientSession, server: PosriskServer, request: Request, seen: Counter[str]
) -> None:
    before = state(server)
    status, body = await send(session, server, request)
    check_answer(request, status, body)
    seen[f"{request.method} {request.endpoint} {status}"] += 1
    if status >= 400:
        assert state(server) == before, f"a refused request changed the state: {request}"


# -- strategies ----------------------------------------------------------------------------

utf8 = st.characters(codec="utf-8")
SPECIAL = "\u202e\u200b\u200d\u0301\ufeff\u0000é\U0001f600"
unicode_text = st.text(st.one_of(utf8, st.sampled_from(SPECIAL)), max_size=20)
huge_ints = st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**20, 10**30, 2**200])
# Decimal strings of every shape the ledger takes or refuses. Magnitudes stay within
# 12 integer digits: the one combination of accepted extremes that breaks the server is
# its own test (test_extreme_accepted_numbers_never_answer_500).
decimal_text = st.one_of(
    st.from_regex(r"-?[0-9]{1,12}(\.[0-9]{1,10})?", fullmatch=True),
    st.sampled_from(["0.001", "0.010", "1", "5", "20000", "-5", "0", "-0", "0.00000001"]),
    st.sampled_from(["1e3", " 1", "1 ", "1.", ".5", "+1", "NaN", "Infinity", "1_000", "0x10"]),
    st.sampled_from(["1" + "0" * 25, "0." + "0" * 70 + "1", "1" * 65, "１２"]),
)
hostile_number = st.one_of(
    decimal_text,
    st.integers(-(10**6), 10**6),
    huge_ints,
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    unicode_text,
    st.lists(st.just("1"), max_size=2),
)


def field(sane: list[Any]) -> st.SearchStrategy[Any]:
    """Mostly values the ledger takes (so that writes get accepted and the restart has
    something to replay), else anything."""
    return st.sampled_from(sane) | st.sampled_from(sane) | hostile_number


number = field(["1", "5", "25.5", "1000", "-1", "-5", 3])
qty = field(["0.001", "0.002", "0.010", "0.100", "1.000", "0.5"])
price = field(["100", "1000", "20000", "21000.5", "30000", "950"])
json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**6), 10**6),
        huge_ints,
        st.floats(allow_nan=False, allow_infinity=False),
        unicode_text,
    ),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(utf8, max_size=8), c, max_size=4),
    max_leaves=12,
)
valid_name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}", fullmatch=True)
hostile_name = st.sampled_from(
    [
        "",
        ".",
        "..",
        "%2E%2E",
        "a%2Fb",
        "%2F",
        "alice%2F..%2Fbob",
        "%00",
        "alice%00",
        "%ff",
        "%",
        "%E2%80%AE",
        "%C3%A5lice",
        "%F0%9F%98%80",
        "a" * 64,
        "a" * 65,
        "a" * 5000,
        "alice;bob",
        "alice%20",
        "ALICE",
        "-x",
        "_",
    ]
)
name_segment = st.one_of(
    st.sampled_from(["alice", "bob"]),
    st.sampled_from(["alice", "bob"]),
    valid_name,
    hostile_name,
)
mode = st.sampled_from(["hedge", "oneway", "HEDGE", "one-way", "", None, 1])
side = st.sampled_from(["BUY", "SELL", "buy", "sell", "HOLD", "", 1])
position_side = st.sampled_from(["BOTH", "LONG", "SHORT", "long", "x", None])
symbol = st.sampled_from(["BTCUSDT", "ETHUSDT"]) | st.sampled_from(SYMBOLS) | unicode_text


def maybe(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


fill_body = st.fixed_dictionaries(
    {"symbol": symbol, "side": side, "qty": qty, "price": price},
    optional={
        "positionSide": position_side,
        "fee": number,
        "time": st.integers(-5, 2**60) | number,
    },
)
key_body = st.fixed_dictionaries(
    {"type": st.sampled_from(["hmac", "hmac", "ed25519", "rsa", "HMAC", "dsa", "", 1])},
    optional={
        "apiKey": st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True) | unicode_text,
        "secret": unicode_text | st.just("s" * 600),
        "publicKey": st.sampled_from(["", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END"]),
    },
)
symbol_settings = st.dictionaries(
    symbol,
    maybe(
        {
            "leverage": st.integers(-3, 200) | number,
            "marginType": st.sampled_from(["cross", "isolated", "crossed", "x", 1]),
            "isAutoAddMargin": st.sampled_from([True, False, "true", "no", 1]),
            "extra": json_value,
        }
    ),
    max_size=3,
)
scenario_account = st.fixed_dictionaries(
    {"name": valid_name | hostile_name},
    optional={
        "positionMode": mode,
        "keys": st.lists(key_body, max_size=2),
        "deposits": st.dictionaries(st.sampled_from(["USDT", "USDC", "BTC", "BNB"]), number),
        "symbols": symbol_settings,
        "fills": st.lists(fill_body, max_size=3),
        "isolatedMarginTransfers": st.lists(
            st.fixed_dictionaries({"symbol": symbol, "amount": number}), max_size=2
        ),
    },
)
BODIES: dict[str, st.SearchStrategy[Any]] = {
    "accounts": maybe({"name": valid_name | hostile_name | json_value, "positionMode": mode}),
    "keys": key_body,
    "wallet": maybe(
        {"asset": st.sampled_from(["USDT", "USDC", "BTC", "", "usdt"]), "amount": number}
    ),
    "settings": maybe({"positionMode": mode, "symbols": symbol_settings, "x": json_value}),
    "fills": fill_body,
    "isolated-margin": st.fixed_dictionaries(
        {"symbol": symbol, "amount": number}, optional={"positionSide": position_side}
    ),
    "marks": st.dictionaries(symbol, price, max_size=4),
    "commission": maybe(
        {
            "maker": number,
            "taker": number,
            "symbols": st.dictionaries(symbol, maybe({"maker": number, "taker": number})),
        }
    ),
    "scenarios": maybe(
        {
            "accounts": st.lists(scenario_account, max_size=2),
            "marks": st.dictionaries(symbol, number),
        }
    ),
}


# Bodies the ledger takes (most of the time): writes get accepted, the state moves, and
# the restart has something to replay.
sane_symbol = st.sampled_from(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
sane_fill = st.fixed_dictionaries(
    {
        "symbol": sane_symbol,
        "side": st.sampled_from(["BUY", "SELL"]),
        "qty": st.sampled_from(["0.001", "0.002", "0.010", "0.100", "1.000"]),
        "price": st.sampled_from(["100", "1000", "20000", "21000.5", "30000"]),
    },
    optional={
        "positionSide": st.sampled_from(["BOTH", "LONG", "SHORT"]),
        "fee": st.sampled_from(["0", "0.01", "0.08"]),
    },
)
sane_amount = st.sampled_from(["1", "5", "25.5", "1000", "-1", "-5"])
SANE: dict[str, st.SearchStrategy[Any]] = {
    "accounts": st.fixed_dictionaries(
        {"name": valid_name}, optional={"positionMode": st.sampled_from(["hedge", "oneway"])}
    ),
    "keys": st.fixed_dictionaries(
        {"type": st.sampled_from(["hmac", "hmac", "ed25519"])},
        optional={"apiKey": st.from_regex(r"[A-Za-z0-9]{20,24}", fullmatch=True)},
    ),
    "wallet": st.fixed_dictionaries({"asset": st.just("USDT"), "amount": sane_amount}),
    "settings": st.one_of(
        st.fixed_dictionaries({"positionMode": st.sampled_from(["hedge", "oneway"])}),
        st.fixed_dictionaries(
            {
                "symbols": st.dictionaries(
                    sane_symbol,
                    maybe(
                        {
                            "leverage": st.integers(1, 25),
                            "marginType": st.sampled_from(["cross", "isolated"]),
                        }
                    ),
                    min_size=1,
                    max_size=2,
                )
            }
        ),
    ),
    "fills": sane_fill,
    "isolated-margin": st.fixed_dictionaries(
        {"symbol": sane_symbol, "amount": sane_amount},
        optional={"positionSide": st.sampled_from(["BOTH", "LONG", "SHORT"])},
    ),
    "marks": st.dictionaries(
        sane_symbol, st.sampled_from(["900", "20500", "21123.05052574", "25000"]), min_size=1
    ),
    "commission": st.fixed_dictionaries(
        {},
        optional={
            "maker": st.sampled_from(["0", "0.0002", "-0.0001"]),
            "taker": st.sampled_from(["0.0005", "0.0004"]),
            "symbols": st.dictionaries(
                sane_symbol, st.fixed_dictionaries({}, optional={"maker": st.just("0")})
            ),
        },
    ),
    "scenarios": st.fixed_dictionaries(
        {
            "accounts": st.lists(
                st.fixed_dictionaries(
                    {"name": valid_name},
                    optional={
                        "deposits": st.just({"USDT": "100"}),
                        "fills": st.lists(sane_fill, max_size=2),
                    },
                ),
                max_size=2,
            )
        }
    ),
}


def endpoint_path(kind: str, name: str, key: str = "") -> str:
    if kind in ("marks", "scenarios", "accounts"):
        return f"/{kind}"
    if kind == "account":
        return f"/accounts/{name}"
    if kind == "revoke":
        return f"/accounts/{name}/keys/{key}"
    return f"/accounts/{name}/{kind}"


def write_duplicates(document: dict[str, Any], extra: dict[str, Any]) -> str:
    """``document`` as JSON text with ``extra``'s members written again after it."""
    text = json.dumps(document)
    more = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in extra.items())
    if not more:
        return text
    return text[:-1] + ("," if len(text) > 2 else "") + more + "}"


@st.composite
def body_bytes(draw: st.DrawFn, kind: str) -> bytes | None:
    shape = draw(
        st.sampled_from(["sane"] * 8 + ["own"] * 4 + ["json", "text", "bytes", "empty", "huge"])
    )
    if shape == "sane":
        return json.dumps(draw(SANE.get(kind, SANE["accounts"]))).encode()
    if shape == "own":
        document = draw(BODIES.get(kind, BODIES["accounts"]))
        if isinstance(document, dict) and draw(st.integers(0, 4)) == 0:
            extra = draw(st.dictionaries(st.sampled_from([*document, "name"]), json_value))
            return write_duplicates(document, extra).encode()
        return json.dumps(document, ensure_ascii=draw(st.booleans())).encode()
    if shape == "json":
        return json.dumps(draw(json_value)).encode()
    if shape == "text":
        return draw(
            st.sampled_from(
                [
                    '{"name": NaN}',
                    '{"amount": Infinity, "asset": "USDT"}',
                    '{"BTCUSDT": -Infinity}',
                    '{"amount": 1e400}',
                    '{"amount": 18446744073709551616}',
                    '{"name": "\\ud800"}',
                    '{"name": "x",}',
                    "[" * 5000 + "]" * 5000,
                    '{"a":' * 5000 + "1" + "}" * 5000,
                    "null",
                    '"a string"',
                    "123",
                    "\ufeff{}",
                ]
            )
        ).encode("utf-8")
    if shape == "bytes":
        return draw(st.binary(max_size=300))
    if shape == "empty":
        return draw(st.sampled_from([b"", None]))
    size = draw(st.sampled_from([3 << 20, 5 << 20]))
    return b'{"name": "' + b"a" * size + b'"}'


ORDER_QUERIES = [
    "", "?symbol=BTCUSDT", "?symbol=NOPEUSDT", "?symbol=", "?orderId=1", "?orderId=-1",
    "?orderId=99999999999999999999999", "?orderId=%C2%B2", "?orderId=%D9%A1", "?orderId=1e3",
    "?symbol=BTCUSDT&orderId=1000000001", "?orderId=%00", "?symbol=%00",
]  # fmt: skip


def order_query(text: str) -> str:
    return "?" + yarl.URL.build(query={"symbol": text, "orderId": text}).raw_query_string


@st.composite
def requests(draw: st.DrawFn) -> Request:
    kind = draw(
        st.sampled_from(
            ["accounts", "keys", "wallet", "settings", "fills", "isolated-margin"] * 2
            + ["marks", "scenarios", "account", "revoke", "account-keys", "commission", "orders"]
        )
    )
    name = draw(name_segment)
    if kind == "account-keys":
        method, path = draw(st.sampled_from(["GET", "POST", "DELETE"])), f"/accounts/{name}/keys"
        kind = "keys"
    elif kind == "account":
        method, path = (
            draw(st.sampled_from(["GET", "GET", "DELETE", "PUT"])),
            endpoint_path(kind, name),
        )
    elif kind == "orders":
        query = draw(st.sampled_from(ORDER_QUERIES) | st.text(max_size=20).map(order_query))
        method = draw(st.sampled_from(["GET", "DELETE", "DELETE", "POST"]))
        path = endpoint_path(kind, name) + query
    elif kind == "revoke":
        key = draw(
            st.sampled_from([ED_KEY, "nope", "..", "%2F", "%00", "a" * 300, ""])
            | st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)
        )
        assert key not in PROTECTED_KEYS
        method, path = (
            draw(st.sampled_from(["DELETE", "DELETE", "GET"])),
            endpoint_path(kind, name, key),
        )
    else:
        method = "PUT" if kind in ("marks", "commission") else "POST"
        if draw(st.integers(0, 9)) == 0:  # a method the endpoint does not take
            method = draw(st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST"]))
        path = endpoint_path(kind, name)
    body = draw(body_bytes(kind)) if method in ("POST", "PUT", "PATCH") else None
    content_type = draw(
        st.sampled_from(
            ["application/json"] * 6
            + [
                None,
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/json; charset=utf-16",
            ]
        )
    )
    authorization = draw(
        st.sampled_from(
            [f"Bearer {TOKEN}"] * 18
            + [None, "Bearer", f"Bearer {TOKEN}x", f"bearer {TOKEN}", f"Basic {TOKEN}", TOKEN]
        )
    )
    return Request(method, path, body, content_type, authorization, kind)


# -- reading the whole state back --------------------------------------------------------


async def observed(session: aiohttp.ClientSession, server: PosriskServer) -> dict[str, Any]:
    """What clients see: alice's and bob's rows (v1 and v2) over the WS API, and every
    account (balances, positions, keys), the account list and the marks over the admin API."""
    seen: dict[str, Any] = {}
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        for api_key, secret in ((HMAC_KEY, HMAC_SECRET), (HEDGE_KEY, HEDGE_SECRET)):
            for method in ("account.position", "v2/account.position"):
                reply = await ask(ws, method, signed(api_key, secret))
                assert reply["status"] == 200, reply
                seen[f"{api_key} {method}"] = reply["result"]
    get = Request("GET", "/accounts")
    status, accounts = await send(session, server, get)
    assert status == 200
    seen["accounts"] = accounts
    for account in accounts:  # names are letters, digits, '_', '.', '-': nothing to encode
        path = f"/accounts/{account['name']}"
        seen[path] = await send(session, server, Request("GET", path))
    seen["marks"] = await send(session, server, Request("GET", "/marks"))
    return seen


# -- the tests -----------------------------------------------------------------------------


async def test_hostile_requests_then_a_restart_serves_the_same_state(
    tmp_path: Path, keys: Keys
) -> None:
    running = await start(tmp_path, keys)
    seen: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    try:
        async with aiohttp.ClientSession() as session:
            # Hypothesis runs in a worker thread; every request runs on this loop, where the
            # server lives, so a failing example reports the exact request.
            @settings(
                max_examples=1000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                database=None,  # the server's state moves on: replays would not reproduce
            )
            @given(request=requests())
            def run(request: Request) -> None:
                future = asyncio.run_coroutine_threadsafe(
                    throw(session, running, request, seen), loop
                )
                future.result(timeout=40)

            await asyncio.to_thread(run)
            live = await observed(session, running)
    finally:
        await running.stop()
    # Something was accepted along the way, or the restart would prove little.
    assert sum(n for k, n in seen.items() if k.endswith((" 200", " 201"))) >= 10, seen

    again = await start(tmp_path, keys, scenario=None)
    try:
        async with aiohttp.ClientSession() as session:
            restarted = await observed(session, again)
    finally:
        await again.stop()
    assert restarted.keys() == live.keys()
    for what, value in live.items():
        assert restarted[what] == value, what


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/accounts/.."),
        ("GET", "/accounts/%2E%2E/keys"),
        ("POST", "/accounts/a%2Fb/wallet"),
        ("POST", "/accounts/alice%2F..%2Fbob/fills"),
        ("POST", "/accounts/%2F/settings"),
        ("POST", "/accounts/%00/isolated-margin"),
        ("GET", "/accounts/%ff"),
        ("GET", "/accounts/%E2%80%AE%E2%80%8B"),
        ("POST", "/accounts/%C3%A5lice/keys"),
        ("POST", "/accounts/" + "a" * 5000 + "/wallet"),
        ("DELETE", "/accounts/alice/keys/..%2F..%2Fmarks"),
        ("DELETE", "/accounts/alice/keys/%2E%2E"),
        ("DELETE", "/accounts/bob/keys/" + HMAC_KEY),  # alice's key, named under bob
        ("GET", "/accounts//keys"),
        ("POST", "/accounts/alice/wallet/"),
        ("POST", "/accounts/alice/../bob/wallet"),
        ("PUT", "/marks/.."),
        ("GET", "/../../etc/passwd"),
        ("GET", "/accounts?name=alice%00"),
        ("POST", "/accounts/alice/fills?account=bob"),
    ],
)
async def test_hostile_path_segments(server: PosriskServer, method: str, path: str) -> None:
    body = b'{"asset": "USDT", "amount": "1"}' if method in ("POST", "PUT") else None
    before = state(server)
    async with aiohttp.ClientSession() as session:
        request = Request(method, path, body)
        status, answer = await send(session, server, request)
    check_answer(request, status, answer)
    if status >= 400:
        assert state(server) == before
    # Nobody's key was revoked through a path naming another account.
    assert server.registry.keys[HMAC_KEY].revoked_at is None


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b'{"name": "' + b"a" * (3 << 20) + b'"}', "application/json"),
        (b'{"name": "' + b"a" * (5 << 20) + b'"}', "application/json"),
        (b"[" * (1 << 20), "application/json"),
        (b"\x00" * (2 << 20), "application/octet-stream"),
        (json.dumps({"name": "ok-name"}).encode("utf-16"), "application/json; charset=utf-16"),
        (b"name=carol&positionMode=hedge", "application/x-www-form-urlencoded"),
        (
            b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\ncarol\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
    ],
)
async def test_huge_and_odd_bodies(server: PosriskServer, body: bytes, content_type: str) -> None:
    before = state(server)
    async with aiohttp.ClientSession() as session:
        for path in ("/accounts", "/scenarios", "/marks", "/accounts/alice/fills"):
            request = Request("PUT" if path == "/marks" else "POST", path, body, content_type)
            started = time.perf_counter()
            status, answer = await send(session, server, request)
            check_answer(request, status, answer)
            assert status >= 400 and time.perf_counter() - started < 10
    assert state(server) == before


@pytest.mark.xfail(
    strict=True,
    reason="BUG: requests aiohttp's HTTP parser refuses before the admin app sees them "
    "(a path with raw non-ASCII bytes, a request line or a header over 8190 bytes) get "
    "aiohttp's text/plain 400, not JSON {code, msg}; the long line also logs a traceback",
)
@pytest.mark.parametrize(
    "path, header",
    [("/accounts/ålice", ""), ("/accounts/" + "a" * 9000, ""), ("/accounts", "x" * 9000)],
    ids=["raw-unicode-path", "long-request-line", "long-header"],
)
async def test_refusals_before_the_app_are_json_too(
    server: PosriskServer, path: str, header: str
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.admin_api.port)  # type: ignore[union-attr]
    lines = [
        f"GET /admin/v1{path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {TOKEN}",
        "Connection: close",
    ]
    if header:
        lines.append(f"X-Long: {header}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    received = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 4"), head
    assert b"application/json" in head.lower(), head
    assert set(json.loads(body)) == {"code", "msg"}


async def test_extreme_numbers_are_refused_not_answered_500(server: PosriskServer) -> None:
    """Prices, quantities and marks stay under 1e15 (the engine's 60-digit context then
    holds every product): beyond, a 400 -1130 names the field; nothing answers 500."""
    qty, tiny, huge = "99999999999999999.999", "0." + "0" * 29 + "1", "99999999999999999999"
    async with aiohttp.ClientSession() as session:

        async def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
            data = None if body is None else json.dumps(body).encode()
            return await send(session, server, Request(method, path, data))

        assert (await call("POST", "/accounts", {"name": "mallory"}))[0] == 201
        status, key = await call("POST", "/accounts/mallory/keys", {"type": "hmac"})
        assert status == 201, key
        assert (await call("POST", "/accounts/mallory/wallet", {"amount": "1000"}))[0] == 200
        opened = await call(
            "POST",
            "/accounts/mallory/fills",
            {"symbol": "BTCUSDT", "side": "BUY", "qty": qty, "price": tiny},
        )
        assert opened[0] == 400 and opened[1]["code"] == -1130, opened
        assert "'qty'" in opened[1]["msg"]
        small = await call(
            "POST",
            "/accounts/mallory/fills",
            {"symbol": "BTCUSDT", "side": "BUY", "qty": "0.001", "price": tiny},
        )
        assert small[0] == 200, small
        closing = await call(
            "POST",
            "/accounts/mallory/fills",
            {"symbol": "BTCUSDT", "side": "SELL", "qty": "0.001", "price": huge},
        )
        assert closing[0] == 400 and "price" in closing[1]["msg"], closing
        marked = await call("PUT", "/marks", {"BTCUSDT": huge})
        assert marked[0] == 400 and marked[1]["code"] == -1130, marked
        highest = await call("PUT", "/marks", {"BTCUSDT": "999999999999999.99999999"})
        assert highest[0] == 200, highest
        described = await call("GET", "/accounts/mallory")
    async with websockets.connect(server.ws_url) as ws:
        rows = await ask(ws, "account.position", signed(key["apiKey"], key["secret"]))
    statuses = {"GET account": described[0], "WS": rows["status"]}
    assert statuses == {"GET account": 200, "WS": 200}, statuses


async def ledger_length(server: PosriskServer) -> int:
    return len((await server.store.load()).ledger)


async def test_a_fill_without_the_margin_binance_requires_is_400_2019_unless_forced(
    server: PosriskServer,
) -> None:
    """100 USDT and a fee of 500: Binance would never make this fill (the wallet would
    be left at −400). Refused, nothing written; recorded as given with "force": true."""
    too_dear = {"symbol": "BTCUSDT", "side": "BUY", "qty": "0.001", "price": "20000", "fee": "500"}
    async with aiohttp.ClientSession() as session:

        async def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
            data = None if body is None else json.dumps(body).encode()
            return await send(session, server, Request(method, path, data))

        assert (await call("POST", "/accounts", {"name": "carol"}))[0] == 201
        assert (await call("POST", "/accounts/carol/wallet", {"amount": "100"}))[0] == 200
        before, written = state(server), await ledger_length(server)
        status, answer = await call("POST", "/accounts/carol/fills", too_dear)
        assert (status, answer["code"]) == (400, -2019), answer
        assert answer["msg"].startswith("Margin is insufficient. (opening 0.001 BTCUSDT"), answer
        assert "availableBalance is 100.00000000" in answer["msg"]
        assert state(server) == before and await ledger_length(server) == written
        status, answer = await call("POST", "/accounts/carol/fills", {**too_dear, "force": "false"})
        assert (status, answer["code"]) == (400, -2019), answer
        status, answer = await call("POST", "/accounts/carol/fills", {**too_dear, "force": 1})
        assert (status, answer["code"]) == (400, -1130), answer
        assert "'force'" in answer["msg"]
        assert state(server) == before and await ledger_length(server) == written

        status, forced = await call("POST", "/accounts/carol/fills", {**too_dear, "force": True})
        assert status == 200, forced
        assert forced["balances"][0]["walletBalance"] == "-400.00000000"
        assert await ledger_length(server) == written + 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/accounts/alice/wallet", {"amount": "1000000000000000"}, "amount"),
        ("/accounts/alice/wallet", {"amount": "99999999999999999999"}, "amount"),
        ("/accounts/alice/wallet", {"amount": 10**15}, "amount"),
        ("/accounts/alice/wallet", {"amount": "-1000000000000000"}, "amount"),
        (
            "/accounts/alice/fills",
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "qty": "0.001",
                "price": "1",
                "fee": "1000000000000000",
            },
            "fee",
        ),
        (
            "/accounts/alice/fills",
            {"symbol": "BTCUSDT", "side": "SELL", "qty": "0.001", "price": "1000000000000000"},
            "price",
        ),
        (
            "/accounts/alice/fills",
            {"symbol": "BTCUSDT", "side": "SELL", "qty": "1000000000000000", "price": "1"},
            "qty",
        ),
        (
            "/accounts/alice/isolated-margin",
            {"symbol": "ETHUSDT", "amount": "1000000000000000"},
            "amount",
        ),
        ("/marks", {"BTCUSDT": "1000000000000000"}, "marks.BTCUSDT"),
    ],
)
async def test_every_amount_is_capped_alike_naming_its_field(
    server: PosriskServer, path: str, body: dict[str, Any], field: str
) -> None:
    """One cap for deposits, withdrawals, fees, prices, quantities, isolated transfers and
    marks: below 1e15 (a deposit of 1e15, or of 1e20 − 1, used to be taken)."""
    before, written = state(server), await ledger_length(server)
    async with aiohttp.ClientSession() as session:
        request = Request("PUT" if path == "/marks" else "POST", path, json.dumps(body).encode())
        status, answer = await send(session, server, request)
    assert (status, answer["code"]) == (400, -1130), answer
    assert answer["msg"].startswith(f"Data sent for parameter '{field}' is not valid."), answer
    assert state(server) == before and await ledger_length(server) == written
