"""The account owner's orders: placed, amended and canceled through the one write path,
filled by the marks, read back from the served state (open ones) and the store (the rest).

Every write is a plan over the served state (``AdminService.plan_events``): the engine
decides (``engine.place_order``, ``cancel_order``, ``modify_order``, ``fills_on_mark``)
with ids after the ledger's (``Registry.ids``) and the current marks; the events commit
durably, then reach the registry, the streams and the other gateways through the one door.
A refusal raises with Binance's code and writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..engine import (
    Account,
    AlgoUpdate,
    Event,
    Order,
    OrderNotFound,
    OrderRequest,
    OrderUpdate,
    apply,
    cancel_order,
    expired_algos,
    expired_orders,
    modify_order,
    orders_on_mark,
    place_order,
)
from ..engine.numbers import ZERO
from ..protocol import OrderCounter, OrderLimiter
from .admin import AdminService
from .order_index import OrderIndex
from .registry import StateChanged

__all__ = ["OrderService", "Placed"]

log = logging.getLogger("posrisk.orders")

# Binance keeps unfilled CANCELED/EXPIRED orders 3 days and any order 90 days.
UNFILLED_RETENTION_MS = 3 * 24 * 3600 * 1000
RETENTION_MS = 90 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Placed:
    """An order as accepted (``accepted``: NEW, nothing executed: the ACK answer) and as it
    stands after matching (``result``: the RESULT answer)."""

    accepted: Order
    result: Order


def _last_state(events: Sequence[Event], order_id: int) -> Order:
    for event in reversed(events):
        if isinstance(event, OrderUpdate) and event.order.order_id == order_id:
            return event.order
    raise AssertionError(f"order {order_id} is not among the events")


class OrderService:
    """Orders over the admin service's write path, the registry's state and the store."""

    def __init__(
        self,
        admin: AdminService,
        *,
        slippage_bps: Decimal = ZERO,
        counter: OrderLimiter | None = None,
    ) -> None:
        self.admin = admin
        self.registry = admin.registry
        self.market = admin.market
        self.slippage = slippage_bps / 10_000
        self.index = OrderIndex(self.registry)
        # The ORDERS windows per account: this process's, or the bus's shared ones.
        self.counter: OrderLimiter = counter if counter is not None else OrderCounter()
        # Resting orders filled by marks, for the metrics and the tests.
        self.fills = 0
        # Symbols to match again, and the task doing it (see ``_changed``).
        self._due: set[str] = set()
        self._matcher: asyncio.Task[None] | None = None
        self.registry.subscribe(self._changed)  # after the index: it sees the change first

    def __repr__(self) -> str:
        return f"<OrderService {len(self.index)} resting>"

    # -- writes -------------------------------------------------------------------------

    async def place(self, account: str, request: OrderRequest) -> Placed:
        registry = self.registry

        def plan(state: Account, now: int) -> list[Event]:
            ids = registry.ids.next_ids()
            return list(
                place_order(
                    state, request, self.market, registry.marks, ids=ids, now=now,
                    slippage=self.slippage,
                ).events
            )  # fmt: skip

        events = await self.admin.plan_events(account, plan)
        first = events[0]
        assert isinstance(first, OrderUpdate)
        return Placed(first.order, _last_state(events, first.order.order_id))

    def test(self, account: str, request: OrderRequest) -> Order:
        """``POST /fapi/v1/order/test``: every check and the matching, nothing stored, no
        event; the order as it would stand."""
        registry = self.registry
        state = registry.account(account).account
        now = self.admin.clock.now_ms()
        matched = place_order(
            state, request, self.market, registry.marks, ids=registry.ids.next_ids(), now=now,
            slippage=self.slippage,
        )  # fmt: skip
        return _last_state(matched.events, matched.events[0].order.order_id)

    async def cancel(
        self, account: str, symbol: str, *, order_id: int | None, client_order_id: str | None
    ) -> Order:
        def plan(state: Account, now: int) -> list[Event]:
            return [
                cancel_order(
                    state, symbol, order_id=order_id, client_order_id=client_order_id, now=now
                )
            ]

        events = await self.admin.plan_events(account, plan)
        update = events[-1]
        assert isinstance(update, OrderUpdate)
        return update.order

    async def cancel_all(self, account: str, symbol: str) -> list[Order]:
        """Cancel every open regular order of ``symbol`` (``allOpenOrders``), at once."""

        def plan(state: Account, now: int) -> list[Event]:
            return [
                cancel_order(state, symbol, order_id=o.order_id, now=now)
                for o in sorted(state.orders.values(), key=lambda o: o.order_id)
                if o.symbol == symbol
            ]

        events = await self.admin.plan_events(account, plan)
        return [e.order for e in events if isinstance(e, OrderUpdate)]

    async def modify(self, account: str, request: OrderRequest, order_id: int | None) -> Order:
        registry = self.registry
        found: list[int] = []

        def plan(state: Account, now: int) -> list[Event]:
            matched = modify_order(
                state, request, self.market, registry.marks, order_id=order_id,
                ids=registry.ids.next_ids(), now=now, slippage=self.slippage,
            )  # fmt: skip
            found[:] = [matched.events[0].order.order_id]
            return list(matched.events)

        events = await self.admin.plan_events(account, plan)
        return _last_state(events, found[0])

    # -- marks --------------------------------------------------------------------------

    async def on_marks(self, moved: Mapping[str, Decimal]) -> None:
        """What the moved marks do to orders: per symbol, the accounts whose algo orders
        the mark triggers or whose resting orders its touch reached (found by price in
        the index, so a tick costs the crossed orders, not the resting ones); each
        account's triggers and fills are one write (``engine.orders_on_mark``), and the
        accounts' writes go in together (one group commit for many)."""
        registry = self.registry
        for symbol in moved:
            if symbol not in self.market:
                continue
            accounts = self.index.crossed(symbol, registry.marks, self.slippage)
            done = await asyncio.gather(*(self._fill(account, symbol) for account in accounts))
            for events in done:
                self.fills += sum(1 for e in events if isinstance(e, OrderUpdate) and e.trade)

    def _changed(self, changed: StateChanged) -> None:
        """Decided: every gateway matches every mark it learns of, whoever moved it. The
        gateway whose feed or administrator moved a mark matches at once (``MarkFeed``);
        one hearing it from another gateway matches here, because the mover may not have
        heard of an order yet. An order that comes to rest already reached by the marks
        (they moved while it was planned, here or on another gateway) is matched too.
        The store's revision check lets one fill commit: the others plan again against it
        and find nothing."""
        due = set() if changed.local else set(changed.marks)
        marks = self.registry.marks
        for item in changed.applied:
            event = item.event
            if isinstance(event, OrderUpdate | AlgoUpdate) and self.index.reached(
                event, marks, self.slippage
            ):
                due.add(event.order.symbol if isinstance(event, OrderUpdate) else event.algo.symbol)
        if due:
            self._match_later(due)

    def _match_later(self, symbols: Iterable[str]) -> None:
        self._due.update(symbols)
        if self._matcher is None or self._matcher.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a registry changed outside one): nothing runs
                return
            self._matcher = loop.create_task(self._match_due())

    async def _match_due(self) -> None:
        while self._due:
            due, self._due = self._due, set()
            marks = self.registry.marks
            await self.on_marks({s: marks[s] for s in sorted(due) if s in marks})

    async def matched(self) -> None:
        """Until the matching ``_changed`` scheduled is done (the tests wait for it)."""
        while self._matcher is not None and not self._matcher.done():
            await asyncio.wait([self._matcher])

    async def stop(self) -> None:
        """Stop matching what other gateways told of (the server stops)."""
        if self._matcher is not None:
            self._matcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._matcher
            self._matcher = None
        self._due.clear()

    async def _fill(self, account: str, symbol: str) -> list[Event]:
        registry = self.registry

        def plan(state: Account, now: int) -> list[Event]:
            ids = registry.ids.next_ids()
            return orders_on_mark(
                state, symbol, self.market, registry.marks, ids=ids, now=now,
                slippage=self.slippage,
            )  # fmt: skip

        try:
            return await self.admin.plan_events(account, plan)
        except Exception:
            log.exception("filling %s's %s orders failed", account, symbol)
            return []

    async def expire(self) -> None:
        """Expire the GTD orders and algo orders whose goodTillDate has come (the mark
        feed's periodic loop calls it); only the accounts holding one are looked at."""
        now = self.admin.clock.now_ms()
        for name in self.index.due(now):

            def plan(state: Account, at: int) -> list[Event]:
                expired: list[Event] = list(expired_orders(state, self.market, at).events)
                after = state
                for event in expired:
                    after = apply(after, event, self.market).account
                return [*expired, *expired_algos(after, at)]

            try:
                await self.admin.plan_events(name, plan)
            except Exception:
                log.exception("expiring %s's GTD orders failed", name)

    # -- reads --------------------------------------------------------------------------

    def open_orders(self, account: str, symbol: str | None = None) -> list[Order]:
        orders = self.registry.account(account).account.orders.values()
        return sorted(
            (o for o in orders if symbol is None or o.symbol == symbol), key=lambda o: o.order_id
        )

    async def order(
        self, account: str, symbol: str, *, order_id: int | None, client_order_id: str | None
    ) -> Order:
        """An order by id (orderId beats origClientOrderId): open from the served state,
        else from the store within Binance's retention; -2013 otherwise."""
        for order in self.open_orders(account, symbol):
            if (order_id is not None and order.order_id == order_id) or (
                order_id is None and order.client_order_id == client_order_id
            ):
                return order
        found = await self.admin.store.order(
            account, symbol, order_id=order_id, client_order_id=client_order_id
        )
        now = self.admin.clock.now_ms()
        if found is None or not retained(found, now):
            raise OrderNotFound(f"no order {order_id or client_order_id!r} on {symbol}")
        return found


def retained(order: Order, now: int) -> bool:
    """Whether Binance still answers for ``order``: an unfilled CANCELED/EXPIRED one for 3
    days, any other for 90."""
    age = now - order.update_time
    if not order.executed_qty and not order.status.is_open:
        return age <= UNFILLED_RETENTION_MS
    return age <= RETENTION_MS
