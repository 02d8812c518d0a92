"""Moving the server's clock forward: what a test (``PosriskTestServer.advance``) and an
operator (``POST /admin/v1/clock``, ``posrisk clock advance 8h``) do to let time pass
without waiting for it.

After the clock moves, what became due runs before the move is answered: GTD orders
expire, funding times settle (the hooks given to ``after_advance``). The offset is saved
before the clock moves, and a restarted server starts with it (``CLOCK_OFFSET``), so the
exchange's time never goes back. Decided: a clock
moves only forward, at most ``MAX_ADVANCE_MS`` (366 days) at a time, and only on a server
that is its database's one gateway (no bus: without ``--redis`` a server is alone on its
database) — gateways sharing a PostgreSQL database each keep their own clock, so moving
one would split the exchange's time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from .errors import ServiceError

__all__ = ["CLOCK_OFFSET", "MAX_ADVANCE_MS", "ClockControl", "MovableClock", "parse_duration"]

# The meta key keeping how far the clock was moved (ms), so a restart does not take the
# exchange's time back: the settled funding times and the ledger's times stay behind it.
CLOCK_OFFSET = "clock_offset_ms"

MAX_ADVANCE_MS = 366 * 24 * 3_600_000

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

Hook = Callable[[], Awaitable[object]]


class MovableClock(Protocol):
    @property
    def advanced_ms(self) -> int: ...

    def now_ms(self) -> int: ...

    def advance(self, ms: int) -> None: ...


class ClockControl:
    """The one way the server's clock moves: checked, moved, then what fell due runs."""

    def __init__(
        self,
        clock: MovableClock,
        *,
        shared: bool = False,
        save: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        self.clock = clock
        # Whether other gateways serve the same database (each has its own clock).
        self.shared = shared
        # Makes the new offset durable before the clock moves (``CLOCK_OFFSET``).
        self.save = save
        self._hooks: list[Hook] = []

    def __repr__(self) -> str:
        return f"<ClockControl {self.clock!r}{' shared' if self.shared else ''}>"

    def after_advance(self, hook: Hook) -> None:
        """Await ``hook`` after every move, before the move is answered."""
        self._hooks.append(hook)

    def describe(self) -> dict[str, int]:
        return {"time": self.clock.now_ms(), "advancedMs": self.clock.advanced_ms}

    async def advance(self, ms: int) -> dict[str, int]:
        """Move forward by ``ms``, run what fell due, and say where the clock now is."""
        if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_ADVANCE_MS:
            raise ServiceError(
                f"The clock moves forward by 0 to {MAX_ADVANCE_MS} ms at a time; got {ms!r}.",
                code=-1130,
            )
        if self.shared:
            raise ServiceError(
                "The clock of a gateway that shares its database cannot be moved: "
                "each gateway keeps its own.",
                code=-1000,
                status=409,
            )
        if self.save is not None and ms:
            await self.save(self.clock.advanced_ms + ms)  # durable first, then moved
        self.clock.advance(ms)
        for hook in self._hooks:
            await hook()
        return self.describe()


def parse_duration(text: str) -> int:
    """``"90s"``, ``"15m"``, ``"8h"``, ``"1d"``, ``"250ms"`` or plain milliseconds → ms."""
    given = text.strip().lower()
    for unit in sorted(_UNITS, key=len, reverse=True):
        number = given.removesuffix(unit)
        if number != given:
            break
    else:
        unit, number = "ms", given
    if not number.isdigit():
        raise ValueError(f"{text!r} is not a duration (e.g. 8h, 15m, 90s, 1d, 250ms)")
    return int(number) * _UNITS[unit]
