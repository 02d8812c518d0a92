"""Round trips per second for one connection: posrisk's client against the others.

    python -m benchmarks.client [--seconds 2] [--rounds 3] [--symbol BTCUSDT]

Starts ``posrisk serve --no-ip-limits`` with a 10-position account, then, in interleaved
rounds, times sequential ``account.position`` calls (one at a time, one connection) with:
a raw picows socket sending pre-built signed frames and not parsing the answer (the
floor), ``PositionClient.positions()`` (HMAC, and Ed25519 after ``session.logon``), ccxt
``fetch_positions_ws``, Binance's SDK ``position_information`` and python-binance
``ws_futures_account_position``. Prints round trips/s, p50 and p99 (medians over rounds)
and each client's ratio to the raw socket.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.server import API_KEY, SECRET, free_port, scenario, wait_port

ED_KEY = "benchEdKey01"

Call = Callable[[], Awaitable[Any]]


async def timed(call: Call, seconds: float) -> dict[str, float]:
    for _ in range(20):  # warm up
        await call()
    latencies = []
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        await call()
        latencies.append(time.perf_counter() - now)
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": latencies[len(latencies) // 2] * 1e3,
        "p99": latencies[int(len(latencies) * 0.99)] * 1e3,
    }


async def raw(url: str, symbol: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    from picows import WSListener, WSMsgType, ws_connect

    class Raw(WSListener):  # type: ignore[misc]
        future: asyncio.Future[bytes] | None = None

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT and self.future is not None:
                self.future.set_result(frame.get_payload_as_bytes())

    transport, listener = await ws_connect(Raw, url)
    loop = asyncio.get_running_loop()
    secret = SECRET.encode()
    counter = [0]

    async def call() -> None:
        counter[0] += 1
        params = f"apiKey={API_KEY}&symbol={symbol}&timestamp={time.time_ns() // 1_000_000}"
        signature = hmac.new(secret, params.encode(), hashlib.sha256).hexdigest()
        fields = dict(pair.split("=") for pair in params.split("&"))
        frame = json.dumps(
            {
                "id": counter[0],
                "method": "account.position",
                "params": {**fields, "timestamp": int(fields["timestamp"]), "signature": signature},
            }
        )
        listener.future = loop.create_future()
        transport.send(WSMsgType.TEXT, frame.encode())
        await listener.future

    async def close() -> None:
        transport.disconnect()

    return call, close


async def posrisk_client(url: str, symbol: str, key: str, secret: Any) -> tuple[Call, Any]:
    from posrisk.client import PositionClient

    client = PositionClient(url, key, secret, wait_for_rate_limit=False)
    await client.connect()

    async def call() -> None:
        await client.positions(symbol)

    return call, client.close


async def ccxt_client(url: str, http: str, symbol: str) -> tuple[Call, Any]:
    import ccxt.pro

    # ccxt's own throttle (enableRateLimit) would space calls ~250 ms apart: off, so
    # that what is compared is the client, not a sleep.
    exchange = ccxt.pro.binanceusdm(
        {
            "apiKey": API_KEY,
            "secret": SECRET,
            "enableRateLimit": False,
            "options": {"fetchCurrencies": False},
        }
    )
    for name, value in list(exchange.urls["api"].items()):
        if isinstance(value, str):
            exchange.urls["api"][name] = re.sub(r"^https?://[^/]+", http, value)
    exchange.urls["api"]["ws"]["ws-api"]["linear"] = url
    await exchange.load_markets()
    market = exchange.market(symbol)["symbol"]

    async def call() -> None:
        await exchange.fetch_positions_ws([market])

    return call, exchange.close


async def sdk_client(url: str, symbol: str) -> tuple[Call, Any]:
    from binance_common.configuration import ConfigurationWebSocketAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    config = ConfigurationWebSocketAPI(api_key=API_KEY, api_secret=SECRET, stream_url=url)
    connection = await DerivativesTradingUsdsFutures(
        config_ws_api=config
    ).websocket_api.create_connection()

    async def call() -> None:
        (await connection.position_information(symbol=symbol)).data()

    return call, connection.close_connection


async def python_binance_client(url: str, http: str, symbol: str) -> tuple[Call, Any]:
    from binance.async_client import AsyncClient
    from binance.ws.websocket_api import WebsocketAPI

    client = AsyncClient(API_KEY, SECRET)
    client.FUTURES_URL = f"{http}/fapi"
    client.ws_future = WebsocketAPI(url=url)
    client.ws_future.TIMEOUT = 1

    async def call() -> None:
        await client.ws_futures_account_position(symbol=symbol)

    async def close() -> None:
        await client.ws_future.close()
        await client.close_connection()

    return call, close


async def measure(
    name: str, url: str, http: str, symbol: str, ed_pem: str, seconds: float
) -> dict[str, float]:
    if name == "raw socket":
        call, close = await raw(url, symbol)
    elif name == "posrisk client (HMAC)":
        call, close = await posrisk_client(url, symbol, API_KEY, SECRET)
    elif name == "posrisk client (Ed25519, logged on)":
        call, close = await posrisk_client(url, symbol, ED_KEY, ed_pem)
    elif name == "ccxt":
        call, close = await ccxt_client(url, http, symbol)
    elif name == "binance SDK":
        call, close = await sdk_client(url, symbol)
    else:
        call, close = await python_binance_client(url, http, symbol)
    try:
        return await timed(call, seconds)
    finally:
        await close()


CLIENTS = [
    "raw socket",
    "posrisk client (HMAC)",
    "posrisk client (Ed25519, logged on)",
    "ccxt",
    "binance SDK",
    "python-binance",
]


def main() -> None:
    import logging

    logging.disable(logging.WARNING)  # the SDK logs every connection
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from posrisk.protocol import generate_ed25519

    ed_private, ed_public = generate_ed25519()
    document = scenario()
    document["accounts"][0]["keys"].append(
        {"type": "ed25519", "apiKey": ED_KEY, "publicKey": ed_public}
    )
    workdir = Path(tempfile.mkdtemp(prefix="posrisk-client-bench-"))
    (workdir / "scenario.json").write_text(json.dumps(document))
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posrisk.cli",
            "serve",
            "--db",
            str(workdir / "bench.db"),
            "--port",
            str(port),
            "--scenario",
            str(workdir / "scenario.json"),
            "--no-ip-limits",
            "--no-admin",
        ],
        stdout=subprocess.DEVNULL,
    )
    url, http = f"ws://127.0.0.1:{port}/ws-fapi/v1", f"http://127.0.0.1:{port}"
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in CLIENTS}
    try:
        wait_port(port)
        for _ in range(args.rounds):
            for name in CLIENTS:
                runs[name].append(
                    asyncio.run(measure(name, url, http, args.symbol, ed_private, args.seconds))
                )
    finally:
        server.terminate()
        server.wait(10)
    results = {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()
    }
    floor = results["raw socket"]["rps"]
    print(
        f"account.position symbol={args.symbol}, one connection, sequential; "
        f"median of {args.rounds} interleaved rounds of {args.seconds:g} s"
    )
    for name, r in results.items():
        print(
            f"  {name:38s} {r['rps']:8.0f} round trips/s  p50 {r['p50']:6.3f} ms  "
            f"p99 {r['p99']:6.3f} ms  {r['rps'] / floor:5.2f} of raw"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
