"""Moving the clock: forward only, bounded, never on a shared database, and what fell due
runs before the move is answered."""

from __future__ import annotations

import pytest

from posrisk.service.clock import OffsetClock
from posrisk.service.clock_control import MAX_ADVANCE_MS, ClockControl, parse_duration
from posrisk.service.errors import ServiceError


@pytest.mark.asyncio
async def test_advance_moves_the_clock_then_runs_the_hooks_in_order() -> None:
    clock = OffsetClock()
    control = ClockControl(clock)
    seen: list[tuple[str, int]] = []

    async def first() -> None:
        seen.append(("first", clock.advanced_ms))

    async def second() -> None:
        seen.append(("second", clock.advanced_ms))

    control.after_advance(first)
    control.after_advance(second)
    answer = await control.advance(8 * 3_600_000)
    assert seen == [("first", 28_800_000), ("second", 28_800_000)]
    assert answer["advancedMs"] == 28_800_000
    assert abs(answer["time"] - clock.now_ms()) < 60_000
    assert (await control.advance(0))["advancedMs"] == 28_800_000


@pytest.mark.asyncio
@pytest.mark.parametrize("bad", [-1, MAX_ADVANCE_MS + 1, True, 1.5, "8h", None])
async def test_a_bad_amount_is_refused_and_the_clock_stays(bad: object) -> None:
    clock = OffsetClock()
    with pytest.raises(ServiceError) as info:
        await ClockControl(clock).advance(bad)  # type: ignore[arg-type]
    assert info.value.code == -1130 and "forward by 0 to" in info.value.msg
    assert clock.advanced_ms == 0


@pytest.mark.asyncio
async def test_a_gateway_sharing_its_database_keeps_its_clock() -> None:
    clock = OffsetClock()
    with pytest.raises(ServiceError) as info:
        await ClockControl(clock, shared=True).advance(1000)
    assert (info.value.code, info.value.status) == (-1000, 409)
    assert "shares its database" in info.value.msg
    assert clock.advanced_ms == 0


def test_durations() -> None:
    assert parse_duration("8h") == 28_800_000
    assert parse_duration("15m") == 900_000
    assert parse_duration(" 90S ") == 90_000
    assert parse_duration("1d") == 86_400_000
    assert parse_duration("250ms") == 250
    assert parse_duration("1234") == 1234
    for bad in ("", "h", "1.5h", "-1h", "8 hours", "1y"):
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(bad)


@pytest.mark.asyncio
async def test_the_offset_is_saved_before_the_clock_moves() -> None:
    clock = OffsetClock()
    saved: list[tuple[int, int]] = []

    async def save(offset: int) -> None:
        saved.append((offset, clock.advanced_ms))  # what is saved, and where the clock is

    control = ClockControl(clock, save=save)
    await control.advance(3_600_000)
    await control.advance(0)  # nothing moved: nothing to save
    await control.advance(60_000)
    assert saved == [(3_600_000, 0), (3_660_000, 3_600_000)]

    async def failing(offset: int) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        await ClockControl(clock, save=failing).advance(1)
    assert clock.advanced_ms == 3_660_000  # not saved: not moved
