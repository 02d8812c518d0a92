"""One funding settlement over many positions: its wall time, and what it does to the WS API.

    python -m benchmarks.funding [--accounts 10000] [--positions 10] [--connections 8]
        [--before 3] [--db sqlite,postgres] [--pg postgresql://postgres@127.0.0.1:5432/test]

In one run, for each database: ``posrisk serve`` (``--no-ip-limits``, its admin API on a
free port) with ``accounts`` cross accounts of ``positions`` open positions each (one per
symbol, longs of 1 and shorts of 2 alternating, every mark 100). A load generator in its own process
keeps ``connections`` WS API connections busy with signed ``account.position`` (closed
loop, cycling over the first accounts' keys) and stamps every answer. After ``--before``
seconds, the operator moves the server's clock to the next funding time (``POST
/admin/v1/clock``): the answer comes once every account has been settled (each its own
``FUNDING_FEE`` ledger event, durable, pushed to its streams). Prints the settlement's wall
time, positions settled per second, and ``account.position`` p50/p99 (ms) and req/s before
the settlement and during it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.scaleout import run_sql, with_search_path
from benchmarks.server import SECRET, free_port, percentile_ms
from benchmarks.suite import postgres_reachable, stop
from posrisk.engine import Market

ROOT = Path(__file__).parents[1]
TOKEN = "bench-funding-admin-token"
HOUR_MS = 3_600_000


def api_key(i: int) -> str:
    return f"benchFunding{i:05d}"


def scenario(accounts: int, positions: int) -> dict[str, Any]:
    """``accounts`` funded cross accounts holding ``positions`` symbols each, marks at 100."""
    symbols = [s.name for s in Market.default() if s.margin_asset == "USDT"][:positions]
    return {
        "accounts": [
            {
                "name": f"f{i}",
                "keys": [{"type": "hmac", "apiKey": api_key(i), "secret": SECRET}],
                "deposits": {"USDT": "10000000"},
                "fills": [
                    {
                        "symbol": s,
                        "side": "BUY" if (i + n) % 2 else "SELL",
                        "qty": "1" if (i + n) % 2 else "2",  # so no account nets to zero
                        "price": "100",
                    }
                    for n, s in enumerate(symbols)
                ],
            }
            for i in range(accounts)
        ],
        "marks": dict.fromkeys(symbols, "100"),
    }


def load(port: int, connections: int, keys: int, stop_path: str, out_path: str) -> None:
    """Closed-loop ``account.position`` on ``connections`` connections until ``stop_path``
    exists; writes ``[[wall time s, latency µs], ...]`` and the error count as JSON."""
    import orjson
    import uvloop
    from picows import WSListener, WSMsgType, ws_connect

    secret = SECRET.encode()
    stamps: list[tuple[float, float]] = []
    errors = [0]

    def signed(n: int) -> bytes:
        params: dict[str, Any] = {
            "apiKey": api_key(n % keys),
            "symbol": "BTCUSDT",
            "timestamp": time.time_ns() // 1_000_000,
        }
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
        params["signature"] = hmac.new(secret, payload, hashlib.sha256).hexdigest()
        return orjson.dumps({"id": n, "method": "account.position", "params": params})

    class Client(WSListener):
        def __init__(self) -> None:
            self.n = 0
            self.sent = 0.0
            self.running = True
            self.transport: Any = None

        def on_ws_connected(self, transport: Any) -> None:
            self.transport = transport

        def fire(self) -> None:
            self.n += 1
            self.sent = time.perf_counter()
            self.transport.send(WSMsgType.TEXT, signed(self.n))

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is not WSMsgType.TEXT:
                return
            latency = (time.perf_counter() - self.sent) * 1e6
            if b'"status":200' not in frame.get_payload_as_bytes()[:80]:
                errors[0] += 1
            stamps.append((time.time(), latency))
            if self.running:
                self.fire()

    async def main() -> None:
        clients: list[Client] = []
        for _ in range(connections):
            _, client = await ws_connect(Client, f"ws://127.0.0.1:{port}/ws-fapi/v1")
            assert isinstance(client, Client)
            clients.append(client)
        for client in clients:
            client.fire()
        while not os.path.exists(stop_path):
            await asyncio.sleep(0.05)
        for client in clients:
            client.running = False
        await asyncio.sleep(0.2)
        Path(out_path).write_text(json.dumps({"stamps": stamps, "errors": errors[0]}))

    uvloop.run(main())


async def admin(admin_port: int, method: str, path: str, body: Any = None) -> Any:
    import aiohttp

    url = f"http://127.0.0.1:{admin_port}/admin/v1{path}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    timeout = aiohttp.ClientTimeout(total=1800)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(method, url, json=body, headers=headers) as response,
    ):
        answer = await response.json()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {answer}")
        return answer


def ready(admin_port: int, server: subprocess.Popen[bytes], timeout: float = 3600) -> None:
    """Until the server's admin API answers (it starts last, after the scenario's load)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode})")
        try:
            asyncio.run(admin(admin_port, "GET", "/clock"))
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not start")


