"""One WS API connection (``gateway.api.ApiListener``) step by step: requests handed to
the service in order, answers sent, binary frames refused, a banned IP dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from picows import WSMsgType

from posrisk.gateway.api import ApiListener
from posrisk.service.api import Connection

from .fakes import FakeFrame, FakeTransport, fake_gateway

IP = "198.51.100.4"

Reply = Callable[[bytes, int], None]


class FakeApi:
    """Answers each request with ``status`` at once, or keeps it (``status`` None)."""

    def __init__(self, status: int | None = 200) -> None:
        self.status = status
        self.requests: list[bytes] = []
        self.replies: list[Reply] = []

    def submit(self, conn: Connection, message: bytes, reply: Reply) -> None:
        self.requests.append(message)
        self.replies.append(reply)
        if self.status is not None:
            reply(b"answer to " + message, self.status)


async def connected(api: FakeApi, **settings: Any) -> tuple[ApiListener, FakeTransport]:
    gateway = fake_gateway(api, **settings)
    listener = ApiListener(gateway, Connection(IP, 0))
    transport = FakeTransport()
    listener.on_ws_connected(transport)  # type: ignore[arg-type]
    return listener, transport


def text(listener: ApiListener, transport: FakeTransport, payload: bytes) -> None:
    listener.on_ws_frame(transport, FakeFrame(WSMsgType.TEXT, payload))  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_connection_is_counted_and_its_output_marks_set() -> None:
    listener, transport = await connected(
        FakeApi(), output_pause_bytes=2048, output_resume_bytes=512
    )
    gateway: Any = listener.gateway
    assert listener.ip == IP and gateway.connections == {listener}
    assert gateway.admission.open[IP] == 1
    assert transport.underlying_transport.limits == (2048, 512)
    listener.on_ws_disconnected(transport)  # type: ignore[arg-type]
    assert gateway.connections == set() and gateway.admission.open[IP] == 0


@pytest.mark.asyncio
async def test_requests_are_submitted_and_answered_in_order() -> None:
    api = FakeApi()
    listener, transport = await connected(api)
    text(listener, transport, b"one")
    text(listener, transport, b"two")
    assert api.requests == [b"one", b"two"]
    assert transport.done == [
        ("send", WSMsgType.TEXT, b"answer to one"),
        ("send", WSMsgType.TEXT, b"answer to two"),
    ]
    assert listener.requests.in_flight == 0


@pytest.mark.asyncio
async def test_a_binary_frame_is_refused_after_the_answers_before_it() -> None:
    api = FakeApi(status=None)  # the shared limiter is still deciding
    listener, transport = await connected(api)
    text(listener, transport, b"first")
    listener.on_ws_frame(transport, FakeFrame(WSMsgType.BINARY, b"\x00"))  # type: ignore[arg-type]
    assert transport.done == []  # the refusal waits for the answer before it
    api.replies[0](b"first answered", 200)
    sent = [step[2] for step in transport.done]
    assert sent[0] == b"first answered"
    refusal = orjson.loads(sent[1])
    assert refusal["status"] == 400 and refusal["error"]["code"] == -1000
    assert "binary frames are not supported" in refusal["error"]["msg"]


@pytest.mark.asyncio
async def test_a_banned_ip_gets_its_418_then_loses_the_connection() -> None:
    listener, transport = await connected(FakeApi(status=418))
    text(listener, transport, b"request")
    assert transport.done == [
        ("send", WSMsgType.TEXT, b"answer to request"),
        ("close", 1008, b"IP banned"),
        ("disconnect", True),
    ]


@pytest.mark.asyncio
async def test_frames_read_after_our_close_are_not_answered() -> None:
    api = FakeApi()
    listener, transport = await connected(api)
    transport.is_close_frame_sent = True
    text(listener, transport, b"late")
    assert api.requests == [] and transport.done == []


@pytest.mark.asyncio
async def test_a_reserved_bit_on_a_data_frame_fails_with_1002() -> None:
    api = FakeApi()
    listener, transport = await connected(api)
    frame = FakeFrame(WSMsgType.TEXT, b"{}", True, True)
    listener.on_ws_frame(transport, frame)  # type: ignore[arg-type]
    assert api.requests == []
    assert transport.done == [
        ("close", 1002, b"reserved bits set without an extension"),
        ("disconnect", True),
    ]


@pytest.mark.asyncio
async def test_a_pong_answers_the_keepalive() -> None:
    listener, transport = await connected(FakeApi())
    listener.unanswered_since = 1.0
    listener.on_ws_frame(transport, FakeFrame(WSMsgType.PONG))  # type: ignore[arg-type]
    assert listener.unanswered_since is None


@pytest.mark.asyncio
async def test_too_much_waiting_drops_the_client() -> None:
    api = FakeApi(status=None)
    listener, transport = await connected(
        api, max_requests_in_flight=1, max_frame_size=10, max_waiting_bytes=10
    )
    text(listener, transport, b"in flight")
    text(listener, transport, b"waits")
    text(listener, transport, b"one too many")
    assert api.requests == [b"in flight"]
    assert transport.done == [
        ("close", 1008, b"too many requests unanswered"),
        ("disconnect", False),
    ]
