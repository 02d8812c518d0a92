"""The account owner's REST routes through ``RestService.handle``, exactly as the gateway
calls it: every route's success body to the digit, the weight it charges, every refusal
the route can answer in Binance's check order (status and ``{"code","msg"}`` only), REST
signatures over query and form body, a write durable before it answers, and 404 -5000
for a method a path lacks.

The known scenario (conftest): alice, one-way, 1000 USDT; BTCUSDT cross 20x long 0.010 @
20000, ETHUSDT isolated 10x short 1 @ 1000 (isolated wallet 100); marks BTCUSDT
21123.05052574, ETHUSDT 950. bob, hedge, 2.53267053 USDT, BTCUSDT LONG 0.001 @ 22185.2
cross 20x. Added here: carol (3 BTCUSDT long, SOLUSDT isolated and flat) and dana (an
empty one-way account).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import pytest
import pytest_asyncio

from posrisk.engine import (
    IsolatedMarginTransfer,
    MarginType,
    Order,
    OrderType,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
)
from posrisk.protocol import hmac_signature, load_private_key
from posrisk.service.account_routes import ACCOUNT_ROUTES
from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.registry import Registry
from posrisk.service.rest import METHODS, HttpResponse, RestService

from .conftest import ED_KEY, HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, Keys, Services

pytestmark = pytest.mark.asyncio

IP = "10.0.0.9"
LOADED = 1_700_000_000_000  # the clock, and the time the scenario was loaded
FORM = "application/x-www-form-urlencoded"
CAROL = ("carolHmacKey01", "carol-test-secret")
DANA = ("danaHmacKey01", "dana-test-secret")
ACCOUNTS = {
    "alice": (HMAC_KEY, HMAC_SECRET),
    "bob": (HEDGE_KEY, HEDGE_SECRET),
    "carol": CAROL,
    "dana": DANA,
}

# Every route of ACCOUNT_ROUTES and its REQUEST_WEIGHT (Binance's, as published).
WEIGHTS = {
    ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v2/balance"): 5,
    ("GET", "/fapi/v3/balance"): 5,
    ("POST", "/fapi/v1/leverage"): 1,
    ("POST", "/fapi/v1/marginType"): 1,
    ("POST", "/fapi/v1/positionSide/dual"): 1,
    ("GET", "/fapi/v1/positionSide/dual"): 30,
    ("POST", "/fapi/v1/multiAssetsMargin"): 1,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30,
    ("POST", "/fapi/v1/positionMargin"): 1,
    ("GET", "/fapi/v1/positionMargin/history"): 1,
    ("GET", "/fapi/v1/symbolConfig"): 5,
    ("GET", "/fapi/v1/accountConfig"): 5,
    ("GET", "/fapi/v1/commissionRate"): 20,
}
ROUTE_IDS = [f"{method} {path}" for method, path in WEIGHTS]
WRITES = [route for route in WEIGHTS if route[0] == "POST"]
READS = [route for route in WEIGHTS if route[0] == "GET"]

# A request each route takes (the account, its params): a success, but for the
# multi-assets switch, which is never changed (-4171).
TAKEN: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("GET", "/fapi/v2/account"): ("alice", {}),
    ("GET", "/fapi/v3/account"): ("bob", {}),
    ("GET", "/fapi/v2/balance"): ("alice", {}),
    ("GET", "/fapi/v3/balance"): ("alice", {}),
    ("POST", "/fapi/v1/leverage"): ("alice", {"symbol": "BTCUSDT", "leverage": "21"}),
    ("POST", "/fapi/v1/marginType"): ("alice", {"symbol": "SOLUSDT", "marginType": "isolated"}),
    ("POST", "/fapi/v1/positionSide/dual"): ("dana", {"dualSidePosition": "true"}),
    ("GET", "/fapi/v1/positionSide/dual"): ("bob", {}),
    ("POST", "/fapi/v1/multiAssetsMargin"): ("alice", {"multiAssetsMargin": "false"}),
    ("GET", "/fapi/v1/multiAssetsMargin"): ("alice", {}),
    ("POST", "/fapi/v1/positionMargin"): (
        "alice",
        {"symbol": "ETHUSDT", "amount": "100", "type": "1"},
    ),
    ("GET", "/fapi/v1/positionMargin/history"): ("alice", {"symbol": "ETHUSDT"}),
    ("GET", "/fapi/v1/symbolConfig"): ("alice", {"symbol": "ETHUSDT"}),
    ("GET", "/fapi/v1/accountConfig"): ("bob", {}),
    ("GET", "/fapi/v1/commissionRate"): ("alice", {"symbol": "BTCUSDT"}),
}


@pytest_asyncio.fixture
async def rest(services: Services) -> AsyncIterator[RestService]:
    """The REST API over the known scenario and the one write path, with carol and dana."""
    await services.admin.load_scenario(
        {
            "accounts": [
                {
                    "name": "carol",
                    "keys": [{"type": "hmac", "apiKey": CAROL[0], "secret": CAROL[1]}],
                    "deposits": {"USDT": "10000"},
                    "symbols": {"SOLUSDT": {"marginType": "isolated"}},
                    # 63000 of notional at entry (63369.15 at the mark): over 125x's 50000.
                    "fills": [{"symbol": "BTCUSDT", "side": "BUY", "qty": "3", "price": "21000"}],
                },
                {"name": "dana", "keys": [{"type": "hmac", "apiKey": DANA[0], "secret": DANA[1]}]},
            ]
        }
    )
    api = services.api
    yield RestService(api, ExchangeInfo(api.market), services.admin)


async def answer(
    rest: RestService,
    method: str,
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    ip: str = IP,
) -> HttpResponse:
    """One request as the gateway hands it over; awaited when the route writes."""
    response = rest.handle(method, path, query, headers or {}, body, ip)
    if not isinstance(response, HttpResponse):
        response = await asyncio.wait_for(response, 5)
    return response


def signed(services: Services, account: str, params: dict[str, str], **extra: Any) -> str:
    """``params`` with a timestamp (unless given), urlencoded and HMAC-signed as sent."""
    sent = urlencode({**params, "timestamp": services.clock.now_ms(), **extra})
    return f"{sent}&signature={hmac_signature(ACCOUNTS[account][1], sent.encode())}"


async def call(
    rest: RestService,
    services: Services,
    route: tuple[str, str],
    account: str = "alice",
    params: dict[str, str] | None = None,
    ip: str = IP,
) -> HttpResponse:
    """A signed request as clients send it: a GET's params in its query, a POST's in a
    form body."""
    method, path = route
    sent = signed(services, account, params or {})
    headers = {"X-MBX-APIKEY": ACCOUNTS[account][0], "Content-Type": FORM}
    if method == "GET":
        return await answer(rest, method, path, sent, headers, b"", ip)
    return await answer(rest, method, path, "", headers, sent.encode(), ip)


def refusal(response: HttpResponse) -> tuple[int, Any]:
    """A refusal's status and body, which must be ``{"code","msg"}`` only, as JSON."""
    assert response.headers["Content-Type"] == "application/json"
    decoded = orjson.loads(response.body)
    assert set(decoded) == {"code", "msg"}, decoded
    return response.status, decoded


