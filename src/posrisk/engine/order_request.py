"""What an order placement asks for, once the service has read its parameters.

``OrderRequest`` is the typed form of ``order.place`` / ``POST /fapi/v1/order`` (and of the
regular order an algo order sends when it triggers): every value is of its type and every
enum valid; whether the combination is allowed is the engine's to check (``matching``).
``None`` means the parameter was not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .events import OrderType, PositionSide, Side, TimeInForce

__all__ = ["OrderRequest"]


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType
    client_order_id: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    position_side: PositionSide | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    # NONE, OPPONENT, OPPONENT_5, OPPONENT_10, OPPONENT_20, QUEUE, QUEUE_5, QUEUE_10, QUEUE_20
    price_match: str = "NONE"
    self_trade_prevention: str = "EXPIRE_MAKER"
    good_till_date: int = 0
    # Set only for the order an algo order sends: the whole side (closePosition), the
    # algo's type and trigger, which the order and its events carry.
    close_position: bool = False
    orig_type: OrderType | None = None
    stop_price: Decimal = Decimal(0)
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False
    # A trailing stop's activation price and callback rate (percent), carried on its order.
    activate_price: Decimal = Decimal(0)
    callback_rate: Decimal = Decimal(0)
