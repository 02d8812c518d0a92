"""Matching orders against the mark (decided: no book, one mark per symbol).

posrisk has a mark per symbol and no order book, so the book is synthetic (``Book``):
MARKET orders and marketable limits fill in full at once at the touch, as taker; other
limits rest and fill in full, as maker, at their own price on the first mark whose touch
crosses them. There are no partial fills except a reduce-only order larger than the
position when it fills: the position's size executes and the rest expires (``er`` 4).

Every function here is pure: it returns the ``OrderUpdate`` events that say what happened,
each one ``ledger.apply`` accepts in turn, and raises an ``EngineError`` with Binance's
code when the order is refused (nothing happened). Ids come from an ``IdSource``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from typing import Protocol

from .account import Account
from .commission import rates_for
from .errors import (
    EngineError,
    ExceedsMaxPosition,
    FokRejected,
    InvalidValue,
    LimitOrderOnly,
    MarginInsufficient,
    ModifyLimitExceeded,
    ModifyUnchanged,
    OrderNotFound,
    PostOnlyRejected,
    UnknownOrder,
)
from .events import (
    Event,
    Execution,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionSide,
    Side,
    TimeInForce,
    Trade,
)
from .filters import check_order_filters, check_percent_price
from .ledger import apply
from .liquidation import liquidation_events
from .margin import check_opening_margin
from .market import Market, Symbol
from .numbers import CONTEXT, ZERO, fmt_money
from .order_request import OrderRequest
from .order_state import trade_fill, trade_realized_pnl
from .placement import Book, closing_capacity, matched_price, new_order, order_direction
from .risk import AccountRisk, initial_margin

__all__ = [
    "IdSource",
    "Matched",
    "cancel_order",
    "expired_orders",
    "fills_on_mark",
    "liquidation_updates",
    "modify_order",
    "place_order",
]

# ``er`` of an expiry: IOC leftover, reduce-only clip, liquidation, GTD passed.
EXPIRE_IOC = 2
EXPIRE_REDUCE_ONLY = 4
EXPIRE_LIQUIDATION = 5
EXPIRE_GTD = 6
# Binance refuses the 10 000th modification of one order.
MAX_MODIFICATIONS = 10_000


class IdSource(Protocol):
    """Where new order and trade ids come from (persisted global counters)."""

    def next_order_id(self) -> int: ...
    def next_trade_id(self) -> int: ...


@dataclass(slots=True)
class Matched:
    """What happened, in order, and the account after it."""

    account: Account
    market: Market
    events: list[OrderUpdate] = field(default_factory=list)

    def add(self, update: OrderUpdate) -> Order:
        self.account = apply(self.account, update, self.market).account
        self.events.append(update)
        return update.order

    def order(self, order_id: int) -> Order | None:
        """The order's last state in this run (None if it never appeared)."""
        for update in reversed(self.events):
            if update.order.order_id == order_id:
                return update.order
        return None


def place_order(
    account: Account,
    request: OrderRequest,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    ids: IdSource,
    now: int,
    slippage: Decimal = ZERO,
) -> Matched:
    """Place ``request``: the NEW order, then whatever matching does to it at once."""
    with localcontext(CONTEXT):
        symbol = market[request.symbol]
        order = new_order(
            account,
            request,
            symbol,
            marks,
            order_id=ids.next_order_id(),
            now=now,
            slippage=slippage,
        )
        book = Book.at(symbol, marks, slippage)
        takes = order.type is OrderType.MARKET or (
            book is not None and book.takes(order.side, order.price)
        )
        price = book.touch(order.side) if takes and book is not None else order.price
        _check_margin(account, order, symbol, market, marks, price, taker=takes)
        if takes and order.time_in_force is TimeInForce.GTX:
            raise PostOnlyRejected(f"{order.side.value} at {order.price} takes at {price}")
        if not takes and order.time_in_force is TimeInForce.FOK:
            raise FokRejected(f"{order.side.value} at {order.price} does not reach {book}")
        matched = Matched(account, market)
        matched.add(OrderUpdate(order, Execution.NEW, time=now))
        if takes:
            _execute(matched, order, price, maker=False, ids=ids, now=now)
        elif order.time_in_force is TimeInForce.IOC:
            matched.add(_closed(order, OrderStatus.EXPIRED, now, EXPIRE_IOC))
        return matched


def _opening(
    account: Account, symbol: str, position_side: PositionSide, side: Side, qty: Decimal
) -> tuple[Decimal, Decimal]:
    """(size the side would hold in the order's direction with every open order of that
    direction filled, this order's opening quantity)."""
    position = account.position(symbol, position_side)
    direction = order_direction(side)
    resting = sum(
        (
            o.remaining
            for o in account.orders.values()
            if o.symbol == symbol and o.position_side is position_side and o.side is side
        ),
        ZERO,
    )
    capacity = closing_capacity(account, symbol, position_side, side)
    opening = qty - min(qty, capacity)
    if position.direction == direction:
        return abs(position.amount) + resting + opening, opening
    closable = abs(position.amount) if position.direction else ZERO
    return max(ZERO, resting - closable) + opening, opening