def exact(response: HttpResponse) -> bytes:
    """A 200's body, decoded and written again with sorted keys: equal only when every
    value and its JSON type are (``true`` is not ``1``, ``100.0`` is not ``100``)."""
    assert (response.status, response.headers["Content-Type"]) == (200, "application/json")
    return orjson.dumps(orjson.loads(response.body), option=orjson.OPT_SORT_KEYS)


def sorted_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def used(response: HttpResponse) -> int:
    return int(response.headers["X-MBX-USED-WEIGHT-1M"])


async def ledger(services: Services) -> tuple[int, int]:
    """The store's revision and ledger length, read from the store itself."""
    snapshot = await services.store.load()
    return snapshot.revision, len(snapshot.ledger)


async def test_every_account_route_is_tested_here() -> None:
    assert set(ACCOUNT_ROUTES) == set(WEIGHTS) == set(TAKEN)


# -- weights ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", list(WEIGHTS), ids=ROUTE_IDS)
async def test_each_route_charges_its_weight_taken_or_refused(
    rest: RestService, services: Services, route: tuple[str, str]
) -> None:
    weight = WEIGHTS[route]
    before = used(await answer(rest, "GET", "/fapi/v1/time"))
    account, params = TAKEN[route]
    taken = await call(rest, services, route, account, params)
    expected = 400 if route == ("POST", "/fapi/v1/multiAssetsMargin") else 200
    assert taken.status == expected
    assert used(taken) == before + weight
    unsigned = await answer(rest, *route)  # refused (-2014), charged all the same
    assert unsigned.status == 401
    assert used(unsigned) == before + 2 * weight


# -- successes --------------------------------------------------------------------------

ZERO_ASSET = {
    "walletBalance": "0.00000000",
    "unrealizedProfit": "0.00000000",
    "marginBalance": "0.00000000",
    "maintMargin": "0.00000000",
    "initialMargin": "0.00000000",
    "positionInitialMargin": "0.00000000",
    "openOrderInitialMargin": "0.00000000",
    "crossWalletBalance": "0.00000000",
    "crossUnPnl": "0.00000000",
    "availableBalance": "0.00000000",
    "maxWithdrawAmount": "0.00000000",
}
# alice, USDT. BTCUSDT: uPnL 0.010 × (21123.05052574 − 20000) = 11.2305052574, notional
# 211.2305052574, PIM /20 = 10.56152526287, MM × 0.004 = 0.8449220210296. ETHUSDT: uPnL
# −1 × (950 − 1000) = 50, PIM 950 / 10 = 95, MM 950 × 0.004 = 3.8, isolated wallet 100.
ALICE_TOTALS = {
    "totalInitialMargin": "105.56152526",  # 10.56152526287 + 95
    "totalMaintMargin": "4.64492202",  # 0.8449220210296 + 3.8
    "totalWalletBalance": "1000.00000000",
    "totalUnrealizedProfit": "61.23050525",  # 11.2305052574 + 50
    "totalMarginBalance": "1061.23050525",
    "totalPositionInitialMargin": "105.56152526",
    "totalOpenOrderInitialMargin": "0.00000000",
    "totalCrossWalletBalance": "900.00000000",  # 1000 − the isolated 100
    "totalCrossUnPnl": "11.23050525",
    "availableBalance": "900.66897999",  # 900 + 11.2305052574 − 10.56152526287
    "maxWithdrawAmount": "889.43847473",  # min(900, 900 + min(0, 11.23…) − 10.56152526287)
}
ALICE_USDT = {
    "walletBalance": "1000.00000000",
    "unrealizedProfit": "61.23050525",
    "marginBalance": "1061.23050525",
    "maintMargin": "4.64492202",
    "initialMargin": "105.56152526",
    "positionInitialMargin": "105.56152526",
    "openOrderInitialMargin": "0.00000000",
    "crossWalletBalance": "900.00000000",
    "crossUnPnl": "11.23050525",
    "availableBalance": "900.66897999",
    "maxWithdrawAmount": "889.43847473",
}
# The isolated fill moved 100 out of the cross wallet last.
ALICE_USDT_TIME = 1_700_000_000_002


