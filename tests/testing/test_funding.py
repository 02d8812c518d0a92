"""The testing kit's funding: ``set_funding`` on a running test server, and
``serve(funding=FILE)`` replaying a series; both seen as a client sees them."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from posrisk.engine import EngineError
from posrisk.testing import serve

pytestmark = pytest.mark.timeout(60)


def get(base: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
        return json.loads(response.read())


def test_set_funding_is_what_premium_index_and_funding_info_show() -> None:
    with serve() as exchange:
        answer = exchange.set_funding("BTCUSDT", rate="0.0003", interval_hours=4)
        assert (answer["rate"], answer["intervalHours"], answer["nextFundingRate"]) == (
            "0.0003",
            4,
            "0.0003",
        )
        exchange.set_marks(BTCUSDT="60000")
        row = get(exchange.http_url, "/fapi/v1/premiumIndex?symbol=BTCUSDT")
        assert row["lastFundingRate"] == "0.00030000"
        assert row["nextFundingTime"] % (4 * 3_600_000) == 0
        exchange.set_funding("BTCUSDT", cap="0.0002")  # the rest stays
        row = get(exchange.http_url, "/fapi/v1/premiumIndex?symbol=BTCUSDT")
        assert row["lastFundingRate"] == "0.00020000"  # clamped
        info = get(exchange.http_url, "/fapi/v1/fundingInfo")
        assert [(r["symbol"], r["fundingIntervalHours"]) for r in info] == [("BTCUSDT", 4)]
        with pytest.raises(EngineError, match="intervalHours"):
            exchange.set_funding("BTCUSDT", interval_hours=5)


def test_serve_replays_a_funding_file(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("time,symbol,rate\n0,ETHUSDT,-0.0007\n")
    with serve(funding=path) as exchange:
        exchange.set_marks(ETHUSDT="2000")
        row = get(exchange.http_url, "/fapi/v1/premiumIndex?symbol=ETHUSDT")
        assert row["lastFundingRate"] == "-0.00070000"
