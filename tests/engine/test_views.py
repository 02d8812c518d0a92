import json
from dataclasses import replace

import pytest

from posrisk.engine import (
    Account,
    AccountChange,
    AccountRisk,
    Fill,
    InvalidSymbol,
    IsolatedMarginTransfer,
    MarginType,
    Market,
    Order,
    OrderType,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    Side,
    WalletTransfer,
    account_config_update_event,
    account_position_rows,
    account_position_v2_rows,
    account_rows,
    account_update_event,
    apply,
)
from posrisk.engine.funding import FundingSchedule, funding_events

from .conftest import D, run
from .test_risk import ada_market, hedge_example

MARKS = {"BTCUSDT": D("21123.05052574")}
LONG, SHORT, BOTH = PositionSide.LONG, PositionSide.SHORT, PositionSide.BOTH


def test_v1_rows_of_the_seed_hedge_example(market: Market) -> None:
    rows = account_position_rows(hedge_example(market), market, MARKS, "BTCUSDT")
    common = {
        "marginType": "cross",
        "isAutoAddMargin": "false",
        "isolatedMargin": "0.00000000",
        "leverage": "20",
        "markPrice": "21123.05052574",
        "maxNotionalValue": "100000000",
        "isolatedWallet": "0",
        "symbol": "BTCUSDT",
    }
    assert rows == [
        {
            "entryPrice": "22185.2",
            "breakEvenPrice": "22185.2",
            **common,
            "liquidationPrice": "19731.45529116",
            "positionAmt": "0.001",
            "notional": "21.12305052",
            "unRealizedProfit": "-1.06214947",
            "positionSide": "LONG",
            "updateTime": 1655217461579,
        },
        {
            "entryPrice": "0.0",
            "breakEvenPrice": "0.0",
            **common,
            "liquidationPrice": "0",
            "positionAmt": "0.000",
            "notional": "0",
            "unRealizedProfit": "0.00000000",
            "positionSide": "SHORT",
            "updateTime": 0,
        },
    ]
    # Binance's field order, every value a string except updateTime.
    assert list(rows[0]) == [
        "entryPrice",
        "breakEvenPrice",
        "marginType",
        "isAutoAddMargin",
        "isolatedMargin",
        "leverage",
        "liquidationPrice",
        "markPrice",
        "maxNotionalValue",
        "positionAmt",
        "notional",
        "isolatedWallet",
        "symbol",
        "unRealizedProfit",
        "positionSide",
        "updateTime",
    ]
    assert all(isinstance(v, str) for k, v in rows[0].items() if k != "updateTime")


def test_v1_flat_row_matches_the_seed_one_way_example(market: Market) -> None:
    account = run(
        [SetLeverage("BTCUSDT", 10), SetMarginType("BTCUSDT", MarginType.ISOLATED)], market
    )
    [row] = account_position_rows(account, market, {"BTCUSDT": D("6679.50671178")}, "BTCUSDT")
    assert row == {
        "entryPrice": "0.0",
        "breakEvenPrice": "0.0",
        "marginType": "isolated",
        "isAutoAddMargin": "false",
        "isolatedMargin": "0.00000000",
        "leverage": "10",
        "liquidationPrice": "0",
        "markPrice": "6679.50671178",
        "maxNotionalValue": "230000000",
        "positionAmt": "0.000",
        "notional": "0",
        "isolatedWallet": "0",
        "symbol": "BTCUSDT",
        "unRealizedProfit": "0.00000000",
        "positionSide": "BOTH",
        "updateTime": 0,
    }


def test_v1_without_symbol_lists_the_whole_market(market: Market) -> None:
    one_way = account_position_rows(Account(), market, {})
    assert [r["symbol"] for r in one_way] == list(market.names)
    assert one_way[0]["markPrice"] == "0.00000000"
    hedge = account_position_rows(hedge_example(market), market, MARKS)
    assert len(hedge) == 2 * len(market)
    assert [r["positionSide"] for r in hedge[:2]] == ["LONG", "SHORT"]


def test_unknown_symbol(market: Market) -> None:
    with pytest.raises(InvalidSymbol):
        account_position_rows(Account(), market, {}, "BTCUSDX")
    with pytest.raises(InvalidSymbol):
        account_position_v2_rows(Account(), market, {}, "BTCUSDX")


