"""What sources tell besides marks: a replay file's index and fundingRate columns,
Binance's ``i`` and ``r``, and the ``--funding`` series file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from picows import WSListener, WSMsgType, ws_create_server

from posrisk.marks import (
    BinanceMarkStream,
    CarriesExtras,
    FundingFileError,
    MarkExtras,
    MarkFileError,
    MarkRow,
    Replay,
    parse_mark_updates,
    read_funding_file,
    read_mark_file,
    read_mark_rows,
)

D = Decimal


def test_mark_rows_with_and_without_extras(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text(
        "time,symbol,mark,index,fundingRate\n"
        "1000,BTCUSDT,60000.1,60010.5,0.00012\n"
        "1000,ETHUSDT,2000.5\n"
        "2000,BTCUSDT,60001,,-0.0001\n"
    )
    assert read_mark_rows(path) == [
        MarkRow(1000, "BTCUSDT", D("60000.1"), MarkExtras(D("60010.5"), D("0.00012"))),
        MarkRow(1000, "ETHUSDT", D("2000.5")),
        MarkRow(2000, "BTCUSDT", D("60001"), MarkExtras(None, D("-0.0001"))),
    ]
    assert read_mark_file(path)[0] == (1000, "BTCUSDT", D("60000.1"))  # marks only, as before
    jsonl = tmp_path / "marks.jsonl"
    jsonl.write_text('{"time": 1, "symbol": "BTCUSDT", "mark": "1.5", "index": "1.4"}\n')
    assert read_mark_rows(jsonl) == [MarkRow(1, "BTCUSDT", D("1.5"), MarkExtras(D("1.4")))]


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("a.csv", "1,BTCUSDT,1,2,3,4\n", r"a.csv:1: expected 3 to 5 columns"),
        ("b.csv", "1,BTCUSDT,1,-2\n", r"b.csv:1: index '-2' is not a positive number"),
        ("c.csv", "1,BTCUSDT,1,,x\n", r"c.csv:1: fundingRate 'x' is not a number"),
        ("d.jsonl", '{"time": 1, "symbol": "BTCUSDT", "mark": "1", "fundingRate": 0.1}\n',
         r"d.jsonl:1: write the fundingRate as a string"),
    ],
)  # fmt: skip
def test_bad_extras_name_the_line(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(MarkFileError, match=problem):
        read_mark_rows(path)


@pytest.mark.asyncio
async def test_replay_tells_each_batchs_extras_before_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text("1000,BTCUSDT,1,0.9,0.0001\n1000,ETHUSDT,2\n2000,BTCUSDT,3\n")
    replay = Replay(path, speed=0, sleep=lambda s: asyncio.sleep(0))
    assert isinstance(replay, CarriesExtras)
    heard: list[object] = []

    def listen(extras: Mapping[str, MarkExtras]) -> None:
        heard.append(dict(extras))

    replay.on_extras = listen
    async for batch in replay.batches():
        heard.append(batch)
    assert heard == [
        {"BTCUSDT": MarkExtras(D("0.9"), D("0.0001"))},
        {"BTCUSDT": D("1"), "ETHUSDT": D("2")},
        {"BTCUSDT": D("3")},  # no extras: nothing told
    ]


def test_binance_mark_price_updates_carry_index_and_rate() -> None:
    update = {
        "e": "markPriceUpdate", "E": 1562305380000, "s": "BTCUSDT", "p": "11794.15000000",
        "i": "11784.62659091", "P": "11784.25641265", "r": "0.00038167", "T": 1562306400000,
    }  # fmt: skip
    batch, extras = parse_mark_updates(
        orjson.dumps([update, {**update, "s": "ETHUSDT", "p": "1.5", "i": "junk", "r": ""}])
    )
    assert batch == {"BTCUSDT": D("11794.15000000"), "ETHUSDT": D("1.5")}
    assert extras == {"BTCUSDT": MarkExtras(D("11784.62659091"), D("0.00038167"))}
    assert parse_mark_updates(b"junk") == ({}, {})


def test_read_a_funding_file_csv_and_jsonl(tmp_path: Path) -> None:
    csv_file = tmp_path / "rates.csv"
    csv_file.write_text("time,symbol,rate\n2000,BTCUSDT,-0.0002\n1000,BTCUSDT,0.0001\n")
    assert read_funding_file(csv_file) == [
        (1000, "BTCUSDT", D("0.0001")),
        (2000, "BTCUSDT", D("-0.0002")),
    ]
    jsonl = tmp_path / "rates.jsonl"
    jsonl.write_text(
        '{"time": 1, "symbol": "ETHUSDT", "rate": "0.0003"}\n\n'
        '{"symbol": "BTCUSDT", "fundingTime": 2, "fundingRate": "0.00010000", "markPrice": "1"}\n'
    )
    assert read_funding_file(jsonl) == [(1, "ETHUSDT", D("0.0003")), (2, "BTCUSDT", D("0.0001"))]


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("a.csv", "1000,BTCUSDT\n", r"a.csv:1: expected 3 columns"),
        ("b.csv", "x,BTCUSDT,0.1\n", r"b.csv:1: invalid literal"),
        ("c.csv", "time,symbol,rate\n1,BTCUSDT,2\n", r"c.csv:2: rate '2' is not within ±1"),
        ("d.csv", "1,BTCUSDT,\n", r"d.csv:1: the rate is missing"),
        ("e.jsonl", '{"time": 1, "symbol": "BTCUSDT", "rate": 0.1}\n', "as a string"),
        ("f.jsonl", '{"time": 1.5, "symbol": "BTCUSDT", "rate": "0.1"}\n', "whole milliseconds"),
        ("g.jsonl", '{"time": 1}\n', r"g.jsonl:1: expected time, symbol, rate"),
        ("h.jsonl", "{not json\n", r"h.jsonl:1: Expecting"),
    ],
)
def test_bad_funding_files_name_the_line(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(FundingFileError, match=problem):
        read_funding_file(path)
    with pytest.raises(FundingFileError, match="cannot read"):
        read_funding_file(tmp_path / "missing.csv")


class IndexAndRate(WSListener):
    """Speaks !markPrice@arr with ``i`` and ``r``: one update, then stays."""

    def on_ws_connected(self, transport: Any) -> None:
        update = [
            {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "60000.5", "i": "59990.1",
             "P": "60001", "r": "0.00012", "T": 2},
        ]  # fmt: skip
        transport.send(WSMsgType.TEXT, json.dumps(update).encode())


@pytest.mark.asyncio
@pytest.mark.timeout(20)
async def test_the_binance_stream_tells_index_and_rate_before_the_batch() -> None:
    server = await ws_create_server(lambda _: IndexAndRate(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    source = BinanceMarkStream(f"ws://127.0.0.1:{port}/ws/!markPrice@arr@1s")
    assert isinstance(source, CarriesExtras)
    heard: list[object] = []
    source.on_extras = lambda extras: heard.append(dict(extras))
    try:
        async for batch in source.batches():
            heard.append(batch)
            break
    finally:
        server.close()
    assert heard == [
        {"BTCUSDT": MarkExtras(D("59990.1"), D("0.00012"))},
        {"BTCUSDT": D("60000.5")},
    ]
