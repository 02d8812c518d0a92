"""What one mark does to an account's orders on its symbol, as Binance orders it: algo
orders trigger first (by createTime; a trailing one follows the mark), each sending its
regular order through ``place_order``; then the resting limits the touch crossed fill
(``fills_on_mark``); then closing algo orders whose side went flat expire. Pure: the
events, each one ``ledger.apply`` accepts in turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Protocol

from .account import Account
from .algo import algo_status_update, expired_algos, triggered_request
from .algo_triggers import algo_on_mark, is_triggered
from .errors import EngineError
from .events import AlgoStatus, AlgoUpdate, Event, OrderUpdate
from .ledger import apply
from .market import Market
from .matching import IdSource, fills_on_mark, place_order
from .numbers import CONTEXT, ZERO

__all__ = ["AlgoIdSource", "orders_on_mark", "triggers_on_mark"]


class AlgoIdSource(IdSource, Protocol):
    def next_algo_id(self) -> int: ...


class _Run:
    def __init__(self, account: Account, market: Market) -> None:
        self.account = account
        self.market = market
        self.events: list[Event] = []

    def add(self, event: Event) -> None:
        self.account = apply(self.account, event, self.market).account
        self.events.append(event)


def triggers_on_mark(
    account: Account,
    symbol: str,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    ids: IdSource,
    now: int,
    slippage: Decimal = ZERO,
) -> list[Event]:
    """The algo orders of ``symbol`` the mark triggered (TRIGGERING, their regular order's
    events, TRIGGERED, FINISHED — or REJECTED with the refusal's msg), by createTime;
    a trailing order's new extreme is kept (an ``AlgoUpdate`` of the same status)."""
    mark = marks.get(symbol)
    run = _Run(account, market)
    if not mark:
        return run.events
    with localcontext(CONTEXT):
        waiting = sorted(
            (
                a
                for a in account.algos.values()
                if a.symbol == symbol and a.status is AlgoStatus.NEW
            ),
            key=lambda a: (a.create_time, a.algo_id),
        )
        for algo in waiting:
            moved = algo_on_mark(algo, mark, now=now)
            current = moved if moved is not None else algo
            if not is_triggered(current, mark):
                if moved is not None:
                    run.add(AlgoUpdate(moved, now))
                continue
            triggering = algo_status_update(current, AlgoStatus.TRIGGERING, now=now)
            run.add(triggering)
            request = triggered_request(triggering.algo, run.account)
            try:
                matched = place_order(
                    run.account, request, market, marks, ids=ids, now=now, slippage=slippage
                )
            except EngineError as error:
                run.add(
                    algo_status_update(
                        triggering.algo, AlgoStatus.REJECTED, now=now, reject_reason=error.msg
                    )
                )
                continue
            for event in matched.events:
                run.add(event)
            first, last = matched.events[0].order, matched.events[-1].order
            triggered = algo_status_update(
                triggering.algo,
                AlgoStatus.TRIGGERED,
                now=now,
                actual_order_id=first.order_id,
                actual_price=last.avg_price or first.price,
                actual_qty=last.executed_qty or first.quantity,
            )
            run.add(triggered)
            run.add(algo_status_update(triggered.algo, AlgoStatus.FINISHED, now=now))
    return run.events


def orders_on_mark(
    account: Account,
    symbol: str,
    market: Market,
    marks: Mapping[str, Decimal],
    *,
    ids: IdSource,
    now: int,
    slippage: Decimal = ZERO,
) -> list[Event]:
    """Everything a mark of ``symbol`` does to ``account``'s orders, in Binance's order."""
    run = _Run(account, market)
    for event in triggers_on_mark(
        account, symbol, market, marks, ids=ids, now=now, slippage=slippage
    ):
        run.add(event)
    for update in fills_on_mark(
        run.account, symbol, market, marks, ids=ids, now=now, slippage=slippage
    ).events:
        run.add(update)
    if any(isinstance(e, OrderUpdate) and e.trade is not None for e in run.events):
        for expired in expired_algos(run.account, now):
            run.add(expired)
    return run.events
