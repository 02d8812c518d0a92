"""What every WebSocket listener here does with control frames (RFC 6455 §5.5, §5.2).

Pings are answered by the listeners, not by picows, so that a ping's reserved bits are
checked like every other frame's: no extension is ever negotiated, so a frame with RSV1-3
set fails the connection with 1002.
"""

from __future__ import annotations

from picows import WSCloseCode, WSFrame, WSMsgType, WSTransport

from ..protocol import PROTOCOL_ERROR

__all__ = ["control_frame", "fail"]


def fail(transport: WSTransport, code: int, reason: bytes) -> None:
    """Fail the connection (RFC 6455 §7.1.7): a close frame with ``code``, then drop it."""
    transport.send_close(WSCloseCode(code), reason)
    transport.disconnect()


def control_frame(transport: WSTransport, frame: WSFrame) -> bool:
    """Answer a control frame (ping → pong, close → close), or fail the connection on a
    frame with a reserved bit set. True for a pong (the peer is alive); data frames are
    left to the listener."""
    if frame.rsv1 or frame.rsv2 or frame.rsv3:
        fail(transport, PROTOCOL_ERROR, b"reserved bits set without an extension")
        return False
    kind = frame.msg_type
    if kind is WSMsgType.PING:
        transport.send_pong(frame.get_payload_as_bytes())
    elif kind is WSMsgType.CLOSE:
        transport.send_close(frame.get_close_code())
        transport.disconnect()
    return kind is WSMsgType.PONG
