"""A flood from one IP against an honest client on another, with the real limits on.

    python -m benchmarks.abuse [--seconds 10]

``posrisk serve`` runs with Binance's limits (2400 weight/min per IP, bans after a 429).
An honest client on 127.0.0.1 sends a signed ``account.position`` every 150 ms (inside its
budget); a flooder on 127.0.0.2 (another loopback address, so another IP to the server)
opens connections and sends requests as fast as it can, reconnecting when refused. Prints
the honest client's latency without and with the flood, and what the flooder got (429s,
418s, refused handshakes): the flood must cost the honest IP nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.server import API_KEY, SECRET, free_port, scenario, wait_port


def signed_frame(n: int) -> bytes:
    params: dict[str, Any] = {
        "apiKey": API_KEY,
        "symbol": "BTCUSDT",
        "timestamp": time.time_ns() // 1_000_000,
    }
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
    params["signature"] = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    return json.dumps({"id": n, "method": "account.position", "params": params}).encode()


async def honest(url: str, seconds: float) -> list[float]:
    import websockets

    latencies = []
    async with websockets.connect(url) as ws:
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            n += 1
            started = time.perf_counter()
            await ws.send(signed_frame(n).decode())  # a text frame
            reply = json.loads(await ws.recv())
            assert reply["status"] == 200, reply
            latencies.append((time.perf_counter() - started) * 1e3)
            await asyncio.sleep(0.15)
    return latencies


def flood(url: str, seconds: float, out: str) -> None:
    """Its own process: as many requests and reconnects as it can, from 127.0.0.2."""
    import uvloop
    from picows import WSError, WSListener, WSMsgType, ws_connect

    counts: dict[str, int] = {}

    class Flooder(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                status = json.loads(frame.get_payload_as_bytes()).get("status")
                counts[str(status)] = counts.get(str(status), 0) + 1

    async def main() -> None:
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            try:
                transport, _ = await ws_connect(Flooder, url, local_addr=("127.0.0.2", 0))
            except (WSError, OSError):
                counts["refused handshakes"] = counts.get("refused handshakes", 0) + 1
                await asyncio.sleep(0.001)
                continue
            while not transport.is_disconnected and time.perf_counter() < end:
                for _ in range(50):
                    n += 1
                    transport.send(WSMsgType.TEXT, signed_frame(n))
                await asyncio.sleep(0)
            transport.disconnect()
        Path(out).write_text(json.dumps(counts))

    uvloop.run(main())


async def run(seconds: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="posrisk-abuse-bench-"))
    (workdir / "scenario.json").write_text(json.dumps(scenario()))
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posrisk.cli",
            "serve",
            "--db",
            str(workdir / "a.db"),
            "--port",
            str(port),
            "--scenario",
            str(workdir / "scenario.json"),
            "--no-admin",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"ws://127.0.0.1:{port}/ws-fapi/v1"
    try:
        wait_port(port)
        quiet = await honest(url, seconds)
        out = workdir / "flood.json"
        code = f"from benchmarks.abuse import flood; flood({url!r}, {seconds + 1}, {str(out)!r})"
        flooder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, cwd=str(Path(__file__).parents[1])
        )
        await asyncio.sleep(0.5)
        loud = await honest(url, seconds)
        await flooder.wait()
        counts = json.loads(out.read_text())
    finally:
        server.terminate()
        server.wait(10)

    def figures(values: list[float]) -> str:
        values = sorted(values)
        return (
            f"p50 {statistics.median(values):.2f} ms, p99 "
            f"{values[int(len(values) * 0.99)]:.2f} ms over {len(values)} requests"
        )

    print(f"honest client (127.0.0.1), no flood:   {figures(quiet)}")
    print(f"honest client (127.0.0.1), with flood: {figures(loud)}")
    print(
        f"flooder (127.0.0.2) in {seconds + 1:g} s: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(run(parser.parse_args().seconds))


if __name__ == "__main__":
    main()