async def test_v2_account_is_every_symbol_with_fee_burn(
    rest: RestService, services: Services
) -> None:
    response = await call(rest, services, ("GET", "/fapi/v2/account"))
    result = orjson.loads(response.body)
    positions = result.pop("positions")
    assert sorted_json(result) == sorted_json(
        {
            "feeTier": 0,
            "feeBurn": False,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
            **ALICE_TOTALS,
            "assets": [
                {"asset": "BTC", **ZERO_ASSET, "marginAvailable": True, "updateTime": 0},
                {"asset": "USDC", **ZERO_ASSET, "marginAvailable": True, "updateTime": 0},
                {
                    "asset": "USDT",
                    **ALICE_USDT,
                    "marginAvailable": True,
                    "updateTime": ALICE_USDT_TIME,
                },
            ],
        }
    )
    market = services.registry.market
    assert [row["symbol"] for row in positions] == list(market.names)
    rows = {row["symbol"]: row for row in positions}
    flat = {
        "initialMargin": "0",
        "maintMargin": "0",
        "unrealizedProfit": "0.00000000",
        "positionInitialMargin": "0",
        "openOrderInitialMargin": "0",
        "isolated": False,
        "entryPrice": "0.0",
        "breakEvenPrice": "0.0",
        "bidNotional": "0",
        "askNotional": "0",
        "positionSide": "BOTH",
        "updateTime": 0,
    }
    assert sorted_json([rows["BTCUSDT"], rows["ETHUSDT"], rows["SOLUSDT"]]) == sorted_json(
        [
            {
                **flat,
                "symbol": "BTCUSDT",
                "initialMargin": "10.56152526",
                "maintMargin": "0.84492202",
                "unrealizedProfit": "11.23050525",
                "positionInitialMargin": "10.56152526",
                "leverage": "20",
                "entryPrice": "20000.0",
                "breakEvenPrice": "20000.0",
                "maxNotional": "100000000",
                "positionAmt": "0.010",
                "updateTime": 1_700_000_000_001,
            },
            {
                **flat,
                "symbol": "ETHUSDT",
                "initialMargin": "95.00000000",
                "maintMargin": "3.80000000",
                "unrealizedProfit": "50.00000000",
                "positionInitialMargin": "95.00000000",
                "leverage": "10",
                "isolated": True,
                "entryPrice": "1000.0",
                "breakEvenPrice": "1000.0",
                "maxNotional": "150000000",
                "positionAmt": "-1.000",
                "updateTime": 1_700_000_000_002,
            },
            # No mark, no position; SOLUSDT's quantity precision is not known: "0".
            {**flat, "symbol": "SOLUSDT", "leverage": "20", "maxNotional": "8000000",
             "positionAmt": "0"},
        ]
    )  # fmt: skip
    others = [row for row in positions if row["symbol"] not in ("BTCUSDT", "ETHUSDT")]
    assert {(row["entryPrice"], row["unrealizedProfit"]) for row in others} == {
        ("0.0", "0.00000000")
    }


async def test_v3_account_is_the_open_sides_without_margin_available(
    rest: RestService, services: Services
) -> None:
    # bob: uPnL 0.001 × (21123.05052574 − 22185.2) = −1.06214947426; notional
    # 21.12305052574, PIM /20 = 1.056152526287, MM × 0.004 = 0.08449220210296;
    # availableBalance 2.53267053 − 1.06214947426 − 1.056152526287 = 0.414368529453.
    response = await call(rest, services, ("GET", "/fapi/v3/account"), "bob")
    usdt = {
        "walletBalance": "2.53267053",
        "unrealizedProfit": "-1.06214947",
        "marginBalance": "1.47052105",
        "maintMargin": "0.08449220",
        "initialMargin": "1.05615252",
        "positionInitialMargin": "1.05615252",
        "openOrderInitialMargin": "0.00000000",
        "crossWalletBalance": "2.53267053",
        "crossUnPnl": "-1.06214947",
        "availableBalance": "0.41436852",
        "maxWithdrawAmount": "0.41436852",
    }
    assert exact(response) == sorted_json(
        {
            "totalInitialMargin": "1.05615252",
            "totalMaintMargin": "0.08449220",
            "totalWalletBalance": "2.53267053",
            "totalUnrealizedProfit": "-1.06214947",
            "totalMarginBalance": "1.47052105",
            "totalPositionInitialMargin": "1.05615252",
            "totalOpenOrderInitialMargin": "0.00000000",
            "totalCrossWalletBalance": "2.53267053",
            "totalCrossUnPnl": "-1.06214947",
            "availableBalance": "0.41436852",
            "maxWithdrawAmount": "0.41436852",
            "assets": [
                {"asset": "BTC", **ZERO_ASSET, "updateTime": 0},
                {"asset": "USDC", **ZERO_ASSET, "updateTime": 0},
                {"asset": "USDT", **usdt, "updateTime": LOADED},
            ],
            "positions": [
                {
                    "symbol": "BTCUSDT",
                    "positionSide": "LONG",
                    "positionAmt": "0.001",
                    "unrealizedProfit": "-1.06214947",
                    "isolatedMargin": "0.00000000",
                    "notional": "21.12305052",
                    "isolatedWallet": "0",
                    "initialMargin": "1.05615252",
                    "maintMargin": "0.08449220",
                    "updateTime": 1_655_217_461_579,
                }
            ],
        }
    )


