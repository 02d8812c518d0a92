"""Plain HTTP/1.1 on the WS port: keep-alive, pipelining, bodies, bounds, refusals, and the
WebSocket upgrade beside it — over raw sockets against a server on a free port, and the
connection's queue against a fake transport."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio

from posrisk.app import PosriskServer
from posrisk.gateway.http import HttpConnection
from posrisk.gateway.server import GatewaySettings
from posrisk.protocol import hmac_signature
from posrisk.service.rest import ROUTES, HttpResponse, RestRequest, RestService

from ..service.conftest import HMAC_KEY, HMAC_SECRET, Keys
from .conftest import make_server
from .test_tls import Tls, tls

__all__ = ["tls"]

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

QUIET = {"ping_interval_s": 3600.0, "pong_timeout_s": 3600.0}

Answer = tuple[int, dict[str, str], bytes]


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 5)
    return int(status_line.split()[1]), headers, body


class Client:
    """One raw connection: write bytes, read whole answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, server: PosriskServer, tls: ssl.SSLContext | None = None) -> Client:
        assert server.gateway is not None
        opened = asyncio.open_connection("127.0.0.1", server.gateway.port, ssl=tls)
        return cls(*await asyncio.wait_for(opened, 5))

    async def ask(self, raw: bytes, answers: int = 1) -> list[Answer]:
        self.writer.write(raw)
        return [await read_answer(self.reader) for _ in range(answers)]

    async def closed(self) -> bool:
        """Whether the server closed the connection (read until its end, at most 5 s)."""
        return await asyncio.wait_for(self.reader.read(), 5) == b""

    async def close(self) -> None:
        self.writer.close()


def request(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, gateway=GatewaySettings(**QUIET))  # type: ignore[arg-type]
    yield running
    await running.stop()


async def test_keep_alive_answers_two_requests_on_one_socket(server: PosriskServer) -> None:
    client = await Client.open(server)
    ((status, headers, body),) = await client.ask(request("GET", "/fapi/v1/ping"))
    assert (status, body, headers["content-type"]) == (200, b"{}", "application/json")
    assert headers["x-mbx-used-weight-1m"] == "1" and "connection" not in headers
    ((status, headers, body),) = await client.ask(request("GET", "/fapi/v1/time"))
    assert status == 200 and "serverTime" in orjson.loads(body)
    assert headers["x-mbx-used-weight-1m"] == "2"
    await client.close()


