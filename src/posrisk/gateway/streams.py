"""Connections that mostly receive: streams and dashboard viewers.

Both send through ``Sink``s the services hold. Neither can be paused (an event must reach
every stream, in order), so one whose client stops reading is dropped once its unsent
output passes ``output_max_bytes``. What such a client sends is bounded like Binance
bounds its streams: more than ``stream_messages_per_s`` frames (pings, pongs, closes,
anything) in a second closes the connection with 1008. Pings are answered here
(``control``); their pongs count against the output bound. A stream connection reads
one thing: its subscription frames (``protocol.subscriptions``); a viewer reads nothing.

A stream connection (``StreamListener``) carries the streams its URL named and those it
subscribed to since (``protocol.streams``): each listenKey among them is attached to its
user data stream through a ``StreamSink``, which frames the events (raw or combined) and
keeps those ``events=`` allows; each market stream (``service.market_streams``) through a
``MarketSink``, which frames them alike. A name neither serves is acknowledged and
delivers nothing, as Binance does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import orjson
from picows import WSCloseCode, WSFrame, WSMsgType, WSTransport

from ..protocol import BINARY, Fail, MessageAssembler
from ..protocol.streams import StreamTarget, is_listen_key
from ..protocol.subscriptions import Subscriptions, stream_error
from .control import fail
from .listener import GatewayListener

if TYPE_CHECKING:
    from .server import Gateway

__all__ = [
    "DashboardListener",
    "MarketSink",
    "ReceivingListener",
    "StreamListener",
    "StreamSink",
    "event_type",
]

_DATA = (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION)
_BINARY_REFUSED = stream_error(3, "Invalid JSON: expected value at line 1 column 1")


class ReceivingListener(GatewayListener):
    """What every receive-only connection adds: a bound on what its client sends, and
    the ``Sink`` the services send through."""

    def __init__(self, gateway: Gateway, ip: str) -> None:
        super().__init__(gateway, ip)
        # Start (loop time) of the second whose incoming frames are being counted.
        self._second = 0.0
        self._frames = 0

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._second >= 1.0:
            self._second, self._frames = now, 0
        self._frames += 1
        if self._frames > self.gateway.settings.stream_messages_per_s:
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"too many messages")
            transport.disconnect()
        elif frame.msg_type in _DATA:
            self.on_data_frame(transport, frame)
        else:
            self.on_control_frame(transport, frame)

    def on_data_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """A text, binary or continuation frame: not read here (see ``StreamListener``);
        its reserved bits are checked as a control frame's are."""
        self.on_control_frame(transport, frame)

    # The transport's buffer crossing its marks: nothing to pause here (see ``send``).
    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass

    # -- the Sink the services send through (its ``close`` is the base's) --

    def send(self, message: bytes) -> None:
        self.send_bounded(message)