@pytest.mark.parametrize("path", ["/fapi/v2/balance", "/fapi/v3/balance"])
async def test_both_balances_are_one_item_per_margin_asset(
    rest: RestService, services: Services, path: str
) -> None:
    zero = {
        "accountAlias": "rIGt",
        "balance": "0.00000000",
        "crossWalletBalance": "0.00000000",
        "crossUnPnl": "0.00000000",
        "availableBalance": "0.00000000",
        "maxWithdrawAmount": "0.00000000",
        "marginAvailable": True,
        "updateTime": 0,
    }
    response = await call(rest, services, ("GET", path))
    assert exact(response) == sorted_json(
        [
            {**zero, "asset": "BTC"},
            {**zero, "asset": "USDC"},
            {
                **zero,
                "asset": "USDT",
                "balance": "1000.00000000",
                "crossWalletBalance": "900.00000000",
                "crossUnPnl": "11.23050525",
                "availableBalance": "900.66897999",
                "maxWithdrawAmount": "889.43847473",
                "updateTime": ALICE_USDT_TIME,
            },
        ]
    )
    bob = orjson.loads((await call(rest, services, ("GET", path), "bob")).body)
    assert bob[2] == {
        **zero,
        "accountAlias": "ZaDI",
        "asset": "USDT",
        "balance": "2.53267053",
        "crossWalletBalance": "2.53267053",
        "crossUnPnl": "-1.06214947",
        "availableBalance": "0.41436852",
        "maxWithdrawAmount": "0.41436852",
        "updateTime": LOADED,
    }


SUCCESSES = [
    ("GET", "/fapi/v1/positionSide/dual", "alice", {}, b'{"dualSidePosition":false}'),
    ("GET", "/fapi/v1/positionSide/dual", "bob", {}, b'{"dualSidePosition":true}'),
    ("GET", "/fapi/v1/multiAssetsMargin", "bob", {}, b'{"multiAssetsMargin":false}'),
    ("GET", "/fapi/v1/symbolConfig", "alice", {"symbol": "ETHUSDT"},
     b'[{"symbol":"ETHUSDT","marginType":"ISOLATED","isAutoAddMargin":false,"leverage":10,'
     b'"maxNotionalValue":"150000000"}]'),
    ("GET", "/fapi/v1/symbolConfig", "carol", {"symbol": "SOLUSDT"},
     b'[{"symbol":"SOLUSDT","marginType":"ISOLATED","isAutoAddMargin":false,"leverage":20,'
     b'"maxNotionalValue":"8000000"}]'),
    ("GET", "/fapi/v1/accountConfig", "alice", {},
     b'{"feeTier":0,"canTrade":true,"canDeposit":true,"canWithdraw":true,'
     b'"dualSidePosition":false,"updateTime":0,"multiAssetsMargin":false,"tradeGroupId":-1}'),
    ("GET", "/fapi/v1/accountConfig", "bob", {},
     b'{"feeTier":0,"canTrade":true,"canDeposit":true,"canWithdraw":true,'
     b'"dualSidePosition":true,"updateTime":0,"multiAssetsMargin":false,"tradeGroupId":-1}'),
    ("GET", "/fapi/v1/commissionRate", "alice", {"symbol": "BTCUSDT"},
     b'{"symbol":"BTCUSDT","makerCommissionRate":"0.0002","takerCommissionRate":"0.0005"}'),
    ("GET", "/fapi/v1/positionMargin/history", "alice", {"symbol": "ETHUSDT"}, b"[]"),
    # BTCUSDT at 21x: the 25x bracket's cap.
    ("POST", "/fapi/v1/leverage", "alice", {"symbol": "BTCUSDT", "leverage": "21"},
     b'{"leverage":21,"maxNotionalValue":"70000000","symbol":"BTCUSDT"}'),
    ("POST", "/fapi/v1/leverage", "alice", {"symbol": "ETHUSDT", "leverage": "10"},
     b'{"leverage":10,"maxNotionalValue":"150000000","symbol":"ETHUSDT"}'),
    ("POST", "/fapi/v1/marginType", "alice", {"symbol": "SOLUSDT", "marginType": "isolated"},
     b'{"code":200,"msg":"success"}'),
    ("POST", "/fapi/v1/marginType", "carol", {"symbol": "SOLUSDT", "marginType": "CROSSED"},
     b'{"code":200,"msg":"success"}'),
    ("POST", "/fapi/v1/positionSide/dual", "dana", {"dualSidePosition": "True"},
     b'{"code":200,"msg":"success"}'),
    ("POST", "/fapi/v1/positionMargin", "alice",
     {"symbol": "ETHUSDT", "amount": "100", "type": "1"},
     b'{"amount":100.0,"code":200,"msg":"Successfully modify position margin.","type":1}'),
    # Removable: 100 + min(0, 50) − 95 = 5.
    ("POST", "/fapi/v1/positionMargin", "alice",
     {"symbol": "ETHUSDT", "positionSide": "BOTH", "amount": "5.00", "type": "2"},
     b'{"amount":5.0,"code":200,"msg":"Successfully modify position margin.","type":2}'),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "account", "params", "expected"), SUCCESSES)