async def test_pipelined_answers_come_in_request_order(
    server: PosriskServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()

    async def slow(rest: RestService, request: RestRequest, now: int) -> Any:
        await release.wait()
        return {"slow": True}

    def releasing(rest: RestService, request: RestRequest, now: int) -> Any:
        release.set()  # answered at once, while the slow request before it still waits
        return {"released": True}

    monkeypatch.setitem(ROUTES, ("GET", "/test/slow"), (slow, 1))
    monkeypatch.setitem(ROUTES, ("GET", "/test/release"), (releasing, 1))
    client = await Client.open(server)
    client.writer.write(
        request("GET", "/test/slow") + request("GET", "/test/release") + request("GET", "/x")
    )
    answers = [await read_answer(client.reader) for _ in range(3)]
    assert [(status, body) for status, _, body in answers] == [
        (200, b'{"slow":true}'),
        (200, b'{"released":true}'),
        (404, b'{"code":-5000,"msg":"Path /x, Method GET is invalid"}'),
    ]
    await client.close()


async def test_a_post_with_a_form_body_signed_over_query_and_body(
    server: PosriskServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def echo(rest: RestService, request: RestRequest, now: int) -> Any:
        entry = rest.authenticate(request, now)
        return {"account": entry.name, "params": request.params}

    monkeypatch.setitem(ROUTES, ("POST", "/test/echo"), (echo, 1))
    query = "symbol=BTCUSDT&side=BUY"
    body = f"quantity=1&symbol=ETHUSDT&timestamp={int(time.time() * 1000)}"
    signature = hmac_signature(HMAC_SECRET, (query + body).encode())
    client = await Client.open(server)
    ((status, _, sent),) = await client.ask(
        request(
            "POST",
            f"/test/echo?{query}",
            "Content-Type: application/x-www-form-urlencoded",
            f"X-MBX-APIKEY: {HMAC_KEY}",
            body=f"{body}&signature={signature}".encode(),
        )
    )
    answer = orjson.loads(sent)
    assert (status, answer["account"]) == (200, "alice")
    assert answer["params"]["symbol"] == "BTCUSDT"  # the query wins
    await client.close()


async def test_unknown_paths_and_methods_are_json_404s(server: PosriskServer) -> None:
    client = await Client.open(server)
    answers = await client.ask(
        request("GET", "/fapi/v1/xyz")
        + request("DELETE", "/fapi/v1/time")
        + request("HEAD", "/fapi/v1/time"),
        3,
    )
    assert [(status, orjson.loads(body)) for status, _, body in answers] == [
        (404, {"code": -5000, "msg": "Path /fapi/v1/xyz, Method GET is invalid"}),
        (404, {"code": -5000, "msg": "Path /fapi/v1/time, Method DELETE is invalid"}),
        (404, {"code": -5000, "msg": "Path /fapi/v1/time, Method HEAD is invalid"}),
    ]
    assert all(headers["content-type"] == "application/json" for _, headers, _ in answers)
    await client.close()


async def test_connection_close_and_http_1_0_end_after_their_answer(
    server: PosriskServer,
) -> None:
    client = await Client.open(server)
    ((status, headers, _),) = await client.ask(request("GET", "/fapi/v1/ping", "Connection: close"))
    assert (status, headers["connection"]) == (200, "close")
    assert await client.closed()
    old = await Client.open(server)
    ((status, headers, _),) = await old.ask(b"GET /fapi/v1/ping HTTP/1.0\r\n\r\n")
    assert (status, headers["connection"]) == (200, "close")
    assert await old.closed()
    kept = await Client.open(server)
    raw = b"GET /fapi/v1/ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    ((_, headers, _),) = await kept.ask(raw)
    assert headers["connection"] == "keep-alive"
    assert (await kept.ask(raw))[0][0] == 200
    await kept.close()


async def test_a_client_that_half_closes_after_its_requests_gets_its_answers(
    server: PosriskServer,
) -> None:
    client = await Client.open(server)
    client.writer.write(request("GET", "/fapi/v1/ping") + request("GET", "/fapi/v1/ping"))
    client.writer.write_eof()
    answers = [await read_answer(client.reader) for _ in range(2)]
    assert [(status, body) for status, _, body in answers] == [(200, b"{}"), (200, b"{}")]
    assert await client.closed()


@pytest.mark.parametrize("first", [True, False])
async def test_an_oversize_head_is_431_and_closes(server: PosriskServer, first: bool) -> None:
    client = await Client.open(server)
    if not first:  # the sniffer read the first request; the HTTP protocol reads this one
        assert (await client.ask(request("GET", "/fapi/v1/ping")))[0][0] == 200
    huge = request("GET", "/fapi/v1/ping", "X-Pad: " + "a" * (16 << 10))
    ((status, headers, body),) = await client.ask(huge)
    assert (status, orjson.loads(body)["code"], headers["connection"]) == (431, -1000, "close")
    assert orjson.loads(body)["msg"] == "Malformed request: the request head is over 16384 bytes."
    assert await client.closed()


async def test_an_oversize_or_chunked_body_is_refused_and_closes(server: PosriskServer) -> None:
    client = await Client.open(server)
    big = request("POST", "/fapi/v1/listenKey", body=b"a=" + b"1" * (64 << 10))
    ((status, _, body),) = await client.ask(big)
    assert (status, orjson.loads(body)) == (
        413,
        {"code": -1000, "msg": "Malformed request: the request body is over 65536 bytes."},
    )
    assert await client.closed()
    chunked = await Client.open(server)
    raw = (
        request("POST", "/fapi/v1/listenKey", "Transfer-Encoding: chunked")
        + b"3\r\na=1\r\n0\r\n\r\n"
    )
    ((status, _, body),) = await chunked.ask(raw)
    assert (status, orjson.loads(body)["code"]) == (411, -1000)
    assert await chunked.closed()


async def test_a_banned_ip_is_refused_on_rest_with_retry_after(server: PosriskServer) -> None:
    now = server.clock.now_ms()
    server.gateway.api.limiter.restore_bans({"127.0.0.1": (now + 600_000, 1)})  # type: ignore[union-attr]
    client = await Client.open(server)
    answers = await client.ask(
        request("GET", "/fapi/v1/time") + request("POST", "/fapi/v1/listenKey"), 2
    )
    for status, headers, body in answers:
        assert (status, orjson.loads(body)["code"]) == (418, -1003)
        assert set(orjson.loads(body)) == {"code", "msg"}
        assert 595 <= int(headers["retry-after"]) <= 600
    await client.close()


async def test_the_websocket_api_on_the_same_port_first_or_after_rest(
    server: PosriskServer,
) -> None:
    # aiohttp keeps the REST connection and reuses it for the WebSocket upgrade.
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(server.http_url + "/fapi/v1/ping") as response:
            assert (response.status, await response.read()) == (200, b"{}")
        async with http.ws_connect(server.ws_url) as ws:
            await ws.send_str('{"id":1,"method":"session.status"}')
            reply = orjson.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            assert (reply["id"], reply["status"]) == (1, 200)
    assert server.gateway is not None
    assert server.gateway.admission.per_ip == {}  # every place given back


async def test_http_connections_hold_their_ips_place(tmp_path: Path, keys: Keys) -> None:
    settings = GatewaySettings(max_connections_per_ip=1, **QUIET)  # type: ignore[arg-type]
    running = await make_server(tmp_path, keys, gateway=settings)
    try:
        first = await Client.open(running)
        assert (await first.ask(request("GET", "/fapi/v1/ping")))[0][0] == 200
        second = await Client.open(running)
        ((status, _, body),) = await second.ask(request("GET", "/fapi/v1/ping"))
        assert (status, orjson.loads(body)) == (
            429,
            {"code": -1003, "msg": "Too many connections; current limit is 1 per IP."},
        )
        await first.close()
        assert await first.closed()
    finally:
        await running.stop()


async def test_an_idle_connection_is_closed(tmp_path: Path, keys: Keys) -> None:
    settings = GatewaySettings(http_idle_timeout_s=0.05, **QUIET)  # type: ignore[arg-type]
    running = await make_server(tmp_path, keys, gateway=settings)
    try:
        client = await Client.open(running)
        assert (await client.ask(request("GET", "/fapi/v1/ping")))[0][0] == 200
        assert await client.closed()
        slow = await Client.open(running)
        assert (await slow.ask(request("GET", "/fapi/v1/ping")))[0][0] == 200
        slow.writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\n")  # a head never finished
        assert await slow.closed()
    finally:
        await running.stop()


async def test_rest_and_the_websocket_api_over_tls(tmp_path: Path, keys: Keys, tls: Tls) -> None:
    running = await make_server(tmp_path, keys, certfile=tls.cert, keyfile=tls.key)
    try:
        context = tls.client_context()
        client = await Client.open(running, context)
        answers = await client.ask(request("GET", "/fapi/v1/ping") + request("GET", "/nope"), 2)
        assert [status for status, _, _ in answers] == [200, 404]
        await client.close()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
            async with http.get(running.http_url + "/fapi/v1/ping", ssl=context) as response:
                assert response.status == 200
            async with http.ws_connect(running.ws_url, ssl=context) as ws:
                await ws.send_str('{"id":2,"method":"session.status"}')
                assert orjson.loads((await asyncio.wait_for(ws.receive(), 5)).data)["id"] == 2
    finally:
        await running.stop()


# -- the connection's queue, against a fake transport ---------------------------------


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.reading = True
        self.is_closed = False
        self.aborted = False
        self.buffered = 0  # bytes the client has not read
        # The high-water mark, when writing past it pauses the protocol (else never).
        self.high: int | None = None
        self.paused = False
        self.protocol: Any = None

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))
        self.buffered += len(data)
        if self.high is not None and self.buffered > self.high and not self.paused:
            self.paused = True
            self.protocol.pause_writing()

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        self.is_closed = True

    def abort(self) -> None:
        self.is_closed = self.aborted = True

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def echo_target(
    method: str, target: str, headers: dict[str, str], body: bytes, ip: str
) -> HttpResponse | Awaitable[HttpResponse]:
    return HttpResponse(200, target.encode(), {"Content-Type": "application/json"})


