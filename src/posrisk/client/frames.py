"""What the client reads from its connection: whole text messages, however fragmented.

picows hands over frames; a server may send a long answer as a text frame and its
continuations, joined here before the client reads it. A close from the server is
answered with a close; pings are picows's.
"""

from __future__ import annotations

from collections.abc import Callable

from picows import WSFrame, WSListener, WSMsgType, WSTransport

__all__ = ["MessageListener"]


class MessageListener(WSListener):
    """Calls ``on_message`` with each text message, ``on_disconnected`` once it closes."""

    def __init__(
        self,
        on_message: Callable[[bytes], None],
        on_disconnected: Callable[[WSTransport], None],
    ) -> None:
        super().__init__()
        self.on_message = on_message
        self.on_disconnected = on_disconnected
        self._fragments: list[bytes] | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT:
            if frame.fin:
                self.on_message(frame.get_payload_as_bytes())
            else:
                self._fragments = [frame.get_payload_as_bytes()]
        elif kind is WSMsgType.CONTINUATION and self._fragments is not None:
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                message, self._fragments = b"".join(self._fragments), None
                self.on_message(message)
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.on_disconnected(transport)
