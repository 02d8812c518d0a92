"""The WS API as bytes in, bytes out: envelope, authentication, errors, limits (SPEC §2-§7)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.engine import EngineError, account_position_rows, account_position_v2_rows
from posrisk.protocol import canonical_payload, hmac_signature, load_private_key
from posrisk.service.api import Connection
from posrisk.store import SetMarks

from .conftest import (
    ED_KEY,
    HEDGE_KEY,
    HEDGE_SECRET,
    HMAC_KEY,
    HMAC_SECRET,
    RSA_KEY,
    Keys,
    Services,
)
from .test_rest import every_refusal

pytestmark = pytest.mark.asyncio


def signed(
    services: Services, api_key: str = HMAC_KEY, secret: str = HMAC_SECRET, **params: Any
) -> dict[str, Any]:
    params = {"apiKey": api_key, "timestamp": services.clock.now_ms(), **params}
    params["signature"] = hmac_signature(secret, canonical_payload(params))
    return params


def call(
    services: Services,
    method: str,
    params: dict[str, Any] | None = None,
    request_id: Any = "1",
    conn: Connection | None = None,
) -> dict[str, Any]:
    conn = conn or Connection("10.0.0.1", services.clock.now_ms())
    frame: dict[str, Any] = {"id": request_id, "method": method}
    if params is not None:
        frame["params"] = params
    # The stdlib parser keeps ids wider than 64 bits exact (orjson reads them as floats).
    return json.loads(services.api.handle(conn, json.dumps(frame)))  # type: ignore[no-any-return]


def error(reply: dict[str, Any]) -> tuple[int, int, str]:
    return reply["status"], reply["error"]["code"], reply["error"]["msg"]


async def test_hedge_rows_of_the_seed_example(services: Services) -> None:
    reply = call(
        services, "account.position", signed(services, HEDGE_KEY, HEDGE_SECRET, symbol="BTCUSDT")
    )
    assert reply["status"] == 200
    long, short = reply["result"]
    assert (long["positionSide"], short["positionSide"]) == ("LONG", "SHORT")
    assert long["unRealizedProfit"] == "-1.06214947"
    assert long["notional"] == "21.12305052"
    assert long["liquidationPrice"] == "19731.45529116"
    assert long["updateTime"] == 1655217461579
    assert short["entryPrice"] == "0.0"
    assert reply["rateLimits"] == [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": 2400,
            "count": 5,
        }
    ]


async def test_rows_are_the_engines_at_the_current_marks(services: Services) -> None:
    alice = services.registry.account("alice").account
    market, marks = services.registry.market, services.registry.marks
    every = call(services, "account.position", signed(services))["result"]
    assert len(every) == len(market) == 345
    assert every == orjson.loads(orjson.dumps(account_position_rows(alice, market, marks)))
    v2 = call(services, "v2/account.position", signed(services))["result"]
    assert [(r["symbol"], r["positionSide"]) for r in v2] == [
        ("BTCUSDT", "BOTH"),
        ("ETHUSDT", "BOTH"),
    ]
    assert v2 == orjson.loads(orjson.dumps(account_position_v2_rows(alice, market, marks)))
    services.registry.apply_committed([SetMarks({"BTCUSDT": Decimal("20500")}, 0)])
    [btc] = call(services, "v2/account.position", signed(services, symbol="BTCUSDT"))["result"]
    assert (btc["markPrice"], btc["unRealizedProfit"]) == ("20500.00000000", "5.00000000")
    assert call(services, "v2/account.position", signed(services, symbol="SOLUSDT"))["result"] == []
    hedge = call(services, "account.position", signed(services, HEDGE_KEY, HEDGE_SECRET))
    assert len(hedge["result"]) == 2 * 345


@pytest.mark.parametrize(
    "request_id",
    ["605a6d20-6588-4cb9-afa0-b0ab087507ba", 17, None, 2**70, "", 0, -(10**3999)],
)
async def test_the_id_comes_back_with_its_json_type(services: Services, request_id: Any) -> None:
    reply = call(services, "v2/account.position", signed(services), request_id)
    assert reply["id"] == request_id and type(reply["id"]) is type(request_id)


async def test_ed25519_and_rsa_signatures(services: Services, keys: Keys) -> None:
    for api_key, private in ((ED_KEY, keys.ed25519_private), (RSA_KEY, keys.rsa_private)):
        params: dict[str, Any] = {
            "apiKey": api_key,
            "timestamp": services.clock.now_ms(),
            "symbol": "BTCUSDT",
        }
        params["signature"] = load_private_key(private).sign(canonical_payload(params))
        reply = call(services, "account.position", params)
        assert reply["status"] == 200, reply
        assert reply["result"][0]["positionAmt"] == "0.010"


async def test_values_sent_as_strings_are_accepted(services: Services) -> None:
    """Binance's SDK sends every value as a string, returnRateLimits included."""
    params = {
        "apiKey": HMAC_KEY,
        "timestamp": str(services.clock.now_ms()),
        "recvWindow": "5000",
        "returnRateLimits": "false",
    }
    params["signature"] = hmac_signature(HMAC_SECRET, canonical_payload(params))
    reply = call(services, "v2/account.position", params)
    assert reply["status"] == 200 and "rateLimits" not in reply


