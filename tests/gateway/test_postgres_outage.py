"""PostgreSQL briefly unavailable: writes get a clear 503 -1001 quickly (no hang), reads
keep being served from memory, and writes work again without a restart."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from pathlib import Path

import aiohttp
import pytest
import websockets

from ..service.conftest import Keys
from ..store.conftest import POSTGRES_DSN, postgres_schema
from .conftest import make_server
from .test_server import ask, signed

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]
TOKEN = "outage-test-token"


class Cuttable:
    """A TCP proxy in front of PostgreSQL that the test can cut and restore."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.up = True
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.links |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def cut(self) -> None:
        self.up = False
        for link in self.links:
            link.close()
        self.links.clear()


async def test_a_postgresql_outage_is_survived(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSRISK_MASTER_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    admin, schema = await postgres_schema()
    proxy = Cuttable(5432)
    port = await proxy.start()
    dsn = POSTGRES_DSN.replace("127.0.0.1:5432", f"127.0.0.1:{port}") + f"?search_path={schema}"
    server = await make_server(tmp_path, keys, db=dsn, admin_token=TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    deposit = f"{server.admin_url}/accounts/alice/wallet"
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.post(deposit, json={"amount": "1"}) as ok:
                assert ok.status == 200
            proxy.cut()
            started = asyncio.get_running_loop().time()
            async with http.post(deposit, json={"amount": "2"}) as refused:
                body = json.loads(await refused.read())
            assert refused.status == 503 and body["code"] == -1001
            assert body["msg"].startswith("Database unavailable:")
            assert asyncio.get_running_loop().time() - started < 15  # an answer, not a hang
            async with websockets.connect(server.ws_url) as ws:  # reads: from memory
                assert (await ask(ws, "v2/account.position", signed()))["status"] == 200
            proxy.up = True
            async with http.post(deposit, json={"amount": "3"}) as again:
                assert again.status == 200  # no restart needed
                wallet = json.loads(await again.read())["balances"][0]["walletBalance"]
            assert wallet == "1004.00000000"  # 1000 + 1 + 3: the refused 2 left no trace
    finally:
        await server.stop()
        proxy.server.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
