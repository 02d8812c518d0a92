"""Bounded output per connection (issue 13 A.3): a client that never reads its socket.

The queue is tested as data (requests in, submissions and reading switches out); the
gateway through a raw socket with a small receive buffer that pipelines all-symbol
``account.position`` requests and never reads.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer
from posrisk.gateway.backpressure import RequestQueue
from posrisk.gateway.server import GatewaySettings

from ..service.conftest import HEDGE_KEY, HEDGE_SECRET, Keys
from .conftest import make_server
from .test_server import signed

pytestmark = [pytest.mark.timeout(60)]

PAUSE = 64 << 10  # small bounds, so a few all-symbol answers pass them
RESUME = 16 << 10
MAX = 1 << 20


# -- the queue, as data --------------------------------------------------------------------


class Recorder:
    """What a queue did: requests submitted, and the reading switches."""

    def __init__(self, answer_at_once: bool = True) -> None:
        self.submitted: list[bytes] = []
        self.reading: list[bool] = []
        self.answer_at_once = answer_at_once
        self.queue = RequestQueue(
            self.submit,
            lambda answer: self.submitted.append(b"answer " + answer),
            self.reading.append,
            max_in_flight=2,
            max_waiting_bytes=10,
        )

    def submit(self, request: bytes) -> None:
        self.submitted.append(request)
        if self.answer_at_once:
            self.queue.answered()


def test_requests_flow_while_the_output_is_read() -> None:
    rec = Recorder()
    for n in range(5):
        assert rec.queue.push(b"%d" % n)
    assert rec.submitted == [b"0", b"1", b"2", b"3", b"4"]
    assert rec.reading == [] and rec.queue.in_flight == 0


def test_paused_output_holds_requests_in_order_and_stops_reading() -> None:
    rec = Recorder()
    rec.queue.push(b"a")
    rec.queue.pause()
    assert rec.reading == [False]
    for request in (b"b", b"c", b"d"):
        assert rec.queue.push(request)
    assert rec.submitted == [b"a"] and rec.queue.waiting_bytes == 3
    rec.queue.resume()
    assert rec.submitted == [b"a", b"b", b"c", b"d"]
    assert rec.reading == [False, True]  # reading resumes once nothing waits


def test_a_pause_during_the_drain_stops_it() -> None:
    rec = Recorder()
    rec.queue.pause()
    for request in (b"a", b"b", b"c"):
        rec.queue.push(request)

    def submit(request: bytes) -> None:
        rec.submitted.append(request)
        rec.queue.pause()  # this answer filled the buffer again
        rec.queue.answered()

    rec.queue._submit = submit
    rec.queue.resume()
    assert rec.submitted == [b"a"] and [m for m, _ in rec.queue.waiting] == [b"b", b"c"]
    assert rec.reading == [False]  # still not reading


def test_answers_decided_later_are_capped_in_flight() -> None:
    """The shared limiter answers later: at most ``max_in_flight`` requests await it."""
    rec = Recorder(answer_at_once=False)
    for request in (b"a", b"b", b"c", b"d"):
        rec.queue.push(request)
    assert rec.submitted == [b"a", b"b"] and rec.queue.in_flight == 2
    assert rec.reading == [False]
    rec.queue.answered()
    assert rec.submitted == [b"a", b"b", b"c"]
    rec.queue.answered()
    rec.queue.answered()
    assert rec.submitted == [b"a", b"b", b"c", b"d"] and rec.reading == [False, True]


def test_an_answer_known_at_once_waits_for_the_answers_before_it() -> None:
    """A refused binary frame's answer goes out after the requests sent before it."""
    rec = Recorder(answer_at_once=False)
    rec.queue.push(b"a")
    rec.queue.push_answer(b"b")
    rec.queue.push(b"c")
    assert rec.submitted == [b"a"]  # "c" waits behind the answer, which waits for "a"
    rec.queue.answered()
    assert rec.submitted == [b"a", b"answer b", b"c"]
    rec.queue.answered()
    assert rec.queue.push_answer(b"d") and rec.submitted[-1] == b"answer d"


