"""Hostile clients against a real server over loopback sockets (one server for the module).

What is thrown: binary frames; random bytes sent as text frames (invalid UTF-8); a 2 MiB
frame and a fragmented message over 1 MiB; fragmented messages (websockets' fragmented
send) of valid and invalid JSON, of binary data, and of tens of thousands of one-byte
fragments; hundreds of pipelined requests sent before any answer is read; hand-made WS
frames a library would not send (unmasked, reserved opcodes and bits, oversized or
fragmented control frames, lengths of 2**63, stray continuations, bad close frames);
a client that sends half an HTTP handshake and stalls (and one that trickles it byte by
byte), garbage instead of an HTTP request, requests with huge headers; REST GETs of
/fapi/v2/positionRisk and /fapi/v3/positionRisk with hostile query strings
(percent-encoding junk, duplicates, raw and encoded unicode, very long) with and without
X-MBX-APIKEY, and validly signed ones carrying params that name the other account.

What must hold: every WS message gets exactly one answer (in order, its id echoed) or a
clean close — never silence; every HTTP request gets a JSON ``{"code", "msg"}`` refusal
(4xx, never 500), a 200, or a closed connection — never a hang; no answer ever holds
another account's rows; after every case the server still serves a normal signed request
on a new connection, and at the end no connection is left behind.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import struct
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from posrisk.app import PosriskServer
from posrisk.gateway.server import GatewaySettings
from posrisk.protocol import DEFAULT_MAX_FRAGMENTS, LimitRules, hmac_signature

from ..gateway.conftest import make_server
from ..gateway.test_server import ask, signed
from ..service.conftest import HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, Keys
from .test_api_frames import check_rows

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

HANDSHAKE_TIMEOUT_S = 0.5
MAX_CONNECTIONS_PER_IP = 16  # small on purpose: a leaked connection count shows up at once
ACCOUNT_OF = {HMAC_KEY: "alice", HEDGE_KEY: "bob"}
SECRET_OF = {HMAC_KEY: HMAC_SECRET, HEDGE_KEY: HEDGE_SECRET}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> AsyncIterator[Any]:
    running = await make_server(
        Path(tmp_path_factory.mktemp("gateway-fuzz")),
        keys,
        limits=LimitRules(request_weight=10**9),
        gateway=GatewaySettings(
            handshake_timeout_s=HANDSHAKE_TIMEOUT_S,
            # Plain HTTP connections are kept alive: an idle one ends as a stalled
            # handshake does, so that every blob below ends its connection in time.
            http_idle_timeout_s=HANDSHAKE_TIMEOUT_S,
            ping_interval_s=3600,
            pong_timeout_s=3600,
            max_connections_per_ip=MAX_CONNECTIONS_PER_IP,
        ),
    )
    yield running
    await running.stop()


# -- helpers ---------------------------------------------------------------------------


async def assert_serving(server: PosriskServer, ip: str = "127.0.0.1") -> None:
    """A new connection from ``ip`` gets each account's own rows for a normal signed
    request."""
    async with websockets.connect(server.ws_url, local_addr=(ip, 0)) as ws:
        for api_key, secret in SECRET_OF.items():
            reply = await ask(ws, "v2/account.position", signed(api_key, secret), "alive")
            assert (reply["id"], reply["status"]) == ("alive", 200), reply
            check_rows(reply["result"], ACCOUNT_OF[api_key], True)


def check_answer(reply: Any, request_id: Any = None, owner: str | None = None) -> None:
    """One JSON object: a refusal with code and msg, or a result; rows only of ``owner``."""
    assert isinstance(reply, dict), reply
    assert reply.get("id") == request_id, (request_id, reply)
    assert reply["status"] in (200, 400, 401), reply
    if reply["status"] != 200:
        assert type(reply["error"]["code"]) is int and isinstance(reply["error"]["msg"], str)
    elif isinstance(reply["result"], list):
        assert owner is not None, reply
        check_rows(reply["result"], owner, is_v2(reply["result"]))


async def answer_or_close(ws: Any, timeout: float = 5) -> Any:
    """The next answer (parsed), or None if the server closed the connection."""
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except websockets.ConnectionClosed:
        return None


def rng(seed: str) -> random.Random:
    return random.Random(seed)


def is_v2(rows: list[Any]) -> bool:
    """v2 rows carry marginAsset, v1 rows do not (and v1 is never empty)."""
    return not rows or "marginAsset" in rows[0]


# -- frames through the websockets client ------------------------------------------------


async def test_binary_frames_get_one_answer_each(server: PosriskServer) -> None:
    r = rng("binary")
    async with websockets.connect(server.ws_url) as ws:
        for size in [0, 1, 2, 125, 126, 65535, 65536, 200_000, *r.sample(range(1, 5000), 20)]:
            await ws.send(r.randbytes(size))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            check_answer(reply)
            assert (reply["status"], reply["error"]["code"]) == (400, -1000)
            assert "binary" in reply["error"]["msg"]
        # Still serving on the same connection.
        check_answer(await ask(ws, "v2/account.position", signed(), 7), 7, "alice")
    await assert_serving(server)


async def test_random_bytes_as_text_frames(server: PosriskServer) -> None:
    """Invalid UTF-8 (and other junk) in text frames: an answer (-1000) or a clean close
    (1007), and the server serves the next connection."""
    r = rng("text")
    payloads = [
        b"\xff",
        b"\xc0\xaf",
        b"\xed\xa0\x80",  # an encoded surrogate
        b'{"id":"\xff","method":"session.status"}',
        b'{"id":1,"method":"session.status"}\x80',
        b"\xef\xbb\xbf{}",
        *(r.randbytes(r.randrange(1, 3000)) for _ in range(40)),
    ]
    closed = 0
    ws = await websockets.connect(server.ws_url)
    try:
        for payload in payloads:
            await ws.send(payload, text=True)
            reply = await answer_or_close(ws)
            if reply is None:  # closed (1007): a clean close, then a new connection
                closed += 1
                await ws.close()
                await assert_serving(server)
                ws = await websockets.connect(server.ws_url)
                continue
            check_answer(reply)
            assert (reply["status"], reply["error"]["code"]) == (400, -1000), reply
    finally:
        await ws.close()
    await assert_serving(server)


@pytest.mark.parametrize("size", [(1 << 20) + 1, 2 << 20])
async def test_an_oversize_frame_closes_only_its_connection(
    server: PosriskServer, size: int
) -> None:
    async with websockets.connect(server.ws_url, max_size=None) as bystander:
        async with websockets.connect(server.ws_url, max_size=None) as ws:
            await ws.send("x" * size)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is None or closed.value.rcvd.code in (1009, 1002)
        # Another connection opened before is not disturbed.
        check_answer(await ask(bystander, "v2/account.position", signed(), 1), 1, "alice")
    await assert_serving(server)


async def test_fragmented_messages(server: PosriskServer) -> None:
    """Valid and invalid JSON in pieces (websockets' fragmented send): one answer each."""
    r = rng("fragments")
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        for n, request_id in enumerate(["a", 2**70, "é\u202e", -1, None]):
            text = json.dumps(
                {"id": request_id, "method": "v2/account.position", "params": signed()},
                ensure_ascii=False,
            )
            cuts = sorted(r.sample(range(1, len(text)), min(len(text) - 1, 3 + 20 * n)))
            parts = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
            await ws.send(iter(parts))
            check_answer(json.loads(await asyncio.wait_for(ws.recv(), 5)), request_id, "alice")
        for junk in ['{"id": 1, "method"', "[" * 3000, "not json at all", "\u202e" * 500]:
            await ws.send(iter(junk[i : i + 7] for i in range(0, len(junk), 7)))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            check_answer(reply)
            assert (reply["status"], reply["error"]["code"]) == (400, -1000), reply
        # A fragmented binary message: one -1000, not one per fragment.
        await ws.send(iter([b"\x00\x01", b"\x02", b"\x03"]))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert reply["error"]["code"] == -1000 and "binary" in reply["error"]["msg"]
        check_answer(await ask(ws, "v2/account.position", signed(), "after"), "after", "alice")
        # Pieces that add up to more than 1 MiB: the connection is closed (1009).
        await ws.send(iter(["x" * 300_000] * 4))
        assert await answer_or_close(ws) is None
    await assert_serving(server)


async def test_a_message_in_as_many_fragments_as_allowed_is_answered(
    server: PosriskServer,
) -> None:
    message = json.dumps({"id": "tiny", "method": "session.status"})
    # websockets sends each part as a frame, then an empty final continuation.
    parts = list(message) + [" "] * (DEFAULT_MAX_FRAGMENTS - 1 - len(message))
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(iter(parts))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["id"] == "tiny" and reply["status"] == 200
        await ws.send(iter([*parts, " "]))  # one fragment more: the connection fails (1008)
        assert await answer_or_close(ws) is None
        assert ws.close_code == 1008
    await assert_serving(server)


async def test_pipelined_requests_are_answered_in_order(server: PosriskServer) -> None:
    """Hundreds of requests (valid, malformed, binary, fragmented) sent before reading."""
    r = rng("pipeline")
    expected: list[tuple[Any, str | None, int]] = []  # (id, owner, status)
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        for i in range(400):
            kind = r.choice(["alice", "bob", "bad", "junk", "binary", "fragments"])
            if kind in ("alice", "bob"):
                key = HMAC_KEY if kind == "alice" else HEDGE_KEY
                method = r.choice(["account.position", "v2/account.position"])
                frame = {"id": i, "method": method, "params": signed(key, SECRET_OF[key])}
                await ws.send(json.dumps(frame))
                expected.append((i, kind, 200))
            elif kind == "bad":
                params = {**signed(HEDGE_KEY, HEDGE_SECRET), "apiKey": HMAC_KEY}  # bob signed
                await ws.send(json.dumps({"id": i, "method": "account.position", "params": params}))
                expected.append((i, None, 400))
            elif kind == "junk":
                junk = r.choice(["{", "[]", f'{{"id": {i}}}', "\x00"])
                await ws.send(junk)
                expected.append((i if "id" in junk else None, None, 400))
            elif kind == "binary":
                await ws.send(r.randbytes(r.randrange(1, 100)))
                expected.append((None, None, 400))
            else:
                text = json.dumps({"id": f"f{i}", "method": "session.status"})
                await ws.send(iter([text[:5], text[5:9], text[9:]]))
                expected.append((f"f{i}", None, 200))
        for request_id, owner, status in expected:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (reply["id"], reply["status"]) == (request_id, status), reply
            if owner is not None:
                check_rows(reply["result"], owner, is_v2(reply["result"]))
    await assert_serving(server)


# -- frames made by hand ------------------------------------------------------------------


async def open_raw(server: PosriskServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WS connection with no library in the way: our own handshake, our own frames."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /ws-fapi/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


def ws_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    length: int | None = None,
) -> bytes:
    """One frame as a client would write it (``length`` may lie about the payload)."""
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def read_ws_frame(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """(opcode, payload) of the server's next frame, None at EOF."""
    try:
        first, second = await reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await reader.readexactly(8))
        return first & 0x0F, await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


async def outcome(reader: asyncio.StreamReader, timeout: float = 5) -> str:
    """What the server did next: "answer", "close" (a close frame or EOF) or "silence"."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        try:
            frame = await asyncio.wait_for(read_ws_frame(reader), max(left, 0.01))
        except TimeoutError:
            return "silence"
        if frame is None or frame[0] == 0x8:
            return "close"
        if frame[0] == 0x1:
            check_answer(json.loads(frame[1]), json.loads(frame[1]).get("id"))
            return "answer"
        # a pong or a ping: keep reading


REQUEST = json.dumps({"id": "raw", "method": "session.status"}).encode()
# (name, frames, what the server may do: a set of outcomes)
RAW_CASES: list[tuple[str, list[bytes], set[str]]] = [
    ("text as raw frame", [ws_frame(0x1, REQUEST)], {"answer"}),
    ("invalid UTF-8 text", [ws_frame(0x1, b"\xff\xfe{")], {"answer", "close"}),
    ("unmasked client frame", [ws_frame(0x1, REQUEST, mask=False)], {"close", "answer"}),
    ("reserved opcode 3", [ws_frame(0x3, b"x")], {"close"}),
    ("reserved opcode 11", [ws_frame(0xB, b"x")], {"close"}),
    ("RSV1 without an extension", [ws_frame(0x1, REQUEST, rsv=4)], {"close"}),
    ("RSV3", [ws_frame(0x1, REQUEST, rsv=1)], {"close"}),
    ("ping of 126 bytes", [ws_frame(0x9, b"p" * 126)], {"close"}),
    ("fragmented ping", [ws_frame(0x9, b"p", fin=False)], {"close"}),
    ("length 2**63 - 1", [ws_frame(0x1, b"{}", length=(1 << 63) - 1)], {"close"}),
    ("length of 1 MiB + 1", [ws_frame(0x1, b"{}", length=(1 << 20) + 1)], {"close"}),
    ("close with a 1-byte body", [ws_frame(0x8, b"\x03")], {"close"}),
    ("close with code 999", [ws_frame(0x8, struct.pack("!H", 999))], {"close"}),
    ("close with code 1005", [ws_frame(0x8, struct.pack("!H", 1005))], {"close"}),
    ("close with invalid UTF-8 reason", [ws_frame(0x8, b"\x03\xe8\xff")], {"close"}),
    ("unsolicited pong, then a request", [ws_frame(0xA, b"x"), ws_frame(0x1, REQUEST)], {"answer"}),
    ("ping, then a request", [ws_frame(0x9, b"hi"), ws_frame(0x1, REQUEST)], {"answer"}),
    (
        "ping between two fragments",
        [ws_frame(0x1, REQUEST[:5], fin=False), ws_frame(0x9, b""), ws_frame(0x0, REQUEST[5:])],
        {"answer"},
    ),
    ("empty text frame", [ws_frame(0x1, b"")], {"answer"}),
    ("text frame trickled byte by byte", [bytes([b]) for b in ws_frame(0x1, REQUEST)], {"answer"}),
]


@pytest.mark.parametrize("name, frames, allowed", RAW_CASES, ids=[c[0] for c in RAW_CASES])
async def test_hand_made_frames(
    server: PosriskServer, name: str, frames: list[bytes], allowed: set[str]
) -> None:
    reader, writer = await open_raw(server)
    try:
        for chunk in frames:
            writer.write(chunk)
            await writer.drain()
        result = await outcome(reader)
        assert result in allowed, f"{name}: {result}"
    finally:
        writer.close()
    await assert_serving(server)


async def close_code(reader: asyncio.StreamReader, timeout: float = 5) -> int | None:
    """The code of the server's close frame (frames before it skipped), None at EOF."""
    while True:
        frame = await asyncio.wait_for(read_ws_frame(reader), timeout)
        if frame is None:
            return None
        if frame[0] == 0x8:
            return int(struct.unpack("!H", frame[1][:2])[0])


FRAGMENT = ws_frame(0x1, b'{"id":"f",', fin=False)
# (name, frames, the close code the connection must be failed with)
FAILING_CASES: list[tuple[str, list[bytes], int]] = [
    # RFC 6455 §5.2: a reserved bit that no negotiated extension defines fails the connection
    ("RSV1 on a text frame", [ws_frame(0x1, REQUEST, rsv=4)], 1002),
    ("RSV2 on a text frame", [ws_frame(0x1, REQUEST, rsv=2)], 1002),
    ("RSV1 on a continuation", [FRAGMENT, ws_frame(0x0, b'"x":1}', rsv=4)], 1002),
    ("RSV1 on a binary frame", [ws_frame(0x2, b"\x00", rsv=4)], 1002),
    ("RSV1 on a ping", [ws_frame(0x9, b"hi", rsv=4)], 1002),
    ("RSV3 on a pong", [ws_frame(0xA, b"hi", rsv=1)], 1002),
    # a message in more frames than allowed, empty ones included
    ("1025 fragments", [FRAGMENT, ws_frame(0x0, b"", fin=False, mask=True) * 1024], 1008),
    (
        "a binary message in 1025 fragments",
        [ws_frame(0x2, b"", fin=False), ws_frame(0x0, b"", fin=False) * 1025],
        1008,
    ),
    ("1 MiB in fragments", [FRAGMENT, ws_frame(0x0, b" " * 65536, fin=False) * 17], 1009),
]


@pytest.mark.parametrize("name, frames, code", FAILING_CASES, ids=[c[0] for c in FAILING_CASES])
async def test_failures_close_with_their_code(
    server: PosriskServer, name: str, frames: list[bytes], code: int
) -> None:
    reader, writer = await open_raw(server)
    try:
        for chunk in frames:
            writer.write(chunk)
        await writer.drain()
        assert await close_code(reader) == code, name
    finally:
        writer.close()
    await assert_serving(server)


async def test_empty_continuations_cannot_grow_a_connection(server: PosriskServer) -> None:
    """A text frame with fin=0, then empty masked continuations (00 80 00 00 00 00) sent
    without end: the server fails the connection after the fragment limit instead of
    keeping one list item per frame."""
    reader, writer = await open_raw(server)
    try:
        writer.write(FRAGMENT + b"\x00\x80\x00\x00\x00\x00" * 100_000)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        assert await close_code(reader) == 1008
    finally:
        writer.close()
    await assert_serving(server)


async def test_ping_is_answered_with_its_payload(server: PosriskServer) -> None:
    reader, writer = await open_raw(server)
    try:
        writer.write(ws_frame(0x9, b"are you there"))
        await writer.drain()
        assert await asyncio.wait_for(read_ws_frame(reader), 5) == (0xA, b"are you there")
    finally:
        writer.close()


# (name, frames, answers needed when the connection is not closed)
RAW_SILENT_CASES: list[tuple[str, list[bytes], int]] = [
    ("a continuation frame with no message started", [ws_frame(0x0, REQUEST)], 1),
    (
        "a new text frame while a fragmented one is unfinished",
        [ws_frame(0x1, b'{"id":"lost",', fin=False), ws_frame(0x1, REQUEST)],
        2,
    ),
]


@pytest.mark.parametrize(
    "name, frames, needed", RAW_SILENT_CASES, ids=[c[0] for c in RAW_SILENT_CASES]
)
async def test_protocol_errors_in_fragmentation_are_not_met_with_silence(
    server: PosriskServer, name: str, frames: list[bytes], needed: int
) -> None:
    reader, writer = await open_raw(server)
    try:
        for chunk in frames:
            writer.write(chunk)
        await writer.drain()
        answers = 0
        while (result := await outcome(reader, timeout=1)) == "answer":
            answers += 1
        assert result == "close" or answers >= needed, f"{name}: {answers} answer(s), {result}"
    finally:
        writer.close()
    await assert_serving(server)


# -- HTTP: stalled handshakes, garbage, huge headers -----------------------------------------


async def closed_within(reader: asyncio.StreamReader, timeout: float) -> tuple[bool, bytes]:
    """(True, what was received) if the server closed the connection within ``timeout``."""
    received = b""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return False, received
        try:
            chunk = await asyncio.wait_for(reader.read(65536), left)
        except TimeoutError:
            return False, received
        except ConnectionError:
            return True, received
        if not chunk:
            return True, received
        received += chunk


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"G",
        b"GET /ws-fapi/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        b"GET /fapi/v2/positionRisk?timestamp=1 HTTP/1.1\r\nX-MBX-APIKEY: a",
    ],
)
async def test_a_stalled_handshake_is_dropped_while_others_are_served(
    server: PosriskServer, partial: bytes
) -> None:
    stalled = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(40)]
    started = time.perf_counter()
    for _, writer in stalled:
        writer.write(partial)
    # Meanwhile, clients of other IPs are served at once, not after the stalled ones are
    # gone (the stalled ones hold their own IP's places: past its cap, 429 at once).
    await assert_serving(server, "127.0.0.2")
    assert time.perf_counter() - started < HANDSHAKE_TIMEOUT_S + 1.0
    results = await asyncio.gather(
        *(closed_within(reader, HANDSHAKE_TIMEOUT_S + 3) for reader, _ in stalled)
    )
    for writer in (w for _, w in stalled):
        writer.close()
    assert all(closed for closed, _ in results), "a stalled handshake was kept open"
    assert time.perf_counter() - started < HANDSHAKE_TIMEOUT_S + 3
    await assert_serving(server)


