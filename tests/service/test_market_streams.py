"""Market streams without sockets, through fake sinks: which names are served, the
markPrice payloads and their cadence (driven by the injected sleep or by hand), one encode
per tick shared by every subscriber, bookTicker on every mark change, !bookTicker every
5 s, and the history every mark change feeds."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.engine.klines import scaled_price
from posrisk.service.market_streams import MarketStreams, StreamKey, stream_key
from posrisk.service.registry import StateChanged
from posrisk.store import SetMarks

from .conftest import Services

pytestmark = pytest.mark.asyncio

NOW = 1_700_000_000_000
NEXT_FUNDING = 1_700_006_400_000


class FakeSink:
    """A stream connection that keeps what it was sent."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    def send(self, message: bytes) -> None:
        self.messages.append(message)

    def close(self) -> None:
        raise AssertionError("market streams never close their sinks")

    def payloads(self) -> list[Any]:
        return [orjson.loads(m) for m in self.messages]


class GatedSleep:
    """An injected sleep that returns once per ``release``: one tick each."""

    def __init__(self) -> None:
        self.gate: asyncio.Queue[None] = asyncio.Queue()
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self.gate.get()

    async def release(self, ticks: int = 1) -> None:
        for _ in range(ticks):
            self.gate.put_nowait(None)
        for _ in range(5 * ticks + 5):
            await asyncio.sleep(0)


def _streams(services: Services, **options: Any) -> MarketStreams:
    return services.api.market_streams if not options else MarketStreams(services.api, **options)


async def test_the_names_served_and_the_rest_refused(services: Services) -> None:
    market = services.api.market
    assert stream_key("btcusdt@markPrice", market) == StreamKey("markPrice", "BTCUSDT")
    assert stream_key("BTCUSDT@markPrice@1s", market) == StreamKey("markPrice@1s", "BTCUSDT")
    assert stream_key("ethusdt@bookTicker", market) == StreamKey("bookTicker", "ETHUSDT")
    assert stream_key("!markPrice@arr", market) == StreamKey("arr", None)
    assert stream_key("!markPrice@arr@1s", market) == StreamKey("arr@1s", None)
    assert stream_key("!bookTicker", market) == StreamKey("!bookTicker", None)
    for name in ("nopeusdt@markPrice", "@markPrice", "btcusdt@kline_1m", "btcusdt@markPrice@3s"):
        assert stream_key(name, market) is None
    streams = _streams(services)
    assert not streams.subscribe("btcusdt@aggTrade", FakeSink())


async def test_mark_price_payloads_as_premium_index_reads_them(services: Services) -> None:
    streams, one, every = _streams(services), FakeSink(), FakeSink()
    assert streams.subscribe("btcusdt@markPrice@1s", one)
    assert streams.subscribe("!markPrice@arr@1s", every)
    streams.tick()
    update = {
        "e": "markPriceUpdate",
        "E": NOW,
        "s": "BTCUSDT",
        "p": "21123.05052574",
        "i": "21123.05052574",
        "P": "21123.05052574",
        "r": "0.00010000",
        "T": NEXT_FUNDING,
    }
    assert one.payloads() == [update]
    assert one.messages[0].startswith(b'{"e":"markPriceUpdate",')
    [array] = every.payloads()
    assert [row["s"] for row in array] == ["BTCUSDT", "ETHUSDT"]  # only the marked symbols
    assert array[0] == update and array[1]["p"] == "950.00000000"


async def test_cadence_1s_3s_and_5s(services: Services) -> None:
    streams = _streams(services)
    sinks = {name: FakeSink() for name in ("ethusdt@markPrice", "ethusdt@markPrice@1s")}
    sinks["!markPrice@arr"] = FakeSink()
    sinks["!bookTicker"] = FakeSink()
    for name, sink in sinks.items():
        assert streams.subscribe(name, sink)
    await services.admin.set_marks({"ETHUSDT": Decimal("951")})
    for _ in range(6):
        streams.tick()
    counts = {name: len(sink.messages) for name, sink in sinks.items()}
    assert counts == {
        "ethusdt@markPrice": 2,
        "ethusdt@markPrice@1s": 6,
        "!markPrice@arr": 2,
        "!bookTicker": 1,  # one symbol moved before the 5th tick
    }
    [book] = sinks["!bookTicker"].payloads()
    assert (book["e"], book["s"], book["b"], book["a"]) == (
        "bookTicker",
        "ETHUSDT",
        "951.00",
        "951.00",
    )