def connection(**settings: Any) -> tuple[HttpConnection, FakeTransport, list[str]]:
    closed: list[str] = []
    conn = HttpConnection(
        echo_target,
        "10.0.0.1",
        GatewaySettings(**settings),
        lambda: closed.append("released"),
        lambda: asyncio.Protocol(),
    )
    transport = FakeTransport()
    conn.start(transport, b"")
    return conn, transport, closed


async def test_nothing_is_answered_or_read_while_the_client_does_not_read() -> None:
    conn, transport, _ = connection()
    conn.pause_writing()
    conn.data_received(request("GET", "/a") + request("GET", "/b"))
    assert transport.written == [] and not transport.reading
    conn.resume_writing()
    assert [answer.rsplit(b"\r\n\r\n", 1)[1] for answer in transport.written] == [b"/a", b"/b"]
    assert transport.reading


async def test_too_many_pipelined_requests_answer_the_first_then_close() -> None:
    conn, transport, closed = connection(http_max_pipelined=2)
    conn.pause_writing()
    conn.data_received(request("GET", "/a") + request("GET", "/b") + request("GET", "/c"))
    conn.resume_writing()
    bodies = [answer.rsplit(b"\r\n\r\n", 1)[1] for answer in transport.written]
    assert bodies == [
        b"/a",
        b"/b",
        b'{"code":-1000,"msg":"Malformed request: too many requests unanswered."}',
    ]
    assert transport.is_closed
    conn.connection_lost(None)
    assert closed == ["released"]


