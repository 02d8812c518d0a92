"""Mark sources: replay files, the seeded walk, Binance's stream format (locally)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from picows import WSListener, WSMsgType, ws_create_server

from posrisk.engine import Market
from posrisk.marks import (
    BinanceMarkStream,
    MarkFileError,
    RandomWalk,
    Replay,
    parse_mark_prices,
    read_mark_file,
)

D = Decimal


class Sleeps:
    """An injected sleep that records what it was asked and returns at once."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


def test_read_csv_and_jsonl(tmp_path: Path) -> None:
    csv_file = tmp_path / "marks.csv"
    csv_file.write_text("time,symbol,mark\n2000,ETHUSDT,2000.5\n1000,BTCUSDT,60000.1\n")
    assert read_mark_file(csv_file) == [
        (1000, "BTCUSDT", D("60000.1")),
        (2000, "ETHUSDT", D("2000.5")),
    ]
    jsonl = tmp_path / "marks.jsonl"
    jsonl.write_text('{"time": 1, "symbol": "BTCUSDT", "mark": "1.5"}\n\n')
    assert read_mark_file(jsonl) == [(1, "BTCUSDT", D("1.5"))]


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("a.csv", "1000,BTCUSDT\n", "a.csv:1"),
        ("b.csv", "x,BTCUSDT,1\n", "b.csv:1"),
        ("c.csv", "1,BTCUSDT,-5\n", "not a positive number"),
        ("d.jsonl", '{"time": 1, "symbol": "BTCUSDT", "mark": 1.5}\n', "as a string"),
        ("e.jsonl", '{"time": 1}\n', "e.jsonl:1"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(MarkFileError, match=problem):
        read_mark_file(path)
    with pytest.raises(MarkFileError, match="cannot read"):
        read_mark_file(tmp_path / "missing.csv")


@pytest.mark.asyncio
async def test_replay_groups_by_time_at_the_asked_speed(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text("1000,BTCUSDT,1\n1000,ETHUSDT,2\n3000,BTCUSDT,3\n3500,BTCUSDT,4\n")
    sleeps = Sleeps()
    batches = [b async for b in Replay(path, speed=10, sleep=sleeps).batches()]
    assert batches == [{"BTCUSDT": D(1), "ETHUSDT": D(2)}, {"BTCUSDT": D(3)}, {"BTCUSDT": D(4)}]
    assert sleeps.asked == [0.2, 0.05]  # 2 s and 0.5 s at 10×
    sleeps = Sleeps()
    assert len([b async for b in Replay(path, speed=0, sleep=sleeps).batches()]) == 3
    assert sleeps.asked == []


@pytest.mark.asyncio
async def test_the_walk_is_seeded_on_the_tick_and_positive() -> None:
    market = Market.default()
    start = {"BTCUSDT": D("60000.00"), "SOLUSDT": D("140.5")}

    async def walk(seed: int) -> list[dict[str, Decimal]]:
        source = RandomWalk(start, market, seed=seed, interval=1.0, volatility=0.05, sleep=Sleeps())
        out = []
        async for batch in source.batches():
            out.append(batch)
            if len(out) == 50:
                return out
        return out

    first, again, other = await walk(7), await walk(7), await walk(8)
    assert first == again and first != other
    for batch in first:
        assert batch["BTCUSDT"] == batch["BTCUSDT"].quantize(D("0.01"))  # BTC's tick
        assert all(price > 0 for price in batch.values())
    assert first[0] != start


def test_parse_the_binance_stream_format() -> None:
    update = {
        "e": "markPriceUpdate",
        "E": 1562305380000,
        "s": "BTCUSDT",
        "p": "11794.15000000",
        "i": "11784.62659091",
        "P": "11784.25641265",
        "r": "0.00038167",
        "T": 1562306400000,
    }
    assert parse_mark_prices(orjson.dumps([update, {**update, "s": "ETHUSDT", "p": "1.5"}])) == {
        "BTCUSDT": D("11794.15000000"),
        "ETHUSDT": D("1.5"),
    }
    assert parse_mark_prices(orjson.dumps(update)) == {"BTCUSDT": D("11794.15000000")}
    assert parse_mark_prices(orjson.dumps({"stream": "x", "data": [update]})) == {
        "BTCUSDT": D("11794.15000000")
    }
    assert parse_mark_prices(b"junk") == {}
    assert parse_mark_prices(orjson.dumps([{**update, "p": "NaN"}, {"e": "other"}])) == {}


class FakeBinance(WSListener):
    """Speaks !markPrice@arr: sends two updates, then drops the connection."""

    def __init__(self, marks: list[str]) -> None:
        super().__init__()
        self.marks = marks

    def on_ws_connected(self, transport: Any) -> None:
        for mark in self.marks:
            update = [{"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": mark, "T": 2}]
            transport.send(WSMsgType.TEXT, json.dumps(update).encode())
        transport.disconnect()


@pytest.mark.asyncio
@pytest.mark.timeout(20)
async def test_the_binance_stream_reconnects() -> None:
    rounds = iter([["1.0", "2.0"], ["3.0"], ["4.0"]])
    server = await ws_create_server(lambda _: FakeBinance(next(rounds)), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sleeps = Sleeps()
    source = BinanceMarkStream(
        f"ws://127.0.0.1:{port}/ws/!markPrice@arr@1s", backoff=(0.01, 0.02), sleep=sleeps
    )
    seen: list[Decimal] = []
    try:
        async for batch in source.batches():
            seen.append(batch["BTCUSDT"])
            if len(seen) == 4:
                break
    finally:
        server.close()
    assert seen == [D("1.0"), D("2.0"), D("3.0"), D("4.0")]
    assert source.connections == 3