async def test_a_handshake_trickled_byte_by_byte_is_still_cut_off(server: PosriskServer) -> None:
    """Slowloris: a byte every 50 ms never completes; the handshake timeout still applies."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = time.perf_counter()
    request = b"GET /ws-fapi/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: " + b"a" * 1000
    closed = False
    for byte in request:
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            closed = True
            break
        if reader.at_eof():
            closed = True
            break
        await asyncio.sleep(0.05)
        if time.perf_counter() - started > HANDSHAKE_TIMEOUT_S + 3:
            break
    if not closed:
        closed, _ = await closed_within(reader, 0.5)
    writer.close()
    assert closed and time.perf_counter() - started < HANDSHAKE_TIMEOUT_S + 3.5
    await assert_serving(server)


def http_status(received: bytes) -> int | None:
    if not received.startswith(b"HTTP/1.1 "):
        return None
    return int(received[9:12])


async def test_garbage_instead_of_an_http_request(server: PosriskServer) -> None:
    r = rng("garbage")
    blobs = [
        b"\r\n\r\n",
        b"\x00" * 64 + b"\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /fapi/v2/positionRisk HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        b"GET /fapi/v2/positionRisk HTTP/1.1\r\nHost\r\n\r\n",
        b"GET /ws-fapi/v1 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"GET /ws-fapi/v1 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: !!!\r\nSec-WebSocket-Version: 99\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32),  # a TLS ClientHello
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # the HTTP/2 preface
        *(r.randbytes(r.randrange(1, 4000)) for _ in range(30)),
        *(r.randbytes(r.randrange(1, 200)) + b"\r\n\r\n" for _ in range(30)),
    ]

    async def throw(blob: bytes) -> tuple[bool, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(blob)
        try:
            return await closed_within(reader, HANDSHAKE_TIMEOUT_S + 3)
        finally:
            writer.close()

    results = await asyncio.gather(*(throw(blob) for blob in blobs))
    for blob, (closed, received) in zip(blobs, results, strict=True):
        assert closed, blob[:60]
        status = http_status(received)
        assert status is None or 400 <= status < 500, (blob[:60], received[:200])
    await assert_serving(server)


@pytest.mark.parametrize("size", [8_000, 17_000, 100_000, 1 << 20])
async def test_a_huge_header(server: PosriskServer, size: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"GET /fapi/v1/time HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: " + b"a" * size + b"\r\n\r\n"
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    closed, received = await closed_within(reader, HANDSHAKE_TIMEOUT_S + 3)
    writer.close()
    assert closed
    status = http_status(received)
    assert status in (None, 200, 400, 431), received[:200]
    await assert_serving(server)


WS_PORT_PATHS = [
    "/ws/",
    "/ws/%00",
    "/ws/" + "k" * 3000,
    "/private/ws/../../ws-fapi/v1",
    "/private/ws?listenKey=" + "%ff" * 1000,
    "/private/ws?listenKey=&listenKey=&events=%00",
    "/stream?streams=" + "/" * 5000,
    "/market/ws/" + "a/" * 2000,
    "/public/stream/x",
    "/ws-fapi/v1/..",
    "/ws-fapi/v1%00",
    "/ws-fapi/v1/",
    "/WS-FAPI/V1",
    "/fapi/v2/positionRisk/",
    "//fapi/v2/positionRisk",
    "/fapi/v2/positionRisk%3Ftimestamp=1",
    "/%2e%2e/%2e%2e/etc/passwd",
    "*",
    "http://evil.example/fapi/v1/time",
    "/fapi/v1/time?" + "%ff" * 1000,
]


@pytest.mark.parametrize("upgrade", [False, True])
async def test_hostile_paths_on_the_ws_port(server: PosriskServer, upgrade: bool) -> None:
    """Plain GETs and WS upgrades to paths that are not quite ours: a 4xx (or, for a path
    that is ours after all, a 2xx/101), never a 5xx, never a hang."""
    headers = {}
    if upgrade:
        headers = {
            b"Upgrade": b"websocket",
            b"Connection": b"Upgrade",
            b"Sec-WebSocket-Key": base64.b64encode(os.urandom(16)),
            b"Sec-WebSocket-Version": b"13",
        }
    for path in WS_PORT_PATHS:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1"]
        lines += [k + b": " + v for k, v in headers.items()]
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        closed, received = await closed_within(reader, 3)
        writer.close()
        status = http_status(received)
        assert status is not None and status < 500, (path[:80], received[:200])
        assert closed or status == 101, (path[:80], received[:200])
    await assert_serving(server)


# -- REST with hostile query strings ------------------------------------------------------


async def http_get(
    server: PosriskServer, target: bytes, headers: dict[bytes, bytes] | None = None
) -> tuple[int | None, Any]:
    """A GET written byte for byte (no client library normalising the target)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [k + b": " + v for k, v in (headers or {}).items()]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
    closed, received = await closed_within(reader, 5)
    writer.close()
    assert closed, target[:100]
    status = http_status(received)
    if status is None:
        return None, None
    _, _, body = received.partition(b"\r\n\r\n")
    return status, json.loads(body) if body else None


