"""/metrics of gateways sharing a port (``serve --workers N``): whichever gateway a scrape
reaches shows every worker, labelled; counters never move backwards between scrapes;
REST requests are counted as WS API requests are."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer
from posrisk.gateway.server import GatewaySettings

from ..service.conftest import Keys
from .conftest import make_server
from .test_server import ask, get, signed

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest_asyncio.fixture
async def gateways(tmp_path: Path, keys: Keys) -> AsyncIterator[list[PosriskServer]]:
    """Two gateways exchanging their figures through one folder, as two workers do."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    running = []
    try:
        for worker in (0, 1):
            settings = GatewaySettings(worker=worker, metrics_folder=str(folder))
            db = str(tmp_path / f"worker-{worker}.db")
            running.append(await make_server(tmp_path, keys, db=db, gateway=settings))
        yield running
    finally:
        for server in running:
            await server.stop()


async def scrape(server: PosriskServer) -> dict[str, float]:
    def read() -> str:
        with urllib.request.urlopen(server.http_url + "/metrics", timeout=5) as response:
            return str(response.read().decode())

    text = await asyncio.to_thread(read)
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def counters(samples: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in samples.items() if re.match(r"posrisk_request(s_total|_seconds)", k)}


async def test_every_gateway_shows_every_worker_and_counts_rest(
    gateways: list[PosriskServer],
) -> None:
    first, second = gateways
    async with websockets.connect(first.ws_url) as ws:
        assert (await ask(ws, "v2/account.position", signed()))["status"] == 200
    assert (await get(second.http_url + "/fapi/v1/time"))[0] == 200
    # A scrape shows the answering gateway's figures as of now, the other's as of its own
    # last scrape or periodic write (``metrics_share_s``): from the second scrape on, both
    # answered one since their requests.
    seen = [await scrape(server) for server in (first, second, first, second)]
    for samples in seen[1:]:
        assert (
            samples['posrisk_requests_total{worker="0",method="v2/account.position",status="200"}']
            == 1
        )
        assert (
            samples['posrisk_requests_total{worker="1",method="/fapi/v1/time",status="200"}'] == 1
        )
        assert samples['posrisk_request_seconds_count{worker="1",method="/fapi/v1/time"}'] == 1
        assert 'posrisk_api_connections{worker="0"}' in samples
        assert 'posrisk_accounts{worker="1"}' in samples
        assert not [k for k in samples if "worker=" not in k]  # every sample is labelled
    # Scrape after scrape, whichever gateway answers, no counter goes backwards.
    for before, after in itertools.pairwise(seen):
        assert all(after.get(k, 0) >= v for k, v in counters(before).items())


async def test_a_worker_no_longer_running_is_left_out(
    gateways: list[PosriskServer], tmp_path: Path
) -> None:
    gone = {"pid": 2**22 + 12345, "metrics": {"requests": [["x", 200, 5]], "latency": {}}}
    gone["gauges"] = {}
    (tmp_path / "metrics" / "worker-7.json").write_text(json.dumps(gone))
    assert os.path.exists(tmp_path / "metrics" / "worker-0.json")
    samples = await scrape(gateways[1])
    assert not [k for k in samples if 'worker="7"' in k]
    assert [k for k in samples if 'worker="0"' in k]
