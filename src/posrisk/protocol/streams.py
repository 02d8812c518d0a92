"""Stream URLs: which streams a WebSocket handshake asks for, and how they are framed.

Binance's USDⓈ-M stream host serves these forms (its ``/public``, ``/market`` and
``/private`` split, and the unrouted forms kept for older clients):

- ``/{public,market}/ws[/<name>…]``, ``/ws[/<name>…]``: raw frames (the payload alone);
- ``/{public,market}/stream[?streams=a/b]``, ``/stream[?streams=…]``: combined frames,
  ``{"stream": name, "data": payload}``;
- ``/private/ws?listenKey=K[/K2][&events=E1/E2]``, ``/private/ws/<K>``: raw;
- ``/private/stream[?listenKey=K…]``: combined, the stream named by its listenKey.

A name of 64 letters and digits is a listenKey (a user data stream); any other name is a
market stream. ``events=`` is an allow list of user data event types. Pure: a path and a
query in, a ``StreamTarget`` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

__all__ = [
    "MAX_STREAMS",
    "MAX_STREAM_NAME",
    "USER_EVENTS",
    "StreamTarget",
    "is_listen_key",
    "parse_stream_target",
    "stream_category",
]

# Streams one connection may carry (Binance: 1024), named in its URL and subscribed.
MAX_STREAMS = 1024
# The longest stream name a SUBSCRIBE may hold (decided: Binance's longest are under 64,
# a listenKey is 64): a connection keeps the names it subscribed, so 1024 of them stay small.
MAX_STREAM_NAME = 128
# Every user data event type, in Binance's order: what ``events=`` chooses from.
USER_EVENTS = (
    "ACCOUNT_UPDATE",
    "ORDER_TRADE_UPDATE",
    "TRADE_LITE",
    "ALGO_UPDATE",
    "ACCOUNT_CONFIG_UPDATE",
    "MARGIN_CALL",
    "listenKeyExpired",
    "CONDITIONAL_ORDER_TRIGGER_REJECT",
)
_LISTEN_KEY = re.compile(r"[A-Za-z0-9]{64}")
_CATEGORIES = ("public", "market", "private")
# Market streams Binance serves on /public; every other market stream is on /market.
_PUBLIC_SUFFIXES = ("@bookTicker", "@trade")
_DEPTH = re.compile(r"@(depth|rpiDepth)")

Form = Literal["raw", "combined"]
Category = Literal["public", "market", "private"]


def is_listen_key(name: str) -> bool:
    """Whether ``name`` names a user data stream (64 letters and digits)."""
    return _LISTEN_KEY.fullmatch(name) is not None


def stream_category(name: str) -> Category:
    """The path category Binance serves ``name`` on: listenKeys on ``/private``; book
    tickers, depth (RPI too) and trades on ``/public``; the rest on ``/market``."""
    if is_listen_key(name):
        return "private"
    if name == "!bookTicker" or name.endswith(_PUBLIC_SUFFIXES) or _DEPTH.search(name):
        return "public"
    return "market"


@dataclass(frozen=True, slots=True)
class StreamTarget:
    """What one stream handshake asks for."""

    # Raw frames (the payload) or combined ones (``{"stream", "data"}``).
    form: Form
    # The path's category; None for the unrouted ``/ws`` and ``/stream``.
    category: Category | None
    # The streams named in the URL, in order, each once.
    names: tuple[str, ...] = ()
    # The user data event types to send (None: every one).
    events: frozenset[str] | None = None

    @property
    def listen_keys(self) -> tuple[str, ...]:
        """The names that are listenKeys."""
        return tuple(name for name in self.names if is_listen_key(name))

    def serves(self, name: str, strict: bool) -> bool:
        """Whether a stream named ``name`` delivers on this path: always, unless ``strict``
        (Binance's routing) and the path has a category that is not the name's."""
        return not strict or self.category is None or self.category == stream_category(name)


def parse_stream_target(path: str, query: str = "") -> StreamTarget | None:
    """The streams a handshake to ``path`` (with ``query``, undecoded) asks for; None when
    ``path`` is not a stream path."""
    parts = path.split("/")[1:]
    category: Category | None = None
    if parts and parts[0] in _CATEGORIES:
        category = parts[0]  # type: ignore[assignment]
        parts = parts[1:]
    if not parts or parts[0] not in ("ws", "stream"):
        return None
    form: Form = "raw" if parts[0] == "ws" else "combined"
    names = [name for name in parts[1:] if name]
    if form == "combined" and len(parts) > 1:
        return None  # /stream/<x> is no form of Binance's
    pairs = parse_qsl(query, keep_blank_values=True)
    events: set[str] | None = None
    for key, value in pairs:
        if key == "streams" or key == "listenKey":
            names.extend(name for name in value.split("/") if name)
        elif key == "events":
            events = (events or set()) | {e for e in value.split("/") if e}
    unique = tuple(dict.fromkeys(names))
    return StreamTarget(form, category, unique, None if events is None else frozenset(events))
