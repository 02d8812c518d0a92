"""What every gateway connection shares (``gateway.listener.GatewayListener``): its IP's
place, the output bound, pongs, the keepalive's verdicts and the shutdown notice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from picows import WSMsgType

from posrisk.gateway.listener import GatewayListener

from .fakes import FakeFrame, FakeTransport, fake_gateway

IP = "192.0.2.7"


async def connected(**settings: Any) -> tuple[GatewayListener, FakeTransport]:
    listener = GatewayListener(fake_gateway(**settings), IP)
    transport = FakeTransport()
    listener.on_ws_connected(transport)  # type: ignore[arg-type]
    return listener, transport


@pytest.mark.asyncio
async def test_a_connection_holds_its_ips_place_while_open() -> None:
    before = asyncio.get_running_loop().time()
    listener, transport = await connected()
    admission: Any = listener.gateway.admission
    assert listener.transport is transport and listener.opened >= before
    assert admission.open[IP] == 1
    listener.on_ws_disconnected(transport)  # type: ignore[arg-type]
    assert admission.open[IP] == 0


@pytest.mark.asyncio
async def test_a_pong_answers_every_ping_before_it_and_a_ping_is_answered() -> None:
    listener, transport = await connected()
    listener.unanswered_since = 5.0
    listener.on_control_frame(transport, FakeFrame(WSMsgType.PING, b"p"))  # type: ignore[arg-type]
    assert listener.unanswered_since == 5.0 and transport.done == [("pong", b"p")]
    listener.on_control_frame(transport, FakeFrame(WSMsgType.PONG))  # type: ignore[arg-type]
    assert listener.unanswered_since is None


@pytest.mark.asyncio
async def test_output_past_the_bound_drops_the_connection() -> None:
    listener, transport = await connected(
        output_pause_bytes=50, output_resume_bytes=10, output_max_bytes=100
    )
    assert listener.send_bounded(b"one")
    transport.underlying_transport.buffered = 101  # the client stopped reading
    assert not listener.send_bounded(b"two")
    assert transport.done == [
        ("send", WSMsgType.TEXT, b"one"),
        ("send", WSMsgType.TEXT, b"two"),
        ("close", 1008, b"output not read"),
        ("disconnect", False),
    ]
    assert not listener.send_bounded(b"three")  # gone: nothing more is sent
    assert len(transport.done) == 4


def test_nothing_is_sent_before_the_connection_opens() -> None:
    assert not GatewayListener(fake_gateway(), IP).send_bounded(b"early")


@pytest.mark.asyncio
async def test_close_is_a_normal_close_once() -> None:
    listener, transport = await connected()
    listener.close()
    listener.close()
    assert transport.done == [("close", 1000, b""), ("disconnect", True)]


@pytest.mark.asyncio
async def test_the_keepalive_pings_then_closes_a_connection_without_pong() -> None:
    listener, transport = await connected(pong_timeout_s=600)
    # A whole loop time: with the real one, (start + 780) - (start + 180) can round above
    # 600 and close a connection the test expects open.
    listener.opened = start = 1024.0
    listener.keepalive(start + 180)
    listener.keepalive(start + 360)  # the oldest unanswered ping still counts
    assert listener.unanswered_since == start + 180
    assert transport.done == [("ping",), ("ping",)]
    listener.keepalive(start + 780)  # 600 s after the first ping: not yet too old
    listener.keepalive(start + 781)
    assert transport.done[2:] == [
        ("ping",),
        ("close", 1008, b"no pong received"),
        ("disconnect", True),
    ]
    listener.keepalive(start + 960)  # disconnected: left alone
    assert len(transport.done) == 5


@pytest.mark.asyncio
async def test_the_keepalive_ends_a_connection_at_its_lifetime() -> None:
    listener, transport = await connected(max_lifetime_s=3600)
    # A whole loop time, so that opened + 3600 - opened is exactly 3600 (with the real
    # loop time the float sum can round below it, and the test fails one run in many).
    listener.opened = 1024.0
    listener.keepalive(listener.opened + 3599)
    listener.on_control_frame(transport, FakeFrame(WSMsgType.PONG))  # type: ignore[arg-type]
    listener.keepalive(listener.opened + 3600)
    assert transport.done == [
        ("ping",),
        ("close", 1000, b"connection lifetime reached"),
        ("disconnect", True),
    ]


@pytest.mark.asyncio
async def test_a_shutdown_is_announced_then_closed_with_1001() -> None:
    listener, transport = await connected()
    listener.announce_shutdown(b'{"event":"serverShutdown"}')
    assert transport.done == [
        ("send", WSMsgType.TEXT, b'{"event":"serverShutdown"}'),
        ("close", 1001, b"server shutdown"),
    ]
    transport.is_disconnected = True
    listener.announce_shutdown(b"again")
    assert len(transport.done) == 2
