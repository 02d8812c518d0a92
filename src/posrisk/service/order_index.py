"""Resting limit orders by symbol, side and price, so a mark tick finds the orders its
touch crossed in O(log n + crossed), however many rest.

The index is derived state: built from the registry's accounts, then kept by the
registry's one change event (every ``OrderUpdate`` applied, whoever committed it). It
only says which accounts to look at; the engine decides what fills (``fills_on_mark``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from decimal import Decimal

from ..engine import Market, Order, OrderType, OrderUpdate, Side
from ..engine.filters import top_of_book
from .registry import Registry, StateChanged

__all__ = ["OrderIndex"]

# A sort key: (price, orderId).
Key = tuple[Decimal, int]


class _Book:
    """One symbol's resting limits: buys and sells, each sorted by (price, orderId)."""

    __slots__ = ("buys", "sells")

    def __init__(self) -> None:
        self.buys: list[Key] = []
        self.sells: list[Key] = []

    def side(self, side: Side) -> list[Key]:
        return self.buys if side is Side.BUY else self.sells


class OrderIndex:
    """Which accounts have resting limits a symbol's touch crosses."""

    def __init__(self, registry: Registry) -> None:
        self.market: Market = registry.market
        self._books: dict[str, _Book] = {}
        # orderId -> (account, order as indexed)
        self._orders: dict[int, tuple[str, Order]] = {}
        for name, entry in registry.accounts.items():
            for order in entry.account.orders.values():
                self._add(name, order)
        registry.subscribe(self._changed)

    def __len__(self) -> int:
        return len(self._orders)

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

    def _add(self, account: str, order: Order) -> None:
        if order.type is not OrderType.LIMIT:
            return
        book = self._books.get(order.symbol)
        if book is None:
            book = self._books[order.symbol] = _Book()
        insort(book.side(order.side), (order.price, order.order_id))
        self._orders[order.order_id] = (account, order)

    def _remove(self, order_id: int) -> None:
        found = self._orders.pop(order_id, None)
        if found is None:
            return
        order = found[1]
        keys = self._books[order.symbol].side(order.side)
        at = bisect_left(keys, (order.price, order_id))
        if at < len(keys) and keys[at] == (order.price, order_id):
            del keys[at]

    def crossed(self, symbol: str, marks: Mapping[str, Decimal], slippage: Decimal) -> list[str]:
        """The accounts with a resting BUY at or above the ask, or a SELL at or below the
        bid, of ``symbol`` at its mark (in orderId order of their first such order)."""
        book = self._books.get(symbol)
        mark = marks.get(symbol)
        if book is None or not mark:
            return []
        bid, ask = top_of_book(self.market[symbol], mark, slippage)
        keys = book.buys[bisect_left(book.buys, (ask, 0)) :]
        keys += book.sells[: bisect_right(book.sells, (bid, 1 << 62))]
        accounts: dict[str, None] = {}
        for _, order_id in sorted(keys, key=lambda key: key[1]):
            accounts.setdefault(self._orders[order_id][0])
        return list(accounts)
