"""How long a revoked key keeps answering on another gateway after the DELETE returns.

    python -m benchmarks.revocation [--rounds 50] [--pg postgresql://...] [--redis redis://...]

Starts two ``posrisk serve`` gateways (separate processes, as on two hosts) on one fresh
PostgreSQL schema and one Redis key prefix (both removed at the end). Each round: create an
HMAC key through gateway A's admin API, wait until gateway B serves it, revoke it through
A's admin API, then ask B with it at once and again until B refuses it. Prints the DELETE's
latency, in how many rounds the first request after the DELETE was still served, and the
stale window: from the DELETE's answer to B's first refusal (0 when the first request after
it was refused).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import websockets

from benchmarks.scaleout import BANNER_END, delete_keys, run_sql, with_search_path
from benchmarks.server import free_port, scenario
from posrisk.protocol import canonical_payload, hmac_signature

TOKEN = "bench-revocation-token"


def start(db: str, port: int, admin_port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "posrisk.cli", "serve", "--db", db, "--port", str(port)]
    command += ["--admin-port", str(admin_port), "--no-ip-limits", *extra]
    env = {**os.environ, "POSRISK_ADMIN_TOKEN": TOKEN}
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def wait_banner(process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if BANNER_END in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError("posrisk serve did not start:\n" + log.read_text(errors="replace")[-3000:])


async def ask(ws: Any, api_key: str, secret: str) -> dict[str, Any]:
    params: dict[str, Any] = {"apiKey": api_key, "timestamp": int(time.time() * 1000)}
    params["signature"] = hmac_signature(secret, canonical_payload(params))
    await ws.send(json.dumps({"id": 1, "method": "account.position", "params": params}))
    return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]


async def rounds(count: int, admin_a: str, ws_b: str) -> list[dict[str, float]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    results = []
    async with aiohttp.ClientSession(headers=headers) as http, websockets.connect(ws_b) as ws:
        for _ in range(count):
            async with http.post(f"{admin_a}/accounts/bench/keys", json={"type": "hmac"}) as r:
                created = await r.json()
            api_key, secret = created["apiKey"], created["secret"]
            for _ in range(1000):  # until B has caught up with the new key
                if (await ask(ws, api_key, secret)).get("status") == 200:
                    break
                await asyncio.sleep(0.005)
            sent = time.perf_counter()
            async with http.delete(f"{admin_a}/accounts/bench/keys/{api_key}") as r:
                assert r.status == 200, await r.text()
            answered = time.perf_counter()
            served = 0
            while (await ask(ws, api_key, secret)).get("status") == 200:
                served += 1
            refused = time.perf_counter()
            results.append(
                {
                    "delete_ms": (answered - sent) * 1000,
                    "served_after": served,
                    "window_ms": (refused - answered) * 1000 if served else 0.0,
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="posrisk-revocation-"))
    tag = f"bench_revocation_{os.getpid()}_{secrets.token_hex(3)}"
    db = with_search_path(args.pg, tag)
    bus = ["--redis", args.redis, "--redis-prefix", f"{tag}:"]
    os.environ["POSRISK_MASTER_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    scenario_path = workdir / "scenario.json"
    scenario_path.write_text(json.dumps(scenario()))
    processes = []
    try:
        asyncio.run(run_sql(args.pg, [f'CREATE SCHEMA "{tag}"']))
        ports = [(free_port(), free_port()) for _ in range(2)]
        for name, (port, admin_port) in zip("AB", ports, strict=True):
            log = workdir / f"{name}.log"
            seed = ["--scenario", str(scenario_path)] if name == "A" else ["--no-demo"]
            processes.append(start(db, port, admin_port, log, *bus, *seed))
            wait_banner(processes[-1], log)
        admin_a = f"http://127.0.0.1:{ports[0][1]}/admin/v1"
        found = asyncio.run(
            rounds(args.rounds, admin_a, f"ws://127.0.0.1:{ports[1][0]}/ws-fapi/v1")
        )
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(run_sql(args.pg, [f'DROP SCHEMA IF EXISTS "{tag}" CASCADE']))
        delete_keys(args.redis, f"{tag}:")
        shutil.rmtree(workdir, ignore_errors=True)
    delete = sorted(r["delete_ms"] for r in found)
    stale = [r for r in found if r["served_after"]]
    windows = sorted(r["window_ms"] for r in found)
    print(f"{len(found)} revocations through gateway A, asked at once on gateway B")
    print(
        f"  DELETE latency        p50 {statistics.median(delete):6.2f} ms   "
        f"max {delete[-1]:6.2f} ms"
    )
    print(f"  next request served   {len(stale)} of {len(found)} rounds")
    print(
        f"  requests served after {sum(r['served_after'] for r in found)} in all, "
        f"at most {max(r['served_after'] for r in found)} in a round"
    )
    print(
        f"  stale window          p50 {statistics.median(windows):6.2f} ms   "
        f"max {windows[-1]:6.2f} ms"
    )


if __name__ == "__main__":
    main()
