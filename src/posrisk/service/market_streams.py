"""Market streams from the marks, and the marks' history they are fed with.

Transport-free, as ``UserStreams``: a subscriber is a ``Sink`` registered under a stream
name; the gateway supplies connections. Served (names as Binance's, the symbol in any case):

- ``<symbol>@markPrice`` (every 3 s), ``<symbol>@markPrice@1s`` (every second):
  ``{"e":"markPriceUpdate","E","s","p","i","P","r","T"}`` — ``p`` the mark, ``i`` the
  index and ``P`` the estimated settle price, ``r`` the funding rate due next and ``T`` its
  time, as ``premiumIndex`` answers them (``premium_rows``);
- ``!markPrice@arr`` (3 s), ``!markPrice@arr@1s``: those of every symbol with a mark, as
  one array;
- ``<symbol>@bookTicker``: ``{"e":"bookTicker","u","E","T","s","b","B","a","A"}`` on every
  change of the symbol's mark, the bid and ask ``ticker/bookTicker`` answers, ``u`` the
  marks' version;
- ``!bookTicker`` (every 5 s): the ``bookTicker`` of each symbol whose mark changed since
  the last push, one message each.

``on_state_changed`` is the registry's listener: every mark change (whoever made it)
goes into the history (``MarkHistory``) and out to the ``bookTicker`` streams. The
periodic pushes run while anything is subscribed, one ``tick`` a second through the
injected ``sleep``. Each payload is encoded once per tick and its bytes shared by every
subscriber. A name not listed above is not served (``subscribe`` answers False).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from ..engine import Market
from .kline_routes import DayTickers
from .mark_history import HISTORY_MINUTES, MarkHistory
from .market_routes import book_tickers, premium_index
from .registry import StateChanged
from .streams import Sink

if TYPE_CHECKING:
    from .api import ApiService

__all__ = ["MarketStreams", "StreamKey", "premium_rows", "stream_key"]

log = logging.getLogger("posrisk.market")

Sleep = Callable[[float], Awaitable[None]]

# Stream kinds: (kind, every how many ticks it is pushed; 0: on every mark change).
_MARK_3S, _MARK_1S, _ARRAY_3S, _ARRAY_1S = "markPrice", "markPrice@1s", "arr", "arr@1s"
_BOOK, _ALL_BOOKS = "bookTicker", "!bookTicker"
_PERIODS = {_MARK_3S: 3, _MARK_1S: 1, _ARRAY_3S: 3, _ARRAY_1S: 1, _ALL_BOOKS: 5}
_NAMED = {"!markPrice@arr": _ARRAY_3S, "!markPrice@arr@1s": _ARRAY_1S, "!bookTicker": _ALL_BOOKS}
_SUFFIXES = {"@markPrice": _MARK_3S, "@markPrice@1s": _MARK_1S, "@bookTicker": _BOOK}


class StreamKey(NamedTuple):
    """What a stream name asks for: its kind and symbol (None: every symbol)."""

    kind: str
    symbol: str | None


def stream_key(name: str, market: Market) -> StreamKey | None:
    """The served stream ``name`` is, or None (unknown name, or symbol not listed)."""
    kind = _NAMED.get(name)
    if kind is not None:
        return StreamKey(kind, None)
    for suffix, kind in _SUFFIXES.items():
        if name.endswith(suffix):
            symbol = name[: -len(suffix)].upper()
            return StreamKey(kind, symbol) if symbol and symbol in market else None
    return None


def premium_rows(api: ApiService, symbol: str | None, now: int) -> list[dict[str, Any]]:
    """The ``premiumIndex`` rows a ``markPriceUpdate`` is made of: ``symbol``'s, or every
    marked symbol's. The one place the streams read index and rates from."""
    rows = premium_index(api, {} if symbol is None else {"symbol": symbol}, now)
    return rows if isinstance(rows, list) else [rows]


def _mark_update(row: Mapping[str, Any], now: int) -> dict[str, Any]:
    return {
        "e": "markPriceUpdate",
        "E": now,
        "s": row["symbol"],
        "p": row["markPrice"],
        "i": row["indexPrice"],
        "P": row["estimatedSettlePrice"],
        "r": row["lastFundingRate"],
        "T": row["nextFundingTime"],
    }


