"""Plain HTTP/1.1 on the WS port: the REST API, the dashboard page, /health, /metrics.

``sniff`` hands a connection whose first request is not a WebSocket upgrade to an
``HttpConnection``: requests are parsed by httptools and answered in the order they came
(pipelining), over one connection for as long as the client keeps it (keep-alive; HTTP/1.0
and ``Connection: close`` end it after their answer). The bounds:

- a request head of at most ``http_max_head_bytes`` (431), a body of at most
  ``http_max_body_bytes`` (413), sent with Content-Length (a chunked body: 411); each
  refusal is JSON ``{"code": -1000, "msg"}`` and closes the connection;
- at most ``http_max_pipelined`` requests read and not yet answered: the socket is no
  longer read until answers go out; a client that sends more in one go gets the first
  ones answered, then the connection closes;
- while the client does not read its answers (the transport's buffer is over
  ``output_pause_bytes``) no request is answered and the socket is not read; answers are
  made one at a time as they go out, so at most ``output_pause_bytes`` of them wait
  unwritten (beyond the one that passed it);
- a connection with nothing to answer is closed after ``http_idle_timeout_s`` (a request
  must arrive whole within that time); one whose client has read none of its answers for
  that long is aborted, as is one closing whose last answer is still unread by then.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

import httptools  # type: ignore[import-untyped]

from ..protocol import WireError
from ..service.rest import HttpResponse, error_response
from .settings import GatewaySettings
from .upgrade import hand_over, handshake_problem, is_upgrade, picows_head

__all__ = [
    "Dispatch",
    "HttpConnection",
    "encode_response",
]

log = logging.getLogger("posrisk.gateway.http")

# (method, target, headers with lower-cased names, body, ip) -> the answer.
Dispatch = Callable[[str, str, dict[str, str], bytes, str], HttpResponse | Awaitable[HttpResponse]]


class _Refused(Exception):
    """Raised inside a parser callback: the request is answered ``error``, then closed."""

    def __init__(self, error: WireError) -> None:
        super().__init__(error.msg)
        self.error = error


@dataclass(slots=True)
class _Slot:
    """One request, from parsed to answered (``answer``: its bytes, once known)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool
    version: str
    answer: bytes | None = None
    refusal: WireError | None = None
    # A WebSocket upgrade: its request as read (head and what followed it).
    upgrade: bytes | None = None


