"""The plain-HTTP patterns of ``benchmarks.abuse``: hostile REST clients on the WS port.

- ``silent``: connections that never send a byte, opened as fast as the server takes
  them (each held until the server closes it, then opened again);
- ``slowloris``: 200 connections, each sending its request head a byte every 100 ms;
- ``longhead``: a kept-alive connection whose second request head grows inside one
  header, 64 kB at a time, as fast as it is taken;
- ``httpunread``: 16 kept-alive connections pipelining ``GET /fapi/v1/exchangeInfo``
  and never reading an answer.

Each counts what it got ("opened", "refused 429", "closed by the server", bytes sent).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

Counts = dict[str, int]

_PING = b"GET /fapi/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
_INFO = b"GET /fapi/v1/exchangeInfo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _bump(counts: Counts, key: str, by: int = 1) -> None:
    counts[key] = counts.get(key, 0) + by


async def open_from(url: str, ip: str, rcvbuf: int | None = None, limit: int = 1024) -> Any:
    """A TCP connection from ``ip`` to the server's port: (reader, writer); ``rcvbuf``, a
    small receive buffer."""
    port = int(url.split(":")[2].split("/")[0])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((ip, 0))
    sock.setblocking(False)
    await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port)), 10)
    return await asyncio.open_connection(sock=sock, limit=limit)


async def _until_closed(reader: asyncio.StreamReader, end: float) -> bytes:
    """What the server sent before closing (or before ``end``)."""
    got = b""
    while (left := end - time.perf_counter()) > 0:
        try:
            chunk = await asyncio.wait_for(reader.read(4096), left)
        except (TimeoutError, OSError):
            break
        if not chunk:
            break
        got += chunk
    return got


async def silent(url: str, ip: str, seconds: float, counts: Counts) -> None:
    end = time.perf_counter() + seconds

    async def one() -> None:
        while time.perf_counter() < end:
            try:
                reader, writer = await open_from(url, ip)
            except (TimeoutError, OSError):
                _bump(counts, "connect failed")
                await asyncio.sleep(0.01)
                continue
            _bump(counts, "opened")
            got = await _until_closed(reader, end)
            _bump(counts, "refused 429" if got.startswith(b"HTTP/1.1 429") else "held")
            writer.close()

    await asyncio.gather(*(one() for _ in range(500)))


async def slowloris(url: str, ip: str, seconds: float, counts: Counts) -> None:
    end = time.perf_counter() + seconds
    head = b"GET /fapi/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 10_000

    async def one() -> None:
        try:
            reader, writer = await open_from(url, ip)
        except (TimeoutError, OSError):
            _bump(counts, "connect failed")
            return
        try:
            for byte in head:
                if time.perf_counter() > end or reader.at_eof():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.1)
        except OSError:
            pass
        _bump(counts, "closed by the server" if reader.at_eof() else "still open at the end")
        writer.close()

    await asyncio.gather(*(one() for _ in range(200)))


async def longhead(url: str, ip: str, seconds: float, counts: Counts) -> None:
    end = time.perf_counter() + seconds
    reader, writer = await open_from(url, ip)
    writer.write(_PING + b"GET /fapi/v1/ping HTTP/1.1\r\nX-Long: ")
    chunk = b"a" * 65536
    try:
        while time.perf_counter() < end and not reader.at_eof():
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 10)
            _bump(counts, "kB sent", 64)
    except (TimeoutError, OSError):
        _bump(counts, "closed by the server")
    got = await _until_closed(reader, min(end, time.perf_counter() + 1))
    if b" 431 " in got:
        _bump(counts, "refused 431")
    writer.close()


async def httpunread(url: str, ip: str, seconds: float, counts: Counts) -> None:
    end = time.perf_counter() + seconds

    async def one() -> None:
        _, writer = await open_from(url, ip, rcvbuf=4096)
        try:
            while time.perf_counter() < end:
                writer.write(_INFO * 16)
                await asyncio.wait_for(writer.drain(), max(0.01, end - time.perf_counter()))
                _bump(counts, "requests sent", 16)
                await asyncio.sleep(0.05)
        except TimeoutError:
            _bump(counts, "writes stalled (server stopped reading)")
        except OSError:
            _bump(counts, "closed by the server")
        writer.close()

    await asyncio.gather(*(one() for _ in range(16)))


HTTP_PATTERNS: dict[str, Callable[[str, str, float, Counts], Any]] = {
    "silent": silent,
    "slowloris": slowloris,
    "longhead": longhead,
    "httpunread": httpunread,
}
