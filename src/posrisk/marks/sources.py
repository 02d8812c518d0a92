"""Where mark prices come from when they move: replay, random walk, Binance's stream.

A source is an async iterator of batches (symbol → mark). Fixed marks (a scenario, the CLI,
the admin API) need no source. Every wait goes through an injected ``sleep`` so tests
never wait on the wall clock.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import orjson
from picows import WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ..engine import Market
from ..errors import PosriskError
from .extras import ExtrasListener, MarkExtras, parse_extra

__all__ = [
    "BINANCE_MARK_STREAM",
    "BinanceMarkStream",
    "MarkFileError",
    "MarkRow",
    "MarkSource",
    "RandomWalk",
    "Replay",
    "parse_mark_prices",
    "parse_mark_updates",
    "read_mark_file",
    "read_mark_rows",
]

log = logging.getLogger("posrisk.marks")

Batch = dict[str, Decimal]
Sleep = Callable[[float], Awaitable[None]]

# Every symbol's mark price once a second, as a JSON array (Binance USDⓈ-M market streams).
BINANCE_MARK_STREAM = "wss://fstream.binance.com/ws/!markPrice@arr@1s"


class MarkSource(Protocol):
    def batches(self) -> AsyncIterator[Batch]: ...


class MarkFileError(PosriskError, ValueError):
    """A replay file that cannot be read: says which line and why."""


def read_mark_file(path: Path) -> list[tuple[int, str, Decimal]]:
    """(time ms, symbol, mark) rows of a CSV (``time,symbol,mark``, header optional) or
    JSONL (``{"time", "symbol", "mark"}`` per line) file, in time order."""
    return [(row.time, row.symbol, row.mark) for row in read_mark_rows(path)]


@dataclass(frozen=True, slots=True)
class MarkRow:
    """One row of a replay file: a mark, and the optional index and funding rate."""

    time: int
    symbol: str
    mark: Decimal
    extras: MarkExtras | None = None


def _mark_row(line: Any, jsonl: bool) -> MarkRow:
    if jsonl:
        item = json.loads(line)
        time, symbol, mark = item["time"], item["symbol"], item["mark"]
        index, rate = item.get("index"), item.get("fundingRate")
    else:
        if not 3 <= len(line) <= 5:
            raise ValueError(
                f"expected 3 to 5 columns (time,symbol,mark[,index[,fundingRate]]), got {len(line)}"
            )
        time, symbol, mark = line[:3]
        index, rate = [*line[3:], None, None][:2]
    if isinstance(mark, float):
        raise ValueError("write the mark as a string")
    price = Decimal(str(mark).strip())
    if not price.is_finite() or price <= 0:
        raise ValueError(f"mark {mark!r} is not a positive number")
    extras = MarkExtras(
        parse_extra(index, "index", positive=True),
        parse_extra(rate, "fundingRate", positive=False),
    )
    return MarkRow(int(time), str(symbol).strip(), price, extras if extras != _NONE else None)


_NONE = MarkExtras()


def read_mark_rows(path: Path) -> list[MarkRow]:
    """The rows of a replay file (see ``read_mark_file``) with their extras: CSV columns
    4 and 5 (``index``, ``fundingRate``, each optional), JSONL keys ``index`` and
    ``fundingRate``; in time order."""
    try:
        text = path.read_text()
    except OSError as e:
        raise MarkFileError(f"cannot read {path}: {e.strerror}") from None
    rows: list[MarkRow] = []
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
    lines: Iterable[tuple[int, Any]]
    if jsonl:
        lines = enumerate(text.splitlines(), 1)
    else:
        lines = enumerate(csv.reader(text.splitlines()), 1)
    for number, line in lines:
        if jsonl and not line.strip():
            continue
        if not jsonl and (not line or (number == 1 and line[0].strip().lower() == "time")):
            continue
        try:
            rows.append(_mark_row(line, jsonl))
        except (ValueError, KeyError, TypeError, InvalidOperation) as e:
            raise MarkFileError(f"{path}:{number}: {e or 'expected time, symbol, mark'}") from None
    rows.sort(key=lambda row: row.time)
    return rows


class Replay:
    """A recorded file's marks, at ``speed`` times real time (0: as fast as they go); its
    index prices and funding rates, if it has them, go to ``on_extras``."""

    def __init__(self, path: Path, speed: float = 1.0, sleep: Sleep = asyncio.sleep) -> None:
        self.records = read_mark_rows(path)
        self.rows = [(row.time, row.symbol, row.mark) for row in self.records]
        self.speed = speed
        self.sleep = sleep
        self.on_extras: ExtrasListener | None = None

    def __repr__(self) -> str:
        return f"<Replay {len(self.rows)} marks at {self.speed}x>"

    def _tell(self, extras: dict[str, MarkExtras]) -> None:
        if extras and self.on_extras is not None:
            self.on_extras(extras)

    async def batches(self) -> AsyncIterator[Batch]:
        previous: int | None = None
        batch: Batch = {}
        extras: dict[str, MarkExtras] = {}
        for row in self.records:
            if previous is not None and row.time != previous:
                self._tell(extras)
                yield batch
                batch, extras = {}, {}
                if self.speed > 0:
                    await self.sleep((row.time - previous) / 1000 / self.speed)
            previous = row.time
            batch[row.symbol] = row.mark
            if row.extras is not None:
                extras[row.symbol] = row.extras
        if batch:
            self._tell(extras)
            yield batch


class RandomWalk:
    """A seeded random walk from the current marks: the same seed, the same prices."""

    def __init__(
        self,
        start: Mapping[str, Decimal],
        market: Market,
        *,
        seed: int = 0,
        interval: float = 1.0,
        volatility: float = 0.001,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.prices = {symbol: price for symbol, price in start.items() if price > 0}
        self.market = market
        self.random = random.Random(seed)
        self.interval = interval
        self.volatility = volatility
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"<RandomWalk {len(self.prices)} symbols every {self.interval} s>"

    def step(self) -> Batch:
        """One move of every symbol: a Gaussian relative step, kept on its price tick."""
        for symbol in sorted(self.prices):
            precision = self.market[symbol].price_precision or 8
            tick = Decimal(1).scaleb(-precision)
            factor = Decimal(repr(1 + self.random.gauss(0.0, self.volatility)))
            moved = (self.prices[symbol] * factor).quantize(tick)
            self.prices[symbol] = max(moved, tick)
        return dict(self.prices)

    async def batches(self) -> AsyncIterator[Batch]:
        while True:
            await self.sleep(self.interval)
            yield self.step()


class _StreamListener(WSListener):
    def __init__(self, queue: asyncio.Queue[bytes | None]) -> None:
        super().__init__()
        self.queue = queue

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.queue.put_nowait(frame.get_payload_as_bytes())
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.queue.put_nowait(None)


class BinanceMarkStream:
    """Binance's ``!markPrice@arr`` stream (paper trading when online), reconnecting."""

    def __init__(
        self,
        url: str = BINANCE_MARK_STREAM,
        *,
        backoff: tuple[float, float] = (0.5, 30.0),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.url = url
        self.backoff = backoff
        self.sleep = sleep
        self.connections = 0
        # Told each message's index prices and funding rates (``i``, ``r``).
        self.on_extras: ExtrasListener | None = None

    def __repr__(self) -> str:
        return f"<BinanceMarkStream {self.url}>"

    async def batches(self) -> AsyncIterator[Batch]:
        delay = self.backoff[0]
        while True:
            queue: asyncio.Queue[bytes | None] = asyncio.Queue()
            try:
                transport, _ = await ws_connect(partial(_StreamListener, queue), self.url)
            except (OSError, WSError, TimeoutError) as e:
                log.warning("mark stream %s: %s; again in %.1f s", self.url, e, delay)
                await self.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            self.connections += 1
            delay = self.backoff[0]
            try:
                while (message := await queue.get()) is not None:
                    batch, extras = parse_mark_updates(message)
                    if extras and self.on_extras is not None:
                        self.on_extras(extras)
                    if batch:
                        yield batch
            finally:
                transport.disconnect()
            log.warning("mark stream %s closed; reconnecting", self.url)


def parse_mark_prices(message: bytes) -> Batch:
    """The marks of one ``markPriceUpdate`` (or an array of them); junk is skipped."""
    return parse_mark_updates(message)[0]


def parse_mark_updates(message: bytes) -> tuple[Batch, dict[str, MarkExtras]]:
    """The marks of one ``markPriceUpdate`` (or an array of them), and each marked
    symbol's index price (``i``) and funding rate (``r``) where given; junk is skipped."""
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return {}, {}
    if isinstance(data, dict) and isinstance(data.get("data"), list | dict):
        data = data["data"]  # a combined-stream envelope
    items = data if isinstance(data, list) else [data]
    batch: Batch = {}
    extras: dict[str, MarkExtras] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("e") != "markPriceUpdate":
            continue
        symbol, price = item.get("s"), item.get("p")
        if not isinstance(symbol, str) or not isinstance(price, str):
            continue
        try:
            mark = Decimal(price)
        except InvalidOperation:
            continue
        if mark.is_finite() and mark > 0:
            batch[symbol] = mark
            found = MarkExtras(_optional(item.get("i"), True), _optional(item.get("r"), False))
            if found != _NONE:
                extras[symbol] = found
    return batch, extras


def _optional(value: object, positive: bool) -> Decimal | None:
    # A stream's field that may be missing or junk (then None: nothing learnt).
    if not isinstance(value, str):
        return None
    try:
        return parse_extra(value, "value", positive=positive)
    except ValueError:
        return None