async def test_one_encode_per_tick_shared_by_every_subscriber(services: Services) -> None:
    streams = _streams(services)
    sinks = [FakeSink() for _ in range(1000)]
    for sink in sinks:
        streams.subscribe("!markPrice@arr@1s", sink)
    before = streams.encoded
    streams.tick()
    assert streams.encoded - before == 1
    first = sinks[0].messages[0]
    assert all(sink.messages[0] is first for sink in sinks)  # the same bytes object
    assert streams.sent >= 1000
    every_3s = FakeSink()
    streams.subscribe("!markPrice@arr", every_3s)
    streams.tick()
    before = streams.encoded
    streams.tick()  # the 3rd: the 1 s and the 3 s arrays share one encode
    assert streams.encoded - before == 1
    assert every_3s.messages[0] is sinks[0].messages[-1]


async def test_book_ticker_on_every_mark_change_with_the_fill_prices(
    services: Services,
) -> None:
    streams, sink = _streams(services), FakeSink()
    streams.subscribe("btcusdt@bookTicker", sink)
    version = services.registry.marks_version
    services.clock.advance(1000)
    await services.admin.set_marks({"BTCUSDT": Decimal("30000.123")})
    await services.admin.set_marks({"ETHUSDT": Decimal("951")})  # another symbol: silent
    [book] = sink.payloads()
    assert book == {
        "e": "bookTicker",
        "u": version + 1,
        "E": NOW + 1000,
        "T": NOW + 1000,
        "s": "BTCUSDT",
        "b": "30000.12",  # floor to the tick
        "B": book["B"],
        "a": "30000.13",  # ceiling
        "A": book["A"],
    }
    assert Decimal(book["B"]) > 0 and book["B"] == book["A"]


async def test_book_ticker_follows_subscriptions_as_they_come_and_go(services: Services) -> None:
    streams, first, second = _streams(services), FakeSink(), FakeSink()
    streams.subscribe("ethusdt@bookTicker", first)
    streams.subscribe("ETHUSDT@bookTicker", second)  # the same stream, another sink
    await services.admin.set_marks({"ETHUSDT": Decimal("951")})
    streams.unsubscribe("ethusdt@bookTicker", first)
    await services.admin.set_marks({"ETHUSDT": Decimal("952")})  # the other still has it
    streams.unsubscribe("ETHUSDT@bookTicker", second)
    await services.admin.set_marks({"ETHUSDT": Decimal("953")})  # nobody: nothing built
    streams.subscribe("ethusdt@bookTicker", first)
    await services.admin.set_marks({"ETHUSDT": Decimal("954")})
    assert [p["b"] for p in first.payloads()] == ["951.00", "954.00"]
    assert [p["b"] for p in second.payloads()] == ["951.00", "952.00"]


async def test_periodic_pushes_run_on_the_injected_sleep_while_subscribed(
    services: Services,
) -> None:
    sleep = GatedSleep()
    streams, sink = _streams(services, sleep=sleep), FakeSink()
    streams.subscribe("btcusdt@markPrice@1s", sink)
    await sleep.release()
    assert sleep.asked[0] == 1.0
    await sleep.release(2)
    assert len(sink.messages) == 3
    streams.unsubscribe("btcusdt@markPrice@1s", sink)  # the last one: the pushes stop
    await sleep.release(2)
    assert len(sink.messages) == 3 and "0 subscribers" in repr(streams)
    await streams.aclose()


async def test_a_symbol_without_a_mark_is_silent(services: Services) -> None:
    streams, sink = _streams(services), FakeSink()
    assert "BNBUSDT" not in services.registry.marks
    assert streams.subscribe("bnbusdt@markPrice@1s", sink)
    streams.tick()
    assert sink.messages == []


async def test_every_mark_change_feeds_the_history(services: Services) -> None:
    streams = _streams(services)
    btc = streams.history.buckets("BTCUSDT")
    assert list(btc.closes) == [scaled_price(Decimal("21123.05052574"))]  # loaded at start
    services.clock.advance(60_000)
    await services.admin.set_marks({"BTCUSDT": Decimal("21000")})
    # Marks from another gateway (the bus) take the same door.
    services.registry.apply_committed([SetMarks({"BTCUSDT": Decimal("22000")}, 0)], local=False)
    btc = streams.history.buckets("BTCUSDT")
    assert list(btc.highs) == [2_112_305_052_574, 2_200_000_000_000]
    assert list(btc.lows) == [2_112_305_052_574, 2_100_000_000_000]
    assert list(btc.counts) == [1, 2]
    streams.on_state_changed(StateChanged(local=True))  # no marks: nothing recorded
    assert len(streams.history.buckets("BTCUSDT").minutes) == 2
