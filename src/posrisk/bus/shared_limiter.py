"""The per-IP request-weight limiter shared by every gateway on the Redis bus: one Lua
script decides ``protocol.ratelimit.decide`` and the ban ladder atomically in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from redis.exceptions import NoScriptError, RedisError

from ..protocol import Allow, Banned, LimitRules, Outcome, RequestWeightLimiter, Throttle
from . import OnBan

if TYPE_CHECKING:
    from .redis import RedisBus

__all__ = ["LIMIT_SCRIPT", "Batch", "SharedLimiter"]

# ``protocol.ratelimit.decide`` and the ban ladder, for a batch of requests from any
# number of IPs, atomically. KEYS[1]: the bans hash. ARGV: window key prefix, limit,
# interval, bans after, first ban, longest ban, enforce (1/0), then per IP: the ip, its
# number of requests n, and n pairs (weight, now), in order. Returns four numbers per
# request, in the same order: kind (0 allow, 1 throttle, 2 banned, 3 banned now), the
# count, the retry time (throttle) or ban end, and the offences (3).
LIMIT_SCRIPT = """
local bans, prefix = KEYS[1], ARGV[1]
local limit, interval = tonumber(ARGV[2]), tonumber(ARGV[3])
local ban_after, first, longest = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local enforce = ARGV[7] == '1'
local out = {}
local i = 8
while i <= #ARGV do
  local ip, n = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local banned_until, offences = 0, 0
  local ban = redis.call('HGET', bans, ip)
  if ban then
    local sep = string.find(ban, ':', 1, true)
    banned_until = tonumber(string.sub(ban, 1, sep - 1))
    offences = tonumber(string.sub(ban, sep + 1))
  end
  local window, key, count, rejected, dirty = nil, nil, 0, 0, false
  for _ = 1, n do
    local weight, now = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
    i = i + 2
    local start = now - now % interval
    if start ~= window then
      if dirty then
        redis.call('HSET', key, 'count', count, 'rejected', rejected)
        redis.call('PEXPIRE', key, interval * 2)
        dirty = false
      end
      window = start
      key = prefix .. ip .. ':' .. string.format('%d', start)
      local got = redis.call('HMGET', key, 'count', 'rejected')
      count, rejected = tonumber(got[1]) or 0, tonumber(got[2]) or 0
    end
    local kind, at, shown = 0, 0, 0
    if enforce and now < banned_until then
      kind, at, shown = 2, banned_until, offences
    elseif count + weight <= limit or not enforce then
      count = count + weight
      if count > limit then rejected = 0 end
      dirty = true
    elseif rejected >= ban_after then
      rejected = 0
      dirty = true
      offences = offences + 1
      local length = longest
      if offences <= 64 then length = math.min(first * 2 ^ (offences - 1), longest) end
      banned_until = now + length
      redis.call('HSET', bans, ip, string.format('%d:%d', banned_until, offences))
      kind, at, shown = 3, banned_until, offences
    else
      rejected = rejected + 1
      dirty = true
      kind, at = 1, start + interval
    end
    out[#out + 1] = kind
    out[#out + 1] = count
    out[#out + 1] = at
    out[#out + 1] = shown
  end
  if dirty then
    redis.call('HSET', key, 'count', count, 'rejected', rejected)
    redis.call('PEXPIRE', key, interval * 2)
  end
end
return out
"""

# Requests waiting for the shared counter: ip → [(weight, now, then or None)].
Batch = dict[str, list[tuple[int, int, Callable[[Outcome], None] | None]]]


class SharedLimiter:
    """REQUEST_WEIGHT per IP across every gateway on the bus (SPEC §7).

    WS API requests are decided by Redis itself: the requests of one event-loop turn go
    in one script call, one batch at a time, so answers keep their order. Handshakes and
    REST GETs, which the transport must answer at once, are decided on this gateway's view
    of the shared counter (every answer from Redis refreshes it) and counted in Redis too.
    While Redis is away, ``view`` decides alone.
    """

    def __init__(
        self, bus: RedisBus, rules: LimitRules, *, enforce: bool, on_ban: OnBan | None
    ) -> None:
        self.bus = bus
        self.rules = rules
        self.enforce = enforce
        self.on_ban = on_ban
        self.view = RequestWeightLimiter(rules, enforce=enforce, on_ban=on_ban)
        self._pending: Batch = {}
        self._busy = False
        # Script calls and requests decided by Redis, for the benchmark and the tests.
        self.calls = 0
        self.decided = 0

    def __repr__(self) -> str:
        return f"<SharedLimiter {self.decided} decided in {self.calls} calls>"

    @property
    def bans(self) -> dict[str, tuple[int, int]]:
        return self.view.bans

    def restore_bans(self, bans: Mapping[str, tuple[int, int]]) -> None:
        self.view.restore_bans(bans)

    def banned_until(self, ip: str, now: int) -> int | None:
        return self.view.banned_until(ip, now)

    def charge(self, ip: str, weight: int, now: int) -> Outcome:
        decision = self.view.charge(ip, weight, now)
        if self.bus.up:
            self._enqueue(ip, (weight, now, None))
        return decision

    def charge_then(self, ip: str, weight: int, now: int, then: Callable[[Outcome], None]) -> None:
        if not self.bus.up and not self._busy:
            then(self.view.charge(ip, weight, now))
            return
        self._enqueue(ip, (weight, now, then))

    def _enqueue(self, ip: str, item: tuple[int, int, Callable[[Outcome], None] | None]) -> None:
        self._pending.setdefault(ip, []).append(item)
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().call_soon(self._send_next)

    def _send_next(self) -> None:
        batch, self._pending = self._pending, {}
        self.bus.spawn(self._send(batch))

    async def _send(self, batch: Batch) -> None:
        try:
            try:
                results = await self._run_script(batch)
            except (RedisError, OSError) as e:
                self.bus.lost(e)
                results = None
            if results is None:
                self._decide_here(batch)
            else:
                self._decided(batch, results)
        finally:
            if self._pending:
                asyncio.get_running_loop().call_soon(self._send_next)
            else:
                self._busy = False

    def _decide_here(self, batch: Batch) -> None:
        for ip, items in batch.items():
            for weight, now, then in items:
                decision = self.view.charge(ip, weight, now)
                if then is not None:
                    then(decision)

    def _decided(self, batch: Batch, numbers: list[int]) -> None:
        self.calls += 1
        position = 0
        for ip, items in batch.items():
            for _, now, then in items:
                kind, count, at, offences = numbers[position : position + 4]
                position += 4
                self.view.observe(ip, now, count)
                decision: Outcome
                if kind == 0:
                    decision = Allow(count)
                elif kind == 1:
                    decision = Throttle(count, at)
                else:
                    decision = Banned(count, at)
                    if kind == 3:
                        self.view.restore_bans({ip: (at, offences)})
                        if self.on_ban is not None:
                            self.on_ban(ip, at, offences)
                        self.bus.publish({"kind": "ban", "ip": ip, "until": at, "n": offences})
                self.decided += 1
                if then is not None:
                    then(decision)

    async def _run_script(self, batch: Batch) -> list[int] | None:
        """One script call deciding every request of ``batch`` (four numbers each, in the
        batch's order). None while the bus is down."""
        bus, rules = self.bus, self.rules
        if not bus.up:
            return None
        args: list[Any] = [
            bus.prefix + "rl:",
            rules.request_weight,
            rules.interval_ms,
            rules.ban_after_rejections,
            rules.ban_base_ms,
            rules.ban_max_ms,
            1 if self.enforce else 0,
        ]
        for ip, items in batch.items():
            args.append(ip)
            args.append(len(items))
            for weight, now, _ in items:
                args.append(weight)
                args.append(now)
        try:
            result = await bus.redis.evalsha(bus.limit_sha, 1, bus.bans_key, *args)
        except NoScriptError:  # Redis restarted and forgot the script
            bus.limit_sha = await bus.redis.script_load(LIMIT_SCRIPT)
            result = await bus.redis.evalsha(bus.limit_sha, 1, bus.bans_key, *args)
        return [int(n) for n in result]