def test_v2_row_of_the_ada_example() -> None:
    market = ada_market()
    account = run(
        [
            WalletTransfer("USDT", D("10")),
            Fill("ADAUSDT", Side.BUY, D("30"), D("0.385"), fee=D("0.00231"), time=5),
        ],
        market,
    )
    [row] = account_position_v2_rows(account, market, {"ADAUSDT": D("0.41047590")})
    assert row == {
        "symbol": "ADAUSDT",
        "positionSide": "BOTH",
        "positionAmt": "30",
        "entryPrice": "0.385",
        "breakEvenPrice": "0.385077",
        "markPrice": "0.41047590",
        "unRealizedProfit": "0.76427700",
        "liquidationPrice": "0.05208220",
        "isolatedMargin": "0",
        "notional": "12.31427700",
        "marginAsset": "USDT",
        "isolatedWallet": "0",
        "initialMargin": "0.61571385",
        "maintMargin": "0.08004280",
        "positionInitialMargin": "0.61571385",
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": 5,
    }


def test_v2_row_with_an_open_order_margin(market: Market) -> None:
    account = run(
        [WalletTransfer("USDT", D("1000")), Fill("BTCUSDT", Side.BUY, D("0.002"), D("90000"))],
        market,
    )
    orders = [
        # Opens 0.01 × 62000 / 20 = 31.
        Order(5, "b", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D("62000")),
        # Closes the held 0.002: no margin, but its notional is asked.
        Order(6, "a", "BTCUSDT", Side.SELL, OrderType.LIMIT, D("0.002"), D("93000.5")),
    ]
    account = replace(account, orders={o.order_id: o for o in orders})
    risk = AccountRisk(account, market, {"BTCUSDT": D("90000")})
    [row] = account_rows(risk, v2=True)
    # positionInitialMargin 180 / 20 = 9; initialMargin 9 + 31.
    assert (row["initialMargin"], row["positionInitialMargin"]) == ("40.00000000", "9.00000000")
    assert row["openOrderInitialMargin"] == "31"
    assert (row["bidNotional"], row["askNotional"]) == ("620", "186.001")


def test_a_side_with_only_an_order_is_a_zero_row(market: Market) -> None:
    # Binance shows it in v2/account.position and /fapi/v3/positionRisk (measured 2026-07).
    resting = Order(9, "o", "ETHUSDT", Side.SELL, OrderType.LIMIT, D("0.010"), D("4626"))
    account = replace(run([WalletTransfer("USDT", D("100"))], market), orders={9: resting})
    [row] = account_position_v2_rows(account, market, {"ETHUSDT": D("4600")})
    assert {k: row[k] for k in ("symbol", "positionSide", "positionAmt", "notional")} == {
        "symbol": "ETHUSDT",
        "positionSide": "BOTH",
        "positionAmt": "0.000",
        "notional": "0",
    }
    # 0.01 × 4626 / 20 = 2.313 held; one-way with nothing held: the SELL opens.
    assert (row["openOrderInitialMargin"], row["initialMargin"]) == ("2.313", "2.31300000")
    assert (row["bidNotional"], row["askNotional"]) == ("0", "46.26")
    assert (row["positionInitialMargin"], row["maintMargin"]) == ("0", "0")
    v1 = account_position_rows(account, market, {}, "ETHUSDT")
    assert [r["positionAmt"] for r in v1] == ["0.000"]


def test_v2_lists_only_open_sides_in_market_order(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("100000")),
            Fill("ETHUSDT", Side.SELL, D("1"), D("2000"), SHORT),
            Fill("BTCUSDT", Side.SELL, D("0.01"), D("20000"), SHORT),
            Fill("BTCUSDT", Side.BUY, D("0.02"), D("20000"), LONG),
        ],
        market,
        Account(position_mode=PositionMode.HEDGE),
    )
    rows = account_position_v2_rows(account, market, MARKS)
    assert [(r["symbol"], r["positionSide"]) for r in rows] == [
        ("BTCUSDT", "LONG"),
        ("BTCUSDT", "SHORT"),
        ("ETHUSDT", "SHORT"),
    ]
    assert rows[2]["markPrice"] == "0.00000000"
    assert account_position_v2_rows(account, market, MARKS, "ETHUSDT")[0]["positionAmt"] == (
        "-1.000"
    )
    assert account_position_v2_rows(account, market, MARKS, "SOLUSDT") == []


