import json
from decimal import Decimal
from pathlib import Path

import pytest

from posrisk.engine import InvalidSymbol, LeverageBracket, Market, MarketDataError

SHIPPED = Path(__file__).parents[2] / "src/posrisk/engine/data/leverage_brackets.json"


def test_the_default_market_lists_every_perpetual_of_the_shipped_table(market: Market) -> None:
    table = json.loads(SHIPPED.read_text())
    perpetual = [row["symbol"] for row in table if "_" not in row["symbol"]]
    assert list(market.names) == perpetual
    assert len(market) == 345
    # Dated contracts of the table are past their delivery date: not listed.
    assert "BTCUSDT_241227" not in market
    assert {s.margin_asset for s in market} == {"USDT", "USDC", "BTC"}


def test_bracket_cum_chain_of_every_shipped_symbol(market: Market) -> None:
    """cum(n+1) = cum(n) + floor(n+1) × (MMR(n+1) − MMR(n)), so maintenance margin is
    continuous at every bracket boundary; brackets tile [0, last cap) without gaps."""
    for symbol in market:
        first = symbol.brackets[0]
        assert (first.bracket, first.notional_floor, first.cum) == (1, 0, 0), symbol.name
        for lower, upper in zip(symbol.brackets, symbol.brackets[1:], strict=False):
            assert upper.bracket == lower.bracket + 1, symbol.name
            assert upper.notional_floor == lower.notional_cap, symbol.name
            assert upper.initial_leverage <= lower.initial_leverage, symbol.name
            assert upper.cum == lower.cum + upper.notional_floor * (
                upper.maint_margin_ratio - lower.maint_margin_ratio
            ), symbol.name
            edge = upper.notional_floor
            assert edge * lower.maint_margin_ratio - lower.cum == (
                edge * upper.maint_margin_ratio - upper.cum
            )


def test_btcusdt_brackets_and_max_notional(market: Market) -> None:
    btc = market["BTCUSDT"]
    assert btc.margin_asset == "USDT"
    assert (btc.base_asset, btc.quote_asset) == ("BTC", "USDT")
    assert (btc.quantity_precision, btc.price_precision) == (3, 2)
    assert btc.max_leverage == 125
    assert btc.max_notional(10) == Decimal("230000000")
    assert btc.max_notional(125) == Decimal("50000")
    assert btc.max_notional(4) == Decimal("600000000")
    assert btc.max_notional(1) == Decimal("1800000000")


def test_bracket_for_uses_floor_inclusive_cap_exclusive(market: Market) -> None:
    btc = market["BTCUSDT"]
    assert btc.bracket_for(Decimal("0")).bracket == 1
    assert btc.bracket_for(Decimal("49999.99")).bracket == 1
    assert btc.bracket_for(Decimal("50000")).bracket == 2
    assert btc.bracket_for(Decimal("-60000")).bracket == 2
    assert btc.bracket_for(Decimal("1e12")).bracket == 12


def test_precision_fallback_and_default_leverage(market: Market) -> None:
    assert market["ETHUSDT"].quantity_precision == 3
    assert market["ADAUSDT"].quantity_precision == 0
    sol = market["SOLUSDT"]
    assert (sol.quantity_precision, sol.price_precision) == (None, None)
    assert market["BTCUSDT"].default_leverage == 20
    assert market["FTTUSDT"].max_leverage == 8
    assert market["FTTUSDT"].default_leverage == 8
    eth_btc = market["ETHBTC"]
    assert (eth_btc.margin_asset, eth_btc.base_asset, eth_btc.quote_asset) == ("BTC", "ETH", "BTC")


def test_unknown_symbol_is_refused_with_binance_code(market: Market) -> None:
    with pytest.raises(InvalidSymbol) as info:
        market["NOPEUSDT"]
    assert (info.value.code, info.value.msg) == (-1121, "Invalid symbol.")
    assert market.get("NOPEUSDT") is None


