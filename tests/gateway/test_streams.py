"""Connections that mostly receive (streams, dashboard viewers): bounded output when the
client never reads, at most 10 frames a second from it, events known by their type."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer
from posrisk.gateway.server import GatewaySettings
from posrisk.gateway.streams import event_type

from ..service.conftest import HMAC_KEY, Keys
from .conftest import make_server
from .test_backpressure import FrameReader, open_unread, until
from .test_server import ask

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

MAX = 256 << 10
MESSAGE = b'{"e":"' + b"x" * (64 << 10) + b'"}'


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    settings = GatewaySettings(
        ping_interval_s=3600,
        pong_timeout_s=3600,
        output_pause_bytes=64 << 10,
        output_resume_bytes=16 << 10,
        output_max_bytes=MAX,
        stream_messages_per_s=10,
    )
    running = await make_server(tmp_path, keys, gateway=settings)
    yield running
    await running.stop()


async def stream_path(server: PosriskServer) -> str:
    async with websockets.connect(server.ws_url) as ws:
        reply = await ask(ws, "userDataStream.start", {"apiKey": HMAC_KEY})
    return "/ws/" + str(reply["result"]["listenKey"])


async def flood(listener: Any) -> int:
    """Send ``listener`` 64 kB messages until it is dropped; the most output held."""
    transport = listener.transport
    held = 0
    for _ in range(200):  # ~13 MB if nothing stops it
        if transport.is_disconnected:
            break
        listener.send(MESSAGE)
        if not transport.is_disconnected:
            held = max(held, transport.underlying_transport.get_write_buffer_size())
        await asyncio.sleep(0)
    await until(lambda: transport.is_disconnected)
    return held


def small_send_buffer(listener: Any) -> None:
    """The kernel's share kept small, so what the process holds shows."""
    sock = listener.transport.underlying_transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


async def test_a_stream_nobody_reads_is_dropped_at_the_bound(server: PosriskServer) -> None:
    gateway = server.gateway
    assert gateway is not None
    sock = await open_unread(server.port, await stream_path(server))
    try:
        await until(lambda: len(gateway.streams) == 1)
        (listener,) = gateway.streams
        small_send_buffer(listener)
        assert await flood(listener) <= MAX + len(MESSAGE) + 16
        await until(lambda: not gateway.streams)
    finally:
        sock.close()


async def test_a_dashboard_viewer_nobody_reads_is_dropped_at_the_bound(
    server: PosriskServer,
) -> None:
    gateway = server.gateway
    assert gateway is not None
    sock = await open_unread(server.port, "/dashboard/ws")
    try:
        await until(lambda: len(gateway.viewers) == 1)
        (viewer,) = gateway.viewers
        small_send_buffer(viewer)
        assert await flood(viewer) <= MAX + len(MESSAGE) + 16
        await until(lambda: not gateway.viewers)
    finally:
        sock.close()


def pong() -> bytes:
    return b"\x8a\x80\x00\x00\x00\x00"  # a masked, empty PONG


@pytest.mark.parametrize("path", ["stream", "/dashboard/ws"])
async def test_more_than_ten_frames_a_second_close_the_connection(
    server: PosriskServer, path: str
) -> None:
    if path == "stream":
        path = await stream_path(server)
    sock = await open_unread(server.port, path)
    try:
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(sock, pong() * 10)  # ten are allowed
        await loop.sock_sendall(sock, pong())  # the eleventh is not
        reader = FrameReader(sock)
        opcode, payload = await reader.next()
        while opcode != 0x8:  # past what the server sent first (a dashboard state)
            opcode, payload = await reader.next()
        assert int.from_bytes(payload[:2], "big") == 1008
    finally:
        sock.close()


async def test_the_event_type_of_an_encoded_event() -> None:
    assert event_type(b'{"e":"ACCOUNT_UPDATE","E":1}') == "ACCOUNT_UPDATE"
    assert event_type(b'{"E":1,"e":"listenKeyExpired"}') == "listenKeyExpired"
    assert event_type(b'{"E":1}') is None
    assert event_type(b'{"e":5}') is None
    assert event_type(b"[1]") is None
    assert event_type(b"not json") is None


async def test_subscription_frames_count_against_the_ten_a_second(server: PosriskServer) -> None:
    base = server.ws_url.replace("/ws-fapi/v1", "")
    async with websockets.connect(f"{base}/market/ws/0") as stream:
        frame = b'{"method":"LIST_SUBSCRIPTIONS","id":1}'
        for _ in range(11):
            await stream.send(frame.decode())
        replies = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                replies.append(await asyncio.wait_for(stream.recv(), 5))
        assert replies == ['{"result":["0"],"id":1}'] * 10
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