def tampered(params: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**params, **changes}


async def test_authentication_errors(services: Services) -> None:
    now = services.clock.now_ms()
    good = signed(services)
    cases: list[tuple[dict[str, Any], tuple[int, int, str]]] = [
        (
            tampered(good, signature="0" * 64),
            (400, -1022, "Signature for this request is not valid."),
        ),
        (
            tampered(good, symbol="BTCUSDT"),  # signed without it
            (400, -1022, "Signature for this request is not valid."),
        ),
        (
            signed(services, "unknownKey123", "x"),
            (401, -2015, "Invalid API-key, IP, or permissions for action."),
        ),
        (tampered(good, apiKey="bad key!"), (401, -2014, "API-key format invalid.")),
        (
            {k: v for k, v in good.items() if k != "apiKey"},
            (
                400,
                -1102,
                "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.",
            ),
        ),
        (
            {k: v for k, v in good.items() if k != "signature"},
            (
                400,
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            ),
        ),
        (
            {k: v for k, v in good.items() if k != "timestamp"},
            (
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            ),
        ),
        (
            signed(services, timestamp=now - 5001),
            (400, -1021, "Timestamp for this request is outside of the recvWindow."),
        ),
        (
            signed(services, timestamp=now + 1000),
            (400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."),
        ),
        (
            signed(services, recvWindow=60001),
            (400, -1130, "Data sent for parameter 'recvWindow' is not valid."),
        ),
        (signed(services, symbol="NOPEUSDT"), (400, -1121, "Invalid symbol.")),
        (
            signed(services, symbol="btcusdt"),
            (
                400,
                -1100,
                "Illegal characters found in parameter 'symbol'; "
                "legal range is '^[A-Z0-9-_.]{1,20}$'.",
            ),
        ),
    ]
    for params, expected in cases:
        reply = call(services, "account.position", params, request_id="e1")
        assert error(reply) == expected, params
        assert reply["id"] == "e1"


async def test_the_timestamp_window_edges(services: Services) -> None:
    now = services.clock.now_ms()
    for timestamp, recv_window, ok in [
        (now + 999, 5000, True),
        (now - 5000, 5000, True),
        (now - 60000, 60000, True),
        (now - 60001, 60000, False),
    ]:
        reply = call(
            services,
            "v2/account.position",
            signed(services, timestamp=timestamp, recvWindow=recv_window),
        )
        assert (reply["status"] == 200) is ok, (timestamp, recv_window, reply)


async def test_a_5000_digit_id_is_echoed_exactly(services: Services) -> None:
    """Wide ids are echoed whatever their width (Python refuses to convert 4300+ digits)."""
    digits = "7" * 5000
    frame = '{"id":' + digits + ',"method":"v2/account.position","params":'
    reply = services.api.handle(
        Connection("10.0.0.9", 0), frame + json.dumps(signed(services)) + "}"
    )
    assert reply.startswith(b'{"id":' + digits.encode() + b',"status":200,')


@pytest.mark.parametrize("timestamp", [2**63, 2**64, str(2**64), "9" * 20])
async def test_a_timestamp_past_a_signed_64_bit_long_is_minus_1100(
    services: Services, timestamp: object
) -> None:
    """Binance's LONG is 64 bits: 2**64 is an illegal value (-1100), not a time (-1021)."""
    reply = call(services, "v2/account.position", signed(services, timestamp=timestamp))
    assert error(reply) == (
        400,
        -1100,
        "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.",
    )


async def test_a_revoked_key_is_refused(services: Services) -> None:
    await services.admin.revoke_key("alice", HMAC_KEY)
    assert error(call(services, "account.position", signed(services)))[1] == -2015


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"not json", "Malformed request: not valid JSON."),
        (b"[1, 2]", "Malformed request: expected a JSON object."),
        (b'{"id": "x"}', "Malformed request: 'method' is missing or not a string."),
        (b'{"id": 1.5, "method": "account.position"}', None),
        (
            b'{"id": "7", "method": "account.nonexistent", "params": {}}',
            "Unknown method 'account.nonexistent'.",
        ),
    ],
)
async def test_malformed_frames_get_an_answer(
    services: Services, frame: bytes, message: str | None
) -> None:
    conn = Connection("10.0.0.2", services.clock.now_ms())
    reply = orjson.loads(services.api.handle(conn, frame))
    assert (reply["status"], reply["error"]["code"]) == (400, -1000)
    if message is not None:
        assert reply["error"]["msg"] == message
    assert reply["id"] == ("7" if b'"7"' in frame else "x" if b'"x"' in frame else None)
    assert reply["rateLimits"][0]["count"] == 1


