"""The account and balance answers: the builders REST will serve (cached per account and
marks version, always the engine's views) and the four WS API methods on the wire."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import orjson
import pytest

from posrisk.engine import (
    AccountRisk,
    Fill,
    PositionSide,
    Side,
    account_alias,
    account_balances,
    account_information,
)
from posrisk.protocol import canonical_payload, load_private_key
from posrisk.service.accounts import account_balance, account_status
from posrisk.service.api import Connection

from .conftest import ED_KEY, HEDGE_KEY, HEDGE_SECRET, Keys, Services
from .test_api import call, error, signed

pytestmark = pytest.mark.asyncio

LOADED = 1_700_000_000_000  # the scenario's load time: its deposits are stamped with it
METHODS = ("account.status", "v2/account.status", "account.balance", "v2/account.balance")


def decoded(fragment: orjson.Fragment) -> Any:
    return orjson.loads(orjson.dumps(fragment))


def engine_view(services: Services, name: str, build: Any) -> Any:
    registry = services.registry
    risk = AccountRisk(registry.account(name).account, registry.market, registry.marks)
    return orjson.loads(orjson.dumps(build(risk)))


async def test_each_builder_serves_the_engines_view(services: Services) -> None:
    registry = services.registry
    for name in ("alice", "bob"):
        entry = registry.account(name)
        for v2 in (False, True):
            for rest in (False, True):
                served = decoded(account_status(registry, entry, v2=v2, rest=rest))
                expected = engine_view(
                    services, name, partial(account_information, v2=v2, rest=rest)
                )
                assert served == expected, (name, v2, rest)
        served = decoded(account_balance(registry, entry))
        assert served == engine_view(services, name, partial(account_balances, name=name))


async def test_an_answer_is_built_once_per_account_and_marks_version(services: Services) -> None:
    registry = services.registry
    entry = registry.account("alice")
    first = account_status(registry, entry, v2=True, rest=False)
    balance = account_balance(registry, entry)
    assert account_status(registry, entry, v2=True, rest=False) is first
    assert account_balance(registry, entry) is balance
    assert account_status(registry, entry, v2=True, rest=True) is not first
    await services.admin.set_marks({"BTCUSDT": Decimal("22000")})
    moved = account_status(registry, entry, v2=True, rest=False)
    assert moved is not first
    assert decoded(moved)["totalUnrealizedProfit"] == "70.00000000"  # 0.010 × 2000 + 50
    fill = Fill("BTCUSDT", Side.SELL, Decimal("0.010"), Decimal("22000"), PositionSide.BOTH)
    await services.admin.fill("alice", fill, force=True)
    entry = registry.account("alice")
    after = decoded(account_balance(registry, entry))
    # +20 realized on BTCUSDT, stamped with the fill's time (the clock's, as the admin's).
    assert [(b["asset"], b["balance"], b["updateTime"]) for b in after][2] == (
        "USDT",
        "1020.00000000",
        services.clock.now_ms(),
    )


async def test_alices_account_to_the_digit(services: Services) -> None:
    reply = call(services, "account.status", signed(services))
    assert reply["status"] == 200
    result = reply["result"]
    # BTCUSDT cross long 0.010 @ 20000, mark 21123.05052574: uPnL 11.2305052574, notional
    # 211.2305052574 (PIM /20 = 10.56152526287, MM ×0.004); ETHUSDT isolated 10x short
    # 1 @ 1000, mark 950: uPnL 50, PIM 95, MM 3.8, isolated wallet 100 (cross wallet 900).
    assert {k: v for k, v in result.items() if k not in ("assets", "positions")} == {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
        "totalInitialMargin": "105.56152526",
        "totalMaintMargin": "4.64492202",
        "totalWalletBalance": "1000.00000000",
        "totalUnrealizedProfit": "61.23050525",
        "totalMarginBalance": "1061.23050525",
        "totalPositionInitialMargin": "105.56152526",
        "totalOpenOrderInitialMargin": "0.00000000",
        "totalCrossWalletBalance": "900.00000000",
        "totalCrossUnPnl": "11.23050525",
        # 900 + 11.2305052574 − 10.56152526287
        "availableBalance": "900.66897999",
        # min(900, 900 + 0 − 10.56152526287)
        "maxWithdrawAmount": "889.43847473",
    }
    assert [a["asset"] for a in result["assets"]] == ["BTC", "USDC", "USDT"]
    # The isolated fill moved money out of the cross wallet last (the cross one moved none).
    assert result["assets"][2]["updateTime"] == 1700000000002
    assert len(result["positions"]) == len(services.registry.market)
    assert reply["rateLimits"][0]["count"] == 5


async def test_v2_status_rows_are_the_open_sides(services: Services) -> None:
    result = call(services, "v2/account.status", signed(services))["result"]
    assert "feeTier" not in result and result["assets"][0]["marginAvailable"] is True
    assert result["positions"] == [
        {
            "symbol": "BTCUSDT",
            "positionSide": "BOTH",
            "positionAmt": "0.010",
            "unrealizedProfit": "11.23050525",
            "isolatedMargin": "0.00000000",
            "notional": "211.23050525",
            "isolatedWallet": "0",
            "initialMargin": "10.56152526",
            "maintMargin": "0.84492202",
            "updateTime": 1700000000001,
        },
        {
            "symbol": "ETHUSDT",
            "positionSide": "BOTH",
            "positionAmt": "-1.000",
            "unrealizedProfit": "50.00000000",
            "isolatedMargin": "150.00000000",
            "notional": "-950.00000000",
            "isolatedWallet": "100.00000000",
            "initialMargin": "95.00000000",
            "maintMargin": "3.80000000",
            "updateTime": 1700000000002,
        },
    ]


async def test_both_balance_methods_answer_the_same_array(services: Services) -> None:
    v1 = call(services, "account.balance", signed(services, HEDGE_KEY, HEDGE_SECRET))
    v2 = call(services, "v2/account.balance", signed(services, HEDGE_KEY, HEDGE_SECRET))
    assert v1["result"] == v2["result"]
    alias = account_alias("bob")
    assert alias == "ZaDI"
    # Bob: 2.53267053 in; hedge LONG 0.001 @ 22185.2 (no fee), uPnL −1.06214947426,
    # PIM 21.12305052574 / 20 = 1.056152526287.
    assert v1["result"][2] == {
        "accountAlias": alias,
        "asset": "USDT",
        "balance": "2.53267053",
        "crossWalletBalance": "2.53267053",
        "crossUnPnl": "-1.06214947",
        "availableBalance": "0.41436852",
        "maxWithdrawAmount": "0.41436852",
        "marginAvailable": True,
        "updateTime": LOADED,
    }
    assert [b["asset"] for b in v1["result"]] == ["BTC", "USDC", "USDT"]


@pytest.mark.parametrize("method", METHODS)
async def test_each_method_authenticates_and_weighs_5(services: Services, method: str) -> None:
    conn = Connection("10.0.0.7", services.clock.now_ms())
    assert error(call(services, method, {"timestamp": services.clock.now_ms()}, conn=conn)) == (
        400,
        -1102,
        "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.",
    )
    forged = {**signed(services), "signature": "0" * 64}
    assert error(call(services, method, forged, conn=conn))[1] == -1022
    late = signed(services, timestamp=services.clock.now_ms() - 10_000)
    assert error(call(services, method, late, conn=conn))[1] == -1021
    reply = call(services, method, signed(services, symbol="NOTASYMBOL"), conn=conn)
    assert reply["status"] == 200  # params the method does not take are ignored
    assert reply["rateLimits"][0]["count"] == 4 * 5
    assert services.api.rules.weight(method) == 5


async def test_a_logged_on_session_needs_only_a_timestamp(services: Services, keys: Keys) -> None:
    conn = Connection("10.0.0.8", services.clock.now_ms())
    private = load_private_key(keys.ed25519_private)
    logon = {"apiKey": ED_KEY, "timestamp": services.clock.now_ms()}
    logon["signature"] = private.sign(canonical_payload(logon))
    assert call(services, "session.logon", logon, conn=conn)["status"] == 200
    for method in METHODS:
        reply = call(services, method, {"timestamp": services.clock.now_ms()}, conn=conn)
        assert reply["status"] == 200, method
    balances = call(services, "account.balance", {"timestamp": 0}, conn=conn)
    assert error(balances)[1] == -1021
    result = call(services, "v2/account.balance", {"timestamp": services.clock.now_ms()}, conn=conn)
    assert result["result"][0]["accountAlias"] == account_alias("alice") == "rIGt"
