"""The composition root: what ``PosriskServer`` wires together outlives a failing disk."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from posrisk.app import PosriskServer, ServerSettings
from posrisk.protocol import LimitRules
from posrisk.service.clock import ManualClock
from posrisk.store import Change, StoreError

from .gateway.conftest import make_server
from .service.conftest import Keys, keys

__all__ = ["keys"]  # the fixture

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


async def test_a_ban_the_full_disk_refused_is_saved_once_it_recovers(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(1_700_000_020_000)
    rules = LimitRules(request_weight=10, ban_after_rejections=1)
    server = await make_server(tmp_path, keys, limits=rules, clock=clock)
    full, refused = True, 0
    commit = server.store.commit

    async def full_disk(changes: Sequence[Change], *, expect: int | None = None) -> int | None:
        nonlocal refused
        if full:
            refused += 1
            raise StoreError("posrisk.db: the disk is full (write refused, nothing changed)")
        return await commit(changes, expect=expect)

    monkeypatch.setattr(server.store, "commit", full_disk)
    try:
        assert server.gateway is not None
        limiter = server.gateway.api.limiter
        for _ in range(3):  # allowed, throttled, banned
            limiter.charge("10.1.2.3", 10, clock.now)
        assert limiter.bans == {"10.1.2.3": (clock.now + 120_000, 1)}
        for _ in range(5):  # the writer tries, and the full disk refuses
            await asyncio.sleep(0)
        assert refused == 1
        full = False  # the disk has room again by the time the server stops
    finally:
        await server.stop()

    again = await make_server(tmp_path, keys, limits=rules, clock=clock, scenario=None)
    try:
        assert again.gateway is not None
        assert again.gateway.api.limiter.bans == {"10.1.2.3": (clock.now + 120_000, 1)}
    finally:
        await again.stop()


def test_only_a_gateway_on_a_bus_keeps_its_clock_from_being_moved() -> None:
    class Due:  # what the clock control runs after a move
        async def expire(self) -> None: ...

        async def settle_due(self) -> None: ...

    due: Any = Due()
    alone = PosriskServer(ServerSettings(db="postgresql://127.0.0.1/none"))
    control = alone._clock_control(due, due)
    assert control is not None and not control.shared  # no --redis: alone on its database
    shared = PosriskServer(ServerSettings(db="postgresql://127.0.0.1/none", redis="redis://x"))
    control = shared._clock_control(due, due)
    assert control is not None and control.shared


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_restarted_server_keeps_its_clock_where_it_was_moved(
    tmp_path: Path, keys: Keys
) -> None:
    first = await make_server(tmp_path, keys, admin_port=None)
    assert first.clock_control is not None
    await first.clock_control.advance(8 * 3_600_000)
    await first.stop()
    again = await make_server(tmp_path, keys, admin_port=None, scenario=None)
    try:
        assert again.clock.advanced_ms == 8 * 3_600_000  # the exchange's time never goes back
    finally:
        await again.stop()