async def test_return_rate_limits_on_the_url_and_per_request(services: Services) -> None:
    hidden = Connection("10.0.0.3", 0, return_rate_limits=False)
    assert "rateLimits" not in call(services, "v2/account.position", signed(services), conn=hidden)
    shown = call(
        services, "v2/account.position", signed(services, returnRateLimits=True), conn=hidden
    )
    assert shown["rateLimits"][0]["count"] == 10
    assert "rateLimits" not in call(
        services, "v2/account.position", signed(services, returnRateLimits=False)
    )
    bad = call(services, "v2/account.position", signed(services, returnRateLimits="maybe"))
    assert error(bad)[1] == -1130


async def test_request_weight_is_per_ip_in_clock_aligned_minutes(services: Services) -> None:
    clock = services.clock
    clock.now = 1_700_000_020_000  # 40 s into a minute
    a, b = Connection("10.1.0.1", 0), Connection("10.1.0.2", 0)
    for expected in (5, 10):
        assert (
            call(services, "v2/account.position", signed(services), conn=a)["rateLimits"][0][
                "count"
            ]
            == expected
        )
    assert (
        call(services, "v2/account.position", signed(services), conn=b)["rateLimits"][0]["count"]
        == 5
    )
    # Another connection from the same IP shares the counter.
    assert (
        call(services, "v2/account.position", signed(services), conn=Connection("10.1.0.1", 0))[
            "rateLimits"
        ][0]["count"]
        == 15
    )
    clock.advance(20_000)  # the next minute starts
    assert (
        call(services, "v2/account.position", signed(services), conn=a)["rateLimits"][0]["count"]
        == 5
    )


