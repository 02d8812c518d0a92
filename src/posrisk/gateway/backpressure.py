"""Bounded output per connection: a client that never reads must not grow the server.

Answers wait in the transport's buffer until the client reads them. A WS API connection
whose unsent output passes the transport's high-water mark stops being read, and the
requests it already sent wait (``RequestQueue``) until the buffer drains below the
low-water mark: the server answers no faster than the client reads. Requests waiting for
the shared limiter are capped per connection, so answers decided later cannot pile up
either. A connection whose output still passes the hard bound (streams and the dashboard,
which cannot be paused, or a burst of late answers) is dropped (``send_bounded``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from picows import WSCloseCode, WSMsgType, WSTransport

__all__ = ["RequestQueue", "send_bounded", "switch_reading"]


class RequestQueue:
    """The messages of one WS API connection, answered in order as output allows.

    ``submit`` hands a request on (its answer comes back through ``answered``, at once or
    later); ``send`` writes an answer known without a request (a refused binary frame)
    once every answer before it is out; ``reading(False)`` stops reading the socket,
    ``reading(True)`` resumes it. Pure state: the listener feeds it the transport's
    ``pause_writing``/``resume_writing``.
    """

    def __init__(
        self,
        submit: Callable[[bytes], None],
        send: Callable[[bytes], None],
        reading: Callable[[bool], None],
        *,
        max_in_flight: int,
        max_waiting_bytes: int,
    ) -> None:
        self._submit = submit
        self._send_answer = send
        self._reading = reading
        self.max_in_flight = max_in_flight
        self.max_waiting_bytes = max_waiting_bytes
        # Requests read but not yet submitted (True: an answer to send as it is), and
        # their size in bytes.
        self.waiting: deque[tuple[bytes, bool]] = deque()
        self.waiting_bytes = 0
        # Submitted, not yet answered (answers decided later by the shared limiter).
        self.in_flight = 0
        # The transport's buffer is over its high-water mark (told by pause_writing).
        self.paused = False
        # Reading from the socket is stopped (while paused or while requests wait).
        self.reading_stopped = False
        # Inside ``_drain``: an answer given at once must not start a nested drain.
        self._draining = False

    def __repr__(self) -> str:
        state = "paused" if self.paused else "flowing"
        return (
            f"<RequestQueue {state}, {len(self.waiting)} waiting ({self.waiting_bytes} bytes),"
            f" {self.in_flight} in flight>"
        )

    def push(self, request: bytes) -> bool:
        """Take one request; False when too many bytes already wait (drop the client)."""
        return self._take(request, False)

    def push_answer(self, answer: bytes) -> bool:
        """Take an answer to send after the answers before it; False as ``push``."""
        return self._take(answer, True)

    def _take(self, message: bytes, ready: bool) -> bool:
        if not self.waiting and self._may_go(ready):
            self._go(message, ready)
            return True
        if self.waiting_bytes + len(message) > self.max_waiting_bytes:
            return False
        self.waiting.append((message, ready))
        self.waiting_bytes += len(message)
        self._stop_reading()
        return True

    def answered(self) -> None:
        """One submitted request was answered."""
        self.in_flight -= 1
        self._drain()

    def pause(self) -> None:
        """The unsent output passed the high-water mark: hold requests, stop reading."""
        self.paused = True
        self._stop_reading()

    def resume(self) -> None:
        """The unsent output drained below the low-water mark."""
        self.paused = False
        self._drain()

    def _may_go(self, ready: bool) -> bool:
        """A request may go while few await the limiter; an answer once none do."""
        limit = 1 if ready else self.max_in_flight
        return not self.paused and self.in_flight < limit

    def _go(self, message: bytes, ready: bool) -> None:
        if ready:
            self._send_answer(message)
        else:
            self.in_flight += 1
            self._submit(message)

    def _drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        try:
            while self.waiting and self._may_go(self.waiting[0][1]):
                message, ready = self.waiting.popleft()
                self.waiting_bytes -= len(message)
                self._go(message, ready)
        finally:
            self._draining = False
        if not self.waiting and not self.paused and self.reading_stopped:
            self.reading_stopped = False
            self._reading(True)

    def _stop_reading(self) -> None:
        if not self.reading_stopped:
            self.reading_stopped = True
            self._reading(False)


def send_bounded(transport: WSTransport | None, message: bytes, max_bytes: int) -> bool:
    """Send a text frame, then drop the connection if its unsent output passed
    ``max_bytes``: the close frame (1008) would only queue behind what the client does
    not read, so the connection is aborted and its buffer freed at once. True while the
    connection stays."""
    if transport is None or transport.is_disconnected:
        return False
    transport.send(WSMsgType.TEXT, message)
    if transport.underlying_transport.get_write_buffer_size() <= max_bytes:
        return True
    transport.send_close(WSCloseCode.POLICY_VIOLATION, b"output not read")
    transport.disconnect(graceful=False)
    return False


def switch_reading(transport: WSTransport | None, on: bool) -> None:
    """Resume (``on``) or stop reading a connection's socket."""
    if transport is not None and not transport.is_disconnected:
        if on:
            transport.underlying_transport.resume_reading()
        else:
            transport.underlying_transport.pause_reading()
