"""Resting limit orders by symbol, side and price, and untriggered algo orders by trigger
price, so a mark tick finds the orders it crossed in O(log n + crossed), however many
rest. (A trailing stop's trigger moves with the marks: each is looked at on every mark of
its symbol.)

The index is derived state: built from the registry's accounts, then kept by the
registry's one change event (every ``OrderUpdate`` applied, whoever committed it). It
only says which accounts to look at; the engine decides what fills (``fills_on_mark``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from decimal import Decimal

from ..engine import (
    AlgoOrder,
    AlgoStatus,
    AlgoUpdate,
    Execution,
    Market,
    Order,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
)
from ..engine.algo import is_triggered, trigger_bounds
from ..engine.filters import top_of_book
from .registry import Registry, StateChanged

__all__ = ["OrderIndex"]

# A sort key: (price, orderId or algoId); _LAST sorts after every id.
Key = tuple[Decimal, int]
_LAST = 1 << 62


class _Book:
    """One symbol's resting limits: buys and sells, each sorted by (price, orderId); its
    algo orders that fire at or above a price, at or below one, and its trailing ones."""

    __slots__ = ("above", "below", "buys", "sells", "trailing")

    def __init__(self) -> None:
        self.buys: list[Key] = []
        self.sells: list[Key] = []
        self.above: list[Key] = []
        self.below: list[Key] = []
        self.trailing: dict[int, str] = {}

    def side(self, side: Side) -> list[Key]:
        return self.buys if side is Side.BUY else self.sells


class OrderIndex:
    """Which accounts have resting limits a symbol's touch crosses."""

    def __init__(self, registry: Registry) -> None:
        self.market: Market = registry.market
        self._books: dict[str, _Book] = {}
        # orderId -> (account, order as indexed); algoId -> (account, algo as indexed)
        self._orders: dict[int, tuple[str, Order]] = {}
        self._algos: dict[int, tuple[str, AlgoOrder]] = {}
        # GTD orders and algo orders by id ("o", id) / ("a", id): (account, goodTillDate).
        self._deadlines: dict[tuple[str, int], tuple[str, int]] = {}
        for name, entry in registry.accounts.items():
            for order in entry.account.orders.values():
                self._add(name, order)
            for algo in entry.account.algos.values():
                self._add_algo(name, algo)
        registry.subscribe(self._changed)

    def __len__(self) -> int:
        return len(self._orders) + len(self._algos)

    def __repr__(self) -> str:
        return f"<OrderIndex {len(self._orders)} resting on {len(self._books)} symbols>"

    def _changed(self, changed: StateChanged) -> None:
        for item in changed.applied:
            event = item.event
            if isinstance(event, OrderUpdate):
                order = event.order
                self._remove(order.order_id)
                if order.status.is_open:
                    self._add(item.account, order)
            elif isinstance(event, AlgoUpdate):
                self._remove_algo(event.algo.algo_id)
                if event.algo.status is AlgoStatus.NEW:
                    self._add_algo(item.account, event.algo)

    def _book(self, symbol: str) -> _Book:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _Book()
        return book

    def _add_algo(self, account: str, algo: AlgoOrder) -> None:
        if algo.status is not AlgoStatus.NEW:
            return
        if algo.time_in_force is TimeInForce.GTD and algo.good_till_date:
            self._deadlines["a", algo.algo_id] = (account, algo.good_till_date)
        book = self._book(algo.symbol)
        above, below = trigger_bounds(algo)
        if above is not None:
            insort(book.above, (above, algo.algo_id))
        elif below is not None:
            insort(book.below, (below, algo.algo_id))
        else:
            book.trailing[algo.algo_id] = account
        self._algos[algo.algo_id] = (account, algo)

    def _remove_algo(self, algo_id: int) -> None:
        self._deadlines.pop(("a", algo_id), None)
        found = self._algos.pop(algo_id, None)
        if found is None:
            return
        algo = found[1]
        book = self._books[algo.symbol]
        book.trailing.pop(algo_id, None)
        above, below = trigger_bounds(algo)
        for keys, price in ((book.above, above), (book.below, below)):
            if price is not None:
                at = bisect_left(keys, (price, algo_id))
                if at < len(keys) and keys[at] == (price, algo_id):
                    del keys[at]

    def due(self, now: int) -> list[str]:
        """The accounts holding a GTD order or algo order whose goodTillDate has come."""
        return list(dict.fromkeys(a for a, until in self._deadlines.values() if until <= now))

    def _add(self, account: str, order: Order) -> None:
        if order.time_in_force is TimeInForce.GTD and order.good_till_date:
            self._deadlines["o", order.order_id] = (account, order.good_till_date)
        if order.type is not OrderType.LIMIT:
            return
        book = self._book(order.symbol)
        insort(book.side(order.side), (order.price, order.order_id))
        self._orders[order.order_id] = (account, order)

    def _remove(self, order_id: int) -> None:
        self._deadlines.pop(("o", order_id), None)
        found = self._orders.pop(order_id, None)
        if found is None:
            return
        order = found[1]
        keys = self._books[order.symbol].side(order.side)
        at = bisect_left(keys, (order.price, order_id))
        if at < len(keys) and keys[at] == (order.price, order_id):
            del keys[at]

    def crossed(self, symbol: str, marks: Mapping[str, Decimal], slippage: Decimal) -> list[str]:
        """The accounts whose orders a mark of ``symbol`` reaches: an algo order it
        triggers (or a trailing one, which follows every mark), a resting BUY at or above
        the ask, a SELL at or below the bid."""
        book = self._books.get(symbol)
        mark = marks.get(symbol)
        if book is None or not mark:
            return []
        accounts: dict[str, None] = dict.fromkeys(book.trailing.values())
        fired = book.above[: bisect_right(book.above, (mark, _LAST))]
        fired += book.below[bisect_left(book.below, (mark, 0)) :]
        for _, algo_id in sorted(fired, key=lambda key: key[1]):
            accounts.setdefault(self._algos[algo_id][0])
        bid, ask = top_of_book(self.market[symbol], mark, slippage)
        keys = book.buys[bisect_left(book.buys, (ask, 0)) :]
        keys += book.sells[: bisect_right(book.sells, (bid, _LAST))]
        for _, order_id in sorted(keys, key=lambda key: key[1]):
            accounts.setdefault(self._orders[order_id][0])
        return list(accounts)

    def reached(
        self, event: OrderUpdate | AlgoUpdate, marks: Mapping[str, Decimal], slippage: Decimal
    ) -> bool:
        """Whether the order ``event`` left resting is already reached by the marks: it
        was planned against marks that moved before it came to rest, so no tick since
        could have found it (a trailing order waits for the next mark)."""
        if isinstance(event, AlgoUpdate):
            algo = event.algo
            mark = marks.get(algo.symbol)
            return (
                algo.status is AlgoStatus.NEW
                and algo.algo_id in self._algos
                and algo.algo_id not in self._books[algo.symbol].trailing
                and mark is not None
                and is_triggered(algo, mark)
            )
        order = event.order
        mark = marks.get(order.symbol)
        placed = event.execution in (Execution.NEW, Execution.AMENDMENT)
        if not placed or order.order_id not in self._orders or not mark:
            return False
        bid, ask = top_of_book(self.market[order.symbol], mark, slippage)
        return order.price >= ask if order.side is Side.BUY else order.price <= bid
