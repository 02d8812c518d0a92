"""What the dashboard page (``GET /``) shows, as JSON messages over its WebSocket.

Transport-free, like ``streams``: a viewer is a ``Sink``. On connecting it gets a
``{"type": "state"}`` message: every account (name, position mode, balances, open
positions as ``v2/account.position`` rows: never its keys, see ``ACCOUNT_FIELDS``; its
open orders and open algo orders as ``openOrders`` / ``openAlgoOrders`` answer them), the
recent marks of every symbol held (for the sparklines) and the latest events its user
streams were sent (``FEED_EVENTS``: ``ACCOUNT_UPDATE``, ``ORDER_TRADE_UPDATE``,
``ALGO_UPDATE``, built as the streams build them). ``tick`` (the gateway calls it a few
times a second) sends a new state when an account or a mark moved since the last; every
feed event goes out at once as ``{"type": "update"}``. Read-only: nothing a viewer sends
is acted on.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson

from ..engine.numbers import fmt_exact
from .admin import AdminService
from .admin_orders import orders_json
from .clock import Clock
from .registry import AccountChanged, StateChanged
from .stream_events import account_messages
from .streams import Sink

__all__ = ["ACCOUNT_FIELDS", "FEED_EVENTS", "Dashboard"]

# What the page shows of an account, taken from ``AdminService.describe`` by name: an
# allow-list, so a field added there (the keys are one) never reaches a viewer unasked.
# The page needs no login, and an API key alone starts and stops its account's user data
# stream (USER_STREAM, as on Binance): no key may ever be shown here.
ACCOUNT_FIELDS = ("name", "positionMode", "balances", "positions")
# What of a commit's user stream messages the feed shows (not TRADE_LITE, which repeats
# an ORDER_TRADE_UPDATE's fill, nor ACCOUNT_CONFIG_UPDATE).
FEED_EVENTS = frozenset({"ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE", "ALGO_UPDATE"})


class Dashboard:
    """The live view of every account, for the dashboard page's viewers."""

    def __init__(
        self, admin: AdminService, clock: Clock, *, history: int = 120, feed: int = 50
    ) -> None:
        self.admin = admin
        self.registry = admin.registry
        self.clock = clock
        self.viewers: set[Sink] = set()
        # symbol → recent (time ms, mark) pairs, sampled whenever the marks moved.
        self.marks: dict[str, deque[tuple[int, str]]] = {}
        self._history = history
        # The latest FEED_EVENTS, newest first: {"account", "event"}.
        self.feed: deque[dict[str, Any]] = deque(maxlen=feed)
        self._seen: tuple[int, int] | None = None
        self.registry.subscribe(self._state_changed)

    def __repr__(self) -> str:
        return f"<Dashboard {len(self.viewers)} viewers>"

    def attach(self, viewer: Sink) -> None:
        self._sample()
        self.viewers.add(viewer)
        viewer.send(self._state())

    def detach(self, viewer: Sink) -> None:
        self.viewers.discard(viewer)

    def tick(self) -> None:
        """Send the state again if an account or a mark moved since the last one sent."""
        if self._sample() and self.viewers:
            self._send(self._state())

    def _sample(self) -> bool:
        """Note the marks of the symbols held when anything moved; True if it did."""
        registry = self.registry
        seen = (registry.marks_version, sum(e.version for e in registry.accounts.values()))
        if seen == self._seen:
            return False
        self._seen = seen
        now = self.clock.now_ms()
        held = {p.symbol for e in registry.accounts.values() for p in e.account.open_positions()}
        for symbol in held:
            mark = registry.marks.get(symbol)
            if mark is None:
                continue
            points = self.marks.setdefault(symbol, deque(maxlen=self._history))
            text = fmt_exact(mark)
            if not points or points[-1][1] != text:
                points.append((now, text))
        return True

    def _state(self) -> bytes:
        accounts = [self._account(name) for name in sorted(self.registry.accounts)]
        return orjson.dumps(
            {
                "type": "state",
                "time": self.clock.now_ms(),
                "accounts": accounts,
                "marks": {symbol: list(points) for symbol, points in sorted(self.marks.items())},
                "feed": list(self.feed),
            }
        )

    def _account(self, name: str) -> dict[str, Any]:
        described = self.admin.describe(name)
        shown = {field: described[field] for field in ACCOUNT_FIELDS}
        orders = orders_json(self.registry.account(name).account, self.registry.market)
        shown["openOrders"], shown["openAlgoOrders"] = orders["orders"], orders["algoOrders"]
        return shown

    def _state_changed(self, changed: StateChanged) -> None:
        # One account's items at a time, in commit order, as its user streams get them.
        runs: list[list[AccountChanged]] = []
        for item in changed.applied:
            if runs and runs[-1][-1].account == item.account:
                runs[-1].append(item)
            else:
                runs.append([item])
        if self.viewers:
            for run in runs:
                for told in self._feed_items(run):
                    self.feed.appendleft(told)
                    self._send(orjson.dumps({"type": "update", **told}))
            return
        # Nobody watches: only what the feed keeps is worth building (a funding settlement
        # or a liquidation cascade commits thousands of accounts at once), newest first.
        newest: list[list[dict[str, Any]]] = []
        count, limit = 0, self.feed.maxlen
        for run in reversed(runs):
            if limit is not None and count >= limit:
                break
            newest.append(self._feed_items(run))
            count += len(newest[-1])
        for items in reversed(newest):
            self.feed.extendleft(items)

    def _feed_items(self, items: list[AccountChanged]) -> list[dict[str, Any]]:
        """What one account's items of a commit add to the feed, in order."""
        name = items[0].account
        return [
            {"account": name, "event": event}
            for event in account_messages(self.registry, items)
            if event.get("e") in FEED_EVENTS
        ]

    def _send(self, message: bytes) -> None:
        for viewer in list(self.viewers):
            viewer.send(message)
