"""User-stream fan-out latency and mark-tick throughput.

    python -m benchmarks.streams [--streams 100] [--fills 200] [--symbols 300] [--seconds 5]

1. Fan-out: ``posrisk serve`` (its own process) with 100 connections on ``/ws/<listenKey>``;
   fills are posted one at a time through the admin API, and for each the time from
   sending it to its ``ACCOUNT_UPDATE`` arriving on each stream is recorded (this includes
   the HTTP request and the durable SQLite commit). Prints p50/p99 over all arrivals and the
   spread between the first and the last stream of one fill.
2. Marks: a server in this process is fed batches of ``--symbols`` marks as fast as it
   takes them (a source alternating two pre-built batches) while a load generator in its
   own process sends signed ``account.position`` requests over 16 connections; prints the
   ticks per second absorbed during the load and the request throughput meanwhile,
   against the same load with no ticks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.server import API_KEY, free_port, scenario, wait_port

TOKEN = "bench-admin-token"


async def fan_out(streams: int, fills: int) -> dict[str, float]:
    import aiohttp
    from picows import WSListener, WSMsgType, ws_connect

    workdir = Path(tempfile.mkdtemp(prefix="posrisk-stream-bench-"))
    (workdir / "scenario.json").write_text(json.dumps(scenario()))
    port, admin_port = free_port(), free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posrisk.cli",
            "serve",
            "--db",
            str(workdir / "b.db"),
            "--port",
            str(port),
            "--scenario",
            str(workdir / "scenario.json"),
            "--no-ip-limits",
            "--admin-port",
            str(admin_port),
            "--admin-token",
            TOKEN,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        wait_port(admin_port)
        base = f"ws://127.0.0.1:{port}"
        sent_at: dict[int, float] = {}
        arrivals: dict[int, list[float]] = {}

        class Stream(WSListener):  # type: ignore[misc]
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type is not WSMsgType.TEXT:
                    return
                now = time.perf_counter()
                event = json.loads(frame.get_payload_as_bytes())
                amount = event["a"]["P"][0]["pa"]
                number = round(float(amount) * 1000)  # each fill adds 0.001 BTC
                arrivals.setdefault(number, []).append(now - sent_at[number])

        class Api(WSListener):  # type: ignore[misc]
            reply: asyncio.Future[bytes]

            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type is WSMsgType.TEXT:
                    self.reply.set_result(frame.get_payload_as_bytes())

        transport, api = await ws_connect(Api, f"{base}/ws-fapi/v1")
        api.reply = asyncio.get_running_loop().create_future()
        transport.send(
            WSMsgType.TEXT,
            json.dumps(
                {"id": 1, "method": "userDataStream.start", "params": {"apiKey": API_KEY}}
            ).encode(),
        )
        key = json.loads(await api.reply)["result"]["listenKey"]
        transport.disconnect()
        connections = [await ws_connect(Stream, f"{base}/ws/{key}") for _ in range(streams)]
        await asyncio.sleep(0.5)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"http://127.0.0.1:{admin_port}/admin/v1/accounts/bench/fills"
        async with aiohttp.ClientSession() as session:
            # The account holds SELL 1 BTCUSDT: buying 0.001 at a time walks it up.
            held = -1000
            for _ in range(fills):
                held += 1
                sent_at[held] = time.perf_counter()
                body = {"symbol": "BTCUSDT", "side": "BUY", "qty": "0.001", "price": "10"}
                async with session.post(url, json=body, headers=headers) as response:
                    assert response.status == 200, await response.text()
                deadline = time.perf_counter() + 5
                while len(arrivals.get(held, [])) < streams and time.perf_counter() < deadline:
                    await asyncio.sleep(0.0005)
        for connection, _ in connections:
            connection.disconnect()
    finally:
        server.terminate()
        server.wait(10)
    every = sorted(t for times in arrivals.values() for t in times)
    spreads = [max(times) - min(times) for times in arrivals.values() if len(times) == streams]
    return {
        "fills": len(arrivals),
        "arrivals": len(every),
        "p50_ms": every[len(every) // 2] * 1e3,
        "p99_ms": every[int(len(every) * 0.99)] * 1e3,
        "spread_p50_ms": statistics.median(spreads) * 1e3,
    }


class Alternating:
    """A source as cheap as a source can be: two pre-built batches, back to back."""

    def __init__(self, batches: list[dict[str, Any]]) -> None:
        self.batches_ = batches

    async def batches(self) -> Any:
        while True:
            for batch in self.batches_:
                yield batch
                await asyncio.sleep(0)


async def mark_ticks(symbols: int, seconds: float) -> dict[str, float]:
    from decimal import Decimal

    from posrisk.app import PosriskServer, ServerSettings
    from posrisk.engine import Market

    workdir = Path(tempfile.mkdtemp(prefix="posrisk-marks-bench-"))
    (workdir / "scenario.json").write_text(json.dumps(scenario()))
    names = [s.name for s in Market.default()][:symbols]
    batches = [{name: Decimal(price) for name in names} for price in ("100.5", "101.25")]

    async def run(ticking: bool) -> tuple[float, float]:
        settings = ServerSettings(
            db=str(workdir / f"{ticking}.db"),
            port=0,
            admin_port=None,
            enforce_limits=False,
            scenario=workdir / "scenario.json",
            demo=False,
        )
        server = PosriskServer(settings)
        await server.start()
        assert server.feed is not None
        if ticking:
            server.feed.start(Alternating(batches))
        code = (
            f"from benchmarks.server import load; load({server.ws_url!r}, "
            f"'account.position', {{'symbol': 'BTCUSDT'}}, 16, {seconds}, "
            f"{str(workdir / 'load.json')!r})"
        )
        generator = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, cwd=str(Path(__file__).parents[1])
        )
        await asyncio.sleep(1.5)  # the generator connects and warms up (1 s)
        before, started = server.feed.ticks, time.perf_counter()
        await asyncio.sleep(seconds - 0.5)
        rate = (server.feed.ticks - before) / (time.perf_counter() - started)
        await generator.wait()
        await server.stop()
        load = json.loads((workdir / "load.json").read_text())
        return rate, load["requests"] / load["elapsed"]

    rate, served = await run(True)
    _, idle = await run(False)
    return {
        "ticks_per_s": rate,
        "symbols": symbols,
        "requests_per_s": served,
        "requests_per_s_no_ticks": idle,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--fills", type=int, default=200)
    parser.add_argument("--symbols", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    fan = asyncio.run(fan_out(args.streams, args.fills))
    print(
        f"fill → ACCOUNT_UPDATE at {args.streams} streams ({fan['fills']} fills, "
        f"{fan['arrivals']} arrivals): p50 {fan['p50_ms']:.2f} ms, p99 {fan['p99_ms']:.2f} ms "
        f"(admin API + commit + fan-out); first-to-last stream spread p50 "
        f"{fan['spread_p50_ms']:.2f} ms"
    )
    marks = asyncio.run(mark_ticks(args.symbols, args.seconds))
    print(
        f"mark ticks of {marks['symbols']} symbols absorbed: {marks['ticks_per_s']:.0f}/s "
        f"({marks['ticks_per_s'] * marks['symbols']:.0f} marks/s) while serving "
        f"{marks['requests_per_s']:.0f} req/s (16 connections; "
        f"{marks['requests_per_s_no_ticks']:.0f} req/s without ticks)"
    )


if __name__ == "__main__":
    main()