async def test_a_setting_route_answers_binances_body(
    rest: RestService,
    services: Services,
    method: str,
    path: str,
    account: str,
    params: dict[str, str],
    expected: bytes,
) -> None:
    response = await call(rest, services, (method, path), account, params)
    assert (response.status, response.body) == (200, expected)
    assert response.headers["Content-Type"] == "application/json"


async def test_position_margin_history_reads_what_the_route_moved(
    rest: RestService, services: Services
) -> None:
    route = ("POST", "/fapi/v1/positionMargin")
    add = {"symbol": "ETHUSDT", "amount": "10", "type": "1"}
    assert (await call(rest, services, route, "alice", add)).status == 200
    services.clock.advance(1000)
    remove = {**add, "amount": "2.5", "type": "2"}
    assert (await call(rest, services, route, "alice", remove)).status == 200
    history = ("GET", "/fapi/v1/positionMargin/history")
    rows = await call(rest, services, history, "alice", {"symbol": "ETHUSDT"})
    assert (rows.status, rows.body) == (
        200,
        b'[{"symbol":"ETHUSDT","type":1,"deltaType":"USER_ADJUST","amount":"10","asset":"USDT",'
        b'"time":1700000000000,"positionSide":"BOTH"},'
        b'{"symbol":"ETHUSDT","type":2,"deltaType":"USER_ADJUST","amount":"2.5","asset":"USDT",'
        b'"time":1700000001000,"positionSide":"BOTH"}]',
    )
    removed = await call(rest, services, history, "alice", {"symbol": "ETHUSDT", "type": "2"})
    assert [row["time"] for row in orjson.loads(removed.body)] == [1_700_000_001_000]


# -- refusals ---------------------------------------------------------------------------


def mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def invalid(name: str) -> str:
    return f"Data sent for parameter '{name}' is not valid."


@pytest.mark.parametrize("route", list(WEIGHTS), ids=ROUTE_IDS)
async def test_every_route_authenticates_first(
    rest: RestService, services: Services, route: tuple[str, str]
) -> None:
    """401 -2014 without a key or with a malformed one, 401 -2015 for an unknown one, -1102
    without a signature or a timestamp, -1021 out of the window, -1022 a wrong signature:
    none writes."""
    method, path = route
    account, params = TAKEN[route]
    key = ACCOUNTS[account][0]
    now = services.clock.now_ms()
    good = signed(services, account, params)
    unsigned = urlencode({**params, "timestamp": now})
    stale = signed(services, account, params, timestamp=now - 10_000)
    ahead = signed(services, account, params, timestamp=now + 1_001)
    forged = f"{unsigned}&signature={'0' * 64}"
    no_timestamp = urlencode(params)
    no_timestamp += f"&signature={hmac_signature(ACCOUNTS[account][1], no_timestamp.encode())}"
    cases = [
        (good, {}, 401, -2014, "API-key format invalid."),
        (good, {"X-MBX-APIKEY": "not-a-key"}, 401, -2014, "API-key format invalid."),
        (good, {"X-MBX-APIKEY": "nobody01"}, 401, -2015,
         "Invalid API-key, IP, or permissions for action."),
        (unsigned, {"X-MBX-APIKEY": key}, 400, -1102, mandatory("signature")),
        (no_timestamp, {"X-MBX-APIKEY": key}, 400, -1102, mandatory("timestamp")),
        (stale, {"X-MBX-APIKEY": key}, 400, -1021,
         "Timestamp for this request is outside of the recvWindow."),
        (ahead, {"X-MBX-APIKEY": key}, 400, -1021,
         "Timestamp for this request was 1000ms ahead of the server's time."),
        (forged, {"X-MBX-APIKEY": key}, 400, -1022, "Signature for this request is not valid."),
    ]  # fmt: skip
    before = await ledger(services)
    for sent, headers, status, code, msg in cases:
        if method == "GET":
            response = await answer(rest, method, path, sent, headers)
        else:
            response = await answer(rest, method, path, "", headers, sent.encode())
        assert refusal(response) == (status, {"code": code, "msg": msg}), sent
    assert await ledger(services) == before


