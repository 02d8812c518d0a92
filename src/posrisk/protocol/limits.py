"""Per-IP REQUEST_WEIGHT counters and bans (SPEC §7), in memory.

The arithmetic (windows, 429, when to ban, the ban ladder) is ``ratelimit``; this keeps
the state per IP, with the time passed in (no clock, no I/O). ``enforce=False``
(``posrisk serve --no-ip-limits``, for benchmarks) still counts, so ``rateLimits`` stay
truthful, but never refuses.

``Limiter`` is what the services need of a limiter: this one, or the bus's shared one
(``posrisk.bus.redis.SharedLimiter``), whose WS API decisions come back later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from .ratelimit import (
    Allow,
    Ban,
    Decision,
    LimitRules,
    WindowState,
    ban_duration,
    decide,
    retry_after,
    window_start,
)

__all__ = ["Banned", "ConnectionAttempts", "Limiter", "Outcome", "RequestWeightLimiter"]


@dataclass(frozen=True, slots=True)
class Banned:
    """The IP is banned until ``until`` (ms): answer 418."""

    count: int
    until: int


Outcome = Decision | Banned


class Limiter(Protocol):
    """Per-IP request weight, as the API, REST and handshakes use it."""

    rules: LimitRules

    def charge(self, ip: str, weight: int, now: int) -> Outcome:
        """Count a request and decide now (handshakes and REST GETs)."""
        ...

    def charge_then(self, ip: str, weight: int, now: int, then: Callable[[Outcome], None]) -> None:
        """Count a request and call ``then`` with the decision: at once, or (shared
        limiter) when the shared counter has decided — in the order charged per IP."""
        ...

    def banned_until(self, ip: str, now: int) -> int | None: ...

    def restore_bans(self, bans: Mapping[str, tuple[int, int]]) -> None:
        """Bans (and offence counts) saved earlier or decided elsewhere."""
        ...

    @property
    def bans(self) -> dict[str, tuple[int, int]]: ...


class RequestWeightLimiter:
    """REQUEST_WEIGHT per IP across all of that IP's connections (WS and REST)."""

    def __init__(
        self,
        rules: LimitRules | None = None,
        *,
        enforce: bool = True,
        on_ban: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.rules = rules or LimitRules()
        self.enforce = enforce
        self._windows: dict[str, WindowState] = {}
        # ip → (banned until ms, number of bans so far)
        self._bans: dict[str, tuple[int, int]] = {}
        # Told (ip, until, offences) of every new ban, so bans can outlive the process.
        self.on_ban = on_ban

    def restore_bans(self, bans: Mapping[str, tuple[int, int]]) -> None:
        """Bans (and offence counts, for the ladder) saved by an earlier process."""
        self._bans.update(bans)

    @property
    def bans(self) -> dict[str, tuple[int, int]]:
        return dict(self._bans)

    def __repr__(self) -> str:
        return f"<RequestWeightLimiter {len(self._windows)} IPs, {len(self._bans)} banned>"

    def charge(self, ip: str, weight: int, now: int) -> Outcome:
        """Count a request of ``weight`` from ``ip`` and say whether to serve it."""
        if not self.enforce:  # counted, never refused: just add the weight
            count = self.count(ip, now) + weight
            self._windows[ip] = WindowState(window_start(now, self.rules.interval_ms), count, 0)
            return Allow(count)
        ban = self._bans.get(ip)
        if ban is not None and now < ban[0]:
            return Banned(self.count(ip, now), ban[0])
        state, decision = decide(self.rules, self._windows.get(ip), now, weight)
        self._windows[ip] = state
        if isinstance(decision, Ban):
            offences = (ban[1] if ban else 0) + 1
            until = now + ban_duration(self.rules, offences)
            self._bans[ip] = (until, offences)
            if self.on_ban is not None:
                self.on_ban(ip, until, offences)
            return Banned(decision.count, until)
        return decision

    def charge_then(self, ip: str, weight: int, now: int, then: Callable[[Outcome], None]) -> None:
        then(self.charge(ip, weight, now))

    def observe(self, ip: str, now: int, count: int) -> None:
        """Take ``count`` as the weight ``ip`` used in the window of ``now`` (as a shared
        counter reported it); refusals counted here stay."""
        window = window_start(now, self.rules.interval_ms)
        state = self._windows.get(ip)
        rejected = state.rejected if state is not None and state.window == window else 0
        self._windows[ip] = WindowState(window, count, rejected)

    def count(self, ip: str, now: int) -> int:
        state = self._windows.get(ip)
        if state is None or state.window != window_start(now, self.rules.interval_ms):
            return 0
        return state.count

    def banned_until(self, ip: str, now: int) -> int | None:
        ban = self._bans.get(ip)
        return ban[0] if ban is not None and now < ban[0] and self.enforce else None


class ConnectionAttempts:
    """Stream connections an IP may try to open per clock-aligned window (Binance: 300
    connections per attempt every 5 minutes per IP). Every attempt counts, good key or
    bad; a refused one does not."""

    def __init__(self, limit: int, interval_ms: int) -> None:
        if limit <= 0 or interval_ms <= 0:
            raise ValueError(f"need a positive limit and window, got {limit} per {interval_ms} ms")
        self.limit = limit
        self.interval_ms = interval_ms
        # The window counted, and the attempts of each IP in it (older windows forgotten).
        self._window = -1
        self._counts: dict[str, int] = {}

    def __repr__(self) -> str:
        return (
            f"<ConnectionAttempts {self.limit} per {self.interval_ms} ms, {len(self._counts)} IPs>"
        )

    def attempt(self, ip: str, now: int) -> int | None:
        """Count one attempt from ``ip``: None if allowed, else when it may try again (ms)."""
        window = window_start(now, self.interval_ms)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(ip, 0)
        if count >= self.limit:
            return retry_after(now, self.interval_ms)
        self._counts[ip] = count + 1
        return None
