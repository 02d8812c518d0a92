"""Market data rows from the marks: golden rows, formats, and Binance's SDK models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import (
    GetFundingRateInfoResponseInner,
    MarkPriceResponse1,
    SymbolOrderBookTickerResponse1,
    SymbolPriceTickerResponse1,
    SymbolPriceTickerV2Response1,
)
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from posrisk.engine import Market
from posrisk.engine.funding import FundingSchedule, SymbolFunding
from posrisk.engine.market_views import (
    book_ticker_row,
    funding_info_rows,
    premium_index_row,
    ticker_price_row,
)

from .conftest import D

NOW = 1_764_757_000_123  # 2025-12-03 10:16:40.123 UTC
NEXT_8H = 1_764_777_600_000  # 16:00 UTC that day


def _strict(model: Any, row: dict[str, Any]) -> None:
    """The SDK's model reads every field back, with its strict JSON types."""
    parsed = model.from_dict(row)
    assert parsed is not None
    assert parsed.to_dict() == row


def test_premium_index_golden_row() -> None:
    row = premium_index_row("BTCUSDT", D("92000.1"), SymbolFunding(), NOW)
    assert row == {
        "symbol": "BTCUSDT",
        "markPrice": "92000.10000000",
        "indexPrice": "92000.10000000",
        "estimatedSettlePrice": "92000.10000000",
        "lastFundingRate": "0.00010000",
        "interestRate": "0.00010000",
        "nextFundingTime": NEXT_8H,
        "time": NOW,
    }
    _strict(MarkPriceResponse1, row)


def test_premium_index_clamps_the_rate_and_uses_the_interval() -> None:
    funding = SymbolFunding(rate=D("0.05"), interval_hours=4, cap=D("0.03"), floor=D("-0.03"))
    row = premium_index_row("ETHUSDT", D("3000.123456789"), funding, NOW)
    assert row["lastFundingRate"] == "0.03000000"
    assert row["markPrice"] == "3000.12345679"  # half-even at 8 decimals
    assert row["nextFundingTime"] == 1_764_763_200_000  # 12:00 UTC
    negative = premium_index_row("ETHUSDT", D("1"), SymbolFunding(rate=D("-0.5")), NOW)
    assert negative["lastFundingRate"] == "-0.02000000"


def test_premium_index_without_a_mark_is_zeros() -> None:
    row = premium_index_row("BTCUSDT", None, SymbolFunding(), NOW)
    assert row["markPrice"] == row["indexPrice"] == row["estimatedSettlePrice"] == "0.00000000"
    assert row["lastFundingRate"] == "0.00010000"
    _strict(MarkPriceResponse1, row)


def test_ticker_price_rounds_half_even_to_the_tick(market: Market) -> None:
    btc = market["BTCUSDT"]  # tick 0.01
    assert ticker_price_row(btc, D("92000.125"), NOW) == {
        "symbol": "BTCUSDT",
        "price": "92000.12",
        "time": NOW,
    }
    assert ticker_price_row(btc, D("92000.135"), NOW)["price"] == "92000.14"
    assert ticker_price_row(btc, D("92000"), NOW)["price"] == "92000.00"
    assert ticker_price_row(btc, None, NOW)["price"] == "0.00"
    for model in (SymbolPriceTickerResponse1, SymbolPriceTickerV2Response1):
        _strict(model, ticker_price_row(btc, D("92000.1"), NOW))


def test_book_ticker_golden_row(market: Market) -> None:
    btc = market["BTCUSDT"]  # tick 0.01, step 0.001
    row = book_ticker_row(btc, D("92000"), NOW, D("0.001"))
    assert row == {
        "symbol": "BTCUSDT",
        "bidPrice": "91908.00",
        "bidQty": "10000000.000",
        "askPrice": "92092.00",
        "askQty": "10000000.000",
        "time": NOW,
    }
    _strict(SymbolOrderBookTickerResponse1, row)
    flat = book_ticker_row(btc, D("91739.905"), NOW, Decimal(0))
    assert (flat["bidPrice"], flat["askPrice"]) == ("91739.90", "91739.91")
    empty = book_ticker_row(btc, None, NOW, Decimal(0))
    assert (empty["bidPrice"], empty["askPrice"], empty["bidQty"]) == ("0.00", "0.00", "0.000")


@given(st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=8))
@hsettings(deadline=None, max_examples=50)
def test_book_ticker_brackets_the_ticker(mark: Decimal) -> None:
    btc = Market.default()["BTCUSDT"]
    book = book_ticker_row(btc, mark, NOW, D("0.0005"))
    price = D(ticker_price_row(btc, mark, NOW)["price"])
    assert D(book["bidPrice"]) <= max(price, D("0.01")) <= D(book["askPrice"])


def test_funding_info_lists_only_adjusted_symbols(market: Market) -> None:
    schedule = FundingSchedule(
        {
            "ETHUSDT": SymbolFunding(interval_hours=4),
            "BTCUSDT": SymbolFunding(cap=D("0.025"), floor=D("-0.025")),
            "BNBUSDT": SymbolFunding(rate=D("0.0003")),  # only the rate: not adjusted
        }
    )
    rows = funding_info_rows(schedule, market)
    assert rows == [
        {
            "symbol": "BTCUSDT",
            "adjustedFundingRateCap": "0.02500000",
            "adjustedFundingRateFloor": "-0.02500000",
            "fundingIntervalHours": 8,
            "disclaimer": False,
        },
        {
            "symbol": "ETHUSDT",
            "adjustedFundingRateCap": "0.02000000",
            "adjustedFundingRateFloor": "-0.02000000",
            "fundingIntervalHours": 4,
            "disclaimer": False,
        },
    ]
    for row in rows:
        _strict(GetFundingRateInfoResponseInner, row)
    assert funding_info_rows(FundingSchedule(), market) == []


@pytest.mark.parametrize("rate", ["0.0001", "-0.00375", "0.019999999"])
def test_rates_are_8_decimal_strings(rate: str) -> None:
    row = premium_index_row("BTCUSDT", D("1"), SymbolFunding(rate=D(rate)), NOW)
    assert len(row["lastFundingRate"].split(".")[1]) == 8