async def test_a_head_growing_inside_one_header_is_431_on_a_kept_connection() -> None:
    # httptools keeps a header's name and value until the header ends: the bound must hold
    # on the bytes read, not only on the headers handed over.
    conn, transport, _ = connection(http_max_head_bytes=1024)
    conn.data_received(request("GET", "/a"))
    conn.data_received(b"GET /b HTTP/1.1\r\nX-Long: ")
    for _ in range(4):
        conn.data_received(b"a" * 600)
    answers = [answer.rsplit(b"\r\n\r\n", 1)[1] for answer in transport.written]
    assert answers == [
        b"/a",
        b'{"code":-1000,"msg":"Malformed request: the request head is over 1024 bytes."}',
    ]
    assert transport.is_closed


async def test_a_head_split_over_reads_within_the_bound_is_answered() -> None:
    conn, transport, _ = connection(http_max_head_bytes=1024)
    head = request("GET", "/a", "X-Long: " + "a" * 900)
    for start in range(0, len(head), 100):
        conn.data_received(head[start : start + 100])
    assert [answer.rsplit(b"\r\n\r\n", 1)[1] for answer in transport.written] == [b"/a"]
    assert not transport.is_closed


async def test_a_client_that_never_reads_its_answers_is_dropped_after_the_idle_timeout() -> None:
    conn, transport, _ = connection(http_idle_timeout_s=0.0)
    conn.pause_writing()  # the client reads nothing
    conn.data_received(request("GET", "/a") + request("GET", "/b"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert transport.aborted


async def test_a_closing_connection_whose_answer_is_never_read_is_aborted() -> None:
    # close() waits for the client to read what is buffered: one that never does would
    # hold its place and its descriptor for ever.
    conn, transport, _ = connection(http_idle_timeout_s=0.0)
    transport.buffered = 100
    conn.data_received(request("GET", "/a", "Connection: close"))
    assert transport.is_closed and not transport.aborted
    for _ in range(5):
        await asyncio.sleep(0)
    assert transport.aborted


async def test_an_idle_connection_with_unread_answers_is_aborted() -> None:
    conn, transport, _ = connection(http_idle_timeout_s=0.0)
    conn.data_received(request("GET", "/a"))
    transport.buffered = 100
    for _ in range(5):
        await asyncio.sleep(0)
    assert transport.aborted


async def test_connections_that_send_nothing_hold_their_ips_place(
    tmp_path: Path, keys: Keys
) -> None:
    # A connection counts from its accept, not from its first request: one IP cannot
    # take every descriptor with connections that never say anything.
    settings = GatewaySettings(max_connections_per_ip=2, **QUIET)  # type: ignore[arg-type]
    running = await make_server(tmp_path, keys, gateway=settings)
    try:
        silent = [await Client.open(running) for _ in range(2)]
        third = await Client.open(running)
        status, headers, body = await read_answer(third.reader)
        assert (status, orjson.loads(body)) == (
            429,
            {"code": -1003, "msg": "Too many connections; current limit is 2 per IP."},
        )
        assert headers["connection"] == "close"
        assert await third.closed()
        await silent[0].close()
        assert await silent[0].closed()
        fourth = await Client.open(running)
        assert (await fourth.ask(request("GET", "/fapi/v1/ping")))[0][0] == 200
        assert running.gateway is not None
        assert running.gateway.admission.per_ip == {"127.0.0.1": 2}
    finally:
        await running.stop()


async def test_one_ips_burst_of_writes_does_not_queue_ahead_of_another_ips(
    server: PosriskServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The write path is one lock, first come first served: 2400 writes sent at once from
    # one IP made another IP's write wait ~1.8 s behind them on loopback.
    store = asyncio.Lock()
    dispatched: list[str] = []
    waiting: list[str] = []
    order: list[str] = []
    ready = asyncio.Event()

    def write(rest: RestService, request: RestRequest, now: int) -> Any:
        who = request.params["who"]
        dispatched.append(who)

        async def commit() -> Any:
            waiting.append(who)
            if who == "honest":
                ready.set()
            async with store:
                order.append(who)
            return {"who": who}

        return commit()

    monkeypatch.setitem(ROUTES, ("POST", "/test/write"), (write, 1))
    assert server.gateway is not None
    port = server.gateway.port
    await store.acquire()
    hostile = Client(*await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0)))
    hostile.writer.write(b"".join(request("POST", "/test/write?who=a") for _ in range(4)))
    honest = Client(*await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.3", 0)))
    while len(dispatched) < 4:
        await asyncio.sleep(0.01)
    honest.writer.write(request("POST", "/test/write?who=honest"))
    await asyncio.wait_for(ready.wait(), 5)
    store.release()
    assert orjson.loads((await read_answer(honest.reader))[2]) == {"who": "honest"}
    assert [status for status, _, _ in [await read_answer(hostile.reader) for _ in range(4)]] == [
        200
    ] * 4
    assert order == ["a", "honest", "a", "a", "a"]
    assert waiting == ["a", "honest", "a", "a", "a"]
    await hostile.close()
    await honest.close()


def upgrade(path: str, *headers: str) -> bytes:
    return request("GET", path, "Upgrade: websocket", *headers)


KEY = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize(
    ("head", "problem"),
    [
        (
            upgrade("/ws-fapi/v1", "Connection: Upgrade", KEY),
            "the WebSocket upgrade has no Sec-WebSocket-Version 13",
        ),
        (
            upgrade("/ws-fapi/v1", "Connection: Upgrade", "Sec-WebSocket-Version: 13"),
            "the WebSocket upgrade's Sec-WebSocket-Key is not 16 bytes in base64",
        ),
        (
            upgrade(
                "/ws-fapi/v1",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Key: a",
            ),
            "the WebSocket upgrade's Sec-WebSocket-Key is not 16 bytes in base64",
        ),
    ],
)
async def test_a_websocket_upgrade_picows_would_refuse_is_a_json_400(
    server: PosriskServer, head: bytes, problem: str, first: bool
) -> None:
    client = await Client.open(server)
    if not first:
        assert (await client.ask(request("GET", "/fapi/v1/ping")))[0][0] == 200
    ((status, headers, body),) = await client.ask(head)
    assert (status, orjson.loads(body)) == (
        400,
        {"code": -1000, "msg": f"Malformed request: {problem}."},
    )
    assert headers["content-type"] == "application/json"
    assert await client.closed()


@pytest.mark.parametrize("first", [True, False])
async def test_an_upgrade_with_more_connection_tokens_is_taken(
    server: PosriskServer, first: bool
) -> None:
    # Firefox sends "Connection: keep-alive, Upgrade"; picows takes "Upgrade" alone.
    client = await Client.open(server)
    if not first:
        assert (await client.ask(request("GET", "/fapi/v1/ping")))[0][0] == 200
    head = upgrade(
        "/ws-fapi/v1", "Connection: keep-alive, Upgrade", "Sec-WebSocket-Version: 13", KEY
    )
    client.writer.write(head)
    answer = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5)
    assert answer.startswith(b"HTTP/1.1 101 ")
    await client.close()


async def test_answers_are_made_no_faster_than_the_client_reads_them() -> None:
    # Made at once, 16 pipelined answers of a never-reading client all went to the
    # transport's buffer, past its bound (~4 MiB a connection for exchangeInfo).
    conn, transport, _ = connection()
    transport.high = 10
    conn.data_received(request("GET", "/a") + request("GET", "/b") + request("GET", "/c"))
    assert [answer.rsplit(b"\r\n\r\n", 1)[1] for answer in transport.written] == [b"/a"]
    assert not transport.reading
    transport.buffered, transport.paused = 0, False
    conn.resume_writing()
    assert [answer.rsplit(b"\r\n\r\n", 1)[1] for answer in transport.written] == [b"/a", b"/b"]
    transport.high = None
    transport.paused = False
    conn.resume_writing()
    bodies = [answer.rsplit(b"\r\n\r\n", 1)[1] for answer in transport.written]
    assert bodies == [b"/a", b"/b", b"/c"]
    assert transport.reading
