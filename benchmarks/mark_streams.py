"""Market stream fan-out: ``!markPrice@arr@1s`` to many subscribers, posrisk vs a bare server.

    python -m benchmarks.mark_streams [--subscribers 1000] [--symbols 300] [--seconds 10]
                                      [--rounds 3]

posrisk (its own process, uvloop, the shipped market's first ``--symbols`` symbols, every
mark moved once a second through the mark feed) serves ``--subscribers`` connections on
``/market/ws/!markPrice@arr@1s``. The bare server is picows on uvloop too, broadcasting
the same bytes (one posrisk payload, captured) to every connection once a second, which
is the least a server can do to deliver that stream. A client process opens the
connections and counts the bytes delivered for ``--seconds``; meanwhile the server's CPU
time is read from /proc. Rounds alternate between the two; each figure is the median over
rounds. Prints bytes/s delivered and the server's CPU share (CPU time / wall time) for
each, and posrisk's CPU as a multiple of the bare server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.server import free_port, scenario, wait_port

STREAM = "!markPrice@arr@1s"
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


# -- the servers (each run as ``python -c`` in its own process) ----------------------------


def serve_posrisk(port: int, symbols: int) -> None:
    """posrisk with ``symbols`` marked symbols, every mark moved once a second."""
    from decimal import Decimal

    from posrisk.app import PosriskServer, ServerSettings
    from posrisk.engine import Market
    from posrisk.gateway.settings import GatewaySettings
    from posrisk.loop import run_event_loop

    names = [s.name for s in Market.default()][:symbols]
    workdir = Path(tempfile.mkdtemp(prefix="posrisk-mark-streams-"))
    (workdir / "scenario.json").write_text(json.dumps(scenario(names, positions=0)))

    async def main() -> None:
        settings = ServerSettings(
            db=":memory:",
            port=port,
            admin_port=None,
            enforce_limits=False,
            scenario=workdir / "scenario.json",
            demo=False,
            gateway=GatewaySettings(stream_attempts=1_000_000, ping_interval_s=3600),
        )
        server = PosriskServer(settings)
        await server.start()
        assert server.feed is not None
        step = 0
        while True:
            step += 1
            price = Decimal("10.5") + Decimal(step % 100) / 100
            await server.feed.apply(dict.fromkeys(names, price))
            await asyncio.sleep(1.0)

    run_event_loop(main())


def serve_bare(port: int, canned_path: str) -> None:
    """picows on uvloop: the canned bytes to every connection once a second."""
    import uvloop
    from picows import WSListener, WSMsgType, ws_create_server

    canned = Path(canned_path).read_bytes()
    connected: set[Any] = set()

    class Subscriber(WSListener):  # type: ignore[misc]
        def on_ws_connected(self, transport: Any) -> None:
            connected.add(transport)

        def on_ws_disconnected(self, transport: Any) -> None:
            connected.discard(transport)

    async def main() -> None:
        server = await ws_create_server(lambda _: Subscriber(), "127.0.0.1", port)
        while True:
            await asyncio.sleep(1.0)
            for transport in tuple(connected):
                transport.send(WSMsgType.TEXT, canned)
        await server.serve_forever()

    uvloop.run(main())


# -- the subscribers ---------------------------------------------------------------------


def subscribe(url: str, subscribers: int, seconds: float, out_path: str) -> None:
    """Open ``subscribers`` connections to ``url``; count what arrives for ``seconds``
    after the first push reached every one; print ``counting`` when counting starts."""
    import uvloop
    from picows import WSListener, WSMsgType, ws_connect

    state = {"bytes": 0, "messages": 0, "sample": b""}
    reached: set[int] = set()

    class Counter(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                payload = frame.get_payload_as_bytes()
                state["bytes"] += len(payload)  # type: ignore[operator]
                state["messages"] += 1  # type: ignore[operator]
                state["sample"] = payload
                reached.add(id(self))

    async def main() -> None:
        connections = [await ws_connect(Counter, url) for _ in range(subscribers)]
        deadline = time.monotonic() + 20
        while len(reached) < subscribers and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        state["bytes"] = state["messages"] = 0
        print("counting", flush=True)
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - started
        result = {
            "bytes": state["bytes"],
            "messages": state["messages"],
            "elapsed": elapsed,
            "connected": len(reached),
        }
        Path(out_path).write_text(json.dumps(result))
        Path(out_path + ".sample").write_bytes(state["sample"])  # type: ignore[arg-type]
        for transport, _ in connections:
            transport.disconnect()

    uvloop.run(main())


# -- one measurement -----------------------------------------------------------------------


def _python(code: str, **options: Any) -> subprocess.Popen[bytes]:
    root = str(Path(__file__).parents[1])
    return subprocess.Popen([sys.executable, "-c", code], cwd=root, **options)


def measure(server_code: str, url_path: str, subscribers: int, seconds: float) -> dict[str, Any]:
    """Start a server, subscribe, count; bytes/s delivered and the server's CPU share."""
    port = free_port()
    server = _python(server_code.format(port=port))
    out = str(Path(tempfile.mkdtemp(prefix="posrisk-mark-streams-")) / "counted.json")
    try:
        wait_port(port, process=server)
        url = f"ws://127.0.0.1:{port}{url_path}"
        code = f"from benchmarks.mark_streams import subscribe; subscribe({url!r}, "
        code += f"{subscribers}, {seconds}, {out!r})"
        client = _python(code, stdout=subprocess.PIPE)
        assert client.stdout is not None
        client.stdout.readline()  # "counting"
        cpu, wall = cpu_seconds(server.pid), time.perf_counter()
        client.wait(seconds + 60)
        cpu, wall = cpu_seconds(server.pid) - cpu, time.perf_counter() - wall
    finally:
        server.terminate()
        server.wait(10)
    result: dict[str, Any] = json.loads(Path(out).read_text())
    result["bytes_per_s"] = result["bytes"] / result["elapsed"]
    result["cpu_share"] = cpu / wall
    result["sample"] = out + ".sample"
    return result


