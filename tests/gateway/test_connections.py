"""Connection rules (SPEC §7): pings, pong timeout, lifetime, connections per IP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets
from picows import WSListener, WSMsgType, ws_connect

from posrisk.app import PosriskServer
from posrisk.gateway.server import GatewaySettings

from ..service.conftest import Keys
from .conftest import make_server
from .test_server import ask, signed

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

RULES = GatewaySettings(
    ping_interval_s=3600, pong_timeout_s=600, max_lifetime_s=86400, max_connections_per_ip=3
)


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, gateway=RULES)
    yield running
    await running.stop()


async def until(condition: Any, seconds: float = 5.0) -> None:
    """Wait for ``condition()`` to hold (bounded: a broken promise fails, never hangs)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


class Silent(WSListener):
    """A client that never answers pings and records how it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.pings = 0
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: Any, frame: Any) -> None:
        if frame.msg_type is WSMsgType.PING:
            self.pings += 1
        elif frame.msg_type is WSMsgType.CLOSE and not self.closed.done():
            self.closed.set_result(frame.get_close_code().value)


async def test_pings_then_a_close_without_pongs(server: PosriskServer) -> None:
    gateway = server.gateway
    assert gateway is not None
    _, listener = await ws_connect(Silent, server.ws_url, enable_auto_pong=False)
    assert isinstance(listener, Silent)
    silent = listener
    async with websockets.connect(server.ws_url) as polite:  # answers pings by itself
        await until(lambda: len(gateway.connections) == 2)
        now = asyncio.get_running_loop().time()
        gateway.keepalive(now)  # a ping round: everyone pinged
        # The polite client's pong has arrived (and the silent one saw its ping).
        await until(
            lambda: (
                silent.pings == 1
                and sum(1 for c in gateway.connections if c.unanswered_since is None) == 1
            )
        )
        gateway.keepalive(now + 601)  # ten minutes later: the silent one has no pong
        assert await asyncio.wait_for(silent.closed, 5) == 1008
        assert (await ask(polite, "v2/account.position", signed()))["status"] == 200


async def test_a_connection_ends_at_its_lifetime(server: PosriskServer) -> None:
    gateway = server.gateway
    assert gateway is not None
    async with websockets.connect(server.ws_url) as ws:
        await asyncio.sleep(0.05)
        gateway.keepalive(asyncio.get_running_loop().time() + 86400)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            1000,
            "connection lifetime reached",
        )


async def test_connections_per_ip_are_capped(server: PosriskServer) -> None:
    open_ = [await websockets.connect(server.ws_url) for _ in range(3)]
    try:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(server.ws_url)
        assert refused.value.response.status_code == 429
        assert b"current limit is 3 per IP" in refused.value.response.body
        await open_.pop().close()
        await asyncio.sleep(0.05)
        again = await websockets.connect(server.ws_url)  # a place was freed
        open_.append(again)
        assert (await ask(again, "v2/account.position", signed()))["status"] == 200
    finally:
        for ws in open_:
            await ws.close()


async def test_a_failed_upgrade_holds_no_place(server: PosriskServer) -> None:
    import urllib.error
    import urllib.request

    def plain_get() -> int:
        try:
            urllib.request.urlopen(server.http_url + "/ws-fapi/v1", timeout=5)
        except urllib.error.HTTPError as e:
            return e.code
        return 200

    for _ in range(5):  # plain GETs of the WS path: an unknown REST path, not counted
        assert await asyncio.to_thread(plain_get) == 404
    connections = [await websockets.connect(server.ws_url) for _ in range(3)]
    for ws in connections:
        await ws.close()


async def test_bans_survive_a_restart_and_escalate(tmp_path: Path, keys: Keys) -> None:
    from posrisk.protocol import LimitRules
    from posrisk.service.clock import ManualClock

    clock = ManualClock(1_700_000_020_000)
    rules = LimitRules(request_weight=10, ban_after_rejections=1)
    first = await make_server(tmp_path, keys, limits=rules, clock=clock)
    port = first.port
    async with websockets.connect(first.ws_url) as ws:  # 5
        assert (await ask(ws, "v2/account.position", signed(timestamp=clock.now)))[
            "status"
        ] == 200  # 10
        assert (await ask(ws, "v2/account.position", signed(timestamp=clock.now)))["status"] == 429
        banned = await ask(ws, "v2/account.position", signed(timestamp=clock.now))
        assert banned["status"] == 418
        assert banned["error"]["data"]["retryAfter"] == clock.now + 120_000  # 2 minutes
    await first.stop()

    again = await make_server(tmp_path, keys, limits=rules, clock=clock, scenario=None, port=port)
    try:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(again.ws_url)
        assert refused.value.response.status_code == 418  # still banned after the restart
        clock.advance(120_000)
        async with websockets.connect(again.ws_url) as ws:
            assert (await ask(ws, "v2/account.position", signed(timestamp=clock.now)))[
                "status"
            ] == 200
            assert (await ask(ws, "v2/account.position", signed(timestamp=clock.now)))[
                "status"
            ] == 429
            second = await ask(ws, "v2/account.position", signed(timestamp=clock.now))
            # A repeat offender: the ban doubles to 4 minutes.
            assert second["error"]["data"]["retryAfter"] == clock.now + 240_000
    finally:
        await again.stop()
