"""A trader's round trip on Binance's own SDK (REST) against posrisk: a market buy, a limit
that rests and is canceled, a limit that rests and fills as maker when the mark moves
through it, a reduce-only close, then its trades and fees (``trading.py`` has the plan).

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    POSRISK_ADMIN_URL=http://127.0.0.1:8766/admin/v1 \\
    POSRISK_ADMIN_TOKEN=$(cat posrisk-admin.token) python -m examples.bots.binance_sdk_trader

The key is an account in one-way mode with USDT and no SOLUSDT position (the demo's
``demo`` account of ``./scripts/serve``). ``base_path`` points the SDK's REST client at
posrisk. The SDK's REST client blocks; the operator's calls run in their own event loop.
"""

from __future__ import annotations

import asyncio
import os
import time
from decimal import Decimal
from typing import Any

from .binance_sdk_startup import rest_client
from .trading import QTY, SYMBOL, Operator, Plan, TradeRow, plain, report

__all__ = ["trade"]


def trade(rest: Any, operator: Operator, symbol: str = SYMBOL) -> list[str]:
    """The round trip on ``symbol``; the report's lines."""
    from binance_sdk_derivatives_trading_usds_futures.rest_api import models

    Side, Type, RespType = (
        models.NewOrderSideEnum,
        models.NewOrderTypeEnum,
        models.NewOrderNewOrderRespTypeEnum,
    )
    TimeInForce, ReduceOnly = models.NewOrderTimeInForceEnum, models.NewOrderReduceOnlyEnum

    plan = Plan(asyncio.run(operator.mark(symbol)))
    lines = [f"{symbol} mark {plan.mark}"]
    qty = float(QTY)  # the SDK takes floats

    def limit(price: Decimal) -> Any:
        return rest.new_order(
            symbol=symbol,
            side=Side.BUY,
            type=Type.LIMIT,
            quantity=qty,
            price=float(price),
            time_in_force=TimeInForce.GTC,
        ).data()

    try:
        bought = rest.new_order(
            symbol=symbol,
            side=Side.BUY,
            type=Type.MARKET,
            quantity=qty,
            new_order_resp_type=RespType.RESULT,
        ).data()
        # The SDK's NewOrderResponse has no avgPrice field: it keeps Binance's aside.
        average = bought.additional_properties["avgPrice"]
        lines.append(f"market BUY {QTY}: {bought.status} at {plain(average)}")

        far = limit(plan.far)
        gone = rest.cancel_order(symbol=symbol, order_id=far.order_id).data()
        lines.append(f"limit BUY {QTY} @ {plan.far}: {far.status}, then {gone.status}")

        near = limit(plan.near)
        asyncio.run(operator.set_mark(symbol, plan.fill_mark))
        filled = until_filled(rest, symbol, near.order_id)
        lines.append(
            f"limit BUY {QTY} @ {plan.near}: {near.status}; mark to {plan.fill_mark}: "
            f"{filled.status} at {plain(filled.avg_price)}"
        )

        closed = rest.new_order(
            symbol=symbol,
            side=Side.SELL,
            type=Type.MARKET,
            quantity=2 * qty,
            reduce_only=ReduceOnly.TRUE,
            new_order_resp_type=RespType.RESULT,
        ).data()
        average = closed.additional_properties["avgPrice"]
        lines.append(f"reduce-only SELL {2 * QTY}: {closed.status} at {plain(average)}")

        ours = {bought.order_id, near.order_id, closed.order_id}
        lines += report(
            TradeRow(
                t.side, t.qty, t.price, t.maker, t.commission, t.commission_asset, t.realized_pnl
            )
            for t in rest.account_trade_list(symbol=symbol).data()
            if t.order_id in ours
        )
    finally:
        asyncio.run(operator.set_mark(symbol, plan.mark))
    lines.append(f"mark back to {plan.mark}")
    return lines


def until_filled(rest: Any, symbol: str, order_id: int) -> Any:
    """The order once FILLED (the admin API answers after the fill; a few reads at most)."""
    for _ in range(50):
        order = rest.query_order(symbol=symbol, order_id=order_id).data()
        if order.status == "FILLED":
            return order
        time.sleep(0.1)
    raise RuntimeError(f"order {order_id} did not fill")


def main() -> None:
    rest = rest_client(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_URL"),
    )
    for line in trade(rest, Operator.from_env()):
        print(line)


if __name__ == "__main__":
    main()
