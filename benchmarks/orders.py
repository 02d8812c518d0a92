"""Signed ``order.place`` MARKET over the WS API, against ``account.position`` in the same run.

    python -m benchmarks.orders [--connections 16] [--accounts-per-connection 32]
        [--seconds 5] [--rounds 1] [--db sqlite,postgres]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--profile 10]

In one run, on this machine, for each database: starts ``posrisk serve`` (``--no-ip-limits``)
with ``connections × accounts-per-connection`` accounts, each funded with 100,000,000 USDT
and one HMAC key, BTCUSDT marked at 60000. A load generator in its own process opens the
N WS API connections, starts one user stream per account (``userDataStream.start``) and
holds it open on ``/ws/<listenKey>`` (so every fill's ORDER_TRADE_UPDATE, TRADE_LITE and
ACCOUNT_UPDATE is built and sent), then keeps every connection busy in a closed loop:
each sends a freshly signed request as soon as the previous answer arrives, cycling over
its accounts. ``order``: ``order.place`` BTCUSDT MARKET 0.002, each account alternating
BUY and SELL (its position stays within one order), every fill a durable commit.
``position``: ``account.position`` symbol=BTCUSDT with the same keys. Several accounts per
connection because Binance's ORDERS windows (300 per 10 s, 1200 per minute per account)
would refuse one account's orders at these rates (refusals count as errors).

Prints req/s (median per-second rate), p50/p99 latency, errors, stream events received
per second, and ``order`` as a ratio of ``position``; medians over ``--rounds``
(interleaved). ``--profile N``: one more ``order`` round against a SQLite server run under
cProfile, then the top N functions by own time and the event loop's time split by area
(the store's commit, the engine's matching, JSON, the WS gateway, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.scaleout import run_sql, with_search_path
from benchmarks.server import SECRET, drive, free_port, median_run, percentile_ms, wait_port
from benchmarks.suite import postgres_reachable, stop

ROOT = Path(__file__).parents[1]
SYMBOL = "BTCUSDT"
QUANTITY = "0.002"
CASES = ("position", "order")


def api_key(i: int) -> str:
    return f"benchOrders{i:05d}"


def scenario(accounts: int) -> dict[str, Any]:
    """``accounts`` funded accounts with one HMAC key each, no position, BTCUSDT at 60000."""
    return {
        "accounts": [
            {
                "name": f"o{i}",
                "keys": [{"type": "hmac", "apiKey": api_key(i), "secret": SECRET}],
                "deposits": {"USDT": "100000000"},
            }
            for i in range(accounts)
        ],
        "marks": {SYMBOL: "60000"},
    }


def load(
    port: int, case: str, connections: int, per_connection: int, seconds: float, out_path: str
) -> None:
    """N connections over ``per_connection`` accounts each, closed loop, one user stream per
    account; writes latencies (µs), per-second counts and stream events as JSON."""
    import hashlib
    import hmac

    import orjson
    import uvloop
    from picows import WSListener, WSMsgType, ws_connect

    secret = SECRET.encode()
    latencies: list[float] = []
    per_second: dict[int, int] = {}
    errors = [0]
    events = [0]
    first_error: list[bytes] = []

    def signed(n: int, method: str, key: str, params: dict[str, Any]) -> bytes:
        params = {"apiKey": key, "timestamp": time.time_ns() // 1_000_000, **params}
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
        params["signature"] = hmac.new(secret, payload, hashlib.sha256).hexdigest()
        return orjson.dumps({"id": n, "method": method, "params": params})

    class Stream(WSListener):
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                events[0] += 1

    class Client(WSListener):
        def __init__(self) -> None:
            self.sent = 0.0
            self.n = 0
            self.running = True
            self.transport: Any = None
            self.keys: list[str] = []
            self.sides: list[str] = []
            self.reply: asyncio.Future[bytes] | None = None

        def on_ws_connected(self, transport: Any) -> None:
            self.transport = transport

        def ask(self, frame: bytes) -> asyncio.Future[bytes]:
            self.reply = asyncio.get_running_loop().create_future()
            self.transport.send(WSMsgType.TEXT, frame)
            return self.reply

        def fire(self) -> None:
            self.n += 1
            at = self.n % len(self.keys)
            if case == "order":
                side = self.sides[at]
                self.sides[at] = "SELL" if side == "BUY" else "BUY"
                params = {"symbol": SYMBOL, "side": side, "type": "MARKET", "quantity": QUANTITY}
                frame = signed(self.n, "order.place", self.keys[at], params)
            else:
                frame = signed(self.n, "account.position", self.keys[at], {"symbol": SYMBOL})
            self.sent = time.perf_counter()
            self.transport.send(WSMsgType.TEXT, frame)

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is not WSMsgType.TEXT:
                return
            now = time.perf_counter()
            payload = frame.get_payload_as_bytes()
            if self.reply is not None and not self.reply.done():
                self.reply.set_result(payload)
                return
            if b'"status":200' not in payload[:80]:
                errors[0] += 1
                first_error[:] = first_error or [payload[:300]]
            if self.running:
                latencies.append((now - self.sent) * 1e6)
                per_second[int(now)] = per_second.get(int(now), 0) + 1
                self.fire()

    async def main() -> None:
        url = f"ws://127.0.0.1:{port}/ws-fapi/v1"
        clients: list[Client] = []
        streams: list[Any] = []
        base = random.randint(1, 254)
        for c in range(connections):
            _, client = await ws_connect(Client, url, max_frame_size=16 << 20)
            assert isinstance(client, Client)
            client.keys = [api_key(c * per_connection + i) for i in range(per_connection)]
            client.sides = ["BUY"] * per_connection
            for i, key in enumerate(client.keys):
                frame = orjson.dumps(
                    {"id": f"s{i}", "method": "userDataStream.start", "params": {"apiKey": key}}
                )
                answer = orjson.loads(await client.ask(frame))
                listen_key = answer["result"]["listenKey"]
                # Its own source address: Binance allows an IP 300 stream attempts per 5 min.
                n = c * per_connection + i
                source = (f"127.{base}.{n // 250}.{n % 250 + 1}", 0)
                transport, _ = await ws_connect(
                    Stream, f"ws://127.0.0.1:{port}/ws/{listen_key}", local_addr=source
                )
                streams.append(transport)
            clients.append(client)
        await asyncio.sleep(0.5)  # settle
        before = events[0]
        started = time.perf_counter()
        await drive(clients, seconds, latencies, per_second, errors, out_path)
        data = json.loads(Path(out_path).read_text())
        data["events_per_s"] = (events[0] - before) / (time.perf_counter() - started)
        data["first_error"] = first_error[0].decode(errors="replace") if first_error else None
        Path(out_path).write_text(json.dumps(data))
        for client in clients:
            client.transport.disconnect()
        for transport in streams:
            transport.disconnect()

    uvloop.run(main())


def measure(
    port: int, case: str, connections: int, per_connection: int, seconds: float
) -> dict[str, Any]:
    """``load`` in its own process; its figures."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out_path = handle.name
    arguments = f"{port}, {case!r}, {connections}, {per_connection}, {seconds}, {out_path!r}"
    code = f"from benchmarks.orders import load; load({arguments})"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    data = json.loads(Path(out_path).read_text())
    os.unlink(out_path)
    if data["first_error"]:
        print(f"  note: {case} refused: {data['first_error']}", flush=True)
    latencies = sorted(data["latencies"]) or [0.0]

    rates = [n for _, n in data["per_second"]] or [data["requests"] / data["elapsed"]]
    return {
        "rps": statistics.median(rates),
        "p50": percentile_ms(latencies, 0.50),
        "p99": percentile_ms(latencies, 0.99),
        "errors": data["errors"],
        "events_per_s": data["events_per_s"],
    }