def test_one_risk_answers_every_selection(market: Market) -> None:
    # The service marks an account once and serves every (method, symbol) from it.
    risk = AccountRisk(hedge_example(market), market, MARKS)
    every = account_rows(risk, v2=False)
    assert len(every) == 2 * len(market)
    assert [r["symbol"] for r in every[::2]] == list(market.names)
    assert {r["positionSide"] for r in every} == {"LONG", "SHORT"}
    assert [r["positionAmt"] for r in account_rows(risk, v2=False, symbol="BTCUSDT")] == [
        "0.001",
        "0.000",
    ]
    [open_row] = account_rows(risk, v2=True)
    assert (open_row["symbol"], open_row["positionSide"]) == ("BTCUSDT", "LONG")
    assert open_row["unRealizedProfit"] == "-1.06214947"
    assert account_rows(risk, v2=True, symbol="BTCUSDT") == [open_row]
    assert account_rows(risk, v2=True, symbol="ETHUSDT") == []
    assert [r["positionSide"] for r in account_rows(risk, v2=False, symbol="ETHUSDT")] == [
        "LONG",
        "SHORT",
    ]
    with pytest.raises(InvalidSymbol):
        account_rows(risk, v2=True, symbol="BTCUSDX")


def test_isolated_rows_show_wallet_and_margin(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", Side.BUY, D("0.1"), D("20000")),
        ],
        market,
    )
    [v1] = account_position_rows(account, market, {"BTCUSDT": D("19000")}, "BTCUSDT")
    assert (v1["isolatedWallet"], v1["isolatedMargin"]) == ("200.00000000", "100.00000000")
    [v2] = account_position_v2_rows(account, market, {"BTCUSDT": D("19000")})
    assert (v2["isolatedWallet"], v2["isolatedMargin"]) == ("200.00000000", "100.00000000")


def test_account_update_for_a_fill(market: Market) -> None:
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
        ],
        market,
    )
    applied = apply(account, Fill("BTCUSDT", Side.BUY, D("0.1"), D("20000"), fee=D("0.8")), market)
    event = account_update_event(
        applied.account,
        applied.change,
        market,
        {"BTCUSDT": D("20100")},
        event_time=11,
        transaction_time=10,
    )
    assert event == {
        "e": "ACCOUNT_UPDATE",
        "E": 11,
        "T": 10,
        "a": {
            "m": "ORDER",
            "B": [{"a": "USDT", "wb": "999.20000000", "cw": "800.00000000", "bc": "0"}],
            "P": [
                {
                    "s": "BTCUSDT",
                    "pa": "0.1",
                    "ep": "20000",
                    "cr": "0",
                    "up": "10.00000000",
                    "mt": "isolated",
                    "iw": "199.20000000",
                    "ps": "BOTH",
                    "ma": "USDT",
                    "bep": "20008",
                }
            ],
        },
    }
    json.dumps(event)  # plain JSON types only


def test_account_update_for_deposits_and_transfers(market: Market) -> None:
    applied = apply(Account(), WalletTransfer("USDT", D("25")), market)
    event = account_update_event(
        applied.account, applied.change, market, {}, event_time=2, transaction_time=1
    )
    assert event is not None
    assert event["a"] == {
        "m": "DEPOSIT",
        "B": [{"a": "USDT", "wb": "25.00000000", "cw": "25.00000000", "bc": "25"}],
        "P": [],
    }
    account = run(
        [
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            Fill("BTCUSDT", Side.SELL, D("0.001"), D("20000")),
        ],
        market,
        applied.account,
    )
    applied = apply(account, IsolatedMarginTransfer("BTCUSDT", D("2")), market)
    event = account_update_event(
        applied.account, applied.change, market, {}, event_time=2, transaction_time=1
    )
    assert event is not None
    assert event["a"]["m"] == "MARGIN_TRANSFER"
    assert event["a"]["B"] == [{"a": "USDT", "wb": "25.00000000", "cw": "22.00000000", "bc": "0"}]
    assert event["a"]["P"][0]["iw"] == "3.00000000"