def check_rest(status: int | None, body: Any, owner: str | None, symbol: str | None = None) -> None:
    if status is None:  # a request too large for the server: dropped, not answered
        return
    assert status in (200, 400, 401, 404, 431), (status, body)  # 431: a head over 16 KiB
    if status != 200:
        assert isinstance(body, dict) and set(body) == {"code", "msg"}, body
        assert type(body["code"]) is int and isinstance(body["msg"], str), body
    else:
        assert owner is not None, body
        check_rows(body, owner, is_v2(body), symbol)


JUNK = [
    "%",
    "%%",
    "%ZZ",
    "%00",
    "%ff%fe",
    "%C3%28",
    "%ED%A0%80",
    "%E2%80%AE",
    "%2F%2E%2E",
    "&",
    "&&&",
    "=",
    "==",
    "a=1&a=2",
    "timestamp=1&timestamp=2",
    "symbol=BTCUSDT&symbol=ETHUSDT",
    "signature=",
    "signature=%20",
    "recvWindow=-1",
    "timestamp=99999999999999999999999",
    "symbol=%00",
    "symbol=" + "A" * 5000,
    "é=ü",
    "\u202e=\u200b",
    "+",
    "a+b=c+d",
    ";",
    "#frag",
    "?",
]


def junk_query(r: random.Random) -> bytes:
    parts = [r.choice(JUNK) for _ in range(r.randrange(1, 6))]
    if r.random() < 0.5:
        parts.append(f"timestamp={int(time.time() * 1000)}")
    if r.random() < 0.3:
        parts.append("x=" + "y" * r.choice([100, 5000, 15_000, 40_000]))
    return "&".join(parts).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("path", ["/fapi/v2/positionRisk", "/fapi/v3/positionRisk"])
