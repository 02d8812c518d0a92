"""The shared ORDERS windows: Redis's script counts as ``OrderCounter`` does, gateways on
one prefix share the counts, the window keys expire, and without Redis each counts alone
from what Redis last told it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from posrisk.bus.redis import RedisBus
from posrisk.bus.shared_orders import SharedOrderCounter
from posrisk.protocol import ORDER_WINDOWS, OrderCount, OrderCounter, OrderWindow

from .conftest import REDIS_URL, redis_reachable

WINDOWS = (OrderWindow(1_000, 5, "SECOND", 1), OrderWindow(3_000, 8, "SECOND", 3))
START = 1_700_000_000_000

steps_st = st.lists(
    st.tuples(st.sampled_from(["alice", "bob"]), st.sampled_from([(1, 1), (5, 1), (2, 3)]),
              st.integers(0, 1500)),
    max_size=40,
)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def redis_up() -> None:
    asyncio.run(redis_reachable(REDIS_URL))


async def connected(prefix: str) -> RedisBus:
    bus = RedisBus(REDIS_URL, prefix=prefix)
    await bus.start_limiter_only()
    return bus


@pytest_asyncio.fixture
async def two_buses() -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    prefix = f"posrisk-test-{uuid.uuid4().hex[:10]}:"
    one, two = await connected(prefix), await connected(prefix)
    try:
        yield one, two
    finally:
        await one.stop()
        await two.stop()


async def shared(steps: list[tuple[str, tuple[int, int], int]]) -> list[OrderCount]:
    bus = await connected(f"posrisk-test-{uuid.uuid4().hex[:10]}:")
    counter = SharedOrderCounter(bus, WINDOWS)
    now, out = START, []
    try:
        for account, costs, gap in steps:
            now += gap
            out.append(await counter.decide(account, costs, now))
    finally:
        await bus.stop()
    assert counter.decided == len(steps) and counter.alone == 0
    return out


def local(steps: list[tuple[str, tuple[int, int], int]]) -> list[OrderCount]:
    counter = OrderCounter(WINDOWS)
    now, out = START, []
    for account, costs, gap in steps:
        now += gap
        out.append(counter.charge(account, costs, now))
    return out


@settings(max_examples=60 if os.environ.get("CI") else 30, deadline=None)
@given(steps_st)
def test_the_script_counts_like_the_local_counter(
    steps: list[tuple[str, tuple[int, int], int]],
) -> None:
    assert asyncio.run(shared(steps)) == local(steps)


@pytest.mark.asyncio
async def test_gateways_on_one_prefix_share_an_accounts_windows(
    two_buses: tuple[RedisBus, RedisBus],
) -> None:
    one, two = (SharedOrderCounter(bus) for bus in two_buses)
    now = START
    for n in range(300):  # Binance's 300 per 10 s, placed on either gateway
        counted = await (one if n % 2 else two).decide("carol", (1, 1), now)
        assert counted == OrderCount((n + 1, n + 1))
    for counter in (one, two):
        refused = await counter.decide("carol", (1, 1), now + 1)
        assert refused == OrderCount((300, 300), ORDER_WINDOWS[0])
        assert counter.current("carol", now + 1) == (300, 300)
    # Another account has windows of its own; the next 10 s window starts from nothing,
    # while the minute's goes on.
    assert await two.decide("dave", (5, 1), now) == OrderCount((5, 1))
    assert await one.decide("carol", (5, 1), now + 10_000) == OrderCount((5, 301))
    # The window keys expire two intervals after their start.
    ttls = [await two_buses[0].redis.pttl(key) for key in one.keys("carol", now)]
    assert 0 < ttls[0] <= 20_000 and 20_000 < ttls[1] <= 120_000


@pytest.mark.asyncio
async def test_without_redis_each_gateway_counts_on_from_what_redis_told_it(
    two_buses: tuple[RedisBus, RedisBus],
) -> None:
    bus = two_buses[0]
    counter = SharedOrderCounter(bus)
    for _ in range(3):
        await counter.decide("carol", (1, 1), START)
    # Another gateway counted 296 more meanwhile.
    await SharedOrderCounter(two_buses[1]).decide("carol", (296, 296), START)
    assert await counter.decide("carol", (1, 1), START) == OrderCount((300, 300))
    bus.lost(ConnectionError("Redis went away"))
    assert not bus.up
    refused = await counter.decide("carol", (1, 1), START + 5)
    assert refused == OrderCount((300, 300), ORDER_WINDOWS[0])
    assert await counter.decide("carol", (1, 1), START + 10_000) == OrderCount((1, 301))
    assert counter.alone == 2 and counter.decided == 4


@pytest.mark.asyncio
async def test_a_failing_redis_call_falls_back_to_counting_here(
    two_buses: tuple[RedisBus, RedisBus], monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    bus = two_buses[0]
    counter = SharedOrderCounter(bus)
    assert await counter.decide("carol", (1, 1), START) == OrderCount((1, 1))

    async def broken(*args: object, **kwargs: object) -> object:
        raise RedisConnectionError("connection reset")

    monkeypatch.setattr(bus.redis, "evalsha", broken)
    assert await counter.decide("carol", (1, 1), START + 1) == OrderCount((2, 2))
    assert not bus.up and counter.alone == 1
    # Redis forgetting the script (a restart) costs nothing: it is loaded again.
    monkeypatch.undo()
    bus.up = True
    await bus.redis.script_flush()
    assert await counter.decide("carol", (1, 1), START + 2) == OrderCount((2, 2))
