"""Scale-out costs: SQLite vs PostgreSQL, the Redis-shared limiter, and two gateways.

    python -m benchmarks.scaleout [--connections 16] [--seconds 5] [--rounds 3]
        [--cases symbol,v2] [--ips 1] [--limiter-ips 16] [--json PATH]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

Needs a PostgreSQL server (the user may ``CREATE SCHEMA``) and a Redis server. In one run,
on this machine, starts four ``posrisk serve`` (``--no-ip-limits --no-admin``, the account
of 10 positions of ``benchmarks.server``) side by side:

    A  SQLite, one process (``--db <tmp>/bench.db``)
    B  PostgreSQL, one gateway, no Redis (``--db postgresql://...?search_path=<schema>``)
    C  PostgreSQL + Redis, one gateway (B plus ``--redis URL --redis-prefix <unique>:``)
    D  PostgreSQL + Redis, two gateway processes (C plus ``--workers 2``, SO_REUSEPORT)

each PostgreSQL one in a fresh schema and each Redis one under a unique key prefix (both
removed at the end, even on failure). The load generator of ``benchmarks.server`` (its own
process, N connections, each sending a freshly signed request as soon as the previous
answer arrives) measures each in turn, in interleaved rounds (the order rotating each
round, so drifts in the machine's load hit all alike); every figure is the median over the
rounds (requests/s itself the median per-second rate). ``--ips N`` spreads the load
generator's connections over the source addresses 127.0.0.1..127.0.0.N; B and C are also
measured with each ``--limiter-ips`` count (default 16), in the same rounds.

Figures, per case (``symbol`` = account.position with symbol=BTCUSDT, 1 row; ``v2`` =
v2/account.position, 10 rows):

* req/s, p50/p99 latency (ms), the spread of req/s over the rounds, and req/s as a ratio
  to A (SQLite, one process): what the storage and the bus cost against the embedded setup.
* shared limiter cost = 1/rps(C) - 1/rps(B), in µs per request. With Redis every WS
  request's rate-limit decision is a Lua script call in Redis, batched per event-loop turn
  (one script call for the whole batch, looping over its IPs), where B decides in-process.
  Derived from throughput with N connections, i.e. the gateway's CPU time per request
  while CPU-bound (the load generator, Redis and PostgreSQL share the machine's cores with
  it, so it also counts their share, and the wait for Redis's answer). With 16 IPs the
  script reads and writes up to 16 counters per call.
* 2-gateway scaling = rps(D) / rps(C): what a second gateway process buys on this machine
  (bounded by its cores: the load generator, Redis and the other gateway compete for them;
  the kernel spreads connections over the two by hashing, not evenly).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.server import CASES, free_port, measure, median_run, scenario, serve_posrisk

CONFIGS = {
    "A": "SQLite, 1 process",
    "B": "PostgreSQL, 1 gateway",
    "C": "PostgreSQL + Redis, 1 gateway",
    "D": "PostgreSQL + Redis, 2 gateways",
}
BANNER_END = "Press Ctrl-C to stop."


@dataclass
class Gateway:
    """One running ``posrisk serve`` and what to clean up after it."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    schema: str | None = None
    prefix: str | None = None
    runs: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws-fapi/v1"


