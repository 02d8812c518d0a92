"""``posrisk serve --workers N``: gateway processes sharing one port, one database, one
Redis; a worker killed mid-load costs only its connections and is started again."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from posrisk.app import ServerSettings
from posrisk.client import PositionClient
from posrisk.service.errors import ServiceError
from posrisk.workers import Supervisor

from .bus.conftest import REDIS_URL, redis_reachable
from .bus.test_orders import rest_call
from .gateway.test_server import ask, http_get, signed
from .service.conftest import (
    HEDGE_KEY,
    HEDGE_SECRET,
    HMAC_KEY,
    HMAC_SECRET,
    Keys,
    keys,
    known_scenario,
)
from .store.conftest import POSTGRES_DSN, postgres_schema

__all__ = ["keys"]

pytestmark = pytest.mark.timeout(120)


def test_workers_need_postgresql_and_redis(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "posrisk.cli",
            "serve",
            "--db",
            str(tmp_path / "x.db"),
            "--workers",
            "2",
            "--port",
            "0",
            "--admin-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--workers N shares one database" in result.stderr
    assert "--db postgresql://... and --redis redis://..." in result.stderr
    # The same from the environment file a deployment uses.
    from_env = subprocess.run(
        [sys.executable, "-m", "posrisk.cli", "serve", "--port", "0", "--admin-port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "POSRISK_DB": str(tmp_path / "y.db"), "POSRISK_WORKERS": "3"},
    )
    assert from_env.returncode == 1 and "--workers N shares one database" in from_env.stderr


@pytest.mark.asyncio
async def test_a_busy_port_refuses_the_workers_before_the_database_is_touched() -> None:
    await redis_reachable(REDIS_URL)
    admin, schema = await postgres_schema()
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            settings = ServerSettings(
                db=f"{POSTGRES_DSN}?search_path={schema}",
                redis=REDIS_URL,
                port=0,
                admin_port=taken.getsockname()[1],
            )
            supervisor = Supervisor(settings, 2)
            with pytest.raises(ServiceError, match=r"for the admin API \(--admin-port\): Address"):
                await asyncio.to_thread(supervisor.start)
        tables = await admin.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
        assert tables == []  # not even migrated
        assert repr(supervisor) == "<Supervisor 0/2 workers>"
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


class Served:
    def __init__(self, process: subprocess.Popen[str], banner: str) -> None:
        self.process = process
        self.banner = banner
        line = next(x for x in banner.splitlines() if "WebSocket API" in x)
        self.ws_url = line.split()[-1]
        self.http_url = self.ws_url.replace("ws://", "http://").removesuffix("/ws-fapi/v1")
        admin = next(x for x in banner.splitlines() if "admin API" in x)
        self.admin_url = admin.split()[2]

    def pids(self, tries: int = 60) -> set[int]:
        """Worker PIDs seen over new connections (the kernel spreads them)."""
        return {http_get(self.http_url + "/health")[2]["pid"] for _ in range(tries)}


@pytest_asyncio.fixture
async def served(tmp_path: Path, keys: Keys) -> AsyncIterator[Served]:
    await redis_reachable(REDIS_URL)
    admin, schema = await postgres_schema()
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(known_scenario(keys)))
    env = {
        **os.environ,
        "POSRISK_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "POSRISK_ADMIN_TOKEN": "workers-test-token",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posrisk.cli",
            "serve",
            "--db",
            f"{POSTGRES_DSN}?search_path={schema}",
            "--redis",
            REDIS_URL,
            "--redis-prefix",
            f"posrisk-test-{uuid.uuid4().hex[:8]}:",
            "--workers",
            "2",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--scenario",
            str(scenario),
            # Finding both workers takes hundreds of GET /health, each weight 1 for 127.0.0.1.
            "--no-ip-limits",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    banner = ""
    try:
        assert process.stdout is not None
        while "Press Ctrl-C" not in banner:
            line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
            if not line:
                raise AssertionError(
                    f"serve exited: {process.stderr.read() if process.stderr else ''}"
                )
            banner += line
        yield Served(process, banner)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def v2_rows(url: str) -> Any:
    async with websockets.connect(url) as ws:
        return (await ask(ws, "v2/account.position", signed(HEDGE_KEY, HEDGE_SECRET)))["result"]


@pytest.mark.asyncio
async def test_two_workers_serve_as_one_and_survive_a_kill(served: Served) -> None:
    pids = served.pids()
    assert len(pids) == 2, "new connections reach both workers"
    # Whichever worker answers /metrics shows both, each sample labelled with its worker.
    for _ in range(6):
        with urllib.request.urlopen(served.http_url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        assert all(f'posrisk_api_connections{{worker="{i}"}}' in text for i in (0, 1)), text
    # Every worker answers with the same rows.
    answers = [await v2_rows(served.ws_url) for _ in range(12)]
    assert all(a == answers[0] for a in answers)

    # A fill through the admin API reaches streams on both workers.
    async with websockets.connect(served.ws_url) as ws:
        key = (await ask(ws, "userDataStream.start", {"apiKey": HEDGE_KEY}))["result"]["listenKey"]
    streams = [
        await websockets.connect(f"{served.http_url.replace('http', 'ws')}/ws/{key}")
        for _ in range(8)
    ]
    try:
        status, _, _ = http_get(served.http_url + "/health")
        assert status == 200
        body = json.dumps(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "qty": "0.002",
                "price": "21000",
                "positionSide": "LONG",
                "force": True,  # bob's wallet is the SPEC's 2.53: too little to open more
            }
        ).encode()
        request = urllib.request.Request(
            f"{served.admin_url}/accounts/bob/fills",
            data=body,
            method="POST",
            headers={
                "Authorization": "Bearer workers-test-token",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200
        for stream in streams:
            update = json.loads(await asyncio.wait_for(stream.recv(), 10))
            assert update["e"] == "ACCOUNT_UPDATE" and update["a"]["P"][0]["pa"] == "0.003"
    finally:
        for stream in streams:
            await stream.close()

    # Kill each original worker in turn while a client keeps asking: its connection is on
    # one of them, so it loses it once, reconnects to the other, and misses no answer.
    first, second = sorted(pids)
    async with PositionClient(
        served.ws_url, HEDGE_KEY, HEDGE_SECRET, backoff=(0.05, 0.5)
    ) as client:
        for n in range(300):
            if n == 50:
                os.kill(first, signal.SIGKILL)
            if n == 150:
                await replaced(served, first)
                os.kill(second, signal.SIGKILL)
            rows = await client.positions_v2("BTCUSDT")
            assert Decimal("0.003") in {row.position_amt for row in rows}
        assert client.connections >= 2  # it did lose its connection and came back
    await replaced(served, first, second)
    assert served.process.poll() is None

    # Revoked through the admin API (either worker answers it): once it has answered, no
    # worker accepts the key. The killed workers may still be on the roll (their presence
    # lapses after 5 s): then the answer names them, and the live ones have confirmed.
    request = urllib.request.Request(
        f"{served.admin_url}/accounts/bob/keys/{HEDGE_KEY}",
        method="DELETE",
        headers={"Authorization": "Bearer workers-test-token"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        answer = json.loads(reply.read())
    assert answer["revoked"] is True and answer["gateways"]["confirmed"] >= 1
    for _ in range(8):  # new connections: both workers
        async with websockets.connect(served.ws_url) as ws:
            refused = await ask(ws, "account.position", signed(HEDGE_KEY, HEDGE_SECRET))
        assert refused["error"]["code"] == -2015


async def replaced(served: Served, *dead: int) -> None:
    """Until the supervisor has started workers in place of ``dead``."""
    for _ in range(200):
        try:
            now = served.pids(20)
        except OSError:  # a connection the killed worker's socket had queued
            await asyncio.sleep(0.1)
            continue
        if len(now) == 2 and not now & set(dead):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"killed workers {dead} were not replaced")


async def alice(served: Served, method: str, path: str, **params: Any) -> Any:
    """Alice's signed REST call on whichever worker takes the connection: the body."""
    status, _, body = await asyncio.to_thread(rest_call, served.http_url, method, path, params)
    assert status == 200, body
    return body


