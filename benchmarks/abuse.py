"""Hostile clients on other IPs against an honest one, with the real limits on.

    python -m benchmarks.abuse [--seconds 10]

``posrisk serve`` runs with Binance's limits (2400 weight/min per IP, bans after a 429,
300 stream connections per 5 minutes per IP). An honest client on 127.0.0.1 sends a
signed ``account.position`` every 150 ms (inside its budget), first alone, then while
each hostile pattern runs in a process of its own on another loopback address (another
IP to the server; one per pattern, so a ban earned by one does not hide the next):

- ``flood``: requests and reconnects as fast as it can;
- ``deep`` (A.1): ~1 MiB text frames, an unknown method, params of thousands of 200-deep
  arrays of 1.5, back to back;
- ``deep64``: the same, in frames just under 64 KiB (a longer frame is refused unread);
- ``wide`` (A.1): signed requests with 40,000 params and an unknown key, back to back;
- ``fragments`` (A.2): a text frame with fin=0, then millions of empty masked
  continuation frames (``00 80 00 00 00 00``), reconnecting when closed;
- ``unread`` (A.3): one connection pipelining all-symbol ``account.position`` requests
  (hedge mode, ~250 kB each; 47 a second, ~470 in all) and never reading;
- ``streams`` (A.4): 1,000 user-stream connections opened within a second, held open;
- ``silent``, ``slowloris``, ``longhead``, ``httpunread``: plain HTTP on the same port
  (``abuse_http``): connections that say nothing, heads a byte at a time, a head growing
  inside one header, pipelined REST requests never read.

Prints one table: the honest client's p50/p99 and the ratio of its p50 to the unloaded
one, the server's RSS (VmRSS) before each pattern and at the end of its measurement (the
attack still running), and what the attacker got (for ``streams``: the connections one
IP got before the first refusal). Patterns run one after the other in one server; each
starts once the server has answered what the last one left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets

from benchmarks.abuse_http import HTTP_PATTERNS, open_from
from benchmarks.server import API_KEY, SECRET, free_port, scenario, wait_port

Counts = dict[str, int]


def signed_frame(n: int, symbol: str | None = "BTCUSDT") -> bytes:
    # The longest recvWindow Binance takes: a delayed answer is measured, not refused.
    params: dict[str, Any] = {
        "apiKey": API_KEY,
        "recvWindow": 60_000,
        "timestamp": time.time_ns() // 1_000_000,
    }
    if symbol is not None:
        params["symbol"] = symbol
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
    params["signature"] = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    return json.dumps({"id": n, "method": "account.position", "params": params}).encode()


async def honest(ws: Any, seconds: float) -> list[float]:
    """A signed request every 150 ms on ``ws`` (a connection held all along, as a bot's)."""
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        await ws.send(signed_frame(len(latencies)).decode())  # a text frame
        reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
        assert reply["status"] == 200, reply
        latencies.append((time.perf_counter() - started) * 1e3)
        await asyncio.sleep(0.15)
    return latencies


# -- the attackers: each runs in its own process (``attack``) --------------------------------


def _bump(counts: Counts, key: str, by: int = 1) -> None:
    counts[key] = counts.get(key, 0) + by


async def _picows(url: str, ip: str, counts: Counts) -> Any:
    """A picows connection from ``ip`` that counts its answers by status."""
    from picows import WSListener, WSMsgType, ws_connect

    class Counter(WSListener):
        def pause_writing(self) -> None:  # our own buffer: bounded in the send loop
            pass

        def resume_writing(self) -> None:
            pass

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                _bump(counts, f"status {json.loads(frame.get_payload_as_bytes()).get('status')}")
            elif frame.msg_type is WSMsgType.CLOSE:
                _bump(counts, f"closed {frame.get_close_code().value}")

    transport, _ = await ws_connect(
        Counter, url, local_addr=(ip, 0), max_frame_size=64 << 20, websocket_handshake_timeout=10
    )
    return transport


async def _send_back_to_back(
    url: str, ip: str, seconds: float, counts: Counts, frame: Callable[[int], bytes]
) -> None:
    """Send ``frame(n)`` as fast as the socket takes it, reconnecting when refused."""
    from picows import WSError, WSMsgType

    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        try:
            transport = await _picows(url, ip, counts)
        except (TimeoutError, WSError, OSError):
            _bump(counts, "refused handshakes")
            await asyncio.sleep(0.01)
            continue
        while not transport.is_disconnected and time.perf_counter() < end:
            n += 1
            transport.send(WSMsgType.TEXT, frame(n))
            _bump(counts, "sent")
            while transport.underlying_transport.get_write_buffer_size() > 4 << 20:
                await asyncio.sleep(0.001)  # our own side: never buffer without bound
            await asyncio.sleep(0)
        transport.disconnect()


async def flood(url: str, ip: str, seconds: float, counts: Counts) -> None:
    """Signed requests and reconnects as fast as possible."""
    await _send_back_to_back(url, ip, seconds, counts, signed_frame)


def deep_frame(size: int = 1_000_000, depth: int = 200) -> bytes:
    """~``size`` bytes: an unknown method whose params hold 200-deep arrays of 1.5."""
    nested = "[" * depth + "1.5" + "]" * depth
    count = max(1, size // (len(nested) + 9))
    params = ",".join(f'"a{i}":{nested}' for i in range(count))
    return f'{{"id":1,"method":"nope","params":{{{params}}}}}'.encode()


async def deep(url: str, ip: str, seconds: float, counts: Counts) -> None:
    frame = deep_frame()
    await _send_back_to_back(url, ip, seconds, counts, lambda n: frame)


async def deep64(url: str, ip: str, seconds: float, counts: Counts) -> None:
    """``deep`` with frames just under the 64 KiB a request may be: the worst still read."""
    frame = deep_frame(65_000)
    await _send_back_to_back(url, ip, seconds, counts, lambda n: frame)


def wide_frame(params: int = 40_000) -> bytes:
    """A signed-looking request with ``params`` params and a key nobody has."""
    body: dict[str, Any] = {"apiKey": "noSuchKey0001", "timestamp": time.time_ns() // 1_000_000}
    body.update({f"p{i}": "x" for i in range(params)})
    body["signature"] = "0" * 64
    return json.dumps({"id": 1, "method": "account.position", "params": body}).encode()


async def wide(url: str, ip: str, seconds: float, counts: Counts) -> None:
    frame = wide_frame()
    await _send_back_to_back(url, ip, seconds, counts, lambda n: frame)


async def _raw(url: str, ip: str, path: str, rcvbuf: int | None = None) -> Any:
    """A WS handshake by hand from ``ip``: (reader, writer, head). With ``rcvbuf``, a
    small receive buffer, and the reader takes at most 2 kB before it stops reading."""
    reader, writer = await open_from(url, ip, rcvbuf, 1024 if rcvbuf else 1 << 16)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade"
        f"\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    return reader, writer, head


def _masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    assert len(payload) < 126
    mask = os.urandom(4)
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + mask + data


async def fragments(url: str, ip: str, seconds: float, counts: Counts) -> None:
    """fin=0 text, then empty masked continuations until closed; again until the end."""
    chunk = b"\x00\x80\x00\x00\x00\x00" * 100_000
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        try:
            _, writer, head = await _raw(url, ip, "/ws-fapi/v1")
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            _bump(counts, "refused handshakes")
            continue
        if not head.startswith(b"HTTP/1.1 101"):
            _bump(counts, "refused handshakes")
            writer.close()
            await asyncio.sleep(0.01)
            continue
        writer.write(_masked(0x1, b'{"id":1,', fin=False))
        try:
            while time.perf_counter() < end:
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), 10)
                _bump(counts, "continuations sent", 100_000)
        except (TimeoutError, OSError):
            _bump(counts, "closed by the server")
        writer.close()


async def unread(url: str, ip: str, seconds: float, counts: Counts) -> None:
    """All-symbol requests pipelined on one connection (47 a second), never read."""
    _, writer, head = await _raw(url, ip, "/ws-fapi/v1", rcvbuf=4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    end = time.perf_counter() + seconds
    n = 0
    try:
        while time.perf_counter() < end and n < 470:
            for _ in range(47):
                n += 1
                frame = signed_frame(n, None)
                mask = os.urandom(4)
                body = bytes(b ^ mask[i % 4] for i, b in enumerate(frame))
                writer.write(b"\x81\xfe" + len(frame).to_bytes(2, "big") + mask + body)
            await asyncio.wait_for(writer.drain(), 10)
            _bump(counts, "requests sent", 47)
            await asyncio.sleep(1)
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
    except (TimeoutError, OSError):
        _bump(counts, "closed by the server")
    writer.close()


async def streams(url: str, ip: str, seconds: float, counts: Counts, total: int = 1000) -> None:
    """``total`` user-stream connections opened within a second, held until the end."""
    async with websockets.connect(url, open_timeout=10, local_addr=(ip, 0)) as ws:
        request = {"id": 1, "method": "userDataStream.start", "params": {"apiKey": API_KEY}}
        await ws.send(json.dumps(request))
        key = json.loads(await asyncio.wait_for(ws.recv(), 10))["result"]["listenKey"]
    end = time.perf_counter() + seconds
    held: list[Any] = []

    async def one() -> None:
        try:
            _, writer, head = await _raw(url, ip, f"/ws/{key}")
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            _bump(counts, "failed (no answer)")
            return
        if head.startswith(b"HTTP/1.1 101"):
            _bump(counts, "opened")
            if "refused" not in counts:
                _bump(counts, "opened before the first refusal")
            held.append(writer)
        else:
            _bump(counts, "refused")
            _bump(counts, f"refused {head.split(b' ')[1].decode()}")
            writer.close()

    started = time.perf_counter()
    for start in range(0, total, 100):  # in ten waves within the second
        await asyncio.gather(*(one() for _ in range(min(100, total - start))))
        await asyncio.sleep(max(0.0, started + (start + 100) / total - time.perf_counter()))
    await asyncio.sleep(max(0.0, end - time.perf_counter()))
    for writer in held:
        writer.close()


PATTERNS: dict[str, Callable[[str, str, float, Counts], Any]] = {
    "flood": flood,
    "deep": deep,
    "deep64": deep64,
    "wide": wide,
    "fragments": fragments,
    "unread": unread,
    "streams": streams,
    **HTTP_PATTERNS,  # plain HTTP on the same port (``abuse_http``)
}


def attack(name: str, url: str, ip: str, seconds: float, out: str) -> None:
    """One pattern in this process (``python -c``), its counts written to ``out``; says
    "ready" on stdout once its modules are loaded, so the measurement starts with it."""
    import picows  # noqa: F401  # loaded before "ready", as everything the patterns use
    import uvloop

    counts: Counts = {}
    print("ready", flush=True)
    try:
        uvloop.run(PATTERNS[name](url, ip, seconds, counts))
    except Exception as e:  # the table says what went wrong rather than nothing
        _bump(counts, f"attacker error {type(e).__name__}")
    Path(out).write_text(json.dumps(counts))


# -- the run -----------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(seconds: float, patterns: list[str]) -> list[dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp(prefix="posrisk-abuse-bench-"))
    (workdir / "scenario.json").write_text(json.dumps(scenario(hedge=True)))
    port = free_port()
    command = [sys.executable, "-m", "posrisk.cli", "serve", "--db", str(workdir / "a.db")]
    command += ["--port", str(port), "--scenario", str(workdir / "scenario.json"), "--no-admin"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"ws://127.0.0.1:{port}/ws-fapi/v1"
    rows: list[dict[str, Any]] = []
    try:
        wait_port(port, process=server)
        ws = await websockets.connect(url, open_timeout=30)
        rss = rss_mib(server.pid)
        rows.append({"pattern": "alone", "ip": "-", "latencies": await honest(ws, seconds)})
        rows[-1].update(before=rss, after=rss_mib(server.pid), got={})
        for n, name in enumerate(patterns):
            ip = f"127.0.0.{n + 2}"
            out = workdir / f"{name}.json"
            before = rss_mib(server.pid)
            code = (
                "from benchmarks.abuse import attack; "
                f"attack({name!r}, {url!r}, {ip!r}, {seconds + 1}, {str(out)!r})"
            )
            attacker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                code,
                cwd=str(Path(__file__).parents[1]),
                stdout=asyncio.subprocess.PIPE,
            )
            assert attacker.stdout is not None
            await asyncio.wait_for(attacker.stdout.readline(), 60)
            await asyncio.sleep(0.5)  # the attack under way
            latencies = await honest(ws, seconds)
            after = rss_mib(server.pid)  # while the attack still runs
            await asyncio.wait_for(attacker.wait(), seconds + 60)
            got = json.loads(out.read_text()) if out.exists() else {"no report": 1}
            rows.append(
                {"pattern": name, "ip": ip, "latencies": latencies, "before": before}
                | {"after": after, "got": got}
            )
            await asyncio.wait_for(honest(ws, 0.001), 300)  # what it left behind is done
        await ws.close()
    finally:
        server.terminate()
        server.wait(10)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    base = statistics.median(rows[0]["latencies"])
    lines = [
        f"{'pattern':<10} {'from':<10} {'p50 ms':>8} {'p99 ms':>8} {'x p50':>6} "
        f"{'RSS MiB before -> after':>24}  attacker got"
    ]
    for row in rows:
        values = sorted(row["latencies"])
        p50 = statistics.median(values)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        got = ", ".join(f"{k}: {v}" for k, v in sorted(row["got"].items())) or "-"
        rss = f"{row['before']:.1f} -> {row['after']:.1f}"
        lines.append(
            f"{row['pattern']:<10} {row['ip']:<10} {p50:>8.2f} {p99:>8.2f} "
            f"{p50 / base:>6.1f} {rss:>24}  {got}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--patterns", default=",".join(PATTERNS), help="comma-separated")
    args = parser.parse_args()
    print(table(asyncio.run(run(args.seconds, args.patterns.split(",")))))


if __name__ == "__main__":
    main()
