"""A server on PostgreSQL (``--db postgresql://...``) serves and persists like on SQLite."""

from __future__ import annotations

import base64
import os
from decimal import Decimal
from pathlib import Path

import pytest
import websockets

from posrisk.engine import Fill, PositionSide, Side

from ..service.conftest import HEDGE_KEY, HEDGE_SECRET, Keys
from ..store.conftest import POSTGRES_DSN, postgres_schema
from .conftest import make_server
from .test_server import ask, signed

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def test_serve_on_postgresql_and_restart(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With no database file to sit beside, the master key comes from the environment.
    monkeypatch.setenv("POSRISK_MASTER_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    admin, schema = await postgres_schema()
    dsn = f"{POSTGRES_DSN}?search_path={schema}"
    try:
        first = await make_server(tmp_path, keys, db=dsn, admin_token="pg-test-token")
        assert first.admin is not None
        async with websockets.connect(first.ws_url) as ws:
            reply = await ask(
                ws, "account.position", signed(HEDGE_KEY, HEDGE_SECRET, symbol="BTCUSDT")
            )
            assert reply["result"][0]["liquidationPrice"] == "19731.45529116"
        await first.admin.fill(
            "bob",
            Fill("BTCUSDT", Side.BUY, Decimal("0.002"), Decimal("21000"), PositionSide.LONG),
            force=True,  # bob's wallet is the SPEC's 2.53: too little to open more
        )
        async with websockets.connect(first.ws_url) as ws:
            before = await ask(ws, "v2/account.position", signed(HEDGE_KEY, HEDGE_SECRET))
        await first.stop()

        again = await make_server(tmp_path, keys, db=dsn, scenario=None, admin_token="t")
        try:
            async with websockets.connect(again.ws_url) as ws:
                after = await ask(ws, "v2/account.position", signed(HEDGE_KEY, HEDGE_SECRET))
            assert after["result"] == before["result"]
            assert after["result"][0]["positionAmt"] == "0.003"
        finally:
            await again.stop()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