async def place_resting(served: Served, price: int, client_id: str) -> int:
    async with websockets.connect(served.ws_url) as ws:
        reply = await ask(
            ws, "order.place",
            signed(HMAC_KEY, HMAC_SECRET, symbol="BTCUSDT", side="BUY", type="LIMIT",
                   timeInForce="GTC", quantity="0.010", price=str(price),
                   newClientOrderId=client_id),
        )  # fmt: skip
    assert reply["status"] == 200, reply
    return int(reply["result"]["orderId"])


def set_marks(served: Served, price: str) -> None:
    request = urllib.request.Request(
        f"{served.admin_url}/marks",
        data=json.dumps({"BTCUSDT": price}).encode(),
        method="PUT",
        headers={"Authorization": "Bearer workers-test-token", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200


async def every_page(
    served: Served, path: str, key: str, by: str = "orderId"
) -> list[dict[str, Any]]:
    """Every row of alice's BTCUSDT ``path`` (allOrders, userTrades), 1000 at a time."""
    rows: list[dict[str, Any]] = []
    since = 0
    while True:
        page = await alice(served, "GET", path, symbol="BTCUSDT", limit=1000, **{by: since})
        rows += page
        if len(page) < 1000:
            return rows
        since = page[-1][key] + 1


class FillStream:
    """One client placing MARKET orders back to back (buy, sell, ...), reconnecting when
    its worker dies and waiting a moment when the account's ORDERS window is full; what
    was acknowledged is kept (an order whose answer was lost with the connection may or
    may not have been placed)."""

    def __init__(self, served: Served, name: str) -> None:
        self.served, self.name = served, name
        self.acked: dict[int, str] = {}
        self.lost = 0

    async def run(self, stop: asyncio.Event) -> None:
        ws = await self._connect()
        n = 0
        try:
            while not stop.is_set():
                n += 1
                params = signed(
                    HMAC_KEY, HMAC_SECRET, symbol="BTCUSDT", side="SELL" if n % 2 else "BUY",
                    type="MARKET", quantity="0.005", newClientOrderId=f"{self.name}-{n}",
                )  # fmt: skip
                try:
                    reply = await ask(ws, "order.place", params)
                except (websockets.ConnectionClosed, OSError, TimeoutError):
                    self.lost += 1
                    ws = await self._connect()
                    continue
                if reply["status"] == 429:  # the ORDERS windows, shared by the workers
                    assert reply["error"]["code"] == -1015, reply
                    await asyncio.sleep(0.1)
                    continue
                assert reply["status"] == 200, reply
                self.acked[int(reply["result"]["orderId"])] = reply["result"]["clientOrderId"]
        finally:
            await ws.close()

    async def _connect(self) -> Any:
        for _ in range(200):  # the port is the survivor's (and the restarted one's)
            try:
                return await websockets.connect(self.served.ws_url)
            except (OSError, websockets.InvalidHandshake):
                await asyncio.sleep(0.05)
        raise AssertionError("no worker took the connection")


@pytest.mark.asyncio
async def test_orders_on_two_workers_fill_once_and_survive_a_killed_worker(
    served: Served,
) -> None:
    first, second = sorted(served.pids())
    # Resting orders placed over connections that both workers take.
    ids = [await place_resting(served, 21000 - 10 * n, f"rest-{n}") for n in range(8)]
    assert len(set(ids)) == 8
    # The admin API (either worker) moves the mark across them; both workers match it.
    set_marks(served, "20900")
    for _ in range(200):
        if not await alice(served, "GET", "/fapi/v1/openOrders", symbol="BTCUSDT"):
            break
        await asyncio.sleep(0.05)
    trades = await alice(served, "GET", "/fapi/v1/userTrades", symbol="BTCUSDT", limit=1000)
    assert Counter(t["orderId"] for t in trades) == Counter(ids)  # one TRADE each

    # Four clients placing fills back to back while each original worker is killed.
    streams = [FillStream(served, f"s{n}") for n in range(4)]
    stop = asyncio.Event()
    running = asyncio.gather(*(stream.run(stop) for stream in streams))

    async def acked(more: int) -> None:
        target = sum(len(s.acked) for s in streams) + more
        while sum(len(s.acked) for s in streams) < target:
            assert not running.done(), "the streams ended early"
            await asyncio.sleep(0.01)

    await acked(40)
    os.kill(first, signal.SIGKILL)
    await acked(40)  # the survivor serves meanwhile
    await replaced(served, first)
    os.kill(second, signal.SIGKILL)
    await acked(40)
    stop.set()
    await running
    await replaced(served, first, second)
    assert all(stream.lost >= 1 for stream in streams)  # each lost its worker once
    every = {i: c for s in streams for i, c in s.acked.items()}
    assert len(every) == sum(len(s.acked) for s in streams) >= 120  # orderIds unique

    # Every acknowledged order is stored, filled once; every worker (the restarted ones
    # replayed the ledger) answers the same.
    answers = [await every_page(served, "/fapi/v1/allOrders", "orderId") for _ in range(6)]
    assert all(a == answers[0] for a in answers)
    stored = {o["orderId"]: o for o in answers[0]}
    for order_id, client_id in every.items():
        assert stored[order_id]["clientOrderId"] == client_id
        assert stored[order_id]["status"] == "FILLED"
    trades = await every_page(served, "/fapi/v1/userTrades", "id", "fromId")
    per_order = Counter(t["orderId"] for t in trades)
    assert all(per_order[order_id] == 1 for order_id in [*ids, *every])
    assert len({t["id"] for t in trades}) == len(trades)  # trade ids unique
    rows = []
    for _ in range(8):
        async with websockets.connect(served.ws_url) as ws:
            reply = await ask(ws, "v2/account.position", signed(HMAC_KEY, HMAC_SECRET))
        rows.append(reply["result"])
    assert all(r == rows[0] for r in rows)