# Each route's refusals as Binance lists them, in its check order (where a row breaks a
# later check too, the earlier code is the answer).
REFUSALS = [
    ("POST", "/fapi/v1/leverage", "alice", {"leverage": "5"}, -1102, mandatory("symbol")),
    ("POST", "/fapi/v1/leverage", "alice", {"symbol": "BTCUSDT"}, -1102, mandatory("leverage")),
    ("POST", "/fapi/v1/leverage", "alice", {"symbol": "NOPEUSDT", "leverage": "200"}, -1121,
     "Invalid symbol."),
    ("POST", "/fapi/v1/leverage", "alice", {"symbol": "ETHUSDT", "leverage": "200"}, -4028,
     "Leverage 200 is not valid"),
    ("POST", "/fapi/v1/leverage", "alice", {"symbol": "ETHUSDT", "leverage": "5"}, -4161,
     "Leverage reduction is not supported in Isolated Margin Mode with open positions."),
    ("POST", "/fapi/v1/leverage", "carol", {"symbol": "BTCUSDT", "leverage": "125"}, -2027,
     "Exceeded the maximum allowable position at current leverage."),
    # bob at 14x: 21.12305052574 / 14 − 1.056152526287 = 0.4526 more; 0.41436852 available.
    ("POST", "/fapi/v1/leverage", "bob", {"symbol": "BTCUSDT", "leverage": "14"}, -2028,
     "Leverage is smaller than permitted: insufficient margin balance."),
    ("POST", "/fapi/v1/marginType", "alice", {"symbol": "BTCUSDT"}, -1102,
     mandatory("marginType")),
    ("POST", "/fapi/v1/marginType", "alice", {"symbol": "NOPEUSDT", "marginType": "ISOLATED"},
     -1121, "Invalid symbol."),
    ("POST", "/fapi/v1/marginType", "alice", {"symbol": "ETHUSDT", "marginType": "CROSS"},
     -1130, invalid("marginType")),
    ("POST", "/fapi/v1/marginType", "alice", {"symbol": "ETHUSDT", "marginType": "ISOLATED"},
     -4046, "No need to change margin type."),
    ("POST", "/fapi/v1/marginType", "alice", {"symbol": "BTCUSDT", "marginType": "ISOLATED"},
     -4048, "Margin type cannot be changed if there exists position."),
    ("POST", "/fapi/v1/positionSide/dual", "alice", {}, -1102, mandatory("dualSidePosition")),
    ("POST", "/fapi/v1/positionSide/dual", "alice", {"dualSidePosition": "yes"}, -1130,
     invalid("dualSidePosition")),
    ("POST", "/fapi/v1/positionSide/dual", "alice", {"dualSidePosition": "false"}, -4059,
     "No need to change position side."),
    ("POST", "/fapi/v1/positionSide/dual", "alice", {"dualSidePosition": "true"}, -4068,
     "Position side cannot be changed if there exists position."),
    ("POST", "/fapi/v1/multiAssetsMargin", "alice", {}, -1102, mandatory("multiAssetsMargin")),
    ("POST", "/fapi/v1/multiAssetsMargin", "alice", {"multiAssetsMargin": "true"}, -1020,
     "This operation is not supported."),
    ("POST", "/fapi/v1/multiAssetsMargin", "dana", {"multiAssetsMargin": "false"}, -4171,
     "Adjusted asset mode is currently set and does not need to be adjusted repeatedly."),
    ("POST", "/fapi/v1/positionMargin", "alice", {"amount": "1", "type": "1"}, -1102,
     mandatory("symbol")),
    ("POST", "/fapi/v1/positionMargin", "alice", {"symbol": "ETHUSDT", "type": "1"}, -1102,
     mandatory("amount")),
    ("POST", "/fapi/v1/positionMargin", "alice", {"symbol": "NOPEUSDT", "amount": "1", "type": "1"},
     -1121, "Invalid symbol."),
    ("POST", "/fapi/v1/positionMargin", "alice",
     {"symbol": "BTCUSDT", "positionSide": "LONG", "amount": "0", "type": "3"}, -4061,
     "Order's position side does not match user's setting."),
    ("POST", "/fapi/v1/positionMargin", "alice", {"symbol": "BTCUSDT", "amount": "0", "type": "3"},
     -1130, invalid("type")),
    ("POST", "/fapi/v1/positionMargin", "alice",
     {"symbol": "BTCUSDT", "amount": "0.0", "type": "1"}, -4055, "Amount must be positive."),
    ("POST", "/fapi/v1/positionMargin", "alice", {"symbol": "BTCUSDT", "amount": "1", "type": "1"},
     -4049, "Add margin only support for isolated position."),
    ("POST", "/fapi/v1/positionMargin", "carol", {"symbol": "SOLUSDT", "amount": "1", "type": "1"},
     -4054, "Cannot add position margin: position is 0."),
    # availableBalance 900.66897999453.
    ("POST", "/fapi/v1/positionMargin", "alice",
     {"symbol": "ETHUSDT", "amount": "900.67", "type": "1"}, -4050, "Cross balance insufficient."),
    ("POST", "/fapi/v1/positionMargin", "alice",
     {"symbol": "ETHUSDT", "amount": "5.00000001", "type": "2"}, -4051,
     "Isolated balance insufficient."),
    ("GET", "/fapi/v1/positionMargin/history", "alice", {}, -1102, mandatory("symbol")),
    ("GET", "/fapi/v1/positionMargin/history", "alice", {"symbol": "NOPEUSDT"}, -1121,
     "Invalid symbol."),
    ("GET", "/fapi/v1/positionMargin/history", "alice", {"symbol": "ETHUSDT", "type": "3"},
     -1130, invalid("type")),
    ("GET", "/fapi/v1/symbolConfig", "alice", {"symbol": "NOPEUSDT"}, -1121, "Invalid symbol."),
    ("GET", "/fapi/v1/commissionRate", "alice", {}, -1102, mandatory("symbol")),
    ("GET", "/fapi/v1/commissionRate", "alice", {"symbol": "NOPEUSDT"}, -1121,
     "Invalid symbol."),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "account", "params", "code", "msg"), REFUSALS)
