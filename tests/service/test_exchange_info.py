"""The exchangeInfo document: serialised once, the time spliced in per request."""

from __future__ import annotations

import orjson

from posrisk.engine import Market
from posrisk.service.exchange_info import ExchangeInfo, exchange_info, exchange_info_json


def test_the_spliced_document_is_the_serialised_one() -> None:
    market = Market.default()
    document = ExchangeInfo(market, request_weight=1200)
    for now in (0, 1_700_000_000_000, 2**63 - 1):
        assert document.at(now) == exchange_info_json(market, now, 1200)
        assert orjson.loads(document.at(now)) == exchange_info(market, now, 1200)
    assert "bytes" in repr(document)
