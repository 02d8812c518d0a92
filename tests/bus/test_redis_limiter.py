"""The shared limiter's Lua script decides exactly as ``protocol.ratelimit.decide`` and the
in-process limiter do, request by request and in batches."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posrisk.bus.redis import RedisBus
from posrisk.protocol import LimitRules
from posrisk.protocol.limits import Outcome, RequestWeightLimiter

from .conftest import REDIS_URL, redis_reachable

RULES = LimitRules(
    request_weight=100,
    interval_ms=10_000,
    ban_after_rejections=2,
    ban_base_ms=1_000,
    ban_max_ms=8_000,
)
START = 1_700_000_000_000

requests = st.lists(
    st.tuples(st.sampled_from(["10.0.0.1", "10.0.0.2"]), st.integers(0, 60), st.integers(0, 4000)),
    max_size=60,
)


async def shared(steps: list[tuple[str, int, int]], *, batched: bool) -> list[Outcome]:
    bus = RedisBus(REDIS_URL, prefix=f"posrisk-test-{uuid.uuid4().hex[:10]}:")
    await bus.start_limiter_only()
    limiter = bus.limiter(RULES, enforce=True, on_ban=None)
    decided: list[tuple[int, Outcome]] = []
    now = START
    try:
        for index, (ip, weight, gap) in enumerate(steps):
            now += gap

            def note(decision: Outcome, index: int = index) -> None:
                decided.append((index, decision))

            limiter.charge_then(ip, weight, now, note)
            if not batched:
                while len(decided) <= index:
                    await asyncio.sleep(0)
        while len(decided) < len(steps):
            await asyncio.sleep(0.001)
    finally:
        await bus.stop()
    return [decision for _, decision in sorted(decided, key=lambda pair: pair[0])]


def local(steps: list[tuple[str, int, int]]) -> list[Outcome]:
    limiter = RequestWeightLimiter(RULES)
    now = START
    out = []
    for ip, weight, gap in steps:
        now += gap
        out.append(limiter.charge(ip, weight, now))
    return out


@pytest.fixture(scope="module", autouse=True)
def redis_up() -> None:
    asyncio.run(redis_reachable(REDIS_URL))


@settings(max_examples=60 if os.environ.get("CI") else 30, deadline=None)
@given(requests)
def test_the_script_decides_like_the_local_limiter_one_at_a_time(
    steps: list[tuple[str, int, int]],
) -> None:
    assert asyncio.run(shared(steps, batched=False)) == local(steps)


@settings(max_examples=60 if os.environ.get("CI") else 30, deadline=None)
@given(requests)
def test_the_script_decides_like_the_local_limiter_in_one_batch(
    steps: list[tuple[str, int, int]],
) -> None:
    assert asyncio.run(shared(steps, batched=True)) == local(steps)