# Shapes of Binance's live endpoints: JSON numbers, notionalCoef, filters...
LIVE_BRACKETS = """[
 {"symbol": "BTCUSDT", "notionalCoef": 1.50,
  "brackets": [
   {"bracket": 1, "initialLeverage": 125, "notionalCap": 50000, "notionalFloor": 0,
    "maintMarginRatio": 0.004, "cum": 0.0},
   {"bracket": 2, "initialLeverage": 100, "notionalCap": 600000, "notionalFloor": 50000,
    "maintMarginRatio": 0.005, "cum": 50.0}]},
 {"symbol": "ETHUSDT",
  "brackets": [{"bracket": 1, "initialLeverage": 100, "notionalCap": 10000, "notionalFloor": 0,
    "maintMarginRatio": 0.005, "cum": 0.0}]},
 {"symbol": "XYZUSDT",
  "brackets": [{"bracket": 1, "initialLeverage": 20, "notionalCap": 5000, "notionalFloor": 0,
    "maintMarginRatio": 0.1, "cum": 0.0}]}
]"""
LIVE_EXCHANGE_INFO = """{"timezone": "UTC", "serverTime": 1700000000000, "symbols": [
 {"symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING",
  "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT",
  "pricePrecision": 2, "quantityPrecision": 3, "filters": []},
 {"symbol": "ETHUSDT", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "USDT",
  "marginAsset": "USDT", "pricePrecision": 2, "quantityPrecision": 3},
 {"symbol": "XYZUSDT", "status": "SETTLING", "marginAsset": "USDT",
  "pricePrecision": 4, "quantityPrecision": 0}
]}"""


def test_loader_accepts_binance_json_and_parses_numbers_as_decimal() -> None:
    market = Market.from_binance(LIVE_BRACKETS, LIVE_EXCHANGE_INFO)
    assert market.names == ("BTCUSDT", "ETHUSDT")  # XYZUSDT is not TRADING
    btc = market["BTCUSDT"]
    assert btc.brackets[0] == LeverageBracket(
        1, 125, Decimal(0), Decimal(50000), Decimal("0.004"), Decimal("0.0")
    )
    assert isinstance(btc.brackets[1].maint_margin_ratio, Decimal)
    assert str(btc.brackets[1].maint_margin_ratio) == "0.005"
    assert (btc.quantity_precision, btc.price_precision) == (3, 2)


def test_loader_without_exchange_info_takes_every_perpetual(tmp_path: Path) -> None:
    path = tmp_path / "brackets.json"
    path.write_text(LIVE_BRACKETS)
    market = Market.from_binance(path, precisions={"XYZUSDT": {"quantityPrecision": 0}})
    assert market.names == ("BTCUSDT", "ETHUSDT", "XYZUSDT")
    assert market["XYZUSDT"].quantity_precision == 0
    assert market["BTCUSDT"].margin_asset == "USDT"  # from the quote, no marginAsset given


@pytest.mark.parametrize(
    ("brackets", "problem"),
    [
        ([{"symbol": "A", "brackets": []}], "A: no brackets"),
        (
            [
                {
                    "symbol": "AUSDT",
                    "brackets": [
                        {
                            "bracket": 1,
                            "initialLeverage": 20,
                            "notionalCap": 0.5,
                            "notionalFloor": 0,
                            "maintMarginRatio": "0.1",
                            "cum": "0",
                        }
                    ],
                }
            ],
            "a float",
        ),
        (
            [
                {
                    "symbol": "AUSDT",
                    "brackets": [
                        {
                            "bracket": 1,
                            "initialLeverage": 20,
                            "notionalCap": "10",
                            "notionalFloor": "0",
                            "maintMarginRatio": "0.1",
                            "cum": "0",
                        },
                        {
                            "bracket": 2,
                            "initialLeverage": 10,
                            "notionalCap": "20",
                            "notionalFloor": "11",
                            "maintMarginRatio": "0.2",
                            "cum": "1",
                        },
                    ],
                }
            ],
            "bracket 2 starts at 11",
        ),
        (
            [
                {
                    "symbol": "AUSDT",
                    "brackets": [
                        {
                            "bracket": 1,
                            "initialLeverage": 20,
                            "notionalCap": "10",
                            "notionalFloor": "0",
                            "cum": "0",
                        }
                    ],
                }
            ],
            "without maintMarginRatio",
        ),
        (
            [
                {
                    "symbol": "QQQ",
                    "brackets": [
                        {
                            "bracket": 1,
                            "initialLeverage": 20,
                            "notionalCap": "10",
                            "notionalFloor": "0",
                            "maintMarginRatio": "0.1",
                            "cum": "0",
                        }
                    ],
                }
            ],
            "no marginAsset",
        ),
    ],
)
def test_loader_names_the_symbol_and_the_problem(brackets: object, problem: str) -> None:
    with pytest.raises(MarketDataError, match=problem):
        Market.from_binance(brackets)  # type: ignore[arg-type]


def test_loader_refuses_text_that_is_not_json() -> None:
    with pytest.raises(MarketDataError, match="leverageBracket: not JSON"):
        Market.from_binance("{nope")