def settle(admin_port: int) -> tuple[float, float, dict[str, Any]]:
    """Move the clock just past the next funding time; (start, end) wall times, the clock."""
    now = asyncio.run(admin(admin_port, "GET", "/clock"))["time"]
    step = (now // (8 * HOUR_MS) + 1) * 8 * HOUR_MS - now + 1
    start = time.time()
    moved = asyncio.run(admin(admin_port, "POST", "/clock", {"advanceMs": step}))
    return start, time.time(), moved


def figures(stamps: list[tuple[float, float]], start: float, end: float) -> dict[str, float]:
    latencies = sorted(latency for at, latency in stamps if start <= at < end) or [0.0]

    return {
        "rps": len(latencies) / max(end - start, 1e-9),
        "p50": percentile_ms(latencies, 0.5),
        "p99": percentile_ms(latencies, 0.99),
    }


def run_db(db: str, where: str, scenario_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    port, admin_port = free_port(), free_port()
    command = [sys.executable, "-m", "posrisk.cli", "serve", "--db", where, "--port", str(port)]
    command += ["--scenario", str(scenario_path), "--no-ip-limits"]
    command += ["--admin-port", str(admin_port), "--admin-token", TOKEN]
    loaded = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=ROOT)
    workdir = Path(tempfile.mkdtemp())
    stop_path, out_path = workdir / "stop", workdir / "out.json"
    try:
        ready(admin_port, server)  # the admin API answers once the scenario is loaded
        print(f"  {db}: loaded in {time.perf_counter() - loaded:.0f} s", flush=True)
        code = (
            f"from benchmarks.funding import load; load({port}, {args.connections}, "
            f"{min(args.accounts, 256)}, {str(stop_path)!r}, {str(out_path)!r})"
        )
        generator = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
        time.sleep(1.0 + args.before)  # warm up, then the "before" window
        start, end, _ = settle(admin_port)
        paid = asyncio.run(admin(admin_port, "GET", "/accounts/f0"))
        time.sleep(0.5)
        stop_path.touch()
        generator.wait(60)
        data = json.loads(out_path.read_text())
    finally:
        stop(server)
    stamps = [(at, latency) for at, latency in data["stamps"]]
    return {
        "db": db,
        "wall_s": end - start,
        "positions_per_s": args.accounts * args.positions / (end - start),
        "before": figures(stamps, start - args.before, start),
        "during": figures(stamps, start, end),
        "errors": data["errors"],
        # Account f0's wallet after the settlement: the deposit moved by its fees.
        "wallet": next(b["walletBalance"] for b in paid["balances"] if b["asset"] == "USDT"),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--positions", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--before", type=float, default=3.0)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp())
    scenario_path = workdir / "funding.json"
    scenario_path.write_text(json.dumps(scenario(args.accounts, args.positions)))
    print(
        f"one funding settlement: {args.accounts} accounts × {args.positions} positions, "
        f"{args.connections} WS API connections reading account.position",
        flush=True,
    )
    rows = []
    for db in args.db.split(","):
        if db == "postgres":
            problem = postgres_reachable(args.pg)
            if problem is not None:
                print(f"  postgres skipped: {problem}")
                continue
            schema = f"bench_funding_{os.getpid()}"
            asyncio.run(run_sql(args.pg, [f"CREATE SCHEMA {schema}"]))
            try:
                rows.append(run_db(db, with_search_path(args.pg, schema), scenario_path, args))
            finally:
                asyncio.run(run_sql(args.pg, [f"DROP SCHEMA {schema} CASCADE"]))
        else:
            rows.append(run_db(db, str(workdir / "funding.db"), scenario_path, args))
    print(
        f"{'db':8s} {'wall s':>7s} {'pos/s':>8s} {'before p50':>10s} {'p99':>7s} {'req/s':>7s}"
        f" {'during p50':>10s} {'p99':>7s} {'req/s':>7s} {'errors':>6s}"
    )
    for r in rows:
        b, d = r["before"], r["during"]
        print(
            f"{r['db']:8s} {r['wall_s']:7.2f} {r['positions_per_s']:8.0f} {b['p50']:10.2f} "
            f"{b['p99']:7.2f} {b['rps']:7.0f} {d['p50']:10.2f} {d['p99']:7.2f} {d['rps']:7.0f} "
            f"{r['errors']:6d}"
        )
    for r in rows:
        print(f"{r['db']}: account f0's wallet after the settlement: {r['wallet']} USDT")
    if rows:
        ratios = [r["during"]["p99"] / r["before"]["p99"] for r in rows if r["before"]["p99"]]
        print(f"p99 during / before: {', '.join(f'{x:.1f}×' for x in ratios)}")
        print(f"median wall: {statistics.median(r['wall_s'] for r in rows):.2f} s")


if __name__ == "__main__":
    main()
