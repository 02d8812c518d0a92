"""The mark feed: ticks move rows at once, are saved, and liquidate when asked."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from posrisk.engine import (
    Fill,
    MarginType,
    PositionSide,
    SetLeverage,
    SetMarginType,
    Side,
    UpdateReason,
    WalletTransfer,
)
from posrisk.service.mark_feed import MarkFeed

from ..gateway.conftest import make_server
from ..service.conftest import Env, Keys, restarted

pytestmark = pytest.mark.asyncio
D = Decimal


async def isolated_long(env: Env) -> None:
    """alice: isolated BTCUSDT long 1 @ 100 at 10x (LP ≈ 90.46, bankruptcy 90.1)."""
    await env.admin.create_account("alice")
    await env.admin.apply_events(
        "alice",
        [
            WalletTransfer("USDT", D("1000")),
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            Fill("BTCUSDT", Side.BUY, D("1"), D("100"), fee=D("0.1")),
        ],
    )
    env.updates.clear()


async def test_a_tick_moves_the_marks_now_and_sends_no_update(env: Env) -> None:
    await isolated_long(env)
    feed = MarkFeed(env.admin)
    version = env.registry.marks_version
    await feed.apply({"BTCUSDT": D("95"), "NOTASYMBOL": D("1"), "ETHUSDT": D("0")})
    assert env.registry.marks == {"BTCUSDT": D("95")}
    assert env.registry.marks_version == version + 1
    assert env.updates == [] and feed.ticks == 1


async def test_ticks_are_saved_periodically_and_at_stop(env: Env) -> None:
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await gate.wait()  # one save per release
        gate.clear()

    feed = MarkFeed(env.admin, sleep=sleep)
    feed.start(None)
    await feed.apply({"BTCUSDT": D("61000")})
    assert (await restarted(env.path))[0].marks == {}
    gate.set()
    # The save runs on the store's worker thread: wait for its outcome, not for a count of
    # event-loop turns (bounded, so a lost save fails rather than hangs).
    for _ in range(500):
        if (await restarted(env.path))[0].marks:
            break
        await asyncio.sleep(0.01)
    assert (await restarted(env.path))[0].marks == {"BTCUSDT": D("61000")}
    await feed.apply({"ETHUSDT": D("2000")})
    await feed.stop()
    assert (await restarted(env.path))[0].marks == {"BTCUSDT": D("61000"), "ETHUSDT": D("2000")}


async def test_no_liquidation_unless_asked(env: Env) -> None:
    await isolated_long(env)
    await MarkFeed(env.admin).apply({"BTCUSDT": D("80")})
    assert env.registry.account("alice").account.position("BTCUSDT", PositionSide.BOTH).amount


async def test_a_tick_through_the_liquidation_price_liquidates(env: Env) -> None:
    await isolated_long(env)
    feed = MarkFeed(env.admin, liquidate=True)
    await feed.apply({"BTCUSDT": D("91")})
    assert env.updates == []
    await feed.apply({"BTCUSDT": D("90")})
    account = env.registry.account("alice").account
    assert account.position("BTCUSDT", PositionSide.BOTH).amount == 0
    assert account.wallet_balance("USDT") == D("990")  # closed at the bankruptcy price 90.1
    [(name, _, change, _)] = env.updates
    assert (name, change.reason) == ("alice", UpdateReason.ORDER)
    assert feed.liquidations == 1
    # Durable like any other change.
    fresh = (await restarted(env.path))[1].account("alice").account
    assert fresh == account


async def test_marks_set_by_an_administrator_liquidate_too(env: Env) -> None:
    await isolated_long(env)
    MarkFeed(env.admin, liquidate=True)
    await env.admin.set_marks({"BTCUSDT": D("50")})
    assert not env.registry.account("alice").account.open_positions()


async def test_a_server_replaying_marks(tmp_path: Path, keys: Keys) -> None:
    replay = tmp_path / "marks.csv"
    replay.write_text("1,BTCUSDT,21000\n2,BTCUSDT,20500.5\n3,ETHUSDT,1200\n")
    server = await make_server(tmp_path, keys, marks="replay", marks_file=replay, marks_speed=0)
    try:
        assert server.feed is not None and not server.feed.liquidate  # a scenario: off
        for _ in range(100):
            if server.feed.ticks == 3:
                break
            await asyncio.sleep(0.01)
        assert server.registry.marks["BTCUSDT"] == D("20500.5")
        assert server.registry.marks["ETHUSDT"] == D("1200")
    finally:
        await server.stop()
    assert (await restarted(tmp_path / "posrisk.db"))[0].marks["ETHUSDT"] == D("1200")


async def test_the_demo_liquidates_by_default(tmp_path: Path) -> None:
    from posrisk.app import PosriskServer, ServerSettings

    server = PosriskServer(ServerSettings(db=str(tmp_path / "demo.db"), port=0, admin_port=0))
    await server.start()
    try:
        assert server.feed is not None and server.feed.liquidate
    finally:
        await server.stop()
    again = PosriskServer(ServerSettings(db=str(tmp_path / "demo.db"), port=0, admin_port=0))
    await again.start()  # still the demo database after a restart
    try:
        assert again.feed is not None and again.feed.liquidate
    finally:
        await again.stop()
