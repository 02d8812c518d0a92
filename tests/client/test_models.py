import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from posrisk.client import MarginType, PositionSide, ProtocolError
from posrisk.client.models import (
    parse_account_status,
    parse_balance,
    parse_position,
    parse_position_v2,
)

SEED_ROW = {
    "entryPrice": "22185.2",
    "breakEvenPrice": "0.0",
    "marginType": "cross",
    "isAutoAddMargin": "false",
    "isolatedMargin": "0.00000000",
    "leverage": "4",
    "liquidationPrice": "19731.45529116",
    "markPrice": "21123.05052574",
    "maxNotionalValue": "100000000",
    "positionAmt": "0.001",
    "notional": "21.12305052",
    "isolatedWallet": "0",
    "symbol": "BTCUSDT",
    "unRealizedProfit": "-1.06214947",
    "positionSide": "LONG",
    "updateTime": 1655217461579,
}
V2_ROW = {
    "symbol": "ADAUSDT",
    "positionSide": "BOTH",
    "positionAmt": "30",
    "entryPrice": "0.385",
    "breakEvenPrice": "0.385077",
    "markPrice": "0.41047590",
    "unRealizedProfit": "0.76427700",
    "liquidationPrice": "0",
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
    "updateTime": 1720736417660,
}


def test_an_account_position_row() -> None:
    row = parse_position(SEED_ROW)
    assert row.position_side is PositionSide.LONG and row.margin_type is MarginType.CROSS
    assert row.position_amt == Decimal("0.001")
    assert row.unrealized_profit == Decimal("-1.06214947")
    assert row.liquidation_price == Decimal("19731.45529116")
    assert (row.leverage, row.max_notional_value) == (4, Decimal(100000000))
    assert row.is_auto_add_margin is False
    assert row.update_time == datetime(2022, 6, 14, 14, 37, 41, 579000, tzinfo=UTC)
    assert (row.side, row.is_open) == ("LONG", True)
    assert row.liquidation_distance == (
        (Decimal("21123.05052574") - Decimal("19731.45529116")) / Decimal("21123.05052574")
    )
    with pytest.raises(AttributeError):
        row.leverage = 5  # type: ignore[misc]


def test_a_flat_row() -> None:
    row = parse_position(
        {
            **SEED_ROW,
            "positionAmt": "0.000",
            "entryPrice": "0.0",
            "liquidationPrice": "0",
            "updateTime": 0,
            "marginType": "ISOLATED",
        }
    )
    assert (row.side, row.is_open, row.update_time, row.liquidation_distance) == (
        None,
        False,
        None,
        None,
    )
    assert row.margin_type is MarginType.ISOLATED


