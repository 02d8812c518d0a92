"""What one commit tells an account's user streams, in Binance's order.

Each ledger event of the commit becomes its messages: ``ACCOUNT_UPDATE`` (and a
leverage's ``ACCOUNT_CONFIG_UPDATE``) for wallets, positions and settings;
``ORDER_TRADE_UPDATE`` for each order event, ``TRADE_LITE`` for each trade (sent before
its order's first update in the commit; none for a liquidation's close) and the
``ACCOUNT_UPDATE`` of a trade between them; ``ALGO_UPDATE`` for each algo order change.
As captured: an order filled on arrival sends ``TRADE_LITE``, OTU ``NEW``,
``ACCOUNT_UPDATE``, OTU ``TRADE``; a resting fill ``TRADE_LITE``, ``ACCOUNT_UPDATE``, OTU
``TRADE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..engine import (
    Account,
    AccountChange,
    AlgoUpdate,
    OrderType,
    OrderUpdate,
    account_config_update_event,
    account_update_event,
    algo_update_event,
    order_trade_update,
    side_open_orders,
    trade_lite,
)
from .registry import AccountChanged, Registry

__all__ = ["account_messages", "account_update"]

Message = dict[str, Any]


def account_update(
    registry: Registry,
    state: Account,
    change: AccountChange,
    time: int,
    *,
    now: int | None = None,
    marks: Mapping[str, Decimal] | None = None,
) -> dict[str, Any] | None:
    """The ``ACCOUNT_UPDATE`` of one committed change (None when it sends none): ``state``
    is the account after it, marked at the registry's marks (or ``marks``), sent at ``now``
    (the change's ``time`` by default). The one builder, so a user stream and the dashboard
    never show the same change two ways."""
    return account_update_event(
        state,
        change,
        registry.market,
        registry.marks if marks is None else marks,
        event_time=time if now is None else now,
        transaction_time=time,
    )


def account_messages(registry: Registry, items: Iterable[AccountChanged]) -> list[Message]:
    """Every message one commit sends an account's streams, in order."""
    items = list(items)
    market = registry.market
    messages: list[Message] = []
    told: set[int] = set()  # orders whose trades' TRADE_LITE went out
    for item in items:
        event, state, time = item.event, item.applied.account, item.time
        if isinstance(event, OrderUpdate):
            order = event.order
            symbol = market[order.symbol]
            if order.order_id not in told and order.type is not OrderType.LIQUIDATION:
                told.add(order.order_id)
                messages.extend(
                    trade_lite(other, symbol, time=other.time)
                    for other in (i.event for i in items)
                    if isinstance(other, OrderUpdate)
                    and other.trade is not None
                    and other.order.order_id == order.order_id
                )
            update = account_update(registry, state, item.applied.change, time)
            if update is not None:
                messages.append(update)
            held = side_open_orders(state, market, order.symbol, order.position_side)
            messages.append(
                order_trade_update(
                    event,
                    symbol,
                    bid_notional=held.bid_notional,
                    ask_notional=held.ask_notional,
                    time=time,
                )
            )
        elif isinstance(event, AlgoUpdate):
            messages.append(algo_update_event(event.algo, market[event.algo.symbol], time=time))
        else:
            for message in (
                account_update(registry, state, item.applied.change, time),
                account_config_update_event(
                    item.applied.change, event_time=time, transaction_time=time
                ),
            ):
                if message is not None:
                    messages.append(message)
    return messages
