"""The per-account ORDERS windows shared by every gateway on the Redis bus: one Lua script
counts a placement in each clock-aligned window atomically in Redis, or refuses it there.

Each window is a key ``<prefix>orders:<account>:<interval>:<window start>`` that expires
two intervals after it starts. While Redis is away each gateway counts alone on its view
(the counts Redis last answered it), as the request-weight limiter does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redis.exceptions import NoScriptError, RedisError

from ..protocol import ORDER_WINDOWS, OrderCount, OrderCounter, OrderWindow

if TYPE_CHECKING:
    from .redis import RedisBus

__all__ = ["ORDERS_SCRIPT", "SharedOrderCounter"]

# ``OrderCounter.charge`` in Redis. KEYS: one per window. ARGV: now, then per window its
# interval, limit and cost. Returns the index (1-based) of the window the placement would
# pass (0: counted), then the counts per window (after counting, or as they stand).
ORDERS_SCRIPT = """
local now = tonumber(ARGV[1])
local counts, refused = {}, 0
for w = 1, #KEYS do
  local limit, cost = tonumber(ARGV[w * 3]), tonumber(ARGV[w * 3 + 1])
  counts[w] = tonumber(redis.call('GET', KEYS[w])) or 0
  if refused == 0 and counts[w] + cost > limit then refused = w end
end
if refused == 0 then
  for w = 1, #KEYS do
    local interval, cost = tonumber(ARGV[w * 3 - 1]), tonumber(ARGV[w * 3 + 1])
    counts[w] = redis.call('INCRBY', KEYS[w], cost)
    redis.call('PEXPIRE', KEYS[w], interval * 2)
  end
end
local out = {refused}
for w = 1, #KEYS do out[#out + 1] = counts[w] end
return out
"""


class SharedOrderCounter:
    """The ORDERS windows per account across every gateway on the bus (an
    ``OrderLimiter``): decided by Redis while it is up, else by ``view`` alone."""

    def __init__(self, bus: RedisBus, windows: tuple[OrderWindow, ...] = ORDER_WINDOWS) -> None:
        self.bus = bus
        self.windows = windows
        self.view = OrderCounter(windows)
        self._sha = ""
        # Placements decided by Redis, and while it was away, for the tests.
        self.decided = 0
        self.alone = 0

    def __repr__(self) -> str:
        return f"<SharedOrderCounter {self.decided} shared, {self.alone} alone>"

    def current(self, account: str, now: int) -> tuple[int, ...]:
        return self.view.current(account, now)

    def keys(self, account: str, now: int) -> list[str]:
        """The window keys ``now`` falls in for ``account``."""
        prefix = f"{self.bus.prefix}orders:{account}:"
        return [f"{prefix}{w.interval_ms}:{now - now % w.interval_ms}" for w in self.windows]

    async def decide(self, account: str, costs: tuple[int, ...], now: int) -> OrderCount:
        if self.bus.up:
            try:
                numbers = await self._run_script(account, costs, now)
            except (RedisError, OSError) as e:
                self.bus.lost(e)
            else:
                counts = tuple(numbers[1:])
                self.view.observe(account, now, counts)
                self.decided += 1
                refused = self.windows[numbers[0] - 1] if numbers[0] else None
                return OrderCount(counts, refused)
        self.alone += 1
        return self.view.charge(account, costs, now)

    async def _run_script(self, account: str, costs: tuple[int, ...], now: int) -> list[int]:
        redis = self.bus.redis
        keys = self.keys(account, now)
        args: list[Any] = [now]
        for window, cost in zip(self.windows, costs, strict=True):
            args += [window.interval_ms, window.limit, cost]
        if not self._sha:
            self._sha = await redis.script_load(ORDERS_SCRIPT)
        try:
            result = await redis.evalsha(self._sha, len(keys), *keys, *args)
        except NoScriptError:  # Redis restarted and forgot the script
            self._sha = await redis.script_load(ORDERS_SCRIPT)
            result = await redis.evalsha(self._sha, len(keys), *keys, *args)
        return [int(n) for n in result]
