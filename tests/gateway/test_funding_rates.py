"""Funding rates and index prices on a served server: the admin API's GET and PUT
funding, a scenario's funding, ``--funding FILE``, a replay file's index and rate
columns — each seen in premiumIndex and fundingInfo."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from posrisk.app import PosriskServer
from posrisk.service.clock import ManualClock
from posrisk.service.errors import ServiceError

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys, known_scenario
from .conftest import make_server
from .test_admin import TOKEN, call
from .test_third_party_clients import ccxt_client

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC: a funding time of every interval
H = 3_600_000


async def public(server: PosriskServer, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.http_url}{path}") as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def test_put_funding_is_served_and_get_lists_it(tmp_path: Path, keys: Keys) -> None:
    server = await make_server(tmp_path, keys, admin_token=TOKEN, clock=ManualClock(T0 - H))
    try:
        assert await call(server, "GET", "/funding") == (200, {})
        status, answer = await call(
            server, "PUT", "/funding",
            {"BTCUSDT": {"rate": "0.0003", "intervalHours": 4, "cap": "0.01", "floor": "-0.01"}},
        )  # fmt: skip
        assert status == 200
        assert answer["BTCUSDT"] == {
            "rate": "0.0003", "intervalHours": 4, "cap": "0.01", "floor": "-0.01",
            "rateTime": T0 - H, "nextFundingTime": T0, "nextFundingRate": "0.0003",
        }  # fmt: skip
        assert await call(server, "GET", "/funding") == (200, answer)
        row = await public(server, "/fapi/v1/premiumIndex?symbol=BTCUSDT")
        assert (row["lastFundingRate"], row["nextFundingTime"]) == ("0.00030000", T0)
        assert await public(server, "/fapi/v1/fundingInfo") == [
            {
                "symbol": "BTCUSDT",
                "adjustedFundingRateCap": "0.01000000",
                "adjustedFundingRateFloor": "-0.01000000",
                "fundingIntervalHours": 4,
                "disclaimer": False,
            }
        ]
        # A rate beyond the cap is kept, and shown clamped (as settled).
        await call(server, "PUT", "/funding", {"BTCUSDT": {"rate": "0.05"}})
        row = await public(server, "/fapi/v1/premiumIndex?symbol=BTCUSDT")
        assert row["lastFundingRate"] == "0.01000000"
    finally:
        await server.stop()
    again = await make_server(tmp_path, keys, admin_token=TOKEN, scenario=None)
    try:  # durable: a restart serves it
        assert (await call(again, "GET", "/funding"))[1]["BTCUSDT"]["rate"] == "0.05"
    finally:
        await again.stop()


@pytest.mark.parametrize(
    ("body", "status", "code", "text"),
    [
        ({"BTCUSDT": {"intervalHours": 3}}, 400, -1130, "funding.BTCUSDT.intervalHours"),
        ({"BTCUSDT": {"cap": "0.01", "floor": "0.02"}}, 400, -1130, "must be above floor"),
        ({"NOPEUSDT": {"rate": "0.1"}}, 400, -1121, "NOPEUSDT"),
        ([], 400, -1130, "body must be a JSON object"),
    ],
)
async def test_put_funding_refusals(
    tmp_path: Path, keys: Keys, body: object, status: int, code: int, text: str
) -> None:
    server = await make_server(tmp_path, keys, admin_token=TOKEN)
    try:
        got, answer = await call(server, "PUT", "/funding", body)
        assert (got, answer["code"]) == (status, code)
        assert text in answer["msg"]
        assert await call(server, "GET", "/funding") == (200, {})
    finally:
        await server.stop()


async def test_a_scenarios_funding_is_served(tmp_path: Path, keys: Keys) -> None:
    scenario = known_scenario(keys)
    scenario["funding"] = {"ETHUSDT": {"rate": "-0.0002", "intervalHours": 1}}
    path = tmp_path / "funding-scenario.json"
    path.write_text(json.dumps(scenario))
    server = await make_server(tmp_path, keys, scenario=path, clock=ManualClock(T0 + 1))
    try:
        row = await public(server, "/fapi/v1/premiumIndex?symbol=ETHUSDT")
        assert (row["lastFundingRate"], row["nextFundingTime"]) == ("-0.00020000", T0 + H)
        info = await public(server, "/fapi/v1/fundingInfo")
        assert [(r["symbol"], r["fundingIntervalHours"]) for r in info] == [("ETHUSDT", 1)]
    finally:
        await server.stop()


async def test_a_replayed_funding_file_is_served(tmp_path: Path, keys: Keys) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text(f"time,symbol,rate\n{T0},BTCUSDT,0.00025\n{T0 + 8 * H},BTCUSDT,-0.0004\n")
    clock = ManualClock(T0 - H)
    server = await make_server(tmp_path, keys, funding_file=rates, clock=clock)
    try:
        row = await public(server, "/fapi/v1/premiumIndex?symbol=BTCUSDT")
        assert row["lastFundingRate"] == "0.00025000"
        clock.advance(2 * H)  # past T0: the next funding time takes the next entry
        row = await public(server, "/fapi/v1/premiumIndex?symbol=BTCUSDT")
        assert (row["lastFundingRate"], row["nextFundingTime"]) == ("-0.00040000", T0 + 8 * H)
        assert server.rates is not None
        assert server.rates.schedule(T0).of("BTCUSDT").rate == Decimal("0.00025")
    finally:
        await server.stop()


async def test_a_funding_file_that_cannot_be_read_refuses_the_start(
    tmp_path: Path, keys: Keys
) -> None:
    rates = tmp_path / "rates.jsonl"
    rates.write_text('{"time": 1, "symbol": "BTCUSDT", "rate": "0.1"}\n{"time": 2}\n')
    with pytest.raises(ServiceError, match=r"--funding: .*rates.jsonl:2: expected time"):
        await make_server(tmp_path, keys, funding_file=rates)
    assert not (tmp_path / "posrisk.db").exists()  # refused before the database


async def test_a_replay_files_index_and_rate_reach_premium_index(
    tmp_path: Path, keys: Keys
) -> None:
    marks = tmp_path / "marks.csv"
    marks.write_text("time,symbol,mark,index,fundingRate\n1,BTCUSDT,60000,59990.5,0.00031\n")
    server = await make_server(tmp_path, keys, marks="replay", marks_file=marks, marks_speed=0.0)
    try:
        assert server.feed is not None and server.rates is not None
        for _ in range(1000):  # the replay runs on the server's loop: bounded wait
            if server.rates.index_price("BTCUSDT") is not None and server.feed.ticks:
                break
            await asyncio.sleep(0.001)
        row = await public(server, "/fapi/v1/premiumIndex?symbol=BTCUSDT")
        assert (row["markPrice"], row["indexPrice"]) == ("60000.00000000", "59990.50000000")
        assert row["estimatedSettlePrice"] == "60000.00000000"
        assert row["lastFundingRate"] == "0.00031000"
        eth = await public(server, "/fapi/v1/premiumIndex?symbol=ETHUSDT")
        assert eth["indexPrice"] == eth["markPrice"]  # no index told: the mark
    finally:
        await server.stop()


async def test_ccxt_reads_a_set_rate_and_interval(tmp_path: Path, keys: Keys) -> None:
    server = await make_server(tmp_path, keys, admin_token=TOKEN)
    exchange = ccxt_client(server, HMAC_KEY, HMAC_SECRET)
    try:
        body = {"ETHUSDT": {"rate": "-0.00035", "intervalHours": 4}}
        assert (await call(server, "PUT", "/funding", body))[0] == 200
        funding = await exchange.fetch_funding_rate("ETH/USDT:USDT")
        assert (funding["fundingRate"], funding["markPrice"]) == (-0.00035, 950.0)
        assert funding["fundingTimestamp"] % (4 * H) == 0
        intervals = await exchange.fetch_funding_intervals()
        assert intervals["ETH/USDT:USDT"]["interval"] == "4h"
        assert list(intervals) == ["ETH/USDT:USDT"]  # only the symbols not on the defaults
    finally:
        await exchange.close()
        await server.stop()
