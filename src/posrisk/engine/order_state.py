"""How order events move an account: an order placed, traded, amended, canceled or
expired (``OrderUpdate``), and an algo order's new state (``AlgoUpdate``).

The events carry the order as it stands after them, so the ledger alone tells every
order's history; applying one checks that it follows from the account (the order is
open, its executed quantity grows by the trade, the trade's realized PnL is what the
position realizes) and folds a trade into the position as the ``Fill`` it amounts to.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from .account import Account, apply_fill, check_side, split_fill
from .changes import AccountChange, Applied
from .errors import InvalidValue
from .events import AlgoStatus, AlgoUpdate, Execution, Fill, Order, OrderType, OrderUpdate
from .market import Market
from .numbers import ZERO
from .position import realized_pnl

__all__ = ["apply_algo_update", "apply_order_update", "trade_fill", "trade_realized_pnl"]


def trade_fill(order: Order, qty: Decimal, price: Decimal, fee: Decimal, time: int) -> Fill:
    """The fill a trade of ``order`` amounts to."""
    return Fill(order.symbol, order.side, qty, price, order.position_side, fee, time)


def trade_realized_pnl(account: Account, fill: Fill) -> Decimal:
    """What ``fill`` realizes on ``account`` (before fees): its closing part × (price −
    entry) × direction, as the position's ``cr`` grows."""
    close_qty = split_fill(account, fill).close_qty
    if not close_qty:
        return ZERO
    position = account.position(fill.symbol, fill.position_side)
    return realized_pnl(close_qty, fill.price, position.entry_price, position.direction)


def apply_order_update(account: Account, update: OrderUpdate, market: Market) -> Applied:
    order = update.order
    market[order.symbol]  # -1121 for a symbol the market does not list
    check_side(account, order.position_side)
    previous = account.orders.get(order.order_id)
    execution = Execution(update.execution)
    liquidation = order.type is OrderType.LIQUIDATION
    if execution is Execution.NEW:
        if previous is not None or order.executed_qty:
            raise InvalidValue("order", f"order {order.order_id} is already placed")
    elif execution is Execution.CALCULATED:
        if not liquidation or update.trade is None:
            raise InvalidValue("order", "only a liquidation's close is CALCULATED")
    elif previous is None:
        raise InvalidValue("order", f"order {order.order_id} is not open")
    change = AccountChange(None)
    if update.trade is not None:
        if execution not in (Execution.TRADE, Execution.CALCULATED):
            raise InvalidValue("order", f"a {execution.value} update carries no trade")
        trade = update.trade
        before = previous.executed_qty if previous is not None else ZERO
        if order.executed_qty != before + trade.quantity:
            raise InvalidValue("order", f"order {order.order_id} executed quantity does not add up")
        fill = trade_fill(order, trade.quantity, trade.price, trade.fee, update.time)
        if trade_realized_pnl(account, fill) != trade.realized_pnl:
            raise InvalidValue("trade", f"trade {trade.trade_id} realized PnL does not add up")
        applied = apply_fill(account, fill, market)
        account, change = applied.account, applied.change
    elif execution in (Execution.TRADE, Execution.CALCULATED):
        raise InvalidValue("order", "a TRADE update needs its trade")
    orders = dict(account.orders)
    if order.status.is_open and not liquidation:
        orders[order.order_id] = order
    else:
        orders.pop(order.order_id, None)
    return Applied(replace(account, orders=orders), change)


def apply_algo_update(account: Account, update: AlgoUpdate, market: Market) -> Applied:
    algo = update.algo
    market[algo.symbol]
    check_side(account, algo.position_side)
    previous = account.algos.get(algo.algo_id)
    # Unknown to the account: placed now (NEW), or done after the order it sent
    # (TRIGGERED left the open algos; FINISHED follows it).
    if previous is None and algo.status not in (AlgoStatus.NEW, AlgoStatus.FINISHED):
        raise InvalidValue("algo", f"algo order {algo.algo_id} is not open")
    algos = dict(account.algos)
    if algo.status.is_open:
        algos[algo.algo_id] = algo
    else:
        algos.pop(algo.algo_id, None)
    return Applied(replace(account, algos=algos), AccountChange(None))