async def test_rest_hostile_query_strings(server: PosriskServer, path: str) -> None:
    r = rng(path)
    key_headers: list[dict[bytes, bytes] | None] = [
        None,
        {b"X-MBX-APIKEY": HMAC_KEY.encode()},
        {b"X-MBX-APIKEY": HEDGE_KEY.encode()},
        {b"X-MBX-APIKEY": b""},
        {b"X-MBX-APIKEY": "é\u202e".encode()},
        {b"x-mbx-apikey": b"k" * 5000},
    ]
    for _ in range(60):
        query = junk_query(r)
        headers = r.choice(key_headers)
        status, body = await http_get(server, path.encode() + b"?" + query, headers)
        # No valid signature can be in junk: never a 200.
        check_rest(status, body, None)
    await assert_serving(server)


def signed_query(secret: str, extra: list[tuple[str, str]]) -> str:
    """A REST query signed over exactly what is sent (Binance's REST rule)."""
    query = urllib.parse.urlencode([*extra, ("timestamp", str(int(time.time() * 1000)))])
    return f"{query}&signature={hmac_signature(secret, query.encode())}"


NAMING = [
    ("account", "alice"),
    ("name", "bob"),
    ("email", "alice@example.com"),
    ("apiKey", HMAC_KEY),
    ("userId", "1"),
    ("subAccount", "alice"),
    ("note", "\u202e\u200bé" * 50),
    ("pad", "p" * 4000),
]