class HttpConnection(asyncio.Protocol):
    """One plain HTTP connection of ``ip``, answered through ``dispatch``."""

    def __init__(
        self,
        dispatch: Dispatch,
        ip: str,
        settings: GatewaySettings,
        on_close: Callable[[], None],
        websocket: Callable[[], asyncio.BaseProtocol],
    ) -> None:
        self.dispatch = dispatch
        self.websocket = websocket
        self.ip = ip
        self.settings = settings
        self.on_close = on_close
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        # Requests read, in order; ``dispatched`` of them (from the left) are under way.
        self.slots: deque[_Slot] = deque()
        self.dispatched = 0
        # Bytes of answers made and not yet written (behind one still awaited).
        self.held = 0
        self.write_paused = False
        self.reading_paused = False
        # No more requests are read (a refusal, Connection: close, too many at once).
        self.closing = False
        self.lost = False
        self._idle: asyncio.TimerHandle | None = None
        self._idle_deadline = 0.0
        # Loop time output last passed the high-water mark (the client stopped reading).
        self._paused_at = 0.0
        # The request being read: target, headers, body, head size.
        self._target = bytearray()
        self._headers: dict[str, str] = {}
        self._raw_head: list[bytes] = []
        self._body = bytearray()
        self._head_bytes = 0
        # A head is being read, and the bytes of the reads that were all head: httptools
        # holds a header until it ends, so the bound is checked on what was read too.
        self._in_head = False
        self._head_read = 0

    def __repr__(self) -> str:
        return f"<HttpConnection {self.ip} {len(self.slots)} requests>"

    def start(self, transport: asyncio.Transport, data: bytes) -> None:
        """Take over ``transport`` (from the sniffer) with the bytes it already read."""
        self.transport = transport
        settings = self.settings
        transport.set_write_buffer_limits(
            high=settings.output_pause_bytes, low=settings.output_resume_bytes
        )
        transport.set_protocol(self)
        self._arm_idle()
        if data:
            self.data_received(data)

    # -- asyncio.Protocol ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        in_head = self._in_head
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            refused = error.__context__
            if isinstance(refused, _Refused):
                self._refuse(refused.error)
            else:  # a bug of ours in a callback
                log.error("HTTP parser callback failed", exc_info=refused)
                self._refuse(WireError.internal())
        except httptools.HttpParserUpgrade as upgrade:
            # A WebSocket upgrade on a kept-alive connection (aiohttp reuses them): picows
            # takes it over once every answer before it is out.
            slot = self.slots[-1] if self.slots else None
            if slot is not None and slot.upgrade is not None:
                slot.upgrade += data[upgrade.args[0] :]
        except httptools.HttpParserError as error:
            self._refuse(WireError.malformed_request(f"not valid HTTP/1.1 ({error})"))
        else:
            if in_head and self._in_head:  # all of ``data`` was head
                self._head_read += len(data)
                if self._head_read > self.settings.http_max_head_bytes:
                    most = self.settings.http_max_head_bytes
                    self._refuse(WireError.oversized(431, "request head", most))
        self._pump()

    def eof_received(self) -> bool:
        self.closing = True
        # Answer what was asked (a client may half-close after its last request); a TLS
        # transport cannot stay half-open and says so if asked.
        tls = self.transport is not None and self.transport.get_extra_info("sslcontext")
        return bool(self.slots) and not tls

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = self.closing = True
        if self._idle is not None:
            self._idle.cancel()
        self.on_close()

    def pause_writing(self) -> None:
        self.write_paused = True
        self._paused_at = asyncio.get_running_loop().time()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._pump()

    # -- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._target.clear()
        self._headers = {}
        self._raw_head = []
        self._body.clear()
        self._head_bytes = self._head_read = 0
        self._in_head = True

    def on_url(self, url: bytes) -> None:
        self._target += url
        self._grow_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow_head(len(name) + len(value) + 4)
        self._raw_head.append(name + b": " + value)
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        old = self._headers.get(key)
        self._headers[key] = text if old is None else f"{old}, {text}"

    def _grow_head(self, size: int) -> None:
        self._head_bytes += size
        most = self.settings.http_max_head_bytes
        if self._head_bytes > most:
            raise _Refused(WireError.oversized(431, "request head", most))

    def on_headers_complete(self) -> None:
        self._in_head = False
        headers = self._headers
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _Refused(WireError.length_required())
        most = self.settings.http_max_body_bytes
        length = headers.get("content-length", "0").strip()
        if length.isdigit() and int(length) > most:
            raise _Refused(WireError.oversized(413, "request body", most))

    def on_body(self, chunk: bytes) -> None:
        self._body += chunk
        most = self.settings.http_max_body_bytes
        if len(self._body) > most:
            raise _Refused(WireError.oversized(413, "request body", most))

    def on_message_complete(self) -> None:
        parser = self.parser
        keep_alive = parser.should_keep_alive()
        if len(self.slots) >= self.settings.http_max_pipelined:
            # Too many at once: the ones before are answered, then the connection closes.
            raise _Refused(WireError.malformed_request("too many requests unanswered"))
        method = parser.get_method().decode("ascii", "replace")
        if parser.should_upgrade():
            line = f"{method} ".encode() + bytes(self._target)
            line += f" HTTP/{parser.get_http_version()}".encode()
            head = b"\r\n".join([line, *self._raw_head])
            if not is_upgrade(head):
                raise _Refused(WireError.malformed_request("only WebSocket upgrades are taken"))
            if problem := handshake_problem(head):
                raise _Refused(WireError.malformed_request(problem))
            self.closing = True  # what follows is the WebSocket's
            raw = picows_head(head) + b"\r\n\r\n"
            self.slots.append(_Slot(method, "", {}, b"", True, "1.1", upgrade=raw))
            return
        slot = _Slot(
            method,
            self._target.decode("latin-1"),
            self._headers,
            bytes(self._body),
            keep_alive,
            parser.get_http_version(),
        )
        self.slots.append(slot)
        if not keep_alive:
            self.closing = True  # nothing after it is read (httptools refuses it too)

    # -- answering ----------------------------------------------------------------------

    def _refuse(self, error: WireError) -> None:
        """Answer ``error`` after the requests before it, then close."""
        self.closing = True
        self.slots.append(_Slot("", "", {}, b"", False, "1.1", refusal=error))

    def _pump(self) -> None:
        """Answer what can be answered, in order; read only while answers flow."""
        if self.lost or self.transport is None:
            return
        slots = self.slots
        transport = self.transport
        wrote = False
        most = self.settings.output_pause_bytes
        while True:
            while slots and (answer := slots[0].answer) is not None:
                slot = slots.popleft()
                self.dispatched -= 1
                self.held -= len(answer)
                transport.write(answer)  # may pause writing: then nothing more is made
                wrote = True
                if not slot.keep_alive:
                    slots.clear()
                    self.dispatched = 0
                    self._close()
                    return
            if self.dispatched >= len(slots) or self.write_paused or self.held >= most:
                break
            slot = slots[self.dispatched]
            self.dispatched += 1
            if slot.upgrade is None:
                self._dispatch(slot)
        if slots and (upgrade := slots[0].upgrade) is not None:
            self._hand_over(transport, upgrade)
            return
        if self.closing and not slots:
            self._close()
            return
        self._set_reading(not (self.write_paused or len(slots) >= self.settings.http_max_pipelined))
        if wrote and not slots:
            self._arm_idle()  # idle from the last answer on (not from the last bytes read)

    def _hand_over(self, transport: asyncio.Transport, received: bytes) -> None:
        """Give the connection to picows, as the sniffer does for a first request."""
        self.lost = True
        self.slots.clear()
        if self._idle is not None:
            self._idle.cancel()
        self._set_reading(True)
        self.on_close()  # the WebSocket listener holds the IP's place from now on
        hand_over(transport, self.websocket, received)

    def _dispatch(self, slot: _Slot) -> None:
        if slot.refusal is not None:
            slot.answer = encode_response(error_response(slot.refusal), keep_alive=False)
            self.held += len(slot.answer)
            return
        try:
            result = self.dispatch(slot.method, slot.target, slot.headers, slot.body, self.ip)
        except Exception:  # a bug must cost one answer, never the connection
            log.exception("internal error answering %s %s", slot.method, slot.target)
            result = error_response(WireError.internal())
        if type(result) is not HttpResponse and inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            task.add_done_callback(lambda done: self._finished(slot, done))
        else:
            slot.answer = self._encode(slot, result)
            self.held += len(slot.answer)

    def _finished(self, slot: _Slot, task: asyncio.Future[HttpResponse]) -> None:
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.error("internal error answering %s", slot.target, exc_info=task.exception())
            response = error_response(WireError.internal())
        else:
            response = task.result()
        slot.answer = self._encode(slot, response)
        self.held += len(slot.answer)
        self._pump()

    @staticmethod
    def _encode(slot: _Slot, response: HttpResponse) -> bytes:
        return encode_response(response, slot.keep_alive, slot.version == "1.0")

    def _set_reading(self, on: bool) -> None:
        if self.transport is None or on != self.reading_paused:
            return
        self.reading_paused = not on
        if on:
            self.transport.resume_reading()
        else:
            self.transport.pause_reading()

    def _arm_idle(self) -> None:
        """From now, a request must arrive whole within the idle timeout. One timer per
        connection, moved on lazily: arming costs a clock read per answer."""
        loop = asyncio.get_running_loop()
        timeout = self.settings.http_idle_timeout_s
        self._idle_deadline = loop.time() + timeout
        if self._idle is None and not self.closing:
            self._idle = loop.call_at(self._idle_deadline, self._idle_out)

    def _idle_out(self) -> None:
        self._idle = None
        transport = self.transport
        if self.lost or transport is None:
            return
        loop = asyncio.get_running_loop()
        timeout = self.settings.http_idle_timeout_s
        if self.write_paused:  # the client reads nothing: dropped once that lasts
            deadline = self._paused_at + timeout
        elif self.slots:  # answering: idle again only once answered
            self._idle = loop.call_later(timeout, self._idle_out)
            return
        else:
            deadline = self._idle_deadline
        if loop.time() < deadline:
            self._idle = loop.call_at(deadline, self._idle_out)
        elif self.write_paused or transport.get_write_buffer_size():
            transport.abort()  # close() would wait for the client to read
        else:
            self._close()

    def _close(self) -> None:
        """Close once what is written is out; abort if the client has not read it within
        the idle timeout (close() alone waits for the client for ever)."""
        transport = self.transport
        assert transport is not None
        self.closing = True
        transport.close()
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self.settings.http_idle_timeout_s, transport.abort)


_REASONS = {status.value: status.phrase for status in HTTPStatus}


def encode_response(response: HttpResponse, keep_alive: bool, http10: bool = False) -> bytes:
    """The bytes of ``response`` on the wire, with Content-Length and, when the connection
    ends after it, ``Connection: close`` (``keep-alive`` for an HTTP/1.0 client keeping it)."""
    status = response.status
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines.extend(f"{name}: {value}" for name, value in response.headers.items())
    lines.append(f"Content-Length: {len(response.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    elif http10:
        lines.append("Connection: keep-alive")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1") + response.body