def test_a_v2_row() -> None:
    row = parse_position_v2(V2_ROW)
    assert (row.symbol, row.position_amt, row.adl) == ("ADAUSDT", Decimal(30), 0)
    assert row.maint_margin == Decimal("0.08004280")
    assert (row.leverage, row.margin_type, row.side) == (20, MarginType.CROSS, "LONG")
    isolated = parse_position_v2({**V2_ROW, "isolatedWallet": "0.6"})
    assert isolated.margin_type is MarginType.ISOLATED


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"positionAmt": None}, "positionAmt is not a decimal"),
        ({"positionAmt": 0.001}, "positionAmt is not a decimal"),
        ({"markPrice": "NaN"}, "markPrice is not finite"),
        ({"positionSide": "UP"}, "positionSide is not a PositionSide"),
        ({"leverage": True}, "leverage is not an integer"),
        ({"isAutoAddMargin": "maybe"}, "isAutoAddMargin"),
    ],
)
def test_malformed_rows_raise_protocol_error(change: dict[str, object], problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        parse_position({**SEED_ROW, **change})
    missing = dict(SEED_ROW)
    del missing["symbol"]
    with pytest.raises(ProtocolError, match="without 'symbol'"):
        parse_position(missing)


def test_the_clients_enums_are_its_own_with_the_servers_values() -> None:
    from posrisk.engine import events

    assert MarginType is not events.MarginType and PositionSide is not events.PositionSide
    assert [m.value for m in MarginType] == [m.value for m in events.MarginType]
    assert [s.value for s in PositionSide] == [s.value for s in events.PositionSide]
    # str enums: they equal the wire's strings and the server's members alike.
    assert MarginType.CROSS == "cross" == events.MarginType.CROSS
    assert PositionSide.SHORT == "SHORT" == events.PositionSide.SHORT
    assert parse_position({**SEED_ROW, "marginType": "ISOLATED"}).margin_type is (
        MarginType.ISOLATED
    )


STATUS: dict[str, Any] = {
    "feeTier": 0,
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
    "assets": [
        {
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
            "updateTime": 1700000060000,
        }
    ],
    "positions": [
        {
            "symbol": "BTCUSDT",
            "initialMargin": "9.20000000",
            "maintMargin": "0.73600000",
            "unrealizedProfit": "0.52020000",
            "positionInitialMargin": "9.20000000",
            "openOrderInitialMargin": "0",
            "leverage": "20",
            "isolated": False,
            "entryPrice": "91739.9",
            "breakEvenPrice": "91785.76995",
            "maxNotional": "100000000",
            "bidNotional": "0",
            "askNotional": "0",
            "positionSide": "BOTH",
            "positionAmt": "0.002",
            "updateTime": 1700000060000,
        },
        {
            "symbol": "ETHUSDT",
            "positionSide": "SHORT",
            "positionAmt": "-1.000",
            "unrealizedProfit": "50.00000000",
            "isolatedMargin": "150.00000000",
            "notional": "-950.00000000",
            "isolatedWallet": "100.00000000",
            "initialMargin": "95.00000000",
            "maintMargin": "3.80000000",
            "updateTime": 1700000000002,
        },
    ],
}


def test_an_account_status() -> None:
    status = parse_account_status(STATUS)
    assert status.available_balance == Decimal("991.22846010")
    assert status.max_withdraw_amount == Decimal("990.70826010")
    usdt = status.asset("USDT")
    assert usdt is not None and usdt.update_time_ms == 1700000060000
    assert status.asset("BTC") is None
    v1, v2 = status.positions
    assert (v1.leverage, v1.isolated, v1.entry_price, v1.max_notional) == (
        20,
        False,
        Decimal("91739.9"),
        Decimal(100000000),
    )
    assert (v1.notional, v1.isolated_wallet) == (None, None)
    assert (v2.position_side, v2.isolated_margin, v2.notional) == (
        PositionSide.SHORT,
        Decimal("150"),
        Decimal("-950"),
    )
    assert (v2.leverage, v2.entry_price) == (None, None)


def test_a_balance_item() -> None:
    item = parse_balance(
        {
            "accountAlias": "SgsR",
            "asset": "USDT",
            "balance": "122607.35137903",
            "crossWalletBalance": "23.72469206",
            "crossUnPnl": "0.00000000",
            "availableBalance": "23.72469206",
            "maxWithdrawAmount": "23.72469206",
            "marginAvailable": True,
            "updateTime": 1617939110373,
        }
    )
    assert (item.account_alias, item.balance, item.update_time_ms) == (
        "SgsR",
        Decimal("122607.35137903"),
        1617939110373,
    )


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ([], "expected an account object, got list"),
        ({**STATUS, "assets": None}, "assets is not a list"),
        ({k: v for k, v in STATUS.items() if k != "maxWithdrawAmount"}, "'maxWithdrawAmount'"),
        (
            {**STATUS, "positions": [{**STATUS["positions"][0], "isolated": "false"}]},
            "isolated is not a boolean",
        ),
    ],
)
def test_a_malformed_account_status_names_the_field(broken: Any, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse_account_status(broken)