async def test_each_refusal_is_400_code_and_msg_and_writes_nothing(
    rest: RestService,
    services: Services,
    method: str,
    path: str,
    account: str,
    params: dict[str, str],
    code: int,
    msg: str,
) -> None:
    before = await ledger(services)
    response = await call(rest, services, (method, path), account, params)
    assert refusal(response) == (400, {"code": code, "msg": msg})
    assert used(response) == WEIGHTS[(method, path)]
    assert await ledger(services) == before


async def test_open_orders_keep_the_margin_type_and_the_position_mode(
    rest: RestService, services: Services
) -> None:
    entry = services.registry.account("alice")
    order = Order(1000000001, "c", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal(1), Decimal(90))
    entry.account = replace(entry.account, orders={order.order_id: order})
    margin = ("POST", "/fapi/v1/marginType")
    mode = ("POST", "/fapi/v1/positionSide/dual")
    cases = [  # -4047 / -4067 after "no need to change", before "a position exists"
        (margin, {"symbol": "ETHUSDT", "marginType": "ISOLATED"}, -4046,
         "No need to change margin type."),
        (margin, {"symbol": "BTCUSDT", "marginType": "ISOLATED"}, -4047,
         "Margin type cannot be changed if there exists open orders."),
        (mode, {"dualSidePosition": "false"}, -4059, "No need to change position side."),
        (mode, {"dualSidePosition": "true"}, -4067,
         "Position side cannot be changed if there exists open orders."),
    ]  # fmt: skip
    before = await ledger(services)
    for route, params, code, msg in cases:
        response = await call(rest, services, route, "alice", params)
        assert refusal(response) == (400, {"code": code, "msg": msg})
    assert await ledger(services) == before


# -- signatures over query and form body ------------------------------------------------


@pytest.mark.parametrize("route", WRITES, ids=[f"POST {path}" for _, path in WRITES])
async def test_a_post_split_between_query_and_body_signs_total_params(
    rest: RestService, services: Services, route: tuple[str, str]
) -> None:
    """totalParams: the raw query then the raw body, no ``&`` between them; the signature
    in the body. A name in both parts: the query's value is the one taken."""
    method, path = route
    account, params = TAKEN[route]
    key, secret = ACCOUNTS[account]
    expected = await call(rest, services, route, account, params)  # the one-part answer
    await reset(services)
    pairs = [*params.items(), ("timestamp", str(services.clock.now_ms()))]
    query = urlencode(pairs[:1])
    body = urlencode([*pairs[1:], (pairs[0][0], "overridden")])
    signature = hmac_signature(secret, (query + body).encode())
    headers = {"X-MBX-APIKEY": key, "Content-Type": f"{FORM}; charset=utf-8"}
    sent = f"{body}&signature={signature}".encode()
    split = await answer(rest, method, path, query, headers, sent)
    assert (split.status, split.body) == (expected.status, expected.body)
    bad = f"{body}&signature={hmac_signature(secret, body.encode())}".encode()
    refused = await answer(rest, method, path, query, headers, bad)  # the body alone: refused
    assert refusal(refused) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )


async def reset(services: Services) -> None:
    """Undo what the writes of ``TAKEN`` did, so that they can be taken again."""
    admin, market = services.admin, services.registry.market
    alice = services.registry.account("alice").account
    if alice.settings_for(market["BTCUSDT"]).leverage != 20:
        await admin.apply_events("alice", [SetLeverage("BTCUSDT", 20)])
    if alice.settings_for(market["SOLUSDT"]).margin_type is MarginType.ISOLATED:
        await admin.apply_events("alice", [SetMarginType("SOLUSDT", MarginType.CROSS)])
    if services.registry.account("dana").account.position_mode is PositionMode.HEDGE:
        await admin.apply_events("dana", [SetPositionMode(PositionMode.ONE_WAY)])


@pytest.mark.parametrize("route", WRITES, ids=[f"POST {path}" for _, path in WRITES])
async def test_python_binance_signs_raw_values_and_sends_them_encoded(
    rest: RestService, services: Services, route: tuple[str, str]
) -> None:
    """python-binance sorts the params, signs ``name=value`` as written and sends the form
    urlencoded (an unknown param is signed like the rest and ignored)."""
    method, path = route
    account, params = TAKEN[route]
    key, secret = ACCOUNTS[account]
    expected = await call(rest, services, route, account, params)
    await reset(services)
    taken = {**params, "note": "a b/c+d", "timestamp": str(services.clock.now_ms())}
    pairs = sorted(taken.items())
    raw = "&".join(f"{name}={value}" for name, value in pairs)
    sent = urlencode([*pairs, ("signature", hmac_signature(secret, raw.encode()))])
    assert raw not in sent  # the values went out encoded
    headers = {"X-MBX-APIKEY": key, "Content-Type": FORM}
    response = await answer(rest, method, path, "", headers, sent.encode())
    assert (response.status, response.body) == (expected.status, expected.body)


