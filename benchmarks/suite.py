"""The benchmark suite: posrisk's account.position against a bare server, in one run.

    python -m benchmarks [--quick] [--full] [--connections 1,16,64,256] [--positions 1,10,100]
        [--modes oneway,hedge] [--symbol with,without] [--auth hmac,ed25519,logon]
        [--db sqlite,postgres] [--seconds 3] [--rounds 1] [--memory 5000]
        [--json results.json] [--plot results.png]
        [--pg postgresql://postgres@127.0.0.1:5432/test]

(The plot needs matplotlib: ``pip install -c constraints.txt -e '.[bench]'``.)

In one run, on this machine: starts ``posrisk serve --no-ip-limits --no-admin`` on SQLite
and, when ``--pg`` is reachable, on PostgreSQL (in a fresh schema, dropped at the end;
skipped with a note otherwise), both loaded with six accounts: 1, 10 and 100 positions,
one-way and hedge (hedge with 100 positions: 50 symbols, LONG and SHORT), each with an
HMAC key and an Ed25519 key generated for the run. For each case it also starts the bare
reference server of ``benchmarks.server`` (picows, checks the HMAC signature, answers
canned bytes of the size of posrisk's answer for that case): the machine's limit for that
answer size.

The load generator of ``benchmarks.server`` (its own process, N connections, each sending
a freshly signed request as soon as the previous answer arrives; 1 s warm-up, then
``--seconds`` measured) drives ``account.position`` (``with`` = symbol=BTCUSDT, one row, two
in hedge mode; ``without`` = every symbol of the market) with each ``--auth``:

* ``hmac``     every request signed with HMAC-SHA256 (apiKey, timestamp, signature)
* ``ed25519``  every request signed with the account's Ed25519 key
* ``logon``    ``session.logon`` signed with the Ed25519 key once per connection, then
               requests carrying only ``timestamp`` (and ``symbol``)

The bare server is always driven with HMAC: every ratio is to the same figure.

The matrix: every case (db x mode x positions x symbol x auth) at the reference count of
connections (16, or the first of ``--connections``), and the sweep case (10 positions,
one-way, with symbol; or the first of each list) at every ``--connections`` count. ``--full``
measures every case at every count (about 30 minutes with the defaults; the default matrix
takes about 10, ``--quick`` about 1). With ``--rounds`` > 1 each figure is the median over
rounds, bare and posrisk interleaved within each round.

Figures, one row per measurement: req/s (median per-second rate while measuring), p50,
p90, p99 and max latency in ms (send to answer, as the client sees it), ratio = posrisk's
req/s / the bare server's at the same case and connection count, errors = answers that
were not status 200. Then memory: ``--memory`` N idle connections (from a separate
process, spread over the source addresses 127.0.x.y, 250 per address) opened to the SQLite
server before any load, and the server's VmRSS before and 2 s after: KiB per connection.

Targets (SQLite, and PostgreSQL when measured): (a) HMAC account.position, 10 positions,
one-way, with symbol, 16 connections: ratio >= 0.60, p99 <= 5 ms and no errors; (b) the same after
``session.logon``; (c) memory <= 50 KiB per idle connection.

Then, unless ``--no-rest``, signed REST GETs over keep-alive HTTP/1.1 at the reference
count of connections, against a bare asyncio + httptools server (``benchmarks.rest``).

``--json`` writes every row (with each round's figures), the memory figures, the targets
and the machine (cpu count, python, platform, date); ``--plot`` a PNG: req/s and p50/p99
vs connections for the sweep case, one line per db and auth, and the bare server.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import itertools
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import rest
from benchmarks.scaleout import run_sql, with_search_path
from benchmarks.server import (
    AUTHS,
    SYMBOLS,
    canned_response,
    free_port,
    measure,
    median_run,
    scenario,
    serve_posrisk,
    wait_port,
)

ROOT = Path(__file__).parents[1]
DEFAULTS = {
    "connections": "1,16,64,256",
    "positions": "1,10,100",
    "modes": "oneway,hedge",
    "symbol": "with,without",
    "auth": "hmac,ed25519,logon",
    "db": "sqlite,postgres",
    "seconds": 3.0,
    "rounds": 1,
    "memory": 5000,
}
QUICK = {
    **DEFAULTS,
    "connections": "16",
    "positions": "10",
    "modes": "oneway",
    "symbol": "with",
    "auth": "hmac,logon",
    "seconds": 2.0,
}
CHOICES = {
    "positions": ("1", "10", "100"),
    "modes": ("oneway", "hedge"),
    "symbol": ("with", "without"),
    "auth": AUTHS,
    "db": ("sqlite", "postgres"),
}
OVERHEAD = 2.0  # seconds per measurement besides --seconds: process, connect, warm-up


@dataclass(frozen=True)
class Account:
    """One account of the run's scenario and its keys."""

    mode: str
    positions: int
    hmac_key: str
    secret: str
    ed_key: str
    ed_private: str
    ed_public: str

    def credentials(self, auth: str) -> tuple[str, str]:
        """(apiKey, secret or private PEM) for ``measure``."""
        if auth == "hmac":
            return self.hmac_key, self.secret
        return self.ed_key, self.ed_private


