"""One WS API connection: frames in, answers out, in order.

Text messages are reassembled by ``protocol.MessageAssembler`` (bounded in bytes and in
frames); each goes to ``ApiService.submit`` through a ``RequestQueue``, which answers no
faster than the client reads its answers (``backpressure``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picows import WSCloseCode, WSFrame, WSMsgType, WSTransport

from ..protocol import BINARY, Fail, MessageAssembler, WireError, encode_error
from ..service.api import Connection
from .backpressure import RequestQueue, switch_reading
from .control import fail
from .listener import GatewayListener

if TYPE_CHECKING:
    from .server import Gateway

__all__ = ["ApiListener"]

_BINARY_REFUSED = encode_error(
    None, WireError.malformed_request("binary frames are not supported, send JSON text")
)


class ApiListener(GatewayListener):
    """One WS API connection: frames in, answers out, in order."""

    def __init__(self, gateway: Gateway, conn: Connection) -> None:
        super().__init__(gateway, conn.ip)
        self.conn = conn
        settings = gateway.settings
        # Text messages from their frames, within the size and fragment limits.
        self.messages = MessageAssembler(settings.max_frame_size, settings.max_fragments)
        # Requests read, answered no faster than the client reads its answers.
        self.requests = RequestQueue(
            self._submit,
            self._send,
            lambda on: switch_reading(self.transport, on),
            max_in_flight=settings.max_requests_in_flight,
            max_waiting_bytes=settings.max_waiting_bytes,
        )

    def __repr__(self) -> str:
        return f"<ApiListener {self.conn.ip} since {self.conn.connected_since} {self.requests!r}>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        self.gateway.connections.add(self)
        settings = self.gateway.settings
        transport.underlying_transport.set_write_buffer_limits(
            high=settings.output_pause_bytes, low=settings.output_resume_bytes
        )

    def pause_writing(self) -> None:
        self.requests.pause()

    def resume_writing(self) -> None:
        self.requests.resume()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.connections.discard(self)
        super().on_ws_disconnected(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.CONTINUATION or kind is WSMsgType.BINARY:
            if transport.is_close_frame_sent:
                return  # read in the same chunk as a close we sent: not answered
            reserved = frame.rsv1 or frame.rsv2 or frame.rsv3
            payload = frame.get_payload_as_bytes()
            # picows's WSMsgType is an IntEnum at run time (its stub says Enum): the opcode.
            verdict = self.messages.feed(kind, frame.fin, reserved, payload)  # type: ignore[arg-type]
            if type(verdict) is bytes:
                self._answer(transport, verdict)
            elif verdict is BINARY:
                self._answer(transport, _BINARY_REFUSED, ready=True)
            elif isinstance(verdict, Fail):
                fail(transport, verdict.code, verdict.reason)
        else:
            self.on_control_frame(transport, frame)

    def _answer(self, transport: WSTransport, message: bytes, *, ready: bool = False) -> None:
        """Answer ``message`` (a request, or when ``ready`` its answer) after the others."""
        queue = self.requests
        if not (queue.push_answer(message) if ready else queue.push(message)):
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"too many requests unanswered")
            transport.disconnect(graceful=False)

    def _submit(self, message: bytes) -> None:
        self.gateway.api.submit(self.conn, message, self._reply)

    def _send(self, answer: bytes) -> None:
        self.send_bounded(answer)

    def _reply(self, response: bytes, status: int) -> None:
        transport = self.transport
        if not self.send_bounded(response):
            return  # the client left (while the shared limiter was deciding), or was dropped
        assert transport is not None
        if status == 418:
            # A banned IP gets its 418, then loses the connection (SPEC §7): it can only
            # come back through a handshake, which is refused while the ban lasts.
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"IP banned")
            transport.disconnect()
        else:
            self.requests.answered()