class DashboardListener(ReceivingListener):
    """One viewer of the dashboard page (``/dashboard/ws``): state out, nothing in."""

    def __repr__(self) -> str:
        return f"<DashboardListener {self.ip}>"

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        assert self.gateway.dashboard is not None
        self.gateway.viewers.add(self)
        self.gateway.dashboard.attach(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gateway.viewers.discard(self)
        if self.gateway.dashboard is not None:
            self.gateway.dashboard.detach(self)
        super().on_ws_disconnected(transport)


class MarketSink:
    """One market stream as one connection receives it: the ``Sink`` the market streams
    service sends the payloads of ``name`` through (the same bytes to every connection;
    combined framing added here)."""

    __slots__ = ("listener", "name", "prefix")

    def __init__(self, listener: StreamListener, name: str) -> None:
        self.listener = listener
        self.name = name
        # The start of a combined frame of this stream: ``{"stream":name,"data":``.
        self.prefix = b'{"stream":' + orjson.dumps(name) + b',"data":'

    def __repr__(self) -> str:
        return f"<MarketSink {self.name} of {self.listener!r}>"

    def send(self, message: bytes) -> None:
        listener = self.listener
        if listener.subscriptions.combined:
            message = self.prefix + message + b"}"
        listener.send_bounded(message)

    def close(self) -> None:
        """Market streams end only with their connection: nothing to do."""


class StreamSink(MarketSink):
    """One user data stream as one connection receives it: the ``Sink`` the user
    streams service sends the events of ``name`` (a listenKey) through, framed as a
    market stream's, keeping only those the URL's ``events=`` allows."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<StreamSink {self.name[:8]}… of {self.listener!r}>"

    def send(self, message: bytes) -> None:
        events = self.listener.target.events
        if events is None or event_type(message) in events:
            super().send(message)

    def close(self) -> None:
        """The stream ended on the server's side (expired, stopped, revoked)."""
        self.listener.stream_ended(self.name)


def event_type(message: bytes) -> str | None:
    """The ``e`` of an encoded event (the services write it first)."""
    if message.startswith(b'{"e":"'):
        end = message.find(b'"', 6)
        if end > 0:
            return message[6:end].decode("utf-8", "replace")
    try:
        decoded = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    found = decoded.get("e") if isinstance(decoded, dict) else None
    return found if isinstance(found, str) else None


class StreamListener(ReceivingListener):
    """One stream connection: the streams its URL named and those it subscribes to.

    Each listenKey among them is attached to its user data stream while both last; the
    connection closes (1000) when the last listenKey it carried ends on the server's side
    (expired, stopped, its API key revoked) and it carries no market stream, as a
    single-key stream always has. A listenKey named in the URL must exist (the handshake
    refuses it otherwise, or — when the bus shares listenKeys and this gateway has not
    heard of it yet — the bus is asked once open, and the connection closed with 1008 if
    no gateway has it); one subscribed to that nobody knows is acknowledged and delivers
    nothing.
    """

    def __init__(self, gateway: Gateway, target: StreamTarget, ip: str) -> None:
        super().__init__(gateway, ip)
        self.target = target
        settings = gateway.settings
        self.subscriptions = Subscriptions(target.names, combined=target.form == "combined")
        self.messages = MessageAssembler(settings.max_frame_size, settings.max_fragments)
        # The listenKeys attached to their user data streams, by key.
        self.sinks: dict[str, StreamSink] = {}
        # The market streams delivered, by name.
        self.market_sinks: dict[str, MarketSink] = {}
        self._lookups: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return (
            f"<StreamListener {self.ip} {len(self.sinks)} user streams, "
            f"{len(self.market_sinks)} market streams {self.subscriptions!r}>"
        )

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        self.gateway.streams.add(self)
        for name in self.target.names:
            self.start_stream(name, required=True)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        for task in self._lookups:
            task.cancel()
        for name, sink in self.sinks.items():
            self.gateway.api.detach_stream(name, sink)
        self.sinks.clear()
        for name, market in self.market_sinks.items():
            self.gateway.api.market_streams.unsubscribe(name, market)
        self.market_sinks.clear()
        self.gateway.streams.discard(self)
        super().on_ws_disconnected(transport)

    # -- what the client sends --

    def on_data_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        reserved = frame.rsv1 or frame.rsv2 or frame.rsv3
        payload = frame.get_payload_as_bytes()
        # picows's WSMsgType is an IntEnum at run time (its stub says Enum): the opcode.
        verdict = self.messages.feed(frame.msg_type, frame.fin, reserved, payload)  # type: ignore[arg-type]
        if isinstance(verdict, Fail):
            fail(transport, verdict.code, verdict.reason)
        elif type(verdict) is bytes:
            self.on_request(verdict)
        elif verdict is BINARY:
            self.send_bounded(_BINARY_REFUSED)

    def on_request(self, message: bytes) -> None:
        """Answer one subscription frame, then open and close the streams it changed."""
        outcome = self.subscriptions.handle(message)
        self.send_bounded(outcome.reply)
        for name in outcome.removed:
            self.stop_stream(name)
        for name in outcome.added:
            self.start_stream(name, required=False)

    # -- the streams --

    def start_stream(self, name: str, *, required: bool) -> None:
        """Start delivering ``name`` (named in the URL when ``required``)."""
        if not self.target.serves(name, self.gateway.settings.strict_stream_routes):
            return  # Binance's silence for a stream on another path's category
        if not is_listen_key(name):
            self.open_market(name)
        elif self.gateway.api.listen_key_open(name):
            self._attach(name, required)
        elif self.gateway.shares_listen_keys:
            task = asyncio.get_running_loop().create_task(self._look_up(name, required))
            self._lookups.add(task)
            task.add_done_callback(self._lookups.discard)
        elif required:
            self.close()  # the key expired between the handshake and now

    def stop_stream(self, name: str) -> None:
        """Stop delivering ``name`` (unsubscribed)."""
        sink = self.sinks.pop(name, None)
        if sink is not None:
            self.gateway.api.detach_stream(name, sink)
        elif not is_listen_key(name):
            self.close_market(name)

    def open_market(self, name: str) -> None:
        """A market stream subscribed (or named in the URL): delivered from now on when
        the market streams serve it, else acknowledged and silent."""
        if name in self.market_sinks:
            return
        sink = MarketSink(self, name)
        if self.gateway.api.market_streams.subscribe(name, sink):
            self.market_sinks[name] = sink

    def close_market(self, name: str) -> None:
        """A market stream unsubscribed: no longer delivered."""
        sink = self.market_sinks.pop(name, None)
        if sink is not None:
            self.gateway.api.market_streams.unsubscribe(name, sink)

    def _attach(self, name: str, required: bool) -> None:
        if name in self.sinks:
            return  # subscribed again while a look-up was under way: attached once
        sink = StreamSink(self, name)
        if self.gateway.api.attach_stream(name, sink):
            self.sinks[name] = sink
        elif required:
            self.close()

    async def _look_up(self, name: str, required: bool) -> None:
        bus = self.gateway.bus
        found = bus is not None and await bus.find_listen_key(name)
        transport = self.transport
        if transport is None or transport.is_disconnected or name not in self.subscriptions:
            return
        if found or self.gateway.api.listen_key_open(name):
            self._attach(name, required)
        elif required:  # no gateway has it: refused as a handshake would have been
            transport.send_close(WSCloseCode.POLICY_VIOLATION, b"Invalid listenKey.")
            transport.disconnect()

    def stream_ended(self, name: str) -> None:
        """User data stream ``name`` ended on the server's side: forgotten here, and the
        connection closed once it carries no stream that delivers."""
        if self.sinks.pop(name, None) is None:
            return
        self.subscriptions.discard(name)
        if not self.sinks and not self.market_sinks:
            self.close()