class MarketStreams:
    """Subscribers per market stream, the periodic pushes, and the marks' history."""

    def __init__(
        self,
        api: ApiService,
        *,
        history_minutes: int = HISTORY_MINUTES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.api = api
        self.sleep = sleep
        registry = api.registry
        self.history = MarkHistory(history_minutes)
        # The all-symbol ``ticker/24hr`` answer, computed at most once a second.
        self.day_tickers = DayTickers(self.history)
        if registry.marks:  # the marks loaded at start open the history
            self.history.record(registry.marks, api.clock.now_ms())
        registry.subscribe(self.on_state_changed)
        # Subscribers by stream; each a dict (ordered, O(1) removal) of sink → its name.
        self._subscribers: dict[StreamKey, dict[Sink, str]] = {}
        # The ``<symbol>@bookTicker`` streams subscribed, by symbol: a tick of marks looks
        # them up only when there are some (300 keys built per tick cost more than the
        # history the tick feeds).
        self._books: dict[str, StreamKey] = {}
        # Symbols whose mark changed since the last ``!bookTicker`` push.
        self._books_moved: dict[str, None] = {}
        self._task: asyncio.Task[None] | None = None
        # Ticks run, payloads encoded, messages handed to sinks: metrics and tests.
        self.ticks = 0
        self.encoded = 0
        self.sent = 0

    def __repr__(self) -> str:
        count = sum(len(sinks) for sinks in self._subscribers.values())
        return f"<MarketStreams {len(self._subscribers)} streams, {count} subscribers>"

    # -- subscribers --

    def subscribe(self, name: str, sink: Sink) -> bool:
        """Deliver stream ``name`` to ``sink``; False when ``name`` is not served here."""
        key = stream_key(name, self.api.market)
        if key is None:
            return False
        self._subscribers.setdefault(key, {})[sink] = name
        if key.kind == _BOOK and key.symbol is not None:
            self._books[key.symbol] = key
        self._start()
        return True

    def unsubscribe(self, name: str, sink: Sink) -> None:
        key = stream_key(name, self.api.market)
        sinks = self._subscribers.get(key) if key is not None else None
        if sinks is None or key is None:
            return
        sinks.pop(sink, None)
        if not sinks:
            del self._subscribers[key]
            if key.kind == _BOOK and key.symbol is not None:
                del self._books[key.symbol]
        if not self._subscribers:
            self.stop()

    def _start(self) -> None:
        if self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test ticking by hand): nothing runs on its own
        self._task = loop.create_task(self._run())

    def stop(self) -> None:
        """Stop the periodic pushes (they start again with the next subscriber)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.sleep(1.0)
            try:
                self.tick()
            except Exception:
                log.exception("market stream tick failed")

    # -- what is pushed --

    def _send(self, key: StreamKey, message: bytes) -> None:
        sinks = self._subscribers.get(key)
        if not sinks:
            return
        for sink in tuple(sinks):
            sink.send(message)
        self.sent += len(sinks)

    def tick(self) -> None:
        """One second: the 1 s streams, every 3rd the 3 s ones, every 5th ``!bookTicker``."""
        self.ticks += 1
        now = self.api.clock.now_ms()
        due = {kind for kind, every in _PERIODS.items() if self.ticks % every == 0}
        keys = [key for key in self._subscribers if key.kind in due]
        if not keys:
            return
        arrays = [key for key in keys if key.kind in (_ARRAY_1S, _ARRAY_3S)]
        marks = self.api.registry.marks
        if arrays:
            rows = premium_rows(self.api, None, now)
            message = orjson.dumps([_mark_update(row, now) for row in rows])
            self.encoded += 1
            for key in arrays:
                self._send(key, message)
        for key in keys:
            if key.kind in (_MARK_1S, _MARK_3S) and key.symbol in marks:
                [row] = premium_rows(self.api, key.symbol, now)
                self.encoded += 1
                self._send(key, orjson.dumps(_mark_update(row, now)))
        if _ALL_BOOKS in due:
            moved, self._books_moved = self._books_moved, {}
            for symbol in moved:
                self._send(StreamKey(_ALL_BOOKS, None), self._book_message(symbol, now))

    def _book_message(self, symbol: str, now: int) -> bytes:
        row = book_tickers(self.api, {"symbol": symbol}, now)
        self.encoded += 1
        return orjson.dumps(
            {
                "e": "bookTicker",
                "u": self.api.registry.marks_version,
                "E": now,
                "T": now,
                "s": symbol,
                "b": row["bidPrice"],
                "B": row["bidQty"],
                "a": row["askPrice"],
                "A": row["askQty"],
            }
        )

    def on_state_changed(self, changed: StateChanged) -> None:
        """Subscribed to the registry: moved marks into the history, and out to their
        ``bookTicker`` streams."""
        if not changed.marks:
            return
        now = self.api.clock.now_ms()
        self.history.record(changed.marks, now)
        if StreamKey(_ALL_BOOKS, None) in self._subscribers:
            self._books_moved.update(dict.fromkeys(changed.marks))
        books = self._books
        if books:
            for symbol in changed.marks:
                key = books.get(symbol)
                if key is not None:
                    self._send(key, self._book_message(symbol, now))

    async def aclose(self) -> None:
        """Stop the periodic pushes and wait for them to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
