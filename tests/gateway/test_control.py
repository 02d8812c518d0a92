"""Control frames: every listener answers them the same way (``gateway.control``)."""

from __future__ import annotations

from typing import Any

from picows import WSMsgType

from posrisk.gateway.control import control_frame, fail

from .fakes import FakeFrame, FakeTransport


def answer(frame: FakeFrame) -> tuple[bool, list[tuple[Any, ...]]]:
    transport = FakeTransport()
    alive = control_frame(transport, frame)  # type: ignore[arg-type]
    return alive, transport.done


def test_a_ping_is_answered_with_its_payload() -> None:
    assert answer(FakeFrame(WSMsgType.PING, b"hello")) == (False, [("pong", b"hello")])


def test_a_pong_says_the_peer_is_alive_and_sends_nothing() -> None:
    assert answer(FakeFrame(WSMsgType.PONG, b"x")) == (True, [])


def test_a_close_is_echoed_and_the_connection_dropped() -> None:
    alive, done = answer(FakeFrame(WSMsgType.CLOSE, close_code=1001))
    assert (alive, done) == (False, [("close", 1001, b""), ("disconnect", True)])


def test_data_frames_are_left_to_the_listener() -> None:
    assert answer(FakeFrame(WSMsgType.TEXT, b"{}")) == (False, [])


def test_a_reserved_bit_fails_the_connection_with_1002_even_on_a_pong() -> None:
    for bits in ((True, False, False), (False, True, False), (False, False, True)):
        alive, done = answer(FakeFrame(WSMsgType.PONG, b"", True, *bits))
        assert (alive, done) == (
            False,
            [("close", 1002, b"reserved bits set without an extension"), ("disconnect", True)],
        )


def test_fail_closes_with_the_code_and_reason_then_drops() -> None:
    transport = FakeTransport()
    fail(transport, 1009, b"message too big")  # type: ignore[arg-type]
    assert transport.done == [("close", 1009, b"message too big"), ("disconnect", True)]
