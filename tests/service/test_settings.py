"""The account owner's settings: every success body exactly, every refusal with Binance's
code and text in Binance's check order, the stream events, and the ledger surviving a
restart.

The known scenario (conftest): alice, one-way, 1000 USDT, BTCUSDT cross 20x long 0.010 @
20000, ETHUSDT isolated 10x short 1 @ 1000 (isolated wallet 100; at the mark 950: PIM 95,
uPnL +50), availableBalance 900.66897999453; bob, hedge, BTCUSDT LONG 0.001 @ 22185.2
cross 20x (notional 21.12305052574 at the mark), availableBalance 0.414368529453.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.engine import (
    EngineError,
    Fill,
    IsolatedMarginTransfer,
    MarginType,
    Order,
    OrderType,
    PositionMode,
    PositionSide,
    SetLeverage,
    Side,
    WalletTransfer,
)
from posrisk.errors import PosriskError
from posrisk.protocol import WireError
from posrisk.service.admin import AdminService
from posrisk.service.operations import AdminOperations
from posrisk.service.settings import (
    SERVICE_ROUTES,
    VIEW_ROUTES,
    WEIGHTS,
    account_config,
    change_leverage,
    change_margin_type,
    change_multi_assets,
    change_position_margin,
    change_position_mode,
    commission_rate,
    multi_assets,
    position_margin_history,
    position_mode,
    symbol_config,
)
from posrisk.service.streams import UserStreams

from .conftest import HEDGE_KEY, HMAC_KEY, Env, Services, restarted
from .test_streams import FakeSink

pytestmark = pytest.mark.asyncio

NOW = 1_700_000_000_000
D = Decimal
Write = Callable[[AdminService, str, Any], Awaitable[Any]]


async def refused(write: Write, admin: AdminService, account: str, params: Any) -> tuple[int, str]:
    """The code and text of a refused write; the ledger must not have moved."""
    revision = admin.registry.revision
    with pytest.raises((WireError, EngineError)) as info:
        await write(admin, account, params)
    assert admin.registry.revision == revision
    error = info.value
    assert isinstance(error, WireError | EngineError)
    return error.code, error.msg


def streamed(services: Services, key: str = HMAC_KEY, account: str = "alice") -> FakeSink:
    streams = UserStreams(services.registry)
    services.registry.subscribe(streams.on_state_changed)
    sink = FakeSink()
    streams.attach(streams.start(key, account, NOW), sink, NOW)
    return sink


def body(result: Any) -> bytes:
    return orjson.dumps(result)


# -- leverage ---------------------------------------------------------------------------


async def test_leverage_answers_binances_body_and_sends_account_config_update(
    services: Services,
) -> None:
    sink = streamed(services)
    result = await change_leverage(services.admin, "alice", {"symbol": "BTCUSDT", "leverage": "21"})
    assert body(result) == b'{"leverage":21,"maxNotionalValue":"70000000","symbol":"BTCUSDT"}'
    settings = services.registry.accounts["alice"].account.settings["BTCUSDT"]
    assert settings.leverage == 21
    assert sink.events() == [
        {"e": "ACCOUNT_CONFIG_UPDATE", "E": NOW, "T": NOW, "ac": {"s": "BTCUSDT", "l": 21}}
    ]


async def test_the_same_leverage_again_succeeds_changes_nothing_and_is_told(
    services: Services,
) -> None:
    sink = streamed(services)
    before = services.registry.accounts["alice"].account
    result = await change_leverage(services.admin, "alice", {"symbol": "BTCUSDT", "leverage": "20"})
    assert body(result) == b'{"leverage":20,"maxNotionalValue":"100000000","symbol":"BTCUSDT"}'
    assert services.registry.accounts["alice"].account.settings_for(
        services.registry.market["BTCUSDT"]
    ) == before.settings_for(services.registry.market["BTCUSDT"])
    assert sink.events() == [
        {"e": "ACCOUNT_CONFIG_UPDATE", "E": NOW, "T": NOW, "ac": {"s": "BTCUSDT", "l": 20}}
    ]


@pytest.mark.parametrize(
    ("account", "params", "code", "msg"),
    [
        ("alice", {"leverage": "5"}, -1102, "Mandatory parameter 'symbol' was not sent, was "
         "empty/null, or malformed."),
        ("alice", {"symbol": "BTCUSDT"}, -1102, "Mandatory parameter 'leverage' was not sent, "
         "was empty/null, or malformed."),
        ("alice", {"symbol": "BTCUSDT", "leverage": "-5"}, -1100, "Illegal characters found in "
         "parameter 'leverage'; legal range is '^[0-9]{1,20}$'."),
        # -1121 before -4028.
        ("alice", {"symbol": "NOPEUSDT", "leverage": "200"}, -1121, "Invalid symbol."),
        ("alice", {"symbol": "BTCUSDT", "leverage": "0"}, -4028, "Leverage 0 is not valid"),
        ("alice", {"symbol": "BTCUSDT", "leverage": "126"}, -4028, "Leverage 126 is not valid"),
        # -4028 before -4161 (ETHUSDT is isolated with a position).
        ("alice", {"symbol": "ETHUSDT", "leverage": "200"}, -4028, "Leverage 200 is not valid"),
        ("alice", {"symbol": "ETHUSDT", "leverage": "5"}, -4161, "Leverage reduction is not "
         "supported in Isolated Margin Mode with open positions."),
        # bob's lower leverage needs 0.4526 more margin at 14x; 0.41436852 is available.
        ("bob", {"symbol": "BTCUSDT", "leverage": "14"}, -2028, "Leverage is smaller than "
         "permitted: insufficient margin balance."),
        ("bob", {"symbol": "BTCUSDT", "leverage": "1"}, -2028, "Leverage is smaller than "
         "permitted: insufficient margin balance."),
    ],
)  # fmt: skip
async def test_leverage_refusals_in_binances_order(
    services: Services, account: str, params: dict[str, str], code: int, msg: str
) -> None:
    assert await refused(change_leverage, services.admin, account, params) == (code, msg)


async def test_a_lower_leverage_within_the_available_balance_is_taken(services: Services) -> None:
    # bob at 15x: 21.12305052574 / 15 − 1.056152526287 = 0.35205 more, under 0.41436852.
    result = await change_leverage(services.admin, "bob", {"symbol": "BTCUSDT", "leverage": "15"})
    assert result == {"leverage": 15, "maxNotionalValue": "100000000", "symbol": "BTCUSDT"}
    # Raising the leverage of an isolated side with a position is allowed.
    raised = await change_leverage(services.admin, "alice", {"symbol": "ETHUSDT", "leverage": "20"})
    assert raised["leverage"] == 20


async def test_a_held_side_over_the_new_cap_is_2027(services: Services) -> None:
    admin = services.admin
    await admin.create_account("carol")
    await admin.wallet("carol", "USDT", D("100000"))
    await admin.fill("carol", Fill("BTCUSDT", Side.BUY, D("1"), D("60000")))
    # 60000 of notional: bracket 1 (125x) caps at 50000.
    params = {"symbol": "BTCUSDT", "leverage": "125"}
    assert await refused(change_leverage, admin, "carol", params) == (
        -2027,
        "Exceeded the maximum allowable position at current leverage.",
    )
    result = await change_leverage(admin, "carol", {"symbol": "BTCUSDT", "leverage": "100"})
    assert result["maxNotionalValue"] == "600000"


# -- margin type ------------------------------------------------------------------------


async def test_margin_type_any_case_answers_success_and_sends_margin_type_change(
    services: Services,
) -> None:
    sink = streamed(services)
    params = {"symbol": "SOLUSDT", "marginType": "isolated"}
    assert body(await change_margin_type(services.admin, "alice", params)) == (
        b'{"code":200,"msg":"success"}'
    )
    account = services.registry.accounts["alice"].account
    assert account.settings["SOLUSDT"].margin_type is MarginType.ISOLATED
    [event] = sink.events()
    assert (event["e"], event["a"]["m"], event["a"]["B"]) == (
        "ACCOUNT_UPDATE",
        "MARGIN_TYPE_CHANGE",
        [],
    )
    assert [(p["s"], p["mt"], p["ps"]) for p in event["a"]["P"]] == [
        ("SOLUSDT", "isolated", "BOTH")
    ]
    back = {"symbol": "SOLUSDT", "marginType": "Crossed"}
    assert await change_margin_type(services.admin, "alice", back) == {
        "code": 200,
        "msg": "success",
    }


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"symbol": "BTCUSDT"}, -1102, "Mandatory parameter 'marginType' was not sent, was "
         "empty/null, or malformed."),
        ({"symbol": "NOPEUSDT", "marginType": "ISOLATED"}, -1121, "Invalid symbol."),
        # Binance's word is CROSSED: -1130 before -4046 (ETHUSDT is isolated already).
        ({"symbol": "ETHUSDT", "marginType": "CROSS"}, -1130, "Data sent for parameter "
         "'marginType' is not valid."),
        ({"symbol": "ETHUSDT", "marginType": "ISOLATED"}, -4046, "No need to change margin "
         "type."),
        ({"symbol": "BTCUSDT", "marginType": "ISOLATED"}, -4048, "Margin type cannot be "
         "changed if there exists position."),
    ],
)  # fmt: skip
async def test_margin_type_refusals_in_binances_order(
    services: Services, params: dict[str, str], code: int, msg: str
) -> None:
    assert await refused(change_margin_type, services.admin, "alice", params) == (code, msg)


async def test_open_orders_keep_margin_type_and_position_mode(services: Services) -> None:
    """-4047 and -4067 come after "no need to change" and before "a position exists"."""
    entry = services.registry.account("alice")
    order = Order(1000000001, "c", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal(1), Decimal(90))
    entry.account = replace(entry.account, orders={order.order_id: order})
    admin = services.admin
    same = {"symbol": "ETHUSDT", "marginType": "ISOLATED"}
    assert (await refused(change_margin_type, admin, "alice", same))[0] == -4046
    held = {"symbol": "BTCUSDT", "marginType": "ISOLATED"}
    assert await refused(change_margin_type, admin, "alice", held) == (
        -4047,
        "Margin type cannot be changed if there exists open orders.",
    )
    assert (await refused(change_position_mode, admin, "alice", {"dualSidePosition": "false"}))[
        0
    ] == -4059
    assert await refused(change_position_mode, admin, "alice", {"dualSidePosition": "true"}) == (
        -4067,
        "Position side cannot be changed if there exists open orders.",
    )


# -- position mode ----------------------------------------------------------------------


async def test_position_mode_changes_reads_back_and_sends_nothing(services: Services) -> None:
    admin = services.admin
    await admin.create_account("dana")
    entry = services.registry.accounts["dana"]
    sink = streamed(services, "danaKey", "dana")
    assert position_mode(services.registry, entry, {}) == {"dualSidePosition": False}
    result = await change_position_mode(admin, "dana", {"dualSidePosition": "True"})
    assert body(result) == b'{"code":200,"msg":"success"}'
    assert body(position_mode(services.registry, entry, {})) == b'{"dualSidePosition":true}'
    assert entry.account.position_mode is PositionMode.HEDGE
    assert await change_position_mode(admin, "dana", {"dualSidePosition": "FALSE"}) == {
        "code": 200,
        "msg": "success",
    }
    assert entry.account.position_mode is PositionMode.ONE_WAY
    assert sink.messages == []


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({}, -1102, "Mandatory parameter 'dualSidePosition' was not sent, was empty/null, or "
         "malformed."),
        ({"dualSidePosition": "yes"}, -1130, "Data sent for parameter 'dualSidePosition' is "
         "not valid."),
        # -4059 before -4068: alice holds positions and is one-way already.
        ({"dualSidePosition": "false"}, -4059, "No need to change position side."),
        ({"dualSidePosition": "true"}, -4068, "Position side cannot be changed if there "
         "exists position."),
    ],
)  # fmt: skip
async def test_position_mode_refusals_in_binances_order(
    services: Services, params: dict[str, str], code: int, msg: str
) -> None:
    assert await refused(change_position_mode, services.admin, "alice", params) == (code, msg)


# -- multi-assets mode ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code", "msg"),
    [
        ("true", -1020, "This operation is not supported."),
        ("TRUE", -1020, "This operation is not supported."),
        ("false", -4171, "Adjusted asset mode is currently set and does not need to be "
         "adjusted repeatedly."),
        ("", -1102, "Mandatory parameter 'multiAssetsMargin' was not sent, was empty/null, or "
         "malformed."),
        ("1", -1130, "Data sent for parameter 'multiAssetsMargin' is not valid."),
    ],
)  # fmt: skip
async def test_multi_assets_mode_is_never_changed(
    services: Services, value: str, code: int, msg: str
) -> None:
    params = {"multiAssetsMargin": value}
    assert await refused(change_multi_assets, services.admin, "alice", params) == (code, msg)
    entry = services.registry.accounts["alice"]
    assert body(multi_assets(services.registry, entry, {})) == b'{"multiAssetsMargin":false}'


# -- position margin --------------------------------------------------------------------


async def test_adding_and_removing_position_margin(services: Services) -> None:
    sink = streamed(services)
    admin = services.admin
    params = {"symbol": "ETHUSDT", "amount": "100", "type": "1"}
    assert body(await change_position_margin(admin, "alice", params)) == (
        b'{"amount":100.0,"code":200,"msg":"Successfully modify position margin.","type":1}'
    )
    eth = services.registry.accounts["alice"].account.positions[("ETHUSDT", PositionSide.BOTH)]
    assert eth.isolated_wallet == D("200")
    # Removable now: 200 + min(0, 50) − 95 = 105, all of it.
    services.clock.advance(1000)
    params = {"symbol": "ETHUSDT", "positionSide": "BOTH", "amount": "105.50", "type": "2"}
    assert await refused(change_position_margin, admin, "alice", params) == (
        -4051,
        "Isolated balance insufficient.",
    )
    params["amount"] = "104.50"
    assert body(await change_position_margin(admin, "alice", params)) == (
        b'{"amount":104.5,"code":200,"msg":"Successfully modify position margin.","type":2}'
    )
    [added, removed] = sink.events()
    for event, amount in ((added, "200.00000000"), (removed, "95.50000000")):
        assert (event["e"], event["a"]["m"]) == ("ACCOUNT_UPDATE", "MARGIN_TRANSFER")
        assert [(b["a"], b["bc"]) for b in event["a"]["B"]] == [("USDT", "0")]
        [position] = event["a"]["P"]
        assert (position["s"], position["ps"], position["iw"]) == ("ETHUSDT", "BOTH", amount)
    assert (added["E"], removed["E"]) == (NOW, NOW + 1000)


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"symbol": "ETHUSDT", "type": "1"}, -1102, "Mandatory parameter 'amount' was not "
         "sent, was empty/null, or malformed."),
        ({"symbol": "ETHUSDT", "amount": "1"}, -1102, "Mandatory parameter 'type' was not "
         "sent, was empty/null, or malformed."),
        ({"symbol": "ETHUSDT", "amount": "-1", "type": "1"}, -1100, "Illegal characters found "
         "in parameter 'amount'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."),
        ({"symbol": "NOPEUSDT", "amount": "1", "type": "1"}, -1121, "Invalid symbol."),
        # -4061 before -1130 (type) before -4055 before -4049.
        ({"symbol": "BTCUSDT", "positionSide": "LONG", "amount": "0", "type": "3"}, -4061,
         "Order's position side does not match user's setting."),
        ({"symbol": "BTCUSDT", "amount": "0", "type": "3"}, -1130, "Data sent for parameter "
         "'type' is not valid."),
        ({"symbol": "BTCUSDT", "amount": "0.0", "type": "1"}, -4055, "Amount must be "
         "positive."),
        ({"symbol": "BTCUSDT", "amount": "1", "type": "1"}, -4049, "Add margin only support "
         "for isolated position."),
        # availableBalance is 900.66897999453.
        ({"symbol": "ETHUSDT", "amount": "900.67", "type": "1"}, -4050, "Cross balance "
         "insufficient."),
        # Removable: 100 + min(0, +50) − 95 = 5.
        ({"symbol": "ETHUSDT", "amount": "5.00000001", "type": "2"}, -4051, "Isolated balance "
         "insufficient."),
        ({"symbol": "ETHUSDT", "amount": "0.000000001", "type": "1"}, -1130, "Data sent for "
         "parameter 'amount' is not valid."),
    ],
)  # fmt: skip
async def test_position_margin_refusals_in_binances_order(
    services: Services, params: dict[str, str], code: int, msg: str
) -> None:
    assert await refused(change_position_margin, services.admin, "alice", params) == (code, msg)


async def test_a_flat_isolated_side_is_4054_and_the_available_balance_bounds_adding(
    services: Services,
) -> None:
    admin = services.admin
    await change_margin_type(admin, "alice", {"symbol": "SOLUSDT", "marginType": "ISOLATED"})
    flat = {"symbol": "SOLUSDT", "amount": "1", "type": "1"}
    assert await refused(change_position_margin, admin, "alice", flat) == (
        -4054,
        "Cannot add position margin: position is 0.",
    )
    # BTCUSDT marked at 15000: availableBalance 900 − 50 − 7.5 = 842.5, under the cross
    # wallet's 900: that is the bound.
    await admin.set_marks({"BTCUSDT": D("15000")})
    over = {"symbol": "ETHUSDT", "amount": "842.50000001", "type": "1"}
    assert (await refused(change_position_margin, admin, "alice", over))[0] == -4050
    result = await change_position_margin(admin, "alice", {**over, "amount": "842.5"})
    assert body(result) == (
        b'{"amount":842.5,"code":200,"msg":"Successfully modify position margin.","type":1}'
    )


async def test_hedge_mode_needs_the_position_side(services: Services) -> None:
    admin = services.admin
    await change_margin_type(admin, "bob", {"symbol": "ETHUSDT", "marginType": "ISOLATED"})
    params = {"symbol": "ETHUSDT", "amount": "1", "type": "1"}
    assert (await refused(change_position_margin, admin, "bob", params))[0] == -4061
    params["positionSide"] = "SHORT"
    assert (await refused(change_position_margin, admin, "bob", params))[0] == -4054
    params["positionSide"] = "short"
    assert await refused(change_position_margin, admin, "bob", params) == (
        -1130,
        "Data sent for parameter 'positionSide' is not valid.",
    )


async def test_position_margin_history_reads_the_ledger(services: Services) -> None:
    admin, clock = services.admin, services.clock
    add = {"symbol": "ETHUSDT", "amount": "10", "type": "1"}
    await change_position_margin(admin, "alice", add)
    clock.advance(1000)
    await change_position_margin(admin, "alice", {**add, "amount": "2.5", "type": "2"})
    clock.advance(1000)
    await change_position_margin(admin, "alice", {**add, "amount": "0.00000001"})
    rows = await position_margin_history(admin, "alice", {"symbol": "ETHUSDT"})
    assert rows == [
        {
            "symbol": "ETHUSDT",
            "type": kind,
            "deltaType": "USER_ADJUST",
            "amount": amount,
            "asset": "USDT",
            "time": time,
            "positionSide": "BOTH",
        }
        for kind, amount, time in (
            (1, "10", NOW),
            (2, "2.5", NOW + 1000),
            (1, "0.00000001", NOW + 2000),
        )
    ]
    reads = {
        "type=2": ({"type": "2"}, [NOW + 1000]),
        "limit, latest": ({"limit": "2"}, [NOW + 1000, NOW + 2000]),
        "limit from start": ({"startTime": str(NOW), "limit": "1"}, [NOW]),
        "window": ({"startTime": str(NOW + 1), "endTime": str(NOW + 1000)}, [NOW + 1000]),
        "other symbol": ({"symbol": "BTCUSDT"}, []),
    }
    for name, (params, times) in reads.items():
        got = await position_margin_history(admin, "alice", {"symbol": "ETHUSDT", **params})
        assert [r["time"] for r in got] == times, name
    for params, code in (
        ({}, -1102),
        ({"symbol": "NOPEUSDT"}, -1121),
        ({"symbol": "ETHUSDT", "type": "3"}, -1130),
        ({"symbol": "ETHUSDT", "limit": "0"}, -1130),
        ({"symbol": "ETHUSDT", "limit": "501"}, -1130),
        ({"symbol": "ETHUSDT", "startTime": "2", "endTime": "1"}, -1130),
    ):
        with pytest.raises(WireError) as info:
            await position_margin_history(admin, "alice", params)
        assert info.value.code == code


# -- reads ------------------------------------------------------------------------------


async def test_symbol_config_one_symbol_or_all(services: Services) -> None:
    registry = services.registry
    alice = registry.accounts["alice"]
    assert body(symbol_config(registry, alice, {"symbol": "BTCUSDT"})) == (
        b'[{"symbol":"BTCUSDT","marginType":"CROSSED","isAutoAddMargin":false,"leverage":20,'
        b'"maxNotionalValue":"100000000"}]'
    )
    assert symbol_config(registry, alice, {"symbol": "ETHUSDT"}) == [
        {
            "symbol": "ETHUSDT",
            "marginType": "ISOLATED",
            "isAutoAddMargin": False,
            "leverage": 10,
            "maxNotionalValue": "150000000",
        }
    ]
    every = symbol_config(registry, alice, {})
    assert [row["symbol"] for row in every] == list(registry.market.names)
    with pytest.raises(WireError) as info:
        symbol_config(registry, alice, {"symbol": "NOPEUSDT"})
    assert info.value.code == -1121


async def test_account_config(services: Services) -> None:
    registry = services.registry
    expected = (
        b'{"feeTier":0,"canTrade":true,"canDeposit":true,"canWithdraw":true,'
        b'"dualSidePosition":%s,"updateTime":0,"multiAssetsMargin":false,"tradeGroupId":-1}'
    )
    assert body(account_config(registry, registry.accounts["alice"], {})) == expected % b"false"
    assert body(account_config(registry, registry.accounts["bob"], {})) == expected % b"true"


async def test_commission_rate_defaults_and_refusals(services: Services) -> None:
    registry = services.registry
    alice = registry.accounts["alice"]
    assert body(commission_rate(registry, alice, {"symbol": "BTCUSDT"})) == (
        b'{"symbol":"BTCUSDT","makerCommissionRate":"0.0002","takerCommissionRate":"0.0005"}'
    )
    for params, code in (({}, -1102), ({"symbol": "NOPEUSDT"}, -1121)):
        with pytest.raises(WireError) as info:
            commission_rate(registry, alice, params)
        assert info.value.code == code


async def test_the_weights_are_binances() -> None:
    assert WEIGHTS[("POST", "/fapi/v1/leverage")] == 1
    assert WEIGHTS[("GET", "/fapi/v1/positionSide/dual")] == 30
    assert WEIGHTS[("GET", "/fapi/v1/commissionRate")] == 20
    assert WEIGHTS[("GET", "/fapi/v1/symbolConfig")] == 5
    assert len(WEIGHTS) == 11
    assert set(WEIGHTS) == set(SERVICE_ROUTES) | set(VIEW_ROUTES)
    assert not set(SERVICE_ROUTES) & set(VIEW_ROUTES)


# -- commission, persistence ------------------------------------------------------------


async def test_commission_per_account_and_symbol_through_the_admin_operations(
    env: Env,
) -> None:
    admin = env.admin
    await admin.create_account("alice")
    operations = AdminOperations(admin)
    answer = await operations.commission(
        "alice", {"maker": "0.00010", "symbols": {"ETHUSDC": {"maker": "0", "taker": "0.0004"}}}
    )
    assert answer == {
        "name": "alice",
        "commission": {
            "maker": "0.0001",
            "taker": "0.0005",
            "symbols": {"ETHUSDC": {"maker": "0", "taker": "0.0004"}},
        },
    }
    registry = env.registry
    entry = registry.accounts["alice"]
    rates = {
        symbol: commission_rate(registry, entry, {"symbol": symbol})
        for symbol in ("BTCUSDT", "ETHUSDC")
    }
    assert rates == {
        "BTCUSDT": {
            "symbol": "BTCUSDT",
            "makerCommissionRate": "0.0001",
            "takerCommissionRate": "0.0005",
        },
        "ETHUSDC": {
            "symbol": "ETHUSDC",
            "makerCommissionRate": "0",
            "takerCommissionRate": "0.0004",
        },
    }
    # A PUT replaces: what it leaves out is the default again.
    await operations.commission("alice", {"taker": "0.0003"})
    _, after = await restarted(env.path)
    assert commission_rate(after, after.accounts["alice"], {"symbol": "ETHUSDC"}) == {
        "symbol": "ETHUSDC",
        "makerCommissionRate": "0.0002",
        "takerCommissionRate": "0.0003",
    }


@pytest.mark.parametrize(
    ("body_", "code"),
    [
        ({"maker": "1"}, -1130),
        ({"taker": "0.000000001"}, -1130),
        ({"maker": 0.1}, -1130),
        ({"symbols": {"NOPEUSDT": {"maker": "0"}}}, -1121),
        ({"symbols": {"BTCUSDT": {"rebate": "0"}}}, -1130),
        ({"fee": "0"}, -1130),
    ],
)
async def test_unusable_commission_is_refused(env: Env, body_: dict[str, Any], code: int) -> None:
    await env.admin.create_account("alice")
    with pytest.raises(PosriskError) as info:
        await AdminOperations(env.admin).commission("alice", body_)
    assert getattr(info.value, "code", None) == code


async def test_a_scenario_sets_commission(env: Env) -> None:
    document = {
        "accounts": [
            {"name": "erin", "commission": {"taker": "0.0004", "symbols": {"BTCUSDT": {}}}}
        ]
    }
    await env.admin.load_scenario(document)
    entry = env.registry.accounts["erin"]
    rate = commission_rate(env.registry, entry, {"symbol": "BTCUSDT"})
    assert (rate["makerCommissionRate"], rate["takerCommissionRate"]) == ("0.0002", "0.0004")
    bad = {"accounts": [{"name": "finn", "commission": {"maker": "-1"}}]}
    with pytest.raises(PosriskError) as info:
        await env.admin.load_scenario(bad)
    assert "account 'finn', commission" in str(info.value)


async def test_every_setting_survives_a_restart(env: Env) -> None:
    admin = env.admin
    await admin.create_account("alice")
    await admin.wallet("alice", "USDT", D("1000"))
    await change_position_mode(admin, "alice", {"dualSidePosition": "true"})
    await change_leverage(admin, "alice", {"symbol": "ETHUSDT", "leverage": "10"})
    await change_margin_type(admin, "alice", {"symbol": "ETHUSDT", "marginType": "ISOLATED"})
    await admin.fill("alice", Fill("ETHUSDT", Side.SELL, D("1"), D("1000"), PositionSide.SHORT))
    margin = {"symbol": "ETHUSDT", "positionSide": "SHORT", "amount": "25", "type": "1"}
    await change_position_margin(admin, "alice", margin)
    live = env.registry.accounts["alice"].account
    snapshot, registry = await restarted(env.path)
    assert registry.accounts["alice"].account == live
    replayed = registry.accounts["alice"].account
    assert replayed.position_mode is PositionMode.HEDGE
    assert replayed.settings["ETHUSDT"].leverage == 10
    assert replayed.settings["ETHUSDT"].margin_type is MarginType.ISOLATED
    assert replayed.positions[("ETHUSDT", PositionSide.SHORT)].isolated_wallet == D("125")
    kinds = [type(record.event) for record in snapshot.ledger]
    assert kinds.count(SetLeverage) == 1 and kinds.count(IsolatedMarginTransfer) == 1
    assert WalletTransfer in kinds


async def test_another_gateways_leverage_reaches_this_gateways_streams(
    services: Services,
) -> None:
    """The config event comes from the StateChanged, so a catch-up delivers it too."""
    other = AdminService(
        services.store, type(services.registry)(services.registry.market), services.clock
    )
    await other.catch_up()
    sink = streamed(services, HEDGE_KEY, "bob")
    await change_leverage(other, "bob", {"symbol": "BTCUSDT", "leverage": "25"})
    assert sink.messages == []
    await services.admin.catch_up()
    assert sink.events() == [
        {"e": "ACCOUNT_CONFIG_UPDATE", "E": NOW, "T": NOW, "ac": {"s": "BTCUSDT", "l": 25}}
    ]
