"""IP bans reach the database even when it refuses them for a while: kept (the latest per
IP), retried with a doubling delay, written at shutdown, forgotten once ended."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from posrisk.service.bans import BanWriter, saved_bans
from posrisk.service.clock import ManualClock
from posrisk.store import Change, SetMeta, StoreError

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

NOW = 1_700_000_000_000


class FullDisk:
    """A store's meta table whose commits fail while ``full`` (as on a full disk), then go
    through (in memory, no thread: every step of the writer is one turn of the loop)."""

    def __init__(self) -> None:
        self.full = True
        self.meta: dict[str, str] = {}
        self.attempts: list[list[Change]] = []

    async def commit(self, changes: Sequence[Change], *, expect: int | None = None) -> int | None:
        self.attempts.append(list(changes))
        if self.full:
            raise StoreError("posrisk.db: the disk is full (write refused, nothing changed)")
        for change in changes:
            assert isinstance(change, SetMeta)
            self.meta[change.key] = change.value
        return None

    async def saved(self) -> dict[str, tuple[int, int]]:
        return saved_bans(self.meta)


@dataclass
class Waits:
    """The writer's retry delays, recorded; each returns once the test lets it."""

    delays: list[float] = field(default_factory=list)
    go: asyncio.Queue[None] = field(default_factory=asyncio.Queue)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await self.go.get()

    async def settle(self) -> None:
        for _ in range(10):  # let the writer run up to its next wait
            await asyncio.sleep(0)


@pytest.fixture
def disk() -> FullDisk:
    return FullDisk()


def writer(disk: FullDisk, clock: ManualClock, waits: Waits, **options: int) -> BanWriter:
    return BanWriter(
        disk,  # type: ignore[arg-type]
        clock,
        first_retry_s=0.5,
        max_retry_s=4,
        wait=waits,
        **options,
    )


async def test_a_ban_refused_by_a_full_disk_is_retried_with_backoff_until_saved(
    disk: FullDisk, caplog: pytest.LogCaptureFixture
) -> None:
    clock, waits = ManualClock(NOW), Waits()
    bans = writer(disk, clock, waits)
    caplog.set_level(logging.WARNING, "posrisk.bans")
    bans.save("10.0.0.1", NOW + 120_000, 1)
    await waits.settle()
    for _ in range(5):
        waits.go.put_nowait(None)
        await waits.settle()
    assert waits.delays == [0.5, 1, 2, 4, 4, 4]
    assert bans.pending == {"10.0.0.1": (NOW + 120_000, 1)}
    assert repr(bans) == "<BanWriter 1 pending, failing (6 in a row)>"
    # One warning for the outage, not one per attempt.
    assert [r.getMessage() for r in caplog.records] == [
        "could not save 1 IP ban(s), retrying: posrisk.db: the disk is full (write refused, "
        "nothing changed)"
    ]
    disk.full = False
    waits.go.put_nowait(None)
    await waits.settle()
    assert await disk.saved() == {"10.0.0.1": (NOW + 120_000, 1)}
    assert (bans.pending, bans.failures, len(disk.attempts)) == ({}, 0, 7)
    assert "saved the IP bans after 6 failed attempts" in caplog.text
    # The next ban is written at once, and the delay starts again from the first.
    bans.save("10.0.0.2", NOW + 120_000, 1)
    await waits.settle()
    assert set(await disk.saved()) == {"10.0.0.1", "10.0.0.2"}
    assert len(waits.delays) == 6
    await bans.close()


async def test_only_the_latest_ban_of_an_ip_is_kept_pending(disk: FullDisk) -> None:
    clock, waits = ManualClock(NOW), Waits()
    bans = writer(disk, clock, waits)
    bans.save("10.0.0.1", NOW + 120_000, 1)
    await waits.settle()
    bans.save("10.0.0.1", NOW + 240_000, 2)
    bans.save("10.0.0.3", NOW + 120_000, 1)
    disk.full = False
    waits.go.put_nowait(None)
    await waits.settle()
    assert disk.attempts[-1] == [
        SetMeta("ban:10.0.0.1", '{"until": 1700000240000, "offences": 2}'),
        SetMeta("ban:10.0.0.3", '{"until": 1700000120000, "offences": 1}'),
    ]
    assert await disk.saved() == {"10.0.0.1": (NOW + 240_000, 2), "10.0.0.3": (NOW + 120_000, 1)}
    await bans.close()


async def test_a_ban_that_ends_before_the_disk_recovers_is_forgotten(disk: FullDisk) -> None:
    clock, waits = ManualClock(NOW), Waits()
    bans = writer(disk, clock, waits)
    bans.save("10.0.0.1", NOW + 120_000, 1)
    bans.save("10.0.0.2", NOW + 600_000, 2)
    await waits.settle()
    clock.advance(120_000)
    waits.go.put_nowait(None)
    await waits.settle()
    assert bans.pending == {"10.0.0.2": (NOW + 600_000, 2)}
    clock.advance(480_000)
    waits.go.put_nowait(None)
    await waits.settle()
    assert bans.pending == {} and repr(bans).startswith("<BanWriter 0 pending")
    attempts = len(disk.attempts)
    await bans.close()  # nothing left: no write at shutdown
    assert len(disk.attempts) == attempts


async def test_pending_bans_are_bounded_keeping_the_longest(disk: FullDisk) -> None:
    clock, waits = ManualClock(NOW), Waits()
    bans = writer(disk, clock, waits, max_pending=2)
    bans.save("10.0.0.1", NOW + 240_000, 2)
    bans.save("10.0.0.2", NOW + 120_000, 1)
    bans.save("10.0.0.3", NOW + 480_000, 3)
    assert bans.pending == {"10.0.0.1": (NOW + 240_000, 2), "10.0.0.3": (NOW + 480_000, 3)}
    await bans.close()


async def test_what_is_pending_is_written_at_shutdown_without_waiting(disk: FullDisk) -> None:
    clock, waits = ManualClock(NOW), Waits()
    bans = writer(disk, clock, waits)
    bans.save("10.0.0.1", NOW + 120_000, 1)
    await waits.settle()
    assert waits.delays == [0.5]  # waiting to retry: close() does not wait for it
    disk.full = False
    await bans.close()
    assert await disk.saved() == {"10.0.0.1": (NOW + 120_000, 1)}
    bans.save("10.0.0.9", NOW + 120_000, 1)  # after close: nothing is started
    await waits.settle()
    assert "10.0.0.9" not in await disk.saved()


async def test_bans_still_refused_at_shutdown_are_named_in_the_log(
    disk: FullDisk, caplog: pytest.LogCaptureFixture
) -> None:
    clock, waits = ManualClock(NOW), Waits()
    bans = writer(disk, clock, waits)
    bans.save("10.0.0.1", NOW + 120_000, 1)
    await waits.settle()
    await bans.close()
    assert "could not save 1 IP ban(s) at shutdown; they end with this process: 10.0.0.1" in (
        caplog.text
    )