def serve(
    db: str, port: int, scenario_path: Path, profile: Path | None = None
) -> subprocess.Popen[bytes]:
    """``posrisk serve`` (optionally under cProfile, its stats written to ``profile``)."""
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += ["-m", "posrisk.cli", "serve", "--db", db, "--port", str(port)]
    command += ["--scenario", str(scenario_path), "--no-ip-limits", "--no-admin"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=ROOT)


def run_db(
    db: str, where: str, scenario_path: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Both cases on one server, ``--rounds`` interleaved; one row per case."""
    port = free_port()
    server = serve(where, port, scenario_path)
    rounds: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    try:
        wait_port(port, 60, server)
        for _ in range(args.rounds):
            for case in CASES:
                figures = measure(
                    port, case, args.connections, args.accounts_per_connection, args.seconds
                )
                rounds[case].append(figures)
    finally:
        stop(server)
    rows = [{"db": db, "case": case, **median_run(rounds[case])} for case in CASES]
    base = rows[0]["rps"]
    for row in rows:
        row["ratio"] = row["rps"] / base if base else None
    return rows


HEADER = (
    f"{'db':8s} {'case':8s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'errors':>6s} "
    f"{'events/s':>9s} {'ratio':>5s}"
)


def row_line(row: dict[str, Any]) -> str:
    ratio = f"{row['ratio']:5.2f}" if row["ratio"] is not None else "    -"
    return (
        f"{row['db']:8s} {row['case']:8s} {row['rps']:8.0f} {row['p50']:7.2f} "
        f"{row['p99']:7.2f} {row['errors']:6.0f} {row['events_per_s']:9.0f} {ratio}"
    )


# -- the profile -----------------------------------------------------------------------------

AREAS = (
    ("store commit", ("posrisk/store/",)),
    ("engine (matching, ledger)", ("posrisk/engine/",)),
    ("order service", ("posrisk/service/order", "posrisk/service/admin", "posrisk/service/regis")),
    ("streams", ("posrisk/service/stream", "posrisk/gateway/stream")),
    ("WS API + auth", ("posrisk/gateway/", "posrisk/service/api", "posrisk/protocol/")),
    ("JSON", ("orjson", "json/")),
    ("decimal", ("decimal", "_pydecimal")),
    ("event loop, sockets", ("uvloop", "asyncio/", "picows", "select", "socket")),
)


# Where cProfile books the event loop's idle wait (the serve loop awaiting its stop).
IDLE = (("posrisk/app.py", "stop"), ("posrisk/cli/serve.py", "serve"))


def busy(stats: pstats.Stats) -> dict[tuple[str, int, str], tuple[Any, ...]]:
    """The profile's entries but the idle wait."""
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    return {
        where: row
        for where, row in entries.items()
        if not any(where[0].endswith(path) and where[2] == name for path, name in IDLE)
    }


def areas(stats: pstats.Stats) -> dict[str, float]:
    """Own time per area (the first whose marker is in the function's file or name)."""
    split: dict[str, float] = {}
    for (path, _, name), (_, _, own, _, _) in busy(stats).items():
        where = f"{path}:{name}"
        area = next((a for a, marks in AREAS if any(m in where for m in marks)), "other")
        split[area] = split.get(area, 0.0) + own
    return split


def profile(scenario_path: Path, workdir: Path, args: argparse.Namespace, top: int) -> None:
    """One ``order`` round against a SQLite server under cProfile; where its time went."""
    port, out = free_port(), workdir / "serve.prof"
    server = serve(str(workdir / "profile.db"), port, scenario_path, out)
    try:
        wait_port(port, 60, server)
        figures = measure(port, "order", args.connections, args.accounts_per_connection, 5.0)
    finally:
        stop(server)
    stats = pstats.Stats(str(out))
    entries = busy(stats)
    total = sum(own for _, _, own, _, _ in entries.values())
    print(
        f"\nprofile (sqlite, order, {figures['rps']:.0f} req/s under cProfile): own time of "
        "the event loop's thread, its idle wait left out (the commit runs in the store's "
        "thread: see benchmarks.order_path for the wall-time split)"
    )
    rows = sorted(entries.items(), key=lambda item: -item[1][2])
    for (path, line, name), (_, calls, own, cumulative, _) in rows[:top]:
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}" if line else path
        print(f"  {100 * own / total:5.1f}%  {cumulative:7.2f}s cum  {calls:8d}  {name} ({where})")
    print("by area (own time of the event loop's thread):")
    for area, own in sorted(areas(stats).items(), key=lambda item: -item[1]):
        print(f"  {100 * own / total:5.1f}%  {area}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--accounts-per-connection", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--profile", type=int, default=0, help="top N functions; 0: no profile")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    dbs = args.db.split(",")
    if "postgres" in dbs and (why := postgres_reachable(args.pg)) is not None:
        print(f"note: PostgreSQL skipped ({args.pg} not reachable: {why})")
        dbs.remove("postgres")
    accounts = args.connections * args.accounts_per_connection
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="posrisk-orders-bench-") as folder:
        workdir = Path(folder)
        scenario_path = workdir / "scenario.json"
        scenario_path.write_text(json.dumps(scenario(accounts)))
        print(
            f"{args.connections} connections, {accounts} accounts, {args.seconds:g} s per case, "
            f"median of {args.rounds} round(s)\n{HEADER}",
            flush=True,
        )
        for db in dbs:
            schema = f"bench_orders_{uuid.uuid4().hex[:8]}"
            where = str(workdir / "orders.db")
            if db == "postgres":
                asyncio.run(run_sql(args.pg, [f'CREATE SCHEMA "{schema}"']))
                where = with_search_path(args.pg, schema)
            try:
                for row in run_db(db, where, scenario_path, args):
                    rows.append(row)
                    print(row_line(row), flush=True)
            finally:
                if db == "postgres":
                    asyncio.run(run_sql(args.pg, [f'DROP SCHEMA IF EXISTS "{schema}" CASCADE']))
        if args.profile:
            profile(scenario_path, workdir, args, args.profile)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