def test_account_update_writes_items_as_the_captures_do(market: Market) -> None:
    # Binance 2024-11 and 2026-04 captures: P items are s, pa, ep, cr, up, mt, iw, ps, ma,
    # bep; pa/ep/bep normalized ("0" flat), cr/up 8 decimals or "0", iw "0" in cross, bc
    # normalized.
    account = run([WalletTransfer("USDT", D("100"))], market)
    applied = apply(account, WalletTransfer("USDT", D("-0.00085067")), market)
    event = account_update_event(
        applied.account, applied.change, market, {}, event_time=2, transaction_time=1
    )
    assert event is not None
    assert event["a"]["B"][0]["bc"] == "-0.00085067"
    short = Fill("BTCUSDT", Side.SELL, D("0.002"), D("70.92841"), fee=D("0.00005674272800"))
    applied = apply(applied.account, short, market)
    event = account_update_event(
        applied.account,
        applied.change,
        market,
        {"BTCUSDT": D("70")},
        event_time=2,
        transaction_time=1,
    )
    assert event is not None
    [item] = event["a"]["P"]
    assert list(item) == ["s", "pa", "ep", "cr", "up", "mt", "iw", "ps", "ma", "bep"]
    assert item == {
        "s": "BTCUSDT",
        "pa": "-0.002",
        "ep": "70.92841",
        "cr": "0",
        "up": "0.00185682",
        "mt": "cross",
        "iw": "0",
        "ps": "BOTH",
        "ma": "USDT",
        "bep": "70.900038636",
    }
    close = Fill("BTCUSDT", Side.BUY, D("0.002"), D("60"))
    applied = apply(applied.account, close, market)
    event = account_update_event(
        applied.account,
        applied.change,
        market,
        {"BTCUSDT": D("60")},
        event_time=3,
        transaction_time=3,
    )
    assert event is not None
    [item] = event["a"]["P"]
    assert (item["pa"], item["ep"], item["bep"], item["up"]) == ("0", "0", "0", "0")
    assert item["cr"] == "0.02185682"
    # The Binance SDK's strict model reads it (``ma`` lands in its additional properties).
    from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models import (
        AccountUpdate,
    )

    model = AccountUpdate.from_dict(event)
    assert model is not None and model.a is not None and model.a.P is not None
    assert (model.a.P[0].bep, model.a.P[0].additional_properties) == ("0", {"ma": "USDT"})


def test_settings_send_no_account_update(market: Market) -> None:
    applied = apply(Account(), SetLeverage("BTCUSDT", 5), market)
    assert (
        account_update_event(
            applied.account, applied.change, market, {}, event_time=1, transaction_time=1
        )
        is None
    )


def test_cross_rows_write_isolated_fields_as_zero(market: Market) -> None:
    risk = AccountRisk(hedge_example(market), market, MARKS)
    assert risk.position("BTCUSDT", LONG).isolated_margin == 0


def test_a_leverage_set_sends_account_config_update_and_nothing_else_does() -> None:
    change = AccountChange(None, leverage=("BTCUSDT", 25))
    assert account_config_update_event(change, event_time=7, transaction_time=6) == {
        "e": "ACCOUNT_CONFIG_UPDATE",
        "E": 7,
        "T": 6,
        "ac": {"s": "BTCUSDT", "l": 25},
    }
    assert (
        account_config_update_event(AccountChange(None), event_time=7, transaction_time=6) is None
    )


def test_account_update_for_funding_cross_and_isolated(market: Market) -> None:
    # Binance: cross funding is per account and symbol, B only with bc the amount and
    # "P": [] (2026-04 capture: "bc":"-0.00085067"); isolated is per side, B and P.
    account = run(
        [
            WalletTransfer("USDT", D("1000")),
            Fill("BTCUSDT", Side.BUY, D("0.002"), D("90000")),
            SetMarginType("ETHUSDT", MarginType.ISOLATED),
            Fill("ETHUSDT", Side.SELL, D("1"), D("3000")),
        ],
        market,
    )
    marks = {"BTCUSDT": D("92000"), "ETHUSDT": D("3100")}
    cross, isolated = funding_events(account, market, marks, FundingSchedule(), 8 * 3_600_000)
    applied = apply(account, cross, market)
    event = account_update_event(
        applied.account, applied.change, market, marks, event_time=2, transaction_time=1
    )
    assert event is not None
    assert event["a"] == {
        "m": "FUNDING_FEE",
        "B": [{"a": "USDT", "wb": "999.98160000", "cw": "849.98160000", "bc": "-0.0184"}],
        "P": [],
    }
    applied = apply(applied.account, isolated, market)
    event = account_update_event(
        applied.account, applied.change, market, marks, event_time=2, transaction_time=1
    )
    assert event is not None
    assert event["a"]["m"] == "FUNDING_FEE"
    assert event["a"]["B"] == [
        {"a": "USDT", "wb": "1000.29160000", "cw": "849.98160000", "bc": "0.31"}
    ]
    [item] = event["a"]["P"]
    assert (item["s"], item["ps"], item["mt"], item["iw"]) == (
        "ETHUSDT",
        "BOTH",
        "isolated",
        "150.31000000",
    )
