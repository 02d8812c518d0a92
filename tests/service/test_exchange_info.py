"""The exchangeInfo document: serialised once, the time spliced in per request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from posrisk.engine import Market, filters_for
from posrisk.service.exchange_info import ExchangeInfo, exchange_info, exchange_info_json


def test_the_spliced_document_is_the_serialised_one() -> None:
    market = Market.default()
    document = ExchangeInfo(market, request_weight=1200)
    for now in (0, 1_700_000_000_000, 2**63 - 1):
        assert document.at(now) == exchange_info_json(market, now, 1200)
        assert orjson.loads(document.at(now)) == exchange_info(market, now, 1200)
    assert "bytes" in repr(document)


def published(market: Market, name: str) -> dict[str, Any]:
    found = next(s for s in exchange_info(market, 0)["symbols"] if s["symbol"] == name)
    return found  # type: ignore[no-any-return]


def filters_of(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f["filterType"]: {k: v for k, v in f.items() if k != "filterType"} for f in entry["filters"]
    }


def test_the_published_filters_are_the_same_bytes_as_before() -> None:
    # Golden: what exchangeInfo published before the filters moved to the engine.
    market = Market.default()
    btc = published(market, "BTCUSDT")
    assert (btc["pricePrecision"], btc["quantityPrecision"]) == (2, 3)
    assert orjson.dumps(btc["filters"]) == (
        b'[{"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"10000000","tickSize":"0.01"},'
        b'{"filterType":"LOT_SIZE","stepSize":"0.001","maxQty":"10000000","minQty":"0.001"},'
        b'{"filterType":"MARKET_LOT_SIZE","stepSize":"0.001","maxQty":"10000000","minQty":"0.001"},'
        b'{"filterType":"MAX_NUM_ORDERS","limit":200},'
        b'{"filterType":"MAX_NUM_ALGO_ORDERS","limit":10},'
        b'{"filterType":"MIN_NOTIONAL","notional":"5"},'
        b'{"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500",'
        b'"multiplierDecimal":"4"}]'
    )
    ada = published(market, "ADAUSDT")
    assert (ada["pricePrecision"], ada["quantityPrecision"]) == (8, 0)
    assert filters_of(ada)["LOT_SIZE"] == {"stepSize": "1", "maxQty": "10000000", "minQty": "1"}
    assert filters_of(ada)["PRICE_FILTER"]["tickSize"] == "0.00000001"
    sol = published(market, "SOLUSDT")  # no precision known: 8 decimals
    assert (sol["pricePrecision"], sol["quantityPrecision"]) == (8, 8)
    assert filters_of(sol)["MARKET_LOT_SIZE"]["minQty"] == "0.00000001"


def test_what_is_published_is_what_is_enforced() -> None:
    market = Market.default()
    for entry in exchange_info(market, 0)["symbols"]:
        enforced = filters_for(market[entry["symbol"]])
        found = filters_of(entry)
        assert Decimal(found["PRICE_FILTER"]["tickSize"]) == enforced.tick_size
        assert Decimal(found["PRICE_FILTER"]["minPrice"]) == enforced.min_price
        assert Decimal(found["PRICE_FILTER"]["maxPrice"]) == enforced.max_price
        assert Decimal(found["LOT_SIZE"]["stepSize"]) == enforced.step_size
        assert Decimal(found["LOT_SIZE"]["minQty"]) == enforced.min_qty
        assert Decimal(found["MARKET_LOT_SIZE"]["maxQty"]) == enforced.market_max_qty
        assert found["MAX_NUM_ORDERS"]["limit"] == enforced.max_num_orders
        assert Decimal(found["MIN_NOTIONAL"]["notional"]) == enforced.min_notional
        assert Decimal(found["PERCENT_PRICE"]["multiplierUp"]) == enforced.multiplier_up
        assert entry["pricePrecision"] == enforced.price_precision
