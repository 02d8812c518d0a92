"""Signed REST GETs over keep-alive HTTP/1.1: posrisk vs a bare HTTP server.

    python -m benchmarks.rest [--connections 16] [--seconds 3] [--rounds 3]

In one run, on this machine: starts ``posrisk serve`` (SQLite, ``--no-ip-limits``) with the
benchmark account of ``benchmarks.server`` (10 positions), and for each route a bare HTTP
server on the same stack as posrisk's HTTP side (asyncio with uvloop, httptools) that
checks the request's HMAC signature over its query and answers canned bytes of the size of
posrisk's answer. A load generator in its own process keeps N keep-alive connections busy
(each sends a freshly signed GET as soon as the previous answer arrives). Routes:
``GET /fapi/v3/positionRisk`` and ``GET /fapi/v3/account`` (skipped with a note while the
server does not have it). Figures as ``benchmarks.server``'s: the median per-second rate,
p50/p90/p99/max latency in ms, posrisk's ratio to the bare server; with ``--rounds`` > 1,
medians over rounds, the two servers interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.server import (
    API_KEY,
    SECRET,
    drive,
    free_port,
    median_run,
    percentile_ms,
    scenario,
    serve_posrisk,
    wait_port,
)

ROUTES = ("/fapi/v3/positionRisk", "/fapi/v3/account")
ROOT = Path(__file__).parents[1]


def signed_target(path: str) -> str:
    import hashlib
    import hmac

    query = f"timestamp={time.time_ns() // 1_000_000}"
    signature = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{path}?{query}&signature={signature}"


def probe(port: int, path: str) -> tuple[int, bytes]:
    """posrisk's status and answer to one signed GET of ``path``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{signed_target(path)}", headers={"X-MBX-APIKEY": API_KEY}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def bare_server(port: int, canned_path: str) -> None:
    """asyncio (uvloop) + httptools: check the HMAC signature, answer the canned bytes."""
    import asyncio
    import hashlib
    import hmac

    import httptools  # type: ignore[import-untyped]
    import uvloop

    body = Path(canned_path).read_bytes()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-MBX-USED-WEIGHT-1M: 5\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    refused = b'{"code":-1022,"msg":"Signature for this request is not valid."}'
    no = f"HTTP/1.1 400 Bad Request\r\nContent-Length: {len(refused)}\r\n\r\n".encode() + refused
    secret = SECRET.encode()

    class Bare(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)
            self.url = b""

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_url(self, url: bytes) -> None:
            self.url = url

        def on_message_complete(self) -> None:
            query = self.url.partition(b"?")[2]
            payload, _, signature = query.rpartition(b"&signature=")
            good = hmac.compare_digest(
                hmac.new(secret, payload, hashlib.sha256).hexdigest().encode(), signature
            )
            self.transport.write(head + body if good else no)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Bare, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(main())


def load(port: int, path: str, connections: int, seconds: float, out_path: str) -> None:
    """N keep-alive connections, closed loop; writes latencies (µs) and per-second counts."""
    import asyncio

    import uvloop

    latencies: list[float] = []
    per_second: dict[int, int] = {}
    errors = [0]

    class Client(asyncio.Protocol):
        def __init__(self) -> None:
            self.buffer = b""
            self.sent = 0.0
            self.running = True

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def fire(self) -> None:
            self.sent = time.perf_counter()
            request = f"GET {signed_target(path)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            self.transport.write(f"{request}X-MBX-APIKEY: {API_KEY}\r\n\r\n".encode())

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            start = head.index(b"content-length:") + 15
            length = int(
                head[start : head.index(b"\r\n", start) if b"\r\n" in head[start:] else None]
            )
            if len(self.buffer) < end + 4 + length:
                return
            now = time.perf_counter()
            if not self.buffer.startswith(b"HTTP/1.1 200"):
                errors[0] += 1
            self.buffer = self.buffer[end + 4 + length :]
            if self.running:
                latencies.append((now - self.sent) * 1e6)
                per_second[int(now)] = per_second.get(int(now), 0) + 1
                self.fire()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        clients = [
            (await loop.create_connection(Client, "127.0.0.1", port))[1] for _ in range(connections)
        ]
        await drive(clients, seconds, latencies, per_second, errors, out_path)
        for client in clients:
            client.transport.close()

    uvloop.run(main())


def measure(port: int, path: str, connections: int, seconds: float) -> dict[str, Any]:
    """``load`` in its own process; its figures."""
    import statistics

    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out_path = handle.name
    arguments = f"{port}, {path!r}, {connections}, {seconds}, {out_path!r}"
    code = f"from benchmarks.rest import load; load({arguments})"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    data = json.loads(Path(out_path).read_text())
    os.unlink(out_path)
    latencies = sorted(data["latencies"])

    rates = [n for _, n in data["per_second"]] or [data["requests"] / data["elapsed"]]
    return {
        "rps": statistics.median(rates),
        "p50": percentile_ms(latencies, 0.50),
        "p90": percentile_ms(latencies, 0.90),
        "p99": percentile_ms(latencies, 0.99),
        "max": latencies[-1] / 1000,
        "errors": data["errors"],
    }


def run(connections: int = 16, seconds: float = 3.0, rounds: int = 1) -> list[dict[str, Any]]:
    """Every route's row (posrisk and the bare server), printed as measured."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        scenario_path = Path(folder) / "scenario.json"
        scenario_path.write_text(json.dumps(scenario()))
        port = free_port()
        posrisk = serve_posrisk(str(Path(folder) / "bench.db"), port, scenario_path, "--no-admin")
        try:
            wait_port(port, process=posrisk)
            for path in ROUTES:
                status, answer = probe(port, path)
                if status == 404:
                    print(f"note: {path} is not served yet ({answer.decode()}): skipped")
                    continue
                if status != 200:
                    raise RuntimeError(f"{path}: {status} {answer[:300]!r}")
                rows.append(
                    _measure_route(folder, port, path, answer, connections, seconds, rounds)
                )
        finally:
            posrisk.terminate()
            posrisk.wait(10)
    return rows


def _measure_route(
    folder: str, port: int, path: str, answer: bytes, connections: int, seconds: float, rounds: int
) -> dict[str, Any]:
    canned = Path(folder) / "canned.bin"
    canned.write_bytes(answer)
    bare_port = free_port()
    code = f"from benchmarks.rest import bare_server; bare_server({bare_port}, {str(canned)!r})"
    bare = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        wait_port(bare_port, process=bare)
        ours: list[dict[str, Any]] = []
        theirs: list[dict[str, Any]] = []
        for _ in range(rounds):
            theirs.append(measure(bare_port, path, connections, seconds))
            ours.append(measure(port, path, connections, seconds))
    finally:
        bare.terminate()
        bare.wait(10)
    mine, base = median_run(ours), median_run(theirs)
    row = {"path": path, "bytes": len(answer), "connections": connections, **mine}
    row["bare_rps"] = base["rps"]
    row["ratio"] = mine["rps"] / base["rps"] if base["rps"] else None
    print(
        f"REST GET {path} ({len(answer)} B, {connections} conns): posrisk {mine['rps']:,.0f} req/s"
        f" p50 {mine['p50']:.3f} p99 {mine['p99']:.3f} ms, errors {mine['errors']}; bare"
        f" {base['rps']:,.0f} req/s p50 {base['p50']:.3f} ms; ratio {row['ratio']:.2f}"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = run(args.connections, args.seconds, args.rounds)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
