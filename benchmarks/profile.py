"""Where a loaded server spends its time: py-spy samples of ``posrisk serve`` under load.

    python -m benchmarks.profile [--case symbol] [--connections 16] [--seconds 5] [--top 10]

Starts ``posrisk serve`` (SQLite, ``--no-ip-limits``, the 10-position account of
``benchmarks.server``), drives it with that module's load generator (HMAC-signed requests,
closed loop), and samples the server with py-spy (``pip install -c constraints.txt -e
'.[bench]'``) while it is loaded. Prints the top functions by own time (the sample's
innermost frame) and by inclusive time, as shares of all samples, and the load's req/s.
The server must see the load from the first sample to the last: sampling starts after the
load generator's warm-up and ends before it stops.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.server import CASES, free_port, measure, scenario, serve_posrisk, wait_port


def aggregate(raw: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Total samples, own samples per function and inclusive samples per function, from
    py-spy's ``raw`` (collapsed stacks: ``frame;frame;... count`` per line)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        frames = [_function(frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return total, own, inclusive


def _function(frame: str) -> str:
    """``name (path/file.py:line)`` → ``name (path/file.py)``: one entry per function."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="symbol", choices=sorted(CASES))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        sys.exit("py-spy is not installed: pip install -c constraints.txt -e '.[bench]'")

    workdir = Path(tempfile.mkdtemp(prefix="posrisk-profile-"))
    (workdir / "scenario.json").write_text(json.dumps(scenario()))
    port = free_port()
    server = serve_posrisk(str(workdir / "bench.db"), port, workdir / "scenario.json", "--no-admin")
    result: dict[str, Any] = {}
    try:
        wait_port(port, process=server)
        url = f"ws://127.0.0.1:{port}/ws-fapi/v1"
        # The load runs 1.5 s of settling and warm-up, then ``seconds`` measured: sample
        # inside the measured part only.
        loader = threading.Thread(
            target=lambda: result.update(measure(url, args.case, args.connections, args.seconds))
        )
        loader.start()
        time.sleep(2.0)  # past the load's settling and warm-up
        raw = workdir / "raw.txt"
        command = [spy, "record", "-p", str(server.pid), "-d", str(max(1, int(args.seconds) - 1))]
        command += ["-r", str(args.rate), "-f", "raw", "-o", str(raw), "--nonblocking"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        loader.join()
    finally:
        server.terminate()
        server.wait(10)
    total, own, inclusive = aggregate(raw)
    method, extra = CASES[args.case]
    print(
        f"{args.case}: {method} {extra}, {args.connections} connections: "
        f"{result.get('rps', 0):.0f} req/s while sampled; {total} samples"
    )
    print(f"\ntop {args.top} by own time (innermost frame)")
    for function, samples in own.most_common(args.top):
        print(f"  {samples / total * 100:5.1f}%  {function}")
    print(f"\ntop {args.top} posrisk functions by inclusive time")
    # Not the command line nor its event loop: every sample is inside them.
    entry = ("posrisk/cli/", "run_event_loop ")
    mine = [
        (f, n)
        for f, n in inclusive.most_common()
        if "posrisk/" in f and not any(part in f for part in entry)
    ]
    for function, samples in mine[: args.top]:
        print(f"  {samples / total * 100:5.1f}%  {function}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
