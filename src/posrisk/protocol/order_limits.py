"""The ORDERS limit per account, as pure arithmetic over an injected clock.

Binance counts every placement that passes authentication (POST/PUT ``order``, POST
``algoOrder``, WS ``order.place``, ``order.modify``, ``algoOrder.place``: 1 in each window;
POST/PUT ``batchOrders``: 5 in the 10-second window, 1 in the minute) in clock-aligned
windows: 300 per 10 seconds and
1200 per minute, as ``exchangeInfo`` publishes. Over either, the placement is refused
(429 -1015) and not counted. The counts are answered in ``X-MBX-ORDER-COUNT-10S`` and
``X-MBX-ORDER-COUNT-1M``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "BATCH_COST",
    "ORDER_COST",
    "ORDER_WINDOWS",
    "OrderCount",
    "OrderCounter",
    "OrderLimiter",
    "OrderWindow",
]


@dataclass(frozen=True, slots=True)
class OrderWindow:
    interval_ms: int
    limit: int
    # How Binance names it: ("SECOND", 10), ("MINUTE", 1).
    unit: str
    number: int


ORDER_COST = (1, 1)
BATCH_COST = (5, 1)
ORDER_WINDOWS = (OrderWindow(10_000, 300, "SECOND", 10), OrderWindow(60_000, 1200, "MINUTE", 1))


@dataclass(frozen=True, slots=True)
class OrderCount:
    """The counts after a placement (``refused``: the window it would pass, else None)."""

    counts: tuple[int, ...]
    refused: OrderWindow | None = None

    def rate_limits(
        self, windows: tuple[OrderWindow, ...] = ORDER_WINDOWS
    ) -> list[dict[str, object]]:
        """The ``rateLimits`` items a WS API answer to a placement lists after
        REQUEST_WEIGHT: ORDERS per 10 seconds, then per minute."""
        return [
            {
                "rateLimitType": "ORDERS",
                "interval": w.unit,
                "intervalNum": w.number,
                "limit": w.limit,
                "count": count,
            }
            for w, count in zip(windows, self.counts, strict=True)
        ]

    def headers(self) -> dict[str, str]:
        return {
            "X-MBX-ORDER-COUNT-10S": str(self.counts[0]),
            "X-MBX-ORDER-COUNT-1M": str(self.counts[1]),
        }


class OrderLimiter(Protocol):
    """The ORDERS windows as the order routes use them: this process's ``OrderCounter``,
    or the bus's shared one (``posrisk.bus.shared_orders.SharedOrderCounter``), which asks
    Redis before it answers."""

    windows: tuple[OrderWindow, ...]

    def current(self, account: str, now: int) -> tuple[int, ...]:
        """The account's counts in the windows ``now`` falls in (as last known here)."""
        ...

    async def decide(self, account: str, costs: tuple[int, ...], now: int) -> OrderCount:
        """Count a placement (``charge``'s rule), wherever the counts are kept."""
        ...


class OrderCounter:
    """Per-account counts of the current windows (one process; ``bus`` shares them)."""

    def __init__(self, windows: tuple[OrderWindow, ...] = ORDER_WINDOWS) -> None:
        self.windows = windows
        # account -> per window: (window start, count)
        self._counts: dict[str, list[tuple[int, int]]] = {}

    def __repr__(self) -> str:
        return f"<OrderCounter {len(self._counts)} accounts>"

    def current(self, account: str, now: int) -> tuple[int, ...]:
        held = self._counts.get(account)
        if held is None:
            return tuple(0 for _ in self.windows)
        return tuple(
            count if start == now - now % w.interval_ms else 0
            for (start, count), w in zip(held, self.windows, strict=True)
        )

    def charge(self, account: str, costs: tuple[int, ...], now: int) -> OrderCount:
        """Count a placement of ``account`` at ``now`` (``costs``: what it counts in each
        window), unless a window would pass its limit."""
        counts = self.current(account, now)
        for count, cost, window in zip(counts, costs, self.windows, strict=True):
            if count + cost > window.limit:
                return OrderCount(counts, window)
        after = tuple(c + cost for c, cost in zip(counts, costs, strict=True))
        self._counts[account] = [
            (now - now % w.interval_ms, c) for c, w in zip(after, self.windows, strict=True)
        ]
        return OrderCount(after)

    async def decide(self, account: str, costs: tuple[int, ...], now: int) -> OrderCount:
        """``charge``, as an ``OrderLimiter`` (nothing to wait for in one process)."""
        return self.charge(account, costs, now)

    def observe(self, account: str, now: int, counts: tuple[int, ...]) -> None:
        """Take ``counts`` as the account's counts in the windows ``now`` falls in (what
        the shared counter answered), so counting here goes on from them."""
        self._counts[account] = [
            (now - now % w.interval_ms, c) for c, w in zip(counts, self.windows, strict=True)
        ]
