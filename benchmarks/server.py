"""Signed ``account.position`` throughput and latency: posrisk vs a bare WebSocket server.

    python -m benchmarks.server [--connections 16] [--seconds 5] [--rounds 3] [--cases symbol,v2]

In one run, on this machine: starts ``posrisk serve`` (SQLite, ``--no-ip-limits``) with an
account of 10 positions, and a bare picows server that answers every text frame with a
canned response of the same size (after checking the request's HMAC signature, the
least work a real server does). A load generator in its own process keeps N connections
busy (each sends a freshly signed request as soon as the previous answer arrives) and
reports requests/s and p50/p90/p99/max latency for each, and posrisk's ratio to the bare
server. The machine being noisy, the two servers are measured in interleaved rounds and
every figure is the median over rounds (requests/s itself the median per-second rate).

Cases: ``symbol`` = account.position with symbol=BTCUSDT (1 row); ``v2`` =
v2/account.position (10 rows); ``all`` = account.position without symbol (345 rows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

API_KEY = "benchKey0001"
SECRET = "bench-secret-not-real"
SYMBOLS = [
    "BTCUSDT",
    "ETHUSDT",
    "BNBUSDT",
    "SOLUSDT",
    "XRPUSDT",
    "ADAUSDT",
    "DOGEUSDT",
    "LINKUSDT",
    "LTCUSDT",
    "DOTUSDT",
]
CASES = {
    "symbol": ("account.position", {"symbol": "BTCUSDT"}),
    "v2": ("v2/account.position", {}),
    "all": ("account.position", {}),
}


def scenario(
    symbols: Sequence[str] = SYMBOLS,
    *,
    hedge: bool = False,
    positions: int | None = None,
    name: str = "bench",
    keys: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One account with a position (1 @ 10, marked at 10.5) in each of ``symbols``.

    One-way: alternately short and long. ``hedge``: a LONG and a SHORT in each symbol.
    ``positions`` keeps only the first so many fills; ``keys`` replaces the HMAC key.
    """
    if hedge:
        sides = (("BUY", "LONG"), ("SELL", "SHORT"))
        fills = [
            {"symbol": s, "side": side, "positionSide": ps, "qty": "1", "price": "10"}
            for s in symbols
            for side, ps in sides
        ]
    else:
        fills = [
            {"symbol": s, "side": "BUY" if i % 2 else "SELL", "qty": "1", "price": "10"}
            for i, s in enumerate(symbols)
        ]
    account: dict[str, Any] = {
        "name": name,
        "keys": keys or [{"type": "hmac", "apiKey": API_KEY, "secret": SECRET}],
        "deposits": {"USDT": "1000000"},
        "symbols": {s: {"leverage": 5, "marginType": "isolated"} for s in symbols[::3]},
        "fills": fills[:positions],
    }
    if hedge:
        account["positionMode"] = "hedge"
    return {"accounts": [account], "marks": {s: "10.5" for s in symbols}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_posrisk(
    db: str,
    port: int,
    scenario_path: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """``posrisk serve`` in a subprocess: the benchmark scenario, ``--no-ip-limits``, ``extra``."""
    command = [sys.executable, "-m", "posrisk.cli", "serve", "--db", db, "--port", str(port)]
    command += ["--scenario", str(scenario_path), "--no-ip-limits", *extra]
    return subprocess.Popen(command, stdout=stdout, env=env)


def wait_port(
    port: int, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Until something listens on ``port``; fails early when ``process`` (the server) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for port {port} exited ({process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


# -- the bare reference server -------------------------------------------------------------


def bare_server(port: int, canned_path: str) -> None:
    """picows + uvloop: check the HMAC signature, answer the canned bytes with the id."""
    import hashlib
    import hmac

    import orjson
    import uvloop
    from picows import WSListener, WSMsgType, ws_create_server

    # The canned answer is serialised once; each response only splices in the id.
    body = orjson.dumps(json.loads(Path(canned_path).read_text()))[1:]
    refused = b'"status":400}'
    secret = SECRET.encode()

    class Bare(WSListener):
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is not WSMsgType.TEXT:
                return
            request = orjson.loads(frame.get_payload_as_bytes())
            params = dict(request["params"])
            signature = params.pop("signature")
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
            good = hmac.compare_digest(
                hmac.new(secret, payload, hashlib.sha256).hexdigest(), signature
            )
            head = b'{"id":' + orjson.dumps(request["id"]) + b","
            transport.send(WSMsgType.TEXT, head + (body if good else refused))

    async def main() -> None:
        server = await ws_create_server(lambda _: Bare(), "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(main())


# -- the load generator ------------------------------------------------------------------


AUTHS = ("hmac", "ed25519", "logon")


def load(
    url: str,
    method: str,
    extra: dict[str, Any],
    connections: int,
    seconds: float,
    out_path: str,
    ips: int = 1,
    auth: str = "hmac",
    api_key: str = API_KEY,
    secret_or_pem: str = SECRET,
) -> None:
    """N connections, closed loop; writes latencies (µs) and per-second counts as JSON.

    ``ips`` > 1 spreads the connections over the source addresses 127.0.0.1..127.0.0.<ips>
    (round robin), so the server sees that many client IPs.

    ``auth``: ``hmac`` signs each request with the HMAC secret ``secret_or_pem``;
    ``ed25519`` each with the Ed25519 private key (PKCS#8 PEM) ``secret_or_pem``; ``logon``
    first sends ``session.logon`` signed with that key on each connection (and fails
    unless every answer is status 200), then requests carrying only ``timestamp`` and the
    case's params.
    """
    import hashlib
    import hmac

    import orjson
    import uvloop
    from picows import WSListener, WSMsgType, ws_connect

    if auth not in AUTHS:
        raise ValueError(f"auth must be one of {AUTHS}, not {auth!r}")
    secret = secret_or_pem.encode()
    ed_sign = None
    if auth != "hmac":
        from posrisk.protocol import load_private_key

        ed_sign = load_private_key(secret_or_pem).sign
    latencies: list[float] = []
    per_second: dict[int, int] = {}
    errors = [0]

    def signed(n: int, method: str, params: dict[str, Any]) -> bytes:
        params = {"apiKey": api_key, "timestamp": time.time_ns() // 1_000_000, **params}
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
        if ed_sign is None:
            params["signature"] = hmac.new(secret, payload, hashlib.sha256).hexdigest()
        else:
            params["signature"] = ed_sign(payload)
        return orjson.dumps({"id": n, "method": method, "params": params})

    def request(n: int) -> bytes:
        if auth == "logon":
            params = {"timestamp": time.time_ns() // 1_000_000, **extra}
            return orjson.dumps({"id": n, "method": method, "params": params})
        return signed(n, method, extra)

    class Client(WSListener):
        def __init__(self) -> None:
            self.sent = 0.0
            self.n = 0
            self.running = True
            self.transport: Any = None
            self.logon: asyncio.Future[bytes] | None = None

        def on_ws_connected(self, transport: Any) -> None:
            self.transport = transport

        def log_on(self) -> asyncio.Future[bytes]:
            self.logon = asyncio.get_running_loop().create_future()
            self.transport.send(WSMsgType.TEXT, signed(0, "session.logon", {}))
            return self.logon

        def fire(self) -> None:
            self.n += 1
            self.sent = time.perf_counter()
            self.transport.send(WSMsgType.TEXT, request(self.n))

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is not WSMsgType.TEXT:
                return
            now = time.perf_counter()
            if self.logon is not None and not self.logon.done():
                self.logon.set_result(frame.get_payload_as_bytes())
                return
            if b'"status":200' not in frame.get_payload_as_bytes()[:80]:
                errors[0] += 1
            if self.running:
                latencies.append((now - self.sent) * 1e6)
                second = int(now)
                per_second[second] = per_second.get(second, 0) + 1
                self.fire()

    async def main() -> None:
        clients: list[Client] = []
        for i in range(connections):
            source: dict[str, Any] = (
                {"local_addr": (f"127.0.0.{i % ips + 1}", 0)} if ips > 1 else {}
            )
            _, client = await ws_connect(Client, url, max_frame_size=16 << 20, **source)
            assert isinstance(client, Client)
            clients.append(client)
        if auth == "logon":
            for answer in await asyncio.gather(*(client.log_on() for client in clients)):
                if b'"status":200' not in answer[:80]:
                    raise RuntimeError(f"session.logon refused: {answer[:300]!r}")
        await asyncio.sleep(0.5)  # settle
        await drive(clients, seconds, latencies, per_second, errors, out_path)
        for client in clients:
            client.transport.disconnect()

    uvloop.run(main())


async def drive(
    clients: Sequence[Any],
    seconds: float,
    latencies: list[float],
    per_second: dict[int, int],
    errors: list[int],
    out_path: str,
) -> None:
    """The measuring loop every load generator shares: fire each client (each fires again
    on its answer while ``running``), warm up 1 s, measure ``seconds``, stop the clients
    and write the figures to ``out_path`` as JSON."""
    for client in clients:
        client.fire()
    await asyncio.sleep(1.0)  # warm up, then measure
    latencies.clear()
    per_second.clear()
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - start
    for client in clients:
        client.running = False
    figures = {
        "requests": len(latencies),
        "elapsed": elapsed,
        "errors": errors[0],
        "latencies": latencies,
        "per_second": sorted(per_second.items())[1:-1],
    }
    Path(out_path).write_text(json.dumps(figures))


def measure(
    url: str,
    case: str,
    connections: int,
    seconds: float,
    ips: int = 1,
    auth: str = "hmac",
    api_key: str = API_KEY,
    secret_or_pem: str = SECRET,
) -> dict[str, Any]:
    """``load`` in its own process (see there for ``auth`` and the key); its figures."""
    method, extra = CASES[case]
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out_path = handle.name
    code = (
        f"from benchmarks.server import load; load({url!r}, {method!r}, {extra!r}, "
        f"{connections}, {seconds}, {out_path!r}, {ips}, {auth!r}, {api_key!r}, "
        f"{secret_or_pem!r})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
    data = json.loads(Path(out_path).read_text())
    os.unlink(out_path)
    latencies = sorted(data["latencies"])

    rates = [n for _, n in data["per_second"]] or [data["requests"] / data["elapsed"]]
    return {
        "rps": statistics.median(rates),
        "mean_rps": data["requests"] / data["elapsed"],
        "p50": percentile_ms(latencies, 0.50),
        "p90": percentile_ms(latencies, 0.90),
        "p99": percentile_ms(latencies, 0.99),
        "max": latencies[-1] / 1000,
        "errors": data["errors"],
    }


def percentile_ms(latencies: Sequence[float], p: float) -> float:
    """The ``p`` quantile (0..1) of sorted latencies in µs, in ms (nearest rank, below)."""
    return float(latencies[min(len(latencies) - 1, int(p * len(latencies)))]) / 1000


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def canned_response(
    port: int, case: str, api_key: str = API_KEY, secret: str = SECRET
) -> dict[str, Any]:
    """Ask posrisk once (as the HMAC key ``api_key``), to give the bare server a response
    of the same size."""
    import hashlib
    import hmac

    import websockets.sync.client

    method, extra = CASES[case]
    params = {"apiKey": api_key, "timestamp": time.time_ns() // 1_000_000, **extra}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
    params["signature"] = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    with websockets.sync.client.connect(f"ws://127.0.0.1:{port}/ws-fapi/v1", max_size=None) as ws:
        ws.send(json.dumps({"id": 1, "method": method, "params": params}))
        reply = json.loads(ws.recv())
    assert reply["status"] == 200, reply
    reply.pop("id")
    return dict(reply)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per server")
    parser.add_argument("--cases", default="symbol,v2")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="posrisk-bench-"))
    (workdir / "scenario.json").write_text(json.dumps(scenario()))
    posrisk_port, bare_port = free_port(), free_port()
    posrisk = serve_posrisk(
        str(workdir / "bench.db"), posrisk_port, workdir / "scenario.json", "--no-admin"
    )
    bare = None
    results: dict[str, Any] = {"connections": args.connections, "seconds": args.seconds}
    try:
        wait_port(posrisk_port)
        for case in args.cases.split(","):
            canned = workdir / f"canned-{case}.json"
            canned.write_text(json.dumps(canned_response(posrisk_port, case)))
            code = (
                f"from benchmarks.server import bare_server; "
                f"bare_server({bare_port}, {str(canned)!r})"
            )
            bare = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[1])
            wait_port(bare_port)
            rounds: dict[str, list[dict[str, Any]]] = {"bare": [], "posrisk": []}
            for _ in range(args.rounds):  # interleaved, so drifts in load hit both alike
                rounds["bare"].append(
                    measure(f"ws://127.0.0.1:{bare_port}/", case, args.connections, args.seconds)
                )
                rounds["posrisk"].append(
                    measure(
                        f"ws://127.0.0.1:{posrisk_port}/ws-fapi/v1",
                        case,
                        args.connections,
                        args.seconds,
                    )
                )
            base, ours = median_run(rounds["bare"]), median_run(rounds["posrisk"])
            bare.terminate()
            bare.wait()
            bare = None
            size = len(canned.read_bytes())
            results[case] = {
                "bare": base,
                "posrisk": ours,
                "ratio": ours["rps"] / base["rps"],
                "response_bytes": size,
            }
            print(
                f"\n{case}: {CASES[case][0]} {CASES[case][1] or ''} "
                f"({size} B response), {args.connections} connections, "
                f"median of {args.rounds} interleaved rounds"
            )
            for name, r in (("bare", base), ("posrisk", ours)):
                print(
                    f"  {name:8s} {r['rps']:9.0f} req/s  p50 {r['p50']:6.2f} ms  "
                    f"p90 {r['p90']:6.2f}  p99 {r['p99']:6.2f}  max {r['max']:7.2f} ms"
                    f"  errors {r['errors']}"
                )
            print(f"  ratio    {results[case]['ratio']:.2f} of the bare server")
    finally:
        if bare is not None:
            bare.terminate()
        posrisk.terminate()
        posrisk.wait(10)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