def run(subscribers: int, symbols: int, seconds: float, rounds: int) -> dict[str, float]:
    posrisk_code = (
        f"from benchmarks.mark_streams import serve_posrisk; serve_posrisk({{port}}, {symbols})"
    )
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    for _ in range(rounds):
        ours.append(measure(posrisk_code, f"/market/ws/{STREAM}", subscribers, seconds))
        bare_code = (
            "from benchmarks.mark_streams import serve_bare; "
            f"serve_bare({{port}}, {ours[-1]['sample']!r})"
        )
        bare.append(measure(bare_code, "/", subscribers, seconds))

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    payload = Path(ours[-1]["sample"]).stat().st_size
    return {
        "payload_bytes": payload,
        "connected": min(r["connected"] for r in ours),
        "posrisk_bytes_per_s": median(ours, "bytes_per_s"),
        "posrisk_cpu_share": median(ours, "cpu_share"),
        "bare_bytes_per_s": median(bare, "bytes_per_s"),
        "bare_cpu_share": median(bare, "cpu_share"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--symbols", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    r = run(args.subscribers, args.symbols, args.seconds, args.rounds)
    ratio = r["posrisk_cpu_share"] / r["bare_cpu_share"] if r["bare_cpu_share"] else 0.0
    print(
        f"{STREAM}, {args.symbols} symbols ({r['payload_bytes']:,} bytes a push), "
        f"{r['connected']} subscribers, medians of {args.rounds} rounds of {args.seconds:g} s:"
    )
    print(
        f"  posrisk: {r['posrisk_bytes_per_s'] / 1e6:.2f} MB/s delivered, "
        f"server CPU {r['posrisk_cpu_share']:.1%}"
    )
    print(
        f"  bare picows broadcast: {r['bare_bytes_per_s'] / 1e6:.2f} MB/s delivered, "
        f"server CPU {r['bare_cpu_share']:.1%}"
    )
    print(f"  posrisk CPU / bare CPU: {ratio:.1f}x")


if __name__ == "__main__":
    main()