async def test_an_ed25519_signature_sent_percent_encoded(
    rest: RestService, services: Services, keys: Keys
) -> None:
    sent = f"symbol=BTCUSDT&leverage=25&timestamp={services.clock.now_ms()}"
    signature = load_private_key(keys.ed25519_private).sign(sent.encode())
    body = f"{sent}&signature={quote(signature, safe='')}".encode()
    headers = {"X-MBX-APIKEY": ED_KEY, "Content-Type": FORM}
    response = await answer(rest, "POST", "/fapi/v1/leverage", "", headers, body)
    assert (response.status, response.body) == (
        200,
        b'{"leverage":25,"maxNotionalValue":"70000000","symbol":"BTCUSDT"}',
    )


@pytest.mark.parametrize("route", READS, ids=[f"GET {path}" for _, path in READS])
async def test_a_get_ignores_its_body(
    rest: RestService, services: Services, route: tuple[str, str]
) -> None:
    method, path = route
    account, params = TAKEN[route]
    key = ACCOUNTS[account][0]
    expected = await call(rest, services, route, account, params)
    assert expected.status == 200
    query = signed(services, account, params)
    headers = {"X-MBX-APIKEY": key, "Content-Type": FORM}
    noise = b"symbol=NOPEUSDT&timestamp=1&signature=" + b"0" * 64
    with_body = await answer(rest, method, path, query, headers, noise)
    assert (with_body.status, with_body.body) == (200, expected.body)
    # Params sent only in a GET's body are not sent at all.
    in_body = await answer(rest, method, path, "", headers, query.encode())
    assert refusal(in_body) == (400, {"code": -1102, "msg": mandatory("signature")})


async def test_param_names_are_taken_in_any_case(rest: RestService, services: Services) -> None:
    """As Binance: ``SYMBOL`` is ``symbol``; in both parts, the query's is taken."""
    headers = {"X-MBX-APIKEY": HMAC_KEY, "Content-Type": FORM}
    query = "SYMBOL=BTCUSDT"
    body = f"Leverage=21&symbol=ETHUSDT&Timestamp={services.clock.now_ms()}"
    signature = hmac_signature(HMAC_SECRET, (query + body).encode())
    sent = f"{body}&signature={signature}".encode()
    response = await answer(rest, "POST", "/fapi/v1/leverage", query, headers, sent)
    assert (response.status, response.body) == (
        200,
        b'{"leverage":21,"maxNotionalValue":"70000000","symbol":"BTCUSDT"}',
    )
    twice = signed(services, "alice", {"symbol": "BTCUSDT", "Symbol": "ETHUSDT"})
    refused = await answer(rest, "GET", "/fapi/v1/commissionRate", twice, headers)
    assert refusal(refused) == (
        400,
        {"code": -1101, "msg": "Duplicate values for a parameter detected."},
    )


# -- durability -------------------------------------------------------------------------

NOW = LOADED
DURABLE = [
    (("POST", "/fapi/v1/leverage"), "alice", SetLeverage("BTCUSDT", 21, NOW)),
    (("POST", "/fapi/v1/marginType"), "alice", SetMarginType("SOLUSDT", MarginType.ISOLATED, NOW)),
    (("POST", "/fapi/v1/positionSide/dual"), "dana", SetPositionMode(PositionMode.HEDGE, NOW)),
    (("POST", "/fapi/v1/positionMargin"), "alice",
     IsolatedMarginTransfer("ETHUSDT", Decimal("100"), PositionSide.BOTH, NOW)),
]  # fmt: skip


@pytest.mark.parametrize(("route", "account", "event"), DURABLE, ids=[r[0][1] for r in DURABLE])
async def test_a_write_answers_only_once_the_store_holds_it(
    rest: RestService,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    route: tuple[str, str],
    account: str,
    event: Any,
) -> None:
    store = services.store
    commit = store.commit
    gate = asyncio.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return await commit(*args, **kwargs)

    monkeypatch.setattr(store, "commit", held)
    key = ACCOUNTS[account][0]
    sent = signed(services, account, TAKEN[route][1])
    headers = {"X-MBX-APIKEY": key, "Content-Type": FORM}
    pending = rest.handle(*route, "", headers, sent.encode(), IP)
    assert not isinstance(pending, HttpResponse)  # a write answers once committed
    task = asyncio.ensure_future(pending)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()
    gate.set()
    response = await asyncio.wait_for(task, 5)
    assert response.status == 200
    snapshot = await store.load()
    last = snapshot.ledger[-1]
    assert (last.account, last.time, last.event) == (account, NOW, event)
    # A server started on this store serves the change.
    replayed = Registry.from_snapshot(snapshot, services.registry.market)
    assert replayed.account(account).account == services.registry.account(account).account


# -- methods ----------------------------------------------------------------------------

PATHS = sorted({path for _, path in WEIGHTS})
WRONG = [(m, p) for p in PATHS for m in (*METHODS, "PATCH") if (m, p) not in WEIGHTS]


@pytest.mark.parametrize(("method", "path"), WRONG, ids=[f"{m} {p}" for m, p in WRONG])
async def test_a_method_the_path_lacks_is_404_5000(
    rest: RestService, services: Services, method: str, path: str
) -> None:
    sent = signed(services, "alice", {"symbol": "BTCUSDT", "leverage": "5"})
    headers = {"X-MBX-APIKEY": HMAC_KEY, "Content-Type": FORM}
    before = await ledger(services)
    response = await answer(rest, method, path, sent, headers, sent.encode())
    assert refusal(response) == (
        404,
        {"code": -5000, "msg": f"Path {path}, Method {method} is invalid"},
    )
    assert used(response) == 1
    assert await ledger(services) == before