def accounts(modes: list[str], positions: list[int]) -> dict[tuple[str, int], Account]:
    from posrisk.protocol import generate_ed25519, generate_hmac_secret

    made = {}
    for mode, n in itertools.product(modes, positions):
        private, public = generate_ed25519()
        name = f"{mode}{n}"
        made[mode, n] = Account(
            mode, n, f"bench{name}Hmac", generate_hmac_secret(), f"bench{name}Ed", private, public
        )
    return made


def market_symbols() -> list[str]:
    """``benchmarks.server.SYMBOLS``, then the market's other USDT symbols in its order."""
    from posrisk.engine import Market

    usdt = [s.name for s in Market.default() if s.margin_asset == "USDT"]
    return [*SYMBOLS, *(name for name in usdt if name not in SYMBOLS)]


def build_scenario(made: dict[tuple[str, int], Account]) -> dict[str, Any]:
    """Every account as ``benchmarks.server.scenario`` writes one, in one document."""
    symbols = market_symbols()
    document: dict[str, Any] = {"accounts": [], "marks": {}}
    for (mode, n), account in made.items():
        hedge = mode == "hedge"
        part = scenario(
            symbols[: (n + 1) // 2 if hedge else n],
            hedge=hedge,
            positions=n,
            name=f"bench-{mode}-{n}",
            keys=[
                {"type": "hmac", "apiKey": account.hmac_key, "secret": account.secret},
                {"type": "ed25519", "apiKey": account.ed_key, "publicKey": account.ed_public},
            ],
        )
        document["accounts"] += part["accounts"]
        document["marks"].update(part["marks"])
    return document


# -- memory per idle connection ----------------------------------------------------------


def idle(url: str, count: int) -> None:
    """Open ``count`` connections from 127.0.<i//250>.<i%250+1>, print ``open N``, hold
    them until stdin closes."""
    import uvloop
    from picows import WSListener, ws_connect

    async def one(i: int) -> Any:
        source = (f"127.0.{i // 250}.{i % 250 + 1}", 0)
        transport, _ = await ws_connect(WSListener, url, local_addr=source)
        return transport

    async def main() -> None:
        transports = []
        for start in range(0, count, 250):
            batch = range(start, min(count, start + 250))
            transports += await asyncio.gather(*(one(i) for i in batch))
        print(f"open {len(transports)}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    uvloop.run(main())


def rss_kib(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def memory(pid: int, url: str, count: int) -> dict[str, Any]:
    before = rss_kib(pid)
    code = f"from benchmarks.suite import idle; idle({url!r}, {count})"
    client = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdin is not None and client.stdout is not None
    try:
        opened = client.stdout.readline().strip()
        if opened != f"open {count}":
            raise RuntimeError(f"the idle client failed: {opened!r}")
        time.sleep(2.0)
        after = rss_kib(pid)
    finally:
        client.stdin.close()
        client.wait(60)
    return {
        "connections": count,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_connection": (after - before) / count,
    }


# -- servers -----------------------------------------------------------------------------


@dataclass
class Server:
    db: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws-fapi/v1"


def postgres_reachable(dsn: str) -> str | None:
    """None when ``dsn`` answers, else why not."""
    try:
        asyncio.run(asyncio.wait_for(run_sql(dsn, ["SELECT 1"]), 5))
    except Exception as exc:  # any failure means: skip PostgreSQL
        return f"{type(exc).__name__}: {exc}"
    return None


def start_bare(canned: Path) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    code = f"from benchmarks.server import bare_server; bare_server({port}, {str(canned)!r})"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    wait_port(port)
    return port, process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


# -- the run -----------------------------------------------------------------------------

HEADER = (
    f"{'db':8s} {'mode':6s} {'pos':>3s} {'symbol':7s} {'auth':7s} {'conns':>5s} "
    f"{'req/s':>8s} {'p50':>6s} {'p90':>6s} {'p99':>6s} {'max':>7s} {'ratio':>5s} {'errors':>6s}"
)


def row_line(row: dict[str, Any]) -> str:
    ratio = f"{row['ratio']:5.2f}" if row["ratio"] is not None else "    -"
    return (
        f"{row['db']:8s} {row['mode']:6s} {row['positions']:3d} {row['symbol']:7s} "
        f"{row['auth']:7s} {row['connections']:5d} {row['rps']:8.0f} {row['p50']:6.2f} "
        f"{row['p90']:6.2f} {row['p99']:6.2f} {row['max']:7.2f} {ratio} {row['errors']:6.0f}"
    )


def targets(rows: list[dict[str, Any]], mem: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = []
    for db in dict.fromkeys(r["db"] for r in rows if r["db"] != "bare"):
        for label, auth in (("a", "hmac"), ("b", "logon")):
            match = [
                r
                for r in rows
                if r["db"] == db
                and r["auth"] == auth
                and (r["mode"], r["positions"], r["symbol"], r["connections"])
                == ("oneway", 10, "with", 16)
            ]
            name = (
                f"({label}) {db} {auth} account.position, 10 positions, one-way, "
                "16 connections: ratio >= 0.60, p99 <= 5 ms"
            )
            if not match:
                found.append({"target": name, "result": "not measured"})
                continue
            r = match[0]
            good = r["ratio"] >= 0.60 and r["p99"] <= 5.0 and r["errors"] == 0
            found.append(
                {
                    "target": name,
                    "result": "PASS" if good else "FAIL",
                    "figures": f"ratio {r['ratio']:.2f}, p99 {r['p99']:.2f} ms, "
                    f"{r['rps']:.0f} req/s, errors {r['errors']:.0f}",
                }
            )
    name = "(c) memory per idle connection <= 50 KiB"
    if mem is None:
        found.append({"target": name, "result": "not measured"})
    else:
        per = mem["kib_per_connection"]
        found.append(
            {
                "target": name,
                "result": "PASS" if per <= 50 else "FAIL",
                "figures": f"{per:.1f} KiB ({mem['connections']} connections, "
                f"VmRSS {mem['rss_before_kib']} -> {mem['rss_after_kib']} KiB)",
            }
        )
    return found


def plot(rows: list[dict[str, Any]], sweep: tuple[str, int, str], path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print(
            f"\nno plot ({path}): matplotlib is not installed; "
            "pip install -c constraints.txt -e '.[bench]'"
        )
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    mode, positions, symbol = sweep
    series: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if (r["mode"], r["positions"], r["symbol"]) == sweep:
            label = "bare (HMAC)" if r["db"] == "bare" else f"posrisk {r['db']} {r['auth']}"
            series.setdefault(label, []).append(r)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 6.5))
    for index, (label, points) in enumerate(series.items()):
        points.sort(key=lambda r: r["connections"])
        x = [r["connections"] for r in points]
        color = f"C{index}"
        left.plot(x, [r["rps"] for r in points], "o-", color=color, label=label)
        right.plot(x, [r["p50"] for r in points], "o-", color=color, label=f"{label} p50")
        right.plot(x, [r["p99"] for r in points], "^--", color=color, label=f"{label} p99")
    counts = sorted({r["connections"] for points in series.values() for r in points})
    for axis, title, unit in ((left, "throughput", "req/s"), (right, "latency", "ms")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(counts, [str(c) for c in counts])
        axis.set_xlabel("connections")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
    right.set_yscale("log")
    right.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    right.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    right.yaxis.set_minor_formatter(ticker.NullFormatter())
    left.set_ylim(bottom=0)
    for axis in (left, right):
        axis.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    figure.suptitle(
        f"account.position, {positions} positions, {'one-way' if mode == 'oneway' else mode}, "
        f"{'symbol=BTCUSDT' if symbol == 'with' else 'no symbol'}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"\nplot: {path}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="about 1 minute: " + str(QUICK))
    parser.add_argument("--full", action="store_true", help="every case at every count")
    parser.add_argument("--connections", help=f"default {DEFAULTS['connections']}")
    for name in CHOICES:
        parser.add_argument(f"--{name}", help=f"default {DEFAULTS[name]}")
    parser.add_argument("--seconds", type=float, help="measured per run (default 3)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 1)")
    parser.add_argument("--memory", type=int, help="idle connections (default 5000; 0: skip)")
    parser.add_argument(
        "--no-rest", action="store_true", help="skip signed REST GETs (benchmarks.rest)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write a PNG plot here")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name, choices in CHOICES.items():
        values = getattr(args, name).split(",")
        if not values or any(v not in choices for v in values):
            parser.error(f"--{name}: a comma-separated list of {', '.join(choices)}")
        setattr(args, name, values)
    args.positions = [int(n) for n in args.positions]
    try:
        args.connections = [int(n) for n in args.connections.split(",")]
    except ValueError:
        parser.error("--connections: a comma-separated list of counts")
    if not 0 <= args.memory <= 60_000:
        parser.error("--memory: 0..60000 (250 per source address)")
    return args


def main() -> None:
    args = parse_args()
    ref = 16 if 16 in args.connections else args.connections[0]
    sweep = (
        "oneway" if "oneway" in args.modes else args.modes[0],
        10 if 10 in args.positions else args.positions[0],
        args.symbol[0],
    )
    cases = list(itertools.product(args.modes, args.positions, args.symbol))

    dbs = list(args.db)
    if "postgres" in dbs and (why := postgres_reachable(args.pg)) is not None:
        print(f"note: PostgreSQL skipped ({args.pg} not reachable: {why})")
        dbs.remove("postgres")
    if not dbs:
        sys.exit("no database to measure")
    made = accounts(args.modes, args.positions)
    workdir = Path(tempfile.mkdtemp(prefix="posrisk-suite-"))
    scenario_path = workdir / "scenario.json"
    scenario_path.write_text(json.dumps(build_scenario(made)))
    schema = f"bench_suite_{os.getpid()}_{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "POSRISK_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }

    counts = {case: args.connections if args.full or case == sweep else [ref] for case in cases}
    posrisk_runs = len(dbs) * len(args.auth) + 1
    total = sum(len(c) for c in counts.values()) * posrisk_runs * args.rounds
    estimate = total * (args.seconds + OVERHEAD) + args.memory / 500
    print(
        f"{total} measurements of {args.seconds:g} s (about "
        f"{f'{estimate / 60:.0f} min' if estimate >= 120 else f'{estimate:.0f} s'}); "
        f"dbs: {', '.join(dbs)}; {os.cpu_count()} CPUs",
        flush=True,
    )

    servers: dict[str, Server] = {}
    bare: subprocess.Popen[bytes] | None = None
    rows: list[dict[str, Any]] = []
    mem = None
    created_schema = False
    try:
        if "postgres" in dbs:
            asyncio.run(run_sql(args.pg, [f'CREATE SCHEMA "{schema}"']))
            created_schema = True
        for db in dbs:
            where = str(workdir / "bench.db")
            if db == "postgres":
                where = with_search_path(args.pg, schema)
            port = free_port()
            servers[db] = Server(
                db, port, serve_posrisk(where, port, scenario_path, "--no-admin", env=env)
            )
        for server in servers.values():
            wait_port(server.port, 60, server.process)
        first = next(iter(servers.values()))
        key = made[cases[0][0], cases[0][1]]

        if args.memory and "sqlite" in servers:
            server = servers["sqlite"]
            canned_response(server.port, "symbol", key.hmac_key, key.secret)  # warm
            time.sleep(0.5)
            mem = memory(server.process.pid, server.url, args.memory)
            print(
                f"memory: {mem['kib_per_connection']:.1f} KiB per idle connection "
                f"({args.memory} connections, sqlite server VmRSS "
                f"{mem['rss_before_kib']} -> {mem['rss_after_kib']} KiB)",
                flush=True,
            )
            time.sleep(1.0)  # let the server drop them

        print("\n" + HEADER, flush=True)
        for mode, positions, symbol in cases:
            case = "symbol" if symbol == "with" else "all"
            account = made[mode, positions]
            canned = workdir / f"canned-{mode}-{positions}-{symbol}.json"
            canned.write_text(
                json.dumps(canned_response(first.port, case, account.hmac_key, account.secret))
            )
            size = len(canned.read_bytes())
            bare_port, bare = start_bare(canned)
            for connections in counts[mode, positions, symbol]:
                plan: list[tuple[str, str, str]] = [
                    ("bare", "hmac", f"ws://127.0.0.1:{bare_port}/")
                ]
                plan += [(db, auth, servers[db].url) for db in dbs for auth in args.auth]
                runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
                for _ in range(args.rounds):
                    for db, auth, url in plan:
                        if db == "bare":
                            run = measure(url, case, connections, args.seconds)
                        else:
                            api_key, secret = account.credentials(auth)
                            run = measure(
                                url, case, connections, args.seconds, 1, auth, api_key, secret
                            )
                        runs.setdefault((db, auth), []).append(run)
                base = median_run(runs["bare", "hmac"])["rps"]
                for db, auth, _ in plan:
                    figures = median_run(runs[db, auth])
                    row = {
                        "db": db,
                        "mode": mode,
                        "positions": positions,
                        "symbol": symbol,
                        "auth": auth,
                        "connections": connections,
                        **figures,
                        "ratio": None if db == "bare" else figures["rps"] / base,
                        "response_bytes": size,
                        "runs": runs[db, auth],
                    }
                    rows.append(row)
                    print(row_line(row), flush=True)
            stop(bare)
            bare = None
    finally:
        if bare is not None:
            stop(bare)
        for server in servers.values():
            stop(server.process)
        if created_schema:
            asyncio.run(run_sql(args.pg, [f'DROP SCHEMA IF EXISTS "{schema}" CASCADE']))
        shutil.rmtree(workdir, ignore_errors=True)

    rest_rows: list[dict[str, Any]] = []
    if not args.no_rest:
        print(
            "\nREST over keep-alive HTTP/1.1 (SQLite), ratio to a bare asyncio + httptools server"
        )
        rest_rows = rest.run(ref, args.seconds, args.rounds)

    found = targets(rows, mem)
    print("\ntargets")
    for t in found:
        print(
            f"  {t['result']:12s} {t['target']}" + (f": {t['figures']}" if "figures" in t else "")
        )
    if args.json:
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        args.json.write_text(
            json.dumps(
                {
                    "machine": {
                        "cpus": os.cpu_count(),
                        "python": sys.version,
                        "platform": platform.platform(),
                        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                    },
                    "settings": {**settings, "dbs_measured": dbs},
                    "rows": rows,
                    "memory": mem,
                    "rest": rest_rows,
                    "targets": found,
                },
                indent=2,
            )
        )
        print(f"\nresults: {args.json}")
    if args.plot:
        plot(rows, sweep, args.plot)
    if any(t["result"] == "FAIL" for t in found):
        sys.exit(1)  # a missed target fails the run (CI can hold the line)