def _check_margin(
    account: Account,
    order: Order,
    symbol: Symbol,
    market: Market,
    marks: Mapping[str, Decimal],
    price: Decimal,
    *,
    taker: bool,
) -> None:
    """-2027 past the bracket's cap at the leverage (open orders counted), -2019 when the
    opening part needs more than availableBalance (a taker's fee included)."""
    if order.reduce_only:
        return
    size, opening = _opening(account, symbol.name, order.position_side, order.side, order.quantity)
    if not opening:
        return
    leverage = account.settings_for(symbol).leverage
    cap = symbol.max_notional(leverage)
    if size * price > cap:
        raise ExceedsMaxPosition(f"{size} {symbol.name} at {price} is over {cap} at {leverage}x")
    if taker:
        fill = trade_fill(order, order.quantity, price, _fee(account, order, price, False), 0)
        check_opening_margin(account, fill, market, marks)
        return
    needed = initial_margin(opening * price, leverage)
    available = AccountRisk(account, market, marks).asset(symbol.margin_asset).available_balance
    if needed > available:
        raise MarginInsufficient(
            f"resting {opening} {symbol.name} at {price} holds {fmt_money(needed)} "
            f"{symbol.margin_asset} at {leverage}x; availableBalance is {fmt_money(available)}"
        )


def _fee(account: Account, order: Order, price: Decimal, maker: bool) -> Decimal:
    rates = rates_for(account.commission, order.symbol)
    return order.remaining * price * (rates.maker if maker else rates.taker)


def _closed(order: Order, status: OrderStatus, now: int, reason: int = 0) -> OrderUpdate:
    execution = Execution.CANCELED if status is OrderStatus.CANCELED else Execution.EXPIRED
    return OrderUpdate(replace(order, status=status, update_time=now), execution, None, reason, now)


def _execute(
    matched: Matched, order: Order, price: Decimal, *, maker: bool, ids: IdSource, now: int
) -> None:
    """``order`` trades what is left of it at ``price``; a reduce-only order (or a hedge
    closing one) trades no more than its side holds, and the rest expires."""
    account = matched.account
    qty = order.remaining
    reduces = order.reduce_only or (
        order.position_side is not PositionSide.BOTH
        and (order.position_side is PositionSide.LONG) == (order.side is Side.SELL)
    )
    if reduces:
        position = account.position(order.symbol, order.position_side)
        closes = position.direction == -order_direction(order.side)
        qty = min(qty, abs(position.amount)) if closes else ZERO
    if qty:
        rates = rates_for(account.commission, order.symbol)
        fee = qty * price * (rates.maker if maker else rates.taker)
        fill = trade_fill(order, qty, price, fee, now)
        executed = order.executed_qty + qty
        order = replace(
            order,
            status=OrderStatus.FILLED
            if executed == order.quantity
            else OrderStatus.PARTIALLY_FILLED,
            executed_qty=executed,
            cum_quote=order.cum_quote + qty * price,
            update_time=now,
        )
        realized = trade_realized_pnl(account, fill)
        trade = Trade(ids.next_trade_id(), qty, price, fee, maker, realized)
        order = matched.add(OrderUpdate(order, Execution.TRADE, trade, time=now))
    if order.status.is_open:
        matched.add(_closed(order, OrderStatus.EXPIRED, now, EXPIRE_REDUCE_ONLY))


def fills_on_mark(
    account: Account,
    symbol: str,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    ids: IdSource,
    now: int,
    slippage: Decimal = ZERO,
) -> Matched:
    """The resting limits of ``symbol`` the mark's touch crossed, filled in full at their
    own price as maker: best price first, then orderId. An order whose fill the account
    can no longer take (the position's cap, an isolated wallet short of margin) expires."""
    matched = Matched(account, market)
    with localcontext(CONTEXT):
        book = Book.at(market[symbol], marks, slippage)
        if book is None:
            return matched
        crossed = [
            o
            for o in account.orders.values()
            if o.symbol == symbol and o.type is OrderType.LIMIT and book.takes(o.side, o.price)
        ]
        crossed.sort(
            key=lambda o: (
                o.side is Side.SELL,
                -o.price if o.side is Side.BUY else o.price,
                o.order_id,
            )
        )
        for order in crossed:
            current = matched.account.orders.get(order.order_id)
            if current is None:
                continue
            try:
                _execute(matched, current, current.price, maker=True, ids=ids, now=now)
            except EngineError:
                matched.add(_closed(current, OrderStatus.EXPIRED, now))
    return matched


def expired_orders(account: Account, market: Market, now: int) -> Matched:
    """GTD orders whose time has passed, expired."""
    matched = Matched(account, market)
    for order in list(account.orders.values()):
        if order.time_in_force is TimeInForce.GTD and 0 < order.good_till_date <= now:
            matched.add(_closed(order, OrderStatus.EXPIRED, now, EXPIRE_GTD))
    return matched


