"""``account.status`` (v1, v2, their REST twins) and the balance array, field by field and
in Binance's order."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from posrisk.engine import (
    Account,
    AccountRisk,
    Fill,
    LeverageBracket,
    MarginType,
    Market,
    Order,
    OrderType,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    Symbol,
    WalletTransfer,
    account_alias,
    account_balances,
    account_config,
    account_information,
    symbol_config_row,
)

from .conftest import D, run
from .test_assets import FILLED, hedged, worked_example

BUY, SELL = Side.BUY, Side.SELL
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH
MARKS = {"BTCUSDT": D("92000")}
CONFIG = ["feeTier", "canTrade", "canDeposit", "canWithdraw", "updateTime"]
CONFIG += ["multiAssetsMargin", "tradeGroupId"]
TOTALS = [
    "totalInitialMargin",
    "totalMaintMargin",
    "totalWalletBalance",
    "totalUnrealizedProfit",
    "totalMarginBalance",
    "totalPositionInitialMargin",
    "totalOpenOrderInitialMargin",
    "totalCrossWalletBalance",
    "totalCrossUnPnl",
    "availableBalance",
    "maxWithdrawAmount",
]
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
    "marginAvailable": True,
    "updateTime": 0,
}
USDT_ASSET = {
    "asset": "USDT",
    "walletBalance": "999.90826010",
    "unrealizedProfit": "0.52020000",
    "marginBalance": "1000.42846010",
    "maintMargin": "0.73600000",
    "initialMargin": "9.20000000",
    "positionInitialMargin": "9.20000000",
    "openOrderInitialMargin": "0.00000000",
    "crossWalletBalance": "999.90826010",
    "crossUnPnl": "0.52020000",
    "availableBalance": "991.22846010",
    "maxWithdrawAmount": "990.70826010",
    "marginAvailable": True,
    "updateTime": FILLED,
}


def status(account: Account, market: Market, *, v2: bool, rest: bool = False):
    return account_information(AccountRisk(account, market, MARKS), v2=v2, rest=rest)


def test_v1_of_the_worked_example(market: Market) -> None:
    result = status(worked_example(market), market, v2=False)
    assert list(result) == [*CONFIG, *TOTALS, "assets", "positions"]
    assert {k: result[k] for k in CONFIG} == {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }
    assert {k: result[k] for k in TOTALS} == {
        "totalInitialMargin": "9.20000000",
        "totalMaintMargin": "0.73600000",
        "totalWalletBalance": "999.90826010",
        "totalUnrealizedProfit": "0.52020000",
        "totalMarginBalance": "1000.42846010",
        "totalPositionInitialMargin": "9.20000000",
        "totalOpenOrderInitialMargin": "0.00000000",
        "totalCrossWalletBalance": "999.90826010",
        "totalCrossUnPnl": "0.52020000",
        "availableBalance": "991.22846010",
        "maxWithdrawAmount": "990.70826010",
    }
    # Every margin asset of the market, by name.
    assert result["assets"] == [
        {"asset": "BTC", **ZERO_ASSET},
        {"asset": "USDC", **ZERO_ASSET},
        USDT_ASSET,
    ]
    assert list(USDT_ASSET) == list(result["assets"][2])
    rows = result["positions"]
    assert [(r["symbol"], r["positionSide"]) for r in rows] == [(n, "BOTH") for n in market.names]
    btc = next(r for r in rows if r["symbol"] == "BTCUSDT")
    assert btc == {
        "symbol": "BTCUSDT",
        "initialMargin": "9.20000000",
        "maintMargin": "0.73600000",
        "unrealizedProfit": "0.52020000",
        "positionInitialMargin": "9.20000000",
        "openOrderInitialMargin": "0",
        "leverage": "20",
        "isolated": False,
        "entryPrice": "91739.9",
        # 91739.9 + 0.0917399 / 0.002
        "breakEvenPrice": "91785.76995",
        "maxNotional": "100000000",
        "bidNotional": "0",
        "askNotional": "0",
        "positionSide": "BOTH",
        "positionAmt": "0.002",
        "updateTime": FILLED,
    }
    assert list(btc) == list(rows[0])
    eth = next(r for r in rows if r["symbol"] == "ETHUSDT")
    assert eth == {
        "symbol": "ETHUSDT",
        "initialMargin": "0",
        "maintMargin": "0",
        "unrealizedProfit": "0.00000000",
        "positionInitialMargin": "0",
        "openOrderInitialMargin": "0",
        "leverage": "20",
        "isolated": False,
        "entryPrice": "0.0",
        "breakEvenPrice": "0.0",
        "maxNotional": eth["maxNotional"],
        "bidNotional": "0",
        "askNotional": "0",
        "positionSide": "BOTH",
        "positionAmt": "0.000",
        "updateTime": 0,
    }
    assert eth["maxNotional"].isdigit()


def test_v1_over_rest_adds_fee_burn(market: Market) -> None:
    ws = status(worked_example(market), market, v2=False)
    rest = status(worked_example(market), market, v2=False, rest=True)
    assert list(rest) == ["feeTier", "feeBurn", *CONFIG[1:], *TOTALS, "assets", "positions"]
    assert rest["feeBurn"] is False
    del rest["feeBurn"]
    assert rest == ws


def test_v2_of_the_worked_example_with_a_resting_order(market: Market) -> None:
    # A resting BUY LIMIT 0.002 @ 90000 at 20x holds 0.002 × 90000 / 20 = 9.
    resting = Order(7, "rest", "BTCUSDT", BUY, OrderType.LIMIT, D("0.002"), D("90000"))
    account = replace(worked_example(market), orders={resting.order_id: resting})
    result = status(account, market, v2=True)
    assert list(result) == [*TOTALS, "assets", "positions"]
    assert (result["totalInitialMargin"], result["totalOpenOrderInitialMargin"]) == (
        "18.20000000",
        "9.00000000",
    )
    assert (result["availableBalance"], result["maxWithdrawAmount"]) == (
        "982.22846010",
        "981.70826010",
    )
    usdt = result["assets"][2]
    assert usdt["marginAvailable"] is True
    assert (usdt["initialMargin"], usdt["openOrderInitialMargin"]) == ("18.20000000", "9.00000000")
    assert result["positions"] == [
        {
            "symbol": "BTCUSDT",
            "positionSide": "BOTH",
            "positionAmt": "0.002",
            "unrealizedProfit": "0.52020000",
            "isolatedMargin": "0.00000000",
            "notional": "184.00000000",
            "isolatedWallet": "0",
            "initialMargin": "18.20000000",
            "maintMargin": "0.73600000",
            "updateTime": FILLED,
        }
    ]


def test_v2_over_rest_has_no_margin_available(market: Market) -> None:
    ws = status(worked_example(market), market, v2=True)
    rest = status(worked_example(market), market, v2=True, rest=True)
    assert [list(a)[-2:] for a in rest["assets"]] == [["maxWithdrawAmount", "updateTime"]] * 3
    for asset in ws["assets"]:
        del asset["marginAvailable"]
    assert rest == ws


def test_isolated_rows(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000"), 1),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", BUY, D("0.010"), D("20000"), fee=D("0.08"), time=FILLED),
        ],
        market,
    )
    risk = AccountRisk(account, market, {"BTCUSDT": D("19000")})
    v1 = account_information(risk, v2=False, rest=False)
    v2 = account_information(risk, v2=True, rest=False)
    row = next(r for r in v1["positions"] if r["symbol"] == "BTCUSDT")
    assert (row["isolated"], row["leverage"], row["maxNotional"]) == (True, "10", "230000000")
    assert (row["initialMargin"], row["maintMargin"], row["unrealizedProfit"]) == (
        "19.00000000",
        "0.76000000",
        "-10.00000000",
    )
    assert v2["positions"] == [
        {
            "symbol": "BTCUSDT",
            "positionSide": "BOTH",
            "positionAmt": "0.010",
            "unrealizedProfit": "-10.00000000",
            # isolated wallet 19.92 + uPnL −10
            "isolatedMargin": "9.92000000",
            "notional": "190.00000000",
            "isolatedWallet": "19.92000000",
            "initialMargin": "19.00000000",
            "maintMargin": "0.76000000",
            "updateTime": FILLED,
        }
    ]
    assert (v2["totalCrossWalletBalance"], v2["availableBalance"]) == ("980.00000000",) * 2


def test_hedge_rows(market: Market) -> None:
    risk = AccountRisk(hedged(market), market, {"BTCUSDT": D("20500")})
    v1 = account_information(risk, v2=False, rest=False)
    assert len(v1["positions"]) == 2 * len(market.names)
    btc = [r for r in v1["positions"] if r["symbol"] == "BTCUSDT"]
    assert [(r["positionSide"], r["positionAmt"], r["initialMargin"]) for r in btc] == [
        ("LONG", "0.010", "10.25000000"),
        ("SHORT", "-0.005", "5.12500000"),
    ]
    v2 = account_information(risk, v2=True, rest=False)
    assert [(r["positionSide"], r["notional"], r["unrealizedProfit"]) for r in v2["positions"]] == [
        ("LONG", "205.00000000", "5.00000000"),
        ("SHORT", "-102.50000000", "2.50000000"),
    ]
    assert (v2["totalUnrealizedProfit"], v2["maxWithdrawAmount"]) == ("7.50000000", "484.47250000")


def test_the_balance_array(market: Market) -> None:
    risk = AccountRisk(worked_example(market), market, MARKS)
    zero = {
        "balance": "0.00000000",
        "crossWalletBalance": "0.00000000",
        "crossUnPnl": "0.00000000",
        "availableBalance": "0.00000000",
        "maxWithdrawAmount": "0.00000000",
        "marginAvailable": True,
        "updateTime": 0,
    }
    assert account_balances(risk, "alice") == [
        {"accountAlias": "rIGt", "asset": "BTC", **zero},
        {"accountAlias": "rIGt", "asset": "USDC", **zero},
        {
            "accountAlias": "rIGt",
            "asset": "USDT",
            "balance": "999.90826010",
            "crossWalletBalance": "999.90826010",
            "crossUnPnl": "0.52020000",
            "availableBalance": "991.22846010",
            "maxWithdrawAmount": "990.70826010",
            "marginAvailable": True,
            "updateTime": FILLED,
        },
    ]


def test_the_account_alias() -> None:
    # SHA-256("alice") begins 2b d8 06 c9: 43, 216, 6, 201 mod 52 = 43, 8, 6, 45.
    assert hashlib.sha256(b"alice").digest()[:4] == bytes([43, 216, 6, 201])
    assert account_alias("alice") == "rIGt"
    assert account_alias("bob") == "ZaDI"
    assert account_alias("ünïcode") == account_alias("ünïcode")
    assert all(len(account_alias(n)) == 4 and account_alias(n).isalpha() for n in ("", "x" * 99))


def test_totals_are_zero_without_usdt() -> None:
    bracket = LeverageBracket(1, 10, D("0"), D("1000"), D("0.01"), D("0"))
    market = Market([Symbol("ETHBTC", "BTC", "ETH", "BTC", 3, 2, (bracket,))])
    account = run([WalletTransfer("BTC", D("1"), 5)], market, Account(PositionMode.HEDGE))
    result = account_information(AccountRisk(account, market, {}), v2=True, rest=False)
    assert {result[k] for k in TOTALS} == {"0.00000000"}
    assert [(a["asset"], a["walletBalance"], a["updateTime"]) for a in result["assets"]] == [
        ("BTC", "1.00000000", 5)
    ]
    assert result["positions"] == []


def test_account_config_is_the_v1_flags_and_the_position_mode(market: Market) -> None:
    hedge = run([SetPositionMode(PositionMode.HEDGE)], market)
    config = account_config(hedge)
    assert list(config) == [*CONFIG[:4], "dualSidePosition", *CONFIG[4:]]
    assert config == {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "dualSidePosition": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }
    assert account_config(Account())["dualSidePosition"] is False


def test_symbol_config_rows_are_the_settings_or_the_defaults(market: Market) -> None:
    account = run(
        [SetLeverage("BTCUSDT", 10), SetMarginType("BTCUSDT", MarginType.ISOLATED)], market
    )
    assert symbol_config_row(account, market["BTCUSDT"]) == {
        "symbol": "BTCUSDT",
        "marginType": "ISOLATED",
        "isAutoAddMargin": False,
        "leverage": 10,
        "maxNotionalValue": "230000000",
    }
    assert symbol_config_row(account, market["ETHUSDT"]) == {
        "symbol": "ETHUSDT",
        "marginType": "CROSSED",
        "isAutoAddMargin": False,
        "leverage": 20,
        "maxNotionalValue": "65000000",
    }
