"""Funding rates across gateways on one PostgreSQL database and one Redis: a rate set on
one gateway is served by the others (each reads the stored settings every few seconds),
and what the gateway running the mark source saw reaches the others too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from posrisk.marks import MarkExtras

from .conftest import Cluster, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]
D = Decimal


async def http(method: str, url: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, json=body, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_rate_set_on_one_gateway_is_served_by_another(cluster: Cluster) -> None:
    one = await cluster.gateway(marks_save_s=0.05)
    two = await cluster.gateway(marks_save_s=0.05)
    assert one.rates is not None and two.rates is not None
    body = {"BTCUSDT": {"rate": "0.0006", "intervalHours": 4, "cap": "0.03"}}
    await http("PUT", f"{one.admin_url}/funding", body, "cluster-test-token")
    now = two.clock.now_ms()
    await until(
        lambda: two.rates is not None and two.rates.upcoming("BTCUSDT", now).rate == D("0.0006")
    )
    row = await http("GET", f"{two.http_url}/fapi/v1/premiumIndex?symbol=BTCUSDT")
    assert row["lastFundingRate"] == "0.00060000"
    info = await http("GET", f"{two.http_url}/fapi/v1/fundingInfo")
    assert info == [
        {
            "symbol": "BTCUSDT",
            "adjustedFundingRateCap": "0.03000000",
            "adjustedFundingRateFloor": "-0.02000000",
            "fundingIntervalHours": 4,
            "disclaimer": False,
        }
    ]
    # The admin API of the other gateway lists it too.
    listed = await http("GET", f"{two.admin_url}/funding", token="cluster-test-token")
    assert listed["BTCUSDT"]["rate"] == "0.0006"


async def test_what_the_source_gateway_saw_reaches_the_others(cluster: Cluster) -> None:
    one = await cluster.gateway(marks_save_s=0.05)
    two = await cluster.gateway(marks_save_s=0.05)
    assert one.rates is not None and two.rates is not None
    one.rates.observing = True  # as the gateway running a Binance stream is
    one.rates.observe({"ETHUSDT": MarkExtras(D("1999.25"), D("0.00021"))})
    await until(lambda: two.rates is not None and two.rates.index_price("ETHUSDT") is not None)
    row = await http("GET", f"{two.http_url}/fapi/v1/premiumIndex?symbol=ETHUSDT")
    assert (row["indexPrice"], row["lastFundingRate"]) == ("1999.25000000", "0.00021000")