@pytest.mark.parametrize("path", ["/fapi/v2/positionRisk", "/fapi/v3/positionRisk"])
async def test_rest_signed_requests_naming_the_other_account(
    server: PosriskServer, path: str
) -> None:
    r = rng("naming" + path)
    for _ in range(20):
        api_key = r.choice([HMAC_KEY, HEDGE_KEY])
        extra = r.sample(NAMING, r.randrange(1, len(NAMING)))
        symbol = r.choice([None, "BTCUSDT", "ETHUSDT"])
        if symbol:
            extra.append(("symbol", symbol))
        headers = {b"X-MBX-APIKEY": api_key.encode()}
        # Signed by the key's owner: 200 with the owner's rows only.
        query = signed_query(SECRET_OF[api_key], extra)
        status, body = await http_get(server, f"{path}?{query}".encode(), headers)
        assert status == 200, body
        check_rest(status, body, ACCOUNT_OF[api_key], symbol)
        # Signed with the other account's secret: -1022, no rows.
        other = HEDGE_SECRET if api_key == HMAC_KEY else HMAC_SECRET
        query = signed_query(other, extra)
        status, body = await http_get(server, f"{path}?{query}".encode(), headers)
        assert (status, body["code"]) == (400, -1022), body
    await assert_serving(server)


@pytest.mark.parametrize("api_key", [b"bad key!", b"k" * 129, "é".encode()])
async def test_rest_a_malformed_api_key_is_2014(server: PosriskServer, api_key: bytes) -> None:
    query = signed_query(HMAC_SECRET, [])
    status, body = await http_get(
        server, f"/fapi/v2/positionRisk?{query}".encode(), {b"X-MBX-APIKEY": api_key}
    )
    assert (status, body) == (401, {"code": -2014, "msg": "API-key format invalid."})


async def test_no_connection_is_left_behind(server: PosriskServer) -> None:
    """After everything above: every connection closed and uncounted (last in the file)."""
    assert server.gateway is not None
    for _ in range(50):
        if not server.gateway.connections and not server.gateway.admission.per_ip:
            break
        await asyncio.sleep(0.1)
    assert not server.gateway.connections
    assert not server.gateway.admission.per_ip
    await assert_serving(server)