def _find(
    account: Account, symbol: str, order_id: int | None, client_id: str | None
) -> Order | None:
    if order_id is not None:  # orderId beats origClientOrderId
        found = account.orders.get(order_id)
        return found if found is not None and found.symbol == symbol else None
    return next(
        (
            o
            for o in account.orders.values()
            if o.symbol == symbol and o.client_order_id == client_id
        ),
        None,
    )


def cancel_order(
    account: Account,
    symbol: str,
    *,
    order_id: int | None = None,
    client_order_id: str | None = None,
    now: int,
) -> OrderUpdate:
    """The CANCELED update of an open order; -2011 when none is open by that id."""
    order = _find(account, symbol, order_id, client_order_id)
    if order is None:
        raise UnknownOrder(f"no open order {order_id or client_order_id!r} on {symbol}")
    return _closed(order, OrderStatus.CANCELED, now)


def modify_order(
    account: Account,
    request: OrderRequest,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    order_id: int | None,
    ids: IdSource,
    now: int,
    slippage: Decimal = ZERO,
) -> Matched:
    """Amend an open LIMIT order's quantity and price (``request`` holds the new ones and
    ``client_order_id`` the origClientOrderId); a GTX order made marketable is canceled,
    another fills at once as taker. A refused modification leaves the order as it was."""
    with localcontext(CONTEXT):
        symbol = market[request.symbol]
        order = _find(
            account, symbol.name, order_id, request.client_order_id if order_id is None else None
        )
        if order is None:
            raise OrderNotFound(f"no open order {order_id or request.client_order_id!r}")
        if order.type is not OrderType.LIMIT:
            raise LimitOrderOnly(f"order {order.order_id} is {order.type.value}")
        if request.side is not order.side:
            raise InvalidValue("side", f"order {order.order_id} is a {order.side.value}")
        if order.modify_count + 1 >= MAX_MODIFICATIONS:
            raise ModifyLimitExceeded(
                f"order {order.order_id} was modified {order.modify_count} times"
            )
        book = Book.at(symbol, marks, slippage)
        quantity, price = request.quantity, matched_price(request, symbol, book)
        assert quantity is not None and price is not None  # the service asks for both
        if quantity == order.quantity and price == order.price:
            raise ModifyUnchanged(f"order {order.order_id} is already {quantity} at {price}")
        check_order_filters(symbol, quantity, price, market=False)
        if book is not None:
            check_percent_price(symbol, order.side, price, book.mark)
        amended = replace(
            order,
            quantity=quantity,
            price=price,
            update_time=now,
            modify_count=order.modify_count + 1,
        )
        others = replace(
            account, orders={k: v for k, v in account.orders.items() if k != order.order_id}
        )
        takes = book is not None and book.takes(order.side, price)
        touch = book.touch(order.side) if takes and book is not None else price
        if not (takes and order.time_in_force is TimeInForce.GTX):
            _check_margin(others, amended, symbol, market, marks, touch, taker=takes)
        matched = Matched(account, market)
        amended = matched.add(OrderUpdate(amended, Execution.AMENDMENT, time=now))
        if takes and order.time_in_force is TimeInForce.GTX:
            matched.add(_closed(amended, OrderStatus.CANCELED, now))
        elif takes:
            _execute(matched, amended, touch, maker=False, ids=ids, now=now)
        return matched


def liquidation_updates(
    account: Account,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    ids: IdSource,
    now: int,
) -> list[Event]:
    """A liquidation as Binance sends it: the account's open orders expire first (``er``
    5), then each crossed position closes by a LIQUIDATION order (CALCULATED, client id
    ``autoclose-<ms>``); a wallet the closes leave below zero is covered by the insurance
    fund. Empty when nothing is crossed."""
    with localcontext(CONTEXT):
        if not liquidation_events(account, market, marks, now):
            return []
        matched = Matched(account, market)
        for order in sorted(account.orders.values(), key=lambda o: o.order_id):
            matched.add(_closed(order, OrderStatus.EXPIRED, now, EXPIRE_LIQUIDATION))
        events: list[Event] = list(matched.events)
        state = matched.account
        for event in liquidation_events(state, market, marks, now):
            if isinstance(event, Fill):
                event = _liquidation_order(state, event, ids, now)
            state = apply(state, event, market).account
            events.append(event)
        return events


def _liquidation_order(account: Account, fill: Fill, ids: IdSource, now: int) -> OrderUpdate:
    order = Order(
        order_id=ids.next_order_id(),
        client_order_id=f"autoclose-{now}",
        symbol=fill.symbol,
        side=fill.side,
        type=OrderType.LIQUIDATION,
        quantity=fill.qty,
        price=fill.price,
        position_side=fill.position_side,
        time_in_force=TimeInForce.IOC,
        status=OrderStatus.FILLED,
        executed_qty=fill.qty,
        cum_quote=fill.qty * fill.price,
        time=now,
        update_time=now,
    )
    realized = trade_realized_pnl(account, fill)
    trade = Trade(ids.next_trade_id(), fill.qty, fill.price, fill.fee, False, realized)
    return OrderUpdate(order, Execution.CALCULATED, trade, time=now)