def with_search_path(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"


async def run_sql(dsn: str, statements: list[str]) -> None:
    import asyncpg

    db = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await db.execute(statement)
    finally:
        await db.close()


def delete_keys(redis_url: str, prefix: str) -> int:
    """SCAN + DEL every ``<prefix>*`` key; returns how many went."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deleted = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += int(client.delete(*batch))
                batch.clear()
        if batch:
            deleted += int(client.delete(*batch))
    finally:
        client.close()
    return deleted


def wait_banner(gateway: Gateway, timeout: float = 90.0) -> None:
    """Until ``posrisk serve`` printed its banner (with --workers: once every worker serves)."""
    assert gateway.process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if BANNER_END in gateway.log.read_text(errors="replace"):
            return
        if gateway.process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(
        f"{gateway.name} ({CONFIGS[gateway.name]}) did not start; its output:\n"
        + gateway.log.read_text(errors="replace")[-3000:]
    )


def stop(gateway: Gateway) -> None:
    """SIGINT (the supervisor stops its workers), then wait; kill if it hangs."""
    process = gateway.process
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def line(label: str, ips: int, r: dict[str, Any], runs: list[dict[str, Any]], base: float) -> str:
    rates = [run["rps"] for run in runs]
    spread = f"{min(rates):.0f}-{max(rates):.0f}"
    return (
        f"  {label:34s} {ips:3d} {r['rps']:9.0f} {r['p50']:7.2f} {r['p99']:7.2f} "
        f"{spread:>13s} {r['rps'] / base:6.2f} {r['errors']:6.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per config")
    parser.add_argument("--cases", default="v2,symbol")
    parser.add_argument("--ips", type=int, default=1, help="loopback source addresses")
    parser.add_argument(
        "--limiter-ips", default="16", help="also measure B and C with these IP counts"
    )
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not 1 <= args.ips <= 254:
        parser.error("--ips must be 1..254")
    cases = args.cases.split(",")
    limiter_ips = sorted({args.ips, *(int(n) for n in args.limiter_ips.split(",") if n)})

    workdir = Path(tempfile.mkdtemp(prefix="posrisk-scaleout-"))
    scenario_path = workdir / "scenario.json"
    scenario_path.write_text(json.dumps(scenario()))
    tag = f"bench_scaleout_{os.getpid()}_{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "POSRISK_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    gateways = {name: Gateway(name, free_port(), workdir / f"{name}.log") for name in CONFIGS}
    for name in "BCD":
        gateways[name].schema = f"{tag}_{name.lower()}"
    for name in "CD":
        gateways[name].prefix = f"{tag}_{name.lower()}:"
    schemas = [g.schema for g in gateways.values() if g.schema is not None]
    # (config, source IPs) in the order of a round; B and C again with each other IP count.
    plan = [(name, args.ips) for name in CONFIGS]
    plan += [(name, n) for n in limiter_ips if n != args.ips for name in "BC"]

    results: dict[str, Any] = {
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "ips": args.ips,
        "limiter_ips": limiter_ips,
        "configs": CONFIGS,
        "cases": {},
    }
    try:
        asyncio.run(run_sql(args.pg, [f'CREATE SCHEMA "{schema}"' for schema in schemas]))
        for g in gateways.values():
            extra = ["--no-admin"]
            db = str(workdir / "bench.db")
            if g.schema is not None:
                db = with_search_path(args.pg, g.schema)
            if g.prefix is not None:
                extra += ["--redis", args.redis, "--redis-prefix", g.prefix]
            if g.name == "D":
                extra += ["--workers", "2"]
            with g.log.open("wb") as out:
                g.process = serve_posrisk(db, g.port, scenario_path, *extra, env=env, stdout=out)
        for g in gateways.values():
            wait_banner(g)
        print(
            f"4 servers up; {args.rounds} rounds x {len(cases)} cases x {len(plan)} "
            f"measurements of {args.seconds:g} s ({args.connections} connections)",
            flush=True,
        )

        for round_ in range(args.rounds):
            shift = round_ % len(plan)
            for case in cases:
                for name, ips in plan[shift:] + plan[:shift]:
                    g = gateways[name]
                    run = measure(g.url, case, args.connections, args.seconds, ips)
                    g.runs.setdefault((case, ips), []).append(run)
            print(f"  round {round_ + 1}/{args.rounds} done", flush=True)

        for case in cases:
            method, params = CASES[case]
            medians = {
                (name, ips): median_run(gateways[name].runs[case, ips]) for name, ips in plan
            }
            base = medians["A", args.ips]["rps"]
            print(
                f"\n{case}: {method}{f' {params}' if params else ''}, "
                f"{args.connections} connections, median of {args.rounds} interleaved rounds"
            )
            print(
                f"  {'config':34s} {'IPs':>3s} {'req/s':>9s} {'p50 ms':>7s} {'p99 ms':>7s} "
                f"{'req/s spread':>13s} {'vs A':>6s} {'errors':>6s}"
            )
            rows = []
            for name, ips in plan:
                r, runs = medians[name, ips], gateways[name].runs[case, ips]
                print(line(f"{name}  {CONFIGS[name]}", ips, r, runs, base))
                rows.append(
                    {
                        "config": name,
                        "label": CONFIGS[name],
                        "ips": ips,
                        "median": r,
                        "ratio_to_A": r["rps"] / base,
                        "runs": runs,
                    }
                )
            costs = {
                ips: (1 / medians["C", ips]["rps"] - 1 / medians["B", ips]["rps"]) * 1e6
                for ips in limiter_ips
            }
            scaling = medians["D", args.ips]["rps"] / medians["C", args.ips]["rps"]
            print(
                "  shared limiter cost, 1/rps(C) - 1/rps(B) (from throughput at "
                f"{args.connections} connections: server CPU per request while CPU-bound):"
            )
            for ips, cost in costs.items():
                print(f"    {ips:3d} IP{'s' if ips > 1 else ' '}  {cost:+7.1f} µs/request")
            print(
                f"  2-gateway scaling D/C ({args.ips} IP{'s' if args.ips > 1 else ''}): "
                f"{scaling:.2f}x"
            )
            results["cases"][case] = {
                "rows": rows,
                "limiter_cost_us": {str(ips): cost for ips, cost in costs.items()},
                "scaling_D_over_C": scaling,
            }
    finally:
        for g in gateways.values():
            stop(g)
        try:
            drops = [f'DROP SCHEMA IF EXISTS "{schema}" CASCADE' for schema in schemas]
            asyncio.run(run_sql(args.pg, drops))
        finally:
            for g in gateways.values():
                if g.prefix is not None:
                    delete_keys(args.redis, g.prefix)
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
