"""Market-stream floods over real sockets (pushes driven by the injected sleep).

What is thrown: one connection subscribing 1,024 market streams (every symbol's
``@markPrice``, ``@markPrice@1s``, ``@bookTicker`` and the all-symbol ones), then one
more; SUBSCRIBE/UNSUBSCRIBE churn of hundreds of names per frame for hundreds of frames;
names of 100 kB; 60 connections on ``!markPrice@arr@1s``; a subscriber that never reads.

What must hold: the 1,025th stream is refused with Binance's code 2 and nothing is added;
a tick encodes each payload once however many subscribe to it (counted: ``encoded``),
and hands one message to each subscriber; churn leaves exactly the streams last
subscribed (no subscriber, sink or name left behind); a subscriber that never reads is
dropped at the output bound and forgotten, while the others keep receiving; after
every connection closes, no subscriber is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer
from posrisk.gateway.settings import GatewaySettings
from posrisk.protocol.streams import MAX_STREAMS

from ..gateway.conftest import make_server
from ..gateway.test_backpressure import open_unread
from ..gateway.test_market_streams import gate, received, stream_url, until
from ..service.conftest import Keys

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

OUTPUT_MAX = 64 << 10


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    settings = GatewaySettings(
        ping_interval_s=3600,
        pong_timeout_s=3600,
        stream_messages_per_s=10**6,  # churn without waiting on the wall clock
        output_pause_bytes=OUTPUT_MAX // 2,
        output_resume_bytes=OUTPUT_MAX // 4,
        output_max_bytes=OUTPUT_MAX,
    )
    running = await make_server(tmp_path, keys, gateway=settings)
    yield running
    await running.stop()


def _streams(server: PosriskServer) -> Any:
    assert server.gateway is not None
    return server.gateway.api.market_streams


def _subscribers(server: PosriskServer) -> int:
    """Subscribers of every market stream, as the service counts them (its repr)."""
    found = re.search(r"(\d+) subscribers", repr(_streams(server)))
    assert found is not None
    return int(found.group(1))


def _served_names(server: PosriskServer) -> list[str]:
    names = ["!markPrice@arr", "!markPrice@arr@1s", "!bookTicker"]
    for symbol in _streams(server).api.market:
        lower = symbol.name.lower()
        names += [f"{lower}@markPrice", f"{lower}@markPrice@1s", f"{lower}@bookTicker"]
    return names


async def _ask(ws: Any, method: str, params: list[str], request_id: int) -> Any:
    await ws.send(json.dumps({"method": method, "params": params, "id": request_id}))
    while True:  # pushes may come before the answer
        reply = await received(ws)
        if isinstance(reply, dict) and reply.get("id") == request_id:
            return reply


async def test_1024_market_streams_on_one_connection_then_one_more(
    server: PosriskServer,
) -> None:
    sleep = gate(server)
    streams = _streams(server)
    names = _served_names(server)
    assert len(names) > MAX_STREAMS
    async with websockets.connect(stream_url(server, "/stream"), max_size=None) as ws:
        for start in range(0, MAX_STREAMS, 256):
            chunk = names[start : min(start + 256, MAX_STREAMS)]
            assert await _ask(ws, "SUBSCRIBE", chunk, start) == {"result": None, "id": start}
        assert _subscribers(server) == MAX_STREAMS
        refused = await _ask(ws, "SUBSCRIBE", [names[MAX_STREAMS]], 9999)
        assert refused == {"code": 2, "msg": "Invalid request: too many parameters", "id": 9999}
        assert _subscribers(server) == MAX_STREAMS
        # One tick: each payload encoded once — the marked symbols' (2 here) and the array.
        encoded, sent = streams.encoded, streams.sent
        await sleep.release(1)
        marked = len(streams.api.registry.marks)
        assert streams.encoded - encoded <= 2 * marked + 1
        assert streams.sent - sent == streams.encoded - encoded
    await until(lambda: _subscribers(server) == 0)


async def test_subscription_churn_leaves_nothing_behind(server: PosriskServer) -> None:
    gate(server)
    names = _served_names(server)[:300]
    junk = [f"x{i}@aggTrade" for i in range(300)]  # acknowledged, silent, kept as names
    assert server.gateway is not None
    async with websockets.connect(stream_url(server, "/ws"), max_size=None) as ws:
        for round_ in range(100):
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": names + junk, "id": 1}))
            await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": names + junk, "id": 2}))
            if round_ % 25 == 0:
                assert (await received(ws))["id"] == 1
                assert (await received(ws))["id"] == 2
        last = names[:7]
        assert await _ask(ws, "SUBSCRIBE", last, 3) == {"result": None, "id": 3}
        listed = await _ask(ws, "LIST_SUBSCRIPTIONS", [], 4)
        assert listed["result"] == last
        assert _subscribers(server) == 7
        (listener,) = [c for c in server.gateway.streams]
        assert sorted(listener.market_sinks) == sorted(last)
    await until(lambda: _subscribers(server) == 0)


async def test_a_100kb_name_is_refused_and_not_kept(server: PosriskServer) -> None:
    async with websockets.connect(stream_url(server, "/ws"), max_size=None) as ws:
        for i in range(5):
            refused = await _ask(ws, "SUBSCRIBE", [f"{i}" * 100_000], i)
            assert refused == {"code": 2, "msg": "Invalid request: invalid stream", "id": i}
        assert (await _ask(ws, "LIST_SUBSCRIPTIONS", [], 9))["result"] == []


async def test_many_connections_on_the_array_cost_one_encoding(server: PosriskServer) -> None:
    sleep = gate(server)
    streams = _streams(server)
    url = stream_url(server, "/market/ws/!markPrice@arr@1s")
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(websockets.connect(url)) for _ in range(60)]
        await until(lambda: _subscribers(server) == 60)
        encoded = streams.encoded
        await sleep.release(1)
        messages = [await asyncio.wait_for(ws.recv(), 5) for ws in clients]
        assert streams.encoded - encoded == 1
        assert len(set(messages)) == 1 and isinstance(json.loads(messages[0]), list)
    await until(lambda: _subscribers(server) == 0)


async def test_a_subscriber_that_never_reads_is_dropped_and_forgotten(
    server: PosriskServer,
) -> None:
    sleep = gate(server)
    assert server.gateway is not None
    gateway = server.gateway
    path = "/market/ws/!markPrice@arr@1s"
    sock = await open_unread(server.port, path)
    try:
        async with websockets.connect(stream_url(server, path)) as reader:
            await until(lambda: _subscribers(server) == 2)
            # The kernel's share kept small, so what the process holds shows.
            for listener in list(gateway.streams):
                assert listener.transport is not None
                raw = listener.transport.underlying_transport.get_extra_info("socket")
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            ticks = 0
            while _subscribers(server) == 2:
                await sleep.release(1)
                await asyncio.wait_for(reader.recv(), 5)  # the reader keeps receiving
                ticks += 1
                assert ticks < 5000, "the subscriber that never reads was never dropped"
            assert _subscribers(server) == 1
            await sleep.release(1)
            assert isinstance(json.loads(await asyncio.wait_for(reader.recv(), 5)), list)
    finally:
        sock.close()
    await until(lambda: _subscribers(server) == 0)
