from datetime import UTC, datetime
from decimal import Decimal

import pytest

from posrisk.client import MarginType, PositionSide, ProtocolError
from posrisk.client.models import parse_position, parse_position_v2

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
