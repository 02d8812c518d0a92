"""Request-weight windows and the ban ladder, as pure arithmetic (SPEC §7, §12).

The clock is an injected integer of milliseconds; the counters themselves live in a
store (memory, SQLite, Redis) that calls ``decide`` with the state it holds for an IP.
Rules, all configurable through ``LimitRules``:

- Windows are aligned to the clock: a window starts at a multiple of ``interval_ms``
  (each whole minute by default), so a 429's ``retryAfter`` is the next window's start.
- A request is allowed when ``count + weight <= request_weight``; its weight is added.
  A refused request adds nothing: a 429 reports the count as it stands.
- After a first 429 in a window, the ``ban_after_rejections``-th further *refused*
  request in that window bans the IP (requests that fit under the limit again, e.g.
  a lighter method, are allowed and do not count). A ban starts the count of refusals
  over.
- A ban lasts ``ban_base_ms`` (2 minutes), doubling with each repeat offence, capped at
  ``ban_max_ms`` (3 days).
- Weights: ``account.position``, ``account.status``, ``account.balance`` and their
  ``v2/`` variants 5, ``session.*`` 2, ``userDataStream.*`` 1, the WebSocket handshake 5;
  a method not in the table (unknown methods, malformed frames) weighs
  ``default_weight``, 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "DEFAULT_METHOD_WEIGHTS",
    "Allow",
    "Ban",
    "Decision",
    "LimitRules",
    "Throttle",
    "WindowState",
    "ban_duration",
    "decide",
    "interval_label",
    "retry_after",
    "window_start",
]

MINUTE_MS = 60_000

DEFAULT_METHOD_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {
        "account.position": 5,
        "v2/account.position": 5,
        "account.status": 5,
        "v2/account.status": 5,
        "account.balance": 5,
        "v2/account.balance": 5,
        "session.logon": 2,
        "session.status": 2,
        "session.logout": 2,
        "userDataStream.start": 1,
        "userDataStream.ping": 1,
        "userDataStream.stop": 1,
    }
)

_UNITS = (("DAY", 86_400_000), ("HOUR", 3_600_000), ("MINUTE", MINUTE_MS), ("SECOND", 1000))


def window_start(now_ms: int, interval_ms: int = MINUTE_MS) -> int:
    """Start of the clock-aligned window holding ``now_ms``."""
    return now_ms - now_ms % interval_ms


def retry_after(now_ms: int, interval_ms: int = MINUTE_MS) -> int:
    """Start of the next window: when a throttled client may try again."""
    return window_start(now_ms, interval_ms) + interval_ms


def interval_label(interval_ms: int) -> tuple[str, int]:
    """``(interval, intervalNum)`` for ``rateLimits``: 60000 → ``("MINUTE", 1)``."""
    for name, unit in _UNITS:
        if interval_ms % unit == 0:
            return name, interval_ms // unit
    raise ValueError(f"interval of {interval_ms} ms is not a whole number of seconds")


@dataclass(frozen=True, slots=True)
class LimitRules:
    """The limits of one deployment; every number is configurable (SPEC §7)."""

    request_weight: int = 2400  # weight allowed per IP per window
    interval_ms: int = MINUTE_MS  # window length; a whole number of seconds
    handshake_weight: int = 5  # what opening a WebSocket costs
    ban_after_rejections: int = 10  # further refusals after a 429 that earn a ban
    ban_base_ms: int = 120_000  # first ban
    ban_max_ms: int = 3 * 24 * 3600 * 1000  # longest ban
    method_weights: Mapping[str, int] = field(default_factory=lambda: DEFAULT_METHOD_WEIGHTS)
    default_weight: int = 1  # methods not in ``method_weights``

    def __post_init__(self) -> None:
        for name in ("request_weight", "interval_ms", "ban_after_rejections", "ban_base_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.ban_max_ms < self.ban_base_ms:
            raise ValueError(f"ban_max_ms {self.ban_max_ms} is below ban_base_ms")
        interval_label(self.interval_ms)
        weights = {"handshake_weight": self.handshake_weight, "default_weight": self.default_weight}
        weights.update(self.method_weights)
        for name, weight in weights.items():
            if weight < 0:
                raise ValueError(f"weight of {name} must not be negative, got {weight}")

    def __reduce__(self) -> tuple[type[LimitRules], tuple[object, ...]]:
        """Picklable (for ``serve --workers``): the weights travel as a plain dict."""
        values = tuple(
            dict(self.method_weights) if f.name == "method_weights" else getattr(self, f.name)
            for f in fields(self)
        )
        return (LimitRules, values)

    def weight(self, method: str) -> int:
        """What one request for ``method`` costs."""
        return self.method_weights.get(method, self.default_weight)

    def label(self) -> tuple[str, int]:
        """``(interval, intervalNum)`` of the window, for ``rateLimits``."""
        return interval_label(self.interval_ms)


def ban_duration(rules: LimitRules, offence: int) -> int:
    """Length of the ``offence``-th ban (1-based): base, doubling, capped at the maximum."""
    if offence < 1:
        raise ValueError(f"offence counts from 1, got {offence}")
    if offence > 64:  # far past any cap; avoids computing a huge power of two
        return rules.ban_max_ms
    return min(rules.ban_base_ms << (offence - 1), rules.ban_max_ms)


class WindowState(NamedTuple):
    """One IP's counter in one window (a tuple: built on every request, and a frozen
    dataclass costs three times as much to build)."""

    window: int  # start of the window (ms)
    count: int  # type: ignore[assignment]  # weight used (shadows tuple.count)
    rejected: int  # requests refused with 429 in the window since the last ban


@dataclass(frozen=True, slots=True)
class Allow:
    """Serve the request; ``count`` includes its weight."""

    count: int


@dataclass(frozen=True, slots=True)
class Throttle:
    """Refuse with 429 (-1003); ``count`` as it stands, ``retry_after`` the next window."""

    count: int
    retry_after: int


@dataclass(frozen=True, slots=True)
class Ban:
    """Refuse with 418 and ban the IP; the store picks the length (``ban_duration``)."""

    count: int


Decision = Allow | Throttle | Ban


def decide(
    rules: LimitRules, state: WindowState | None, now_ms: int, weight: int
) -> tuple[WindowState, Decision]:
    """The counter after a request of ``weight`` at ``now_ms``, and what to answer."""
    window = window_start(now_ms, rules.interval_ms)
    if state is None or state.window != window:
        count, rejected = 0, 0
    else:
        count, rejected = state.count, state.rejected
    if count + weight <= rules.request_weight:
        count += weight
        return WindowState(window, count, rejected), Allow(count)
    if rejected >= rules.ban_after_rejections:
        return WindowState(window, count, 0), Ban(count)
    return (
        WindowState(window, count, rejected + 1),
        Throttle(count, window + rules.interval_ms),
    )
