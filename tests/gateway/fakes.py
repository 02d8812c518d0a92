"""Stand-ins for a picows transport, frame and the gateway around a listener, so that a
listener's steps can be checked one by one, without a socket."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from picows import WSMsgType

from posrisk.gateway.settings import GatewaySettings

__all__ = ["FakeFrame", "FakeTransport", "fake_gateway"]


class FakeSocket:
    """The transport under the WebSocket: its write buffer and whether it is read."""

    def __init__(self) -> None:
        self.buffered = 0
        self.limits: tuple[int, int] | None = None
        self.reading = True

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        self.limits = (high, low)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


class FakeTransport:
    """Records what a listener does to its connection, in order."""

    def __init__(self) -> None:
        self.done: list[tuple[Any, ...]] = []
        self.is_disconnected = False
        self.is_close_frame_sent = False
        self.underlying_transport = FakeSocket()

    def send(self, kind: WSMsgType, message: bytes) -> None:
        self.done.append(("send", kind, message))

    def send_close(self, code: int = 1005, reason: bytes = b"") -> None:
        self.is_close_frame_sent = True
        self.done.append(("close", int(code), reason))

    def disconnect(self, graceful: bool = True) -> None:
        self.is_disconnected = True
        self.done.append(("disconnect", graceful))

    def send_ping(self, payload: bytes = b"") -> None:
        self.done.append(("ping",))

    def send_pong(self, payload: bytes = b"") -> None:
        self.done.append(("pong", payload))


@dataclass
class FakeFrame:
    """One frame as picows hands it over."""

    msg_type: WSMsgType
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    close_code: int = 1000

    def get_payload_as_bytes(self) -> bytes:
        return self.payload

    def get_close_code(self) -> int:
        return self.close_code


@dataclass
class FakeAdmission:
    """Open connections per IP, as ``Admission`` counts them."""

    open: Counter[str] = field(default_factory=Counter)

    def count(self, ip: str) -> None:
        self.open[ip] += 1

    def release(self, ip: str) -> None:
        self.open[ip] -= 1


def fake_gateway(api: Any = None, **settings: Any) -> Any:
    """What a listener uses of its ``Gateway``."""
    return SimpleNamespace(
        settings=GatewaySettings(**settings),
        admission=FakeAdmission(),
        connections=set(),
        streams=set(),
        viewers=set(),
        dashboard=None,
        api=api,
    )