def test_too_many_waiting_bytes_are_refused() -> None:
    rec = Recorder()
    rec.queue.pause()
    assert rec.queue.push(b"12345")
    assert rec.queue.push(b"67890")
    assert not rec.queue.push(b"x")  # over 10 bytes waiting: the listener drops the client


# -- over a socket ---------------------------------------------------------------------------


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    settings = GatewaySettings(
        ping_interval_s=3600,
        pong_timeout_s=3600,
        output_pause_bytes=PAUSE,
        output_resume_bytes=RESUME,
        output_max_bytes=MAX,
    )
    running = await make_server(tmp_path, keys, gateway=settings)
    yield running
    await running.stop()


async def open_unread(port: int, path: str = "/ws-fapi/v1") -> socket.socket:
    """A WS connection whose client never reads past the handshake (receive buffer 4 kB)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 5)
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(
        sock,
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode(),
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # byte by byte: nothing past the head is read
        byte = await asyncio.wait_for(loop.sock_recv(sock, 1), 5)
        assert byte, f"closed during the handshake: {head!r}"
        head += byte
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def text_frame(payload: bytes) -> bytes:
    size = len(payload)
    head = b"\x81" + (bytes([0x80 | size]) if size < 126 else b"\xfe" + struct.pack("!H", size))
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class FrameReader:
    """The server's (unmasked) frames on a raw socket, one at a time, each read bounded."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = bytearray()

    async def next(self) -> tuple[int, bytes]:
        """The next frame: (opcode, payload)."""
        loop = asyncio.get_running_loop()
        while True:
            data = self.data
            if len(data) >= 2:
                size, offset = data[1] & 0x7F, 2
                if size == 126:
                    size, offset = struct.unpack_from("!H", data, 2)[0], 4
                elif size == 127:
                    size, offset = struct.unpack_from("!Q", data, 2)[0], 10
                if len(data) >= offset + size:
                    frame = (data[0] & 0x0F, bytes(data[offset : offset + size]))
                    del data[: offset + size]
                    return frame
            chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 1 << 16), 5)
            assert chunk, "the server closed the connection"
            data += chunk


async def read_frames(sock: socket.socket, count: int) -> list[bytes]:
    """The payloads of the server's next ``count`` frames."""
    reader = FrameReader(sock)
    return [(await reader.next())[1] for _ in range(count)]


async def until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


@pytest.mark.asyncio
async def test_a_client_that_never_reads_is_paused_not_buffered(server: PosriskServer) -> None:
    gateway = server.gateway
    assert gateway is not None
    submitted: list[bytes] = []
    submit = gateway.api.submit

    def counting(conn: Any, frame: Any, reply: Any) -> None:
        submitted.append(frame)
        submit(conn, frame, reply)

    gateway.api.submit = counting  # type: ignore[method-assign]
    sock = await open_unread(server.port)
    try:
        await until(lambda: len(gateway.connections) == 1)
        (listener,) = gateway.connections
        assert listener.transport is not None
        buffer = listener.transport.underlying_transport
        # The kernel's share kept small, so what the process holds shows.
        buffer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        requests = 12  # ~245 kB each: ~3 MB of answers nobody reads
        frames = [
            text_frame(
                json.dumps(
                    {
                        "id": n,
                        "method": "account.position",
                        "params": signed(HEDGE_KEY, HEDGE_SECRET),
                    }
                ).encode()
            )
            for n in range(requests)
        ]
        answer_size = 300_000
        await asyncio.get_running_loop().sock_sendall(sock, b"".join(frames))
        await until(lambda: len(submitted) == requests or not buffer.is_reading())
        assert not buffer.is_reading()  # the server stopped reading this client
        assert len(submitted) < requests  # ... and answering it
        assert buffer.get_write_buffer_size() <= PAUSE + answer_size
        # Once the client reads, every answer comes, in order.
        replies = [json.loads(f) for f in await read_frames(sock, requests)]
        assert [(r["id"], r["status"]) for r in replies] == [(n, 200) for n in range(requests)]
        assert buffer.is_reading()
    finally:
        sock.close()