async def test_over_the_limit_429_then_a_ban(services: Services) -> None:
    clock = services.clock
    clock.now = 1_700_000_020_000
    window_end = 1_700_000_040_000
    conn = Connection("10.2.0.1", 0)
    for _ in range(480):  # 480 × 5 = 2400
        assert call(services, "v2/account.position", signed(services), conn=conn)["status"] == 200
    reply = call(services, "v2/account.position", signed(services), conn=conn)
    assert reply["status"] == 429
    assert reply["error"]["code"] == -1003
    assert reply["error"]["msg"] == (
        "Too many requests; current limit is 2400 requests per minute. Please use the "
        "websocket for live updates to avoid polling the API."
    )
    assert reply["error"]["data"] == {"serverTime": clock.now, "retryAfter": window_end}
    assert reply["rateLimits"][0]["count"] == 2400
    for _ in range(9):
        assert call(services, "v2/account.position", signed(services), conn=conn)["status"] == 429
    banned = call(services, "v2/account.position", signed(services), conn=conn)
    until = clock.now + 120_000
    assert banned["status"] == 418
    assert banned["error"]["msg"] == (
        f"Way too many requests; IP banned until {until}. Please use the websocket for live "
        "updates to avoid bans."
    )
    assert banned["error"]["data"]["retryAfter"] == until
    clock.advance(119_999)
    assert call(services, "v2/account.position", signed(services), conn=conn)["status"] == 418
    clock.advance(1)
    assert call(services, "v2/account.position", signed(services), conn=conn)["status"] == 200
    # Other IPs were never affected.
    assert call(services, "v2/account.position", signed(services))["status"] == 200


async def test_engine_refusals_keep_binance_codes(services: Services) -> None:
    from posrisk.engine import SetLeverage
    from posrisk.engine.errors import InvalidLeverage

    with pytest.raises(InvalidLeverage):
        await services.admin.apply_events("alice", [SetLeverage("BTCUSDT", 500)])


