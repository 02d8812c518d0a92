"""What the client reads (``client.frames.MessageListener``): whole text messages, however
the server fragments them, and a close answered."""

from __future__ import annotations

from typing import Any

from picows import WSMsgType

from posrisk.client.frames import MessageListener

from ..gateway.fakes import FakeFrame, FakeTransport


def reader() -> tuple[MessageListener, list[bytes], list[Any], FakeTransport]:
    messages: list[bytes] = []
    gone: list[Any] = []
    return MessageListener(messages.append, gone.append), messages, gone, FakeTransport()


def feed(listener: MessageListener, transport: FakeTransport, *frames: FakeFrame) -> None:
    for frame in frames:
        listener.on_ws_frame(transport, frame)  # type: ignore[arg-type]


def test_a_whole_text_frame_is_a_message() -> None:
    listener, messages, _, transport = reader()
    feed(listener, transport, FakeFrame(WSMsgType.TEXT, b'{"id":"1"}'))
    assert messages == [b'{"id":"1"}'] and transport.done == []


def test_fragments_are_joined_into_one_message() -> None:
    listener, messages, _, transport = reader()
    feed(
        listener,
        transport,
        FakeFrame(WSMsgType.TEXT, b'{"id"', fin=False),
        FakeFrame(WSMsgType.CONTINUATION, b':"2",', fin=False),
        FakeFrame(WSMsgType.CONTINUATION, b'"result":[]}'),
        FakeFrame(WSMsgType.TEXT, b"next"),
    )
    assert messages == [b'{"id":"2","result":[]}', b"next"]


def test_a_continuation_of_nothing_and_binary_frames_are_ignored() -> None:
    listener, messages, _, transport = reader()
    feed(
        listener,
        transport,
        FakeFrame(WSMsgType.CONTINUATION, b"stray"),
        FakeFrame(WSMsgType.BINARY, b"\x00"),
        FakeFrame(WSMsgType.PONG),
    )
    assert messages == [] and transport.done == []


def test_a_close_is_answered_and_the_disconnect_reported() -> None:
    listener, _, gone, transport = reader()
    feed(listener, transport, FakeFrame(WSMsgType.CLOSE, close_code=1001))
    assert transport.done == [("close", 1001, b""), ("disconnect", True)]
    listener.on_ws_disconnected(transport)  # type: ignore[arg-type]
    assert gone == [transport]
