"""Whether an order may be placed, and the order it becomes (decided: no book, one mark
per symbol).

``new_order`` runs Binance's placement checks in Binance's order — first failure wins,
each an ``EngineError`` with Binance's code — from the position side to the filters, and
returns the ``Order`` as accepted (status NEW, nothing executed). What happens to it next
(a fill at once, a rest, an expiry, or a refusal that needs the book: post-only, FOK,
margin) is ``matching``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .account import Account
from .algo_errors import ParamNotRequired
from .errors import (
    ClientOrderIdDuplicated,
    MaxOpenOrders,
    PositionSideMismatch,
    ReduceOnlyRejected,
    UnableToFill,
)
from .events import Order, OrderType, PositionMode, PositionSide, Side, TimeInForce
from .filters import (
    check_min_notional,
    check_order_filters,
    check_percent_price,
    filters_for,
    top_of_book,
)
from .market import Symbol
from .numbers import ZERO
from .order_request import OrderRequest

__all__ = ["Book", "closing_capacity", "matched_price", "new_order", "order_direction"]


@dataclass(frozen=True, slots=True)
class Book:
    """The synthetic top of book of a symbol at its mark: ``ask = ceil_tick(M(1 + s))``,
    ``bid = floor_tick(M(1 − s))``; None without a mark."""

    mark: Decimal
    bid: Decimal
    ask: Decimal

    @classmethod
    def at(cls, symbol: Symbol, marks: Mapping[str, Decimal], slippage: Decimal) -> Book | None:
        mark = marks.get(symbol.name)
        if not mark:
            return None
        bid, ask = top_of_book(symbol, mark, slippage)
        return cls(mark, bid, ask)

    def takes(self, side: Side, price: Decimal) -> bool:
        """A limit at ``price`` is marketable: BUY at or above the ask, SELL at or below
        the bid."""
        return price >= self.ask if side is Side.BUY else price <= self.bid

    def touch(self, side: Side) -> Decimal:
        """Where ``side`` takes: the ask for BUY, the bid for SELL."""
        return self.ask if side is Side.BUY else self.bid


def order_direction(side: Side) -> int:
    return 1 if side is Side.BUY else -1


def closing_capacity(
    account: Account, symbol: str, position_side: PositionSide, side: Side
) -> Decimal:
    """How much an order of ``side`` may still close of its side's position: the held size
    net of the open orders that already close it (0 when ``side`` would open)."""
    position = account.position(symbol, position_side)
    if position_side is PositionSide.BOTH:
        closes = position.direction == -order_direction(side)
    else:
        closes = (position_side is PositionSide.LONG) == (side is Side.SELL)
    if not closes or not position.amount:
        return ZERO
    used = sum(
        (
            o.remaining
            for o in account.orders.values()
            if o.symbol == symbol and o.position_side is position_side and o.side is side
        ),
        ZERO,
    )
    return max(ZERO, abs(position.amount) - used)


def _position_side(account: Account, request: OrderRequest) -> PositionSide:
    wanted = request.position_side
    if account.position_mode is PositionMode.HEDGE:
        if wanted not in (PositionSide.LONG, PositionSide.SHORT):
            raise PositionSideMismatch(f"hedge mode needs LONG or SHORT, got {wanted}")
        if request.reduce_only and request.orig_type is None:
            raise ParamNotRequired("reduceonly")
        return wanted
    if wanted not in (None, PositionSide.BOTH):
        raise PositionSideMismatch(f"one-way mode takes BOTH, got {wanted}")
    return PositionSide.BOTH


def matched_price(request: OrderRequest, symbol: Symbol, book: Book | None) -> Decimal | None:
    """The price ``priceMatch`` sets at placement: OPPONENT the other side's touch, QUEUE
    one's own; ``_n`` levels n − 1 ticks further from the touch."""
    match = request.price_match
    if match == "NONE":
        return request.price
    if book is None:
        raise UnableToFill(f"priceMatch {match} needs a mark of {symbol.name}")
    name, _, depth = match.partition("_")
    tick = filters_for(symbol).tick_size
    steps = int(depth) - 1 if depth else 0
    buy = request.side is Side.BUY
    if name == "OPPONENT":
        return book.ask + steps * tick if buy else book.bid - steps * tick
    return book.bid - steps * tick if buy else book.ask + steps * tick


def new_order(
    account: Account,
    request: OrderRequest,
    symbol: Symbol,
    marks: Mapping[str, Decimal],
    *,
    order_id: int,
    now: int,
    slippage: Decimal = ZERO,
) -> Order:
    """The order ``request`` becomes, after every placement check that needs no fill."""
    position_side = _position_side(account, request)
    if any(o.client_order_id == request.client_order_id for o in account.orders.values()):
        raise ClientOrderIdDuplicated(request.client_order_id)
    market_order = request.type is OrderType.MARKET
    book = Book.at(symbol, marks, slippage)
    price = ZERO if market_order else matched_price(request, symbol, book)
    quantity = request.quantity
    assert quantity is not None and price is not None  # the service asks for both
    check_order_filters(symbol, quantity, None if market_order else price, market=market_order)
    if not market_order and book is not None:
        check_percent_price(symbol, request.side, price, book.mark)
    capacity = closing_capacity(account, symbol.name, position_side, request.side)
    if request.reduce_only or (position_side is not PositionSide.BOTH and capacity):
        _check_reduce_only(account, request, symbol, position_side, capacity, quantity)
    else:
        opening = quantity - min(quantity, capacity)
        if not market_order:
            check_min_notional(symbol, opening, price)
        elif book is not None:
            check_min_notional(symbol, opening, book.touch(request.side))
    filters = filters_for(symbol)
    if sum(1 for o in account.orders.values() if o.symbol == symbol.name) >= filters.max_num_orders:
        raise MaxOpenOrders(f"{symbol.name} has {filters.max_num_orders} open orders")
    if market_order and book is None:
        raise UnableToFill(f"{symbol.name} has no mark to fill a MARKET order at")
    tif = TimeInForce.GTC if market_order else (request.time_in_force or TimeInForce.GTC)
    return Order(
        order_id=order_id,
        client_order_id=request.client_order_id,
        symbol=symbol.name,
        side=request.side,
        type=request.type,
        quantity=quantity,
        price=price,
        position_side=position_side,
        time_in_force=tif,
        reduce_only=request.reduce_only,
        close_position=request.close_position,
        orig_type=request.orig_type,
        stop_price=request.stop_price,
        working_type=request.working_type,
        price_protect=request.price_protect,
        price_match=request.price_match,
        self_trade_prevention=request.self_trade_prevention,
        good_till_date=request.good_till_date,
        activate_price=request.activate_price,
        callback_rate=request.callback_rate,
        time=now,
        update_time=now,
    )


def _check_reduce_only(
    account: Account,
    request: OrderRequest,
    symbol: Symbol,
    position_side: PositionSide,
    capacity: Decimal,
    quantity: Decimal,
) -> None:
    """-2022: a one-way reduce-only order on a flat side or in the held direction; a
    hedge closing order beyond what its side holds net of the open closing orders."""
    position = account.position(symbol.name, position_side)
    if position_side is PositionSide.BOTH:
        if not position.amount or position.direction == order_direction(request.side):
            raise ReduceOnlyRejected(f"{symbol.name} holds {position.amount}")
        return
    if quantity > capacity:
        raise ReduceOnlyRejected(
            f"closing {quantity} {symbol.name} {position_side.value}, {capacity} is left to close"
        )