async def test_a_bug_in_a_method_costs_one_answer_not_the_connection(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from posrisk.service import api

    def broken(*args: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(api.METHODS, "account.position", broken)
    reply = call(services, "account.position", signed(services), request_id="b")
    assert (reply["id"], reply["status"], reply["error"]) == (
        "b",
        500,
        {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."},
    )
    assert "internal error answering account.position" in caplog.text
    assert HMAC_SECRET not in caplog.text
    assert call(services, "v2/account.position", signed(services))["status"] == 200


# -- sessions (SPEC §4) -----------------------------------------------------------------


def ed_signed(services: Services, keys: Keys, **params: Any) -> dict[str, Any]:
    params = {"apiKey": ED_KEY, "timestamp": services.clock.now_ms(), **params}
    params["signature"] = load_private_key(keys.ed25519_private).sign(canonical_payload(params))
    return params


async def test_session_logon_status_and_logout(services: Services, keys: Keys) -> None:
    now = services.clock.now_ms()
    conn = Connection("10.3.0.1", now - 5000)
    status = call(services, "session.status", None, conn=conn)
    assert status["result"] == {
        "apiKey": None,
        "authorizedSince": None,
        "connectedSince": now - 5000,
        "returnRateLimits": True,
        "serverTime": now,
    }
    assert status["rateLimits"][0]["count"] == 2
    logon = call(services, "session.logon", ed_signed(services, keys), conn=conn)
    assert logon["result"] == {
        "apiKey": ED_KEY,
        "authorizedSince": now,
        "connectedSince": now - 5000,
        "returnRateLimits": True,
        "serverTime": now,
    }
    # Logged on: only the timestamp is needed; an empty or null signature is not sent.
    rows = call(services, "v2/account.position", {"timestamp": now}, conn=conn)["result"]
    assert [r["symbol"] for r in rows] == ["BTCUSDT", "ETHUSDT"]
    for empty in ("", None):
        params = {"timestamp": now, "signature": empty}
        reply = call(services, "v2/account.position", params, conn=conn)
        assert [r["symbol"] for r in reply["result"]] == ["BTCUSDT", "ETHUSDT"], reply
    stale = call(services, "v2/account.position", {"timestamp": now - 6000}, conn=conn)
    assert error(stale)[1] == -1021
    assert call(services, "session.status", {}, conn=conn)["result"]["apiKey"] == ED_KEY
    # A request with its own key and signature overrides the session: bob's rows.
    bob = call(
        services, "v2/account.position", signed(services, HEDGE_KEY, HEDGE_SECRET), conn=conn
    )
    assert [r["positionSide"] for r in bob["result"]] == ["LONG"]
    out = call(services, "session.logout", {}, conn=conn)
    assert (out["result"]["apiKey"], out["result"]["authorizedSince"]) == (None, None)
    after = call(services, "v2/account.position", {"timestamp": now}, conn=conn)
    assert error(after) == (
        400,
        -1102,
        "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.",
    )


async def test_session_logon_takes_ed25519_keys_only(services: Services, keys: Keys) -> None:
    conn = Connection("10.3.0.2", 0)
    hmac_reply = call(services, "session.logon", signed(services), conn=conn)
    assert error(hmac_reply) == (400, -4056, "HMAC_SHA256 API key is not supported.")
    params: dict[str, Any] = {"apiKey": RSA_KEY, "timestamp": services.clock.now_ms()}
    params["signature"] = load_private_key(keys.rsa_private).sign(canonical_payload(params))
    assert error(call(services, "session.logon", params, conn=conn)) == (
        400,
        -4057,
        "RSA API key is not supported.",
    )
    bad = {**ed_signed(services, keys), "signature": "AAAA"}
    assert error(call(services, "session.logon", bad, conn=conn))[1] == -1022
    assert conn.session_key is None


async def test_a_key_revoked_mid_session_ends_it_with_the_session_level_401(
    services: Services, keys: Keys
) -> None:
    conn = Connection("10.3.0.3", 0)
    assert call(services, "session.logon", ed_signed(services, keys), conn=conn)["status"] == 200
    await services.admin.revoke_key("alice", ED_KEY)
    reply = call(
        services,
        "account.position",
        {"timestamp": services.clock.now_ms()},
        request_id="r1",
        conn=conn,
    )
    assert reply["id"] is None
    assert error(reply) == (401, -2015, "Invalid API-key, IP, or permissions for action.")
    assert call(services, "session.status", {}, conn=conn)["result"]["apiKey"] is None


@pytest.mark.parametrize(
    "extra",
    [
        {"account": "bob"},
        {"name": "bob"},
        {"apiKeyOf": HEDGE_KEY},
        {"email": "bob@example.com"},
        {"accountId": 2},
        {"uid": "bob"},
    ],
)
async def test_params_never_reach_another_account(
    services: Services, extra: dict[str, Any]
) -> None:
    rows = call(services, "v2/account.position", signed(services, **extra))["result"]
    assert [(r["symbol"], r["positionAmt"]) for r in rows] == [
        ("BTCUSDT", "0.010"),
        ("ETHUSDT", "-1.000"),
    ]
    # Bob's key with Alice's signature (or the reverse) is refused, never served.
    forged = {**signed(services, HEDGE_KEY, HEDGE_SECRET), "apiKey": HMAC_KEY}
    assert error(call(services, "v2/account.position", forged))[1] == -1022


@pytest.mark.parametrize("refusal", every_refusal(), ids=lambda e: type(e).__name__)
async def test_every_engine_refusal_is_an_error_400_with_binances_text(
    services: Services, monkeypatch: pytest.MonkeyPatch, refusal: EngineError
) -> None:
    from posrisk.service import api

    def refusing(*args: Any) -> Any:
        raise refusal

    monkeypatch.setitem(api.METHODS, "account.position", refusing)
    reply = call(services, "account.position", signed(services), request_id="r")
    assert (reply["id"], error(reply)) == ("r", (400, refusal.code, refusal.msg))
