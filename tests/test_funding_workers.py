"""Funding with ``serve --workers 2`` on PostgreSQL and Redis: both workers cross the
funding time (their clock is a file this test moves), both are killed (SIGKILL) in the
middle of the settlement over many accounts and started again by the supervisor, and the
settlement they resume pays every account exactly once: nothing twice, nothing missed."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from posrisk.app import ServerSettings
from posrisk.workers import Supervisor

from .bus.conftest import REDIS_URL, redis_reachable
from .bus.file_clock import FileClock
from .store.conftest import POSTGRES_DSN, postgres_schema

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(240)]

T = 1_700_006_400_000  # 2023-11-15 00:00 UTC, a funding time
ACCOUNTS = 2000


async def until(condition: Any, seconds: float = 90.0, every: float = 0.005) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(every)


def scenario(path: Path) -> Path:
    accounts = [
        {
            "name": f"acct-{n:05d}",
            "deposits": {"USDT": "1000"},
            "fills": [
                {"symbol": "BTCUSDT", "side": "BUY" if n % 2 else "SELL", "qty": "0.010",
                 "price": "20000"}
            ],
        }
        for n in range(ACCOUNTS)
    ]  # fmt: skip
    path.write_text(json.dumps({"accounts": accounts, "marks": {"BTCUSDT": "21000"}}))
    return path


async def test_killed_workers_resume_the_settlement_and_pay_each_account_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await redis_reachable(REDIS_URL)
    admin, schema = await postgres_schema()
    monkeypatch.setenv("POSRISK_MASTER_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    clock = FileClock(tmp_path / "clock")
    clock.set(T - 60_000)
    settings = ServerSettings(
        db=f"{POSTGRES_DSN}?search_path={schema}",
        redis=REDIS_URL,
        redis_prefix=f"posrisk-test-{uuid.uuid4().hex[:8]}:",
        port=0,
        admin_port=None,
        scenario=scenario(tmp_path / "scenario.json"),
        marks_save_s=0.05,  # the workers look for due funding this often
        enforce_limits=False,
        clock=clock,
    )
    supervisor = Supervisor(settings, 2, restart_delay_s=0.1)
    stopping = threading.Event()
    watcher: threading.Thread | None = None

    async def fees() -> int:
        return int(
            await admin.fetchval(
                f'SELECT COUNT(*) FROM "{schema}".ledger WHERE kind = $1', "funding"
            )
        )

    try:
        await asyncio.to_thread(supervisor.start)
        watcher = threading.Thread(target=supervisor.watch, args=(stopping.is_set,), daemon=True)
        watcher.start()
        clock.set(T + 100)  # both workers cross the funding time

        async def begun() -> bool:
            return await fees() > 0

        await until(begun)
        for process in supervisor.processes:
            os.kill(process.pid, signal.SIGKILL)
        at_kill = await fees()
        assert at_kill < ACCOUNTS, "the settlement finished before the kill: use more accounts"

        async def restarted() -> bool:
            return supervisor.restarts >= 2 and all(p.is_alive() for p in supervisor.processes)

        await until(restarted, every=0.05)
        unfinished = await admin.fetch(
            f'SELECT symbol, funding_time FROM "{schema}".funding_settlements '
            "WHERE finished_at IS NULL"
        )
        assert [tuple(r) for r in unfinished] == [("BTCUSDT", T)]
        clock.set(T + 100 + 31_000)  # past the grace: the restarted workers resume it

        async def finished() -> bool:
            left = await admin.fetchval(
                f'SELECT COUNT(*) FROM "{schema}".funding_settlements WHERE finished_at IS NULL'
            )
            return int(left) == 0

        await until(finished, every=0.05)
        per_account = await admin.fetch(
            f'SELECT account_id, COUNT(*) FROM "{schema}".ledger WHERE kind = $1 '
            "GROUP BY account_id",
            "funding",
        )
        assert len(per_account) == ACCOUNTS  # nothing missed
        assert {int(r[1]) for r in per_account} == {1}  # nothing twice
    finally:
        stopping.set()
        await asyncio.to_thread(supervisor.stop)
        if watcher is not None:
            watcher.join(5)
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
