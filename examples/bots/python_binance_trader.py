"""A python-binance trader's round trip against posrisk: a market buy, a limit that rests
and is canceled, a limit that rests and fills as maker when the mark moves through it, a
reduce-only close, then its trades and fees (``trading.py`` has the plan).

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    POSRISK_ADMIN_URL=http://127.0.0.1:8766/admin/v1 \\
    POSRISK_ADMIN_TOKEN=$(cat posrisk-admin.token) python -m examples.bots.python_binance_trader

The key is an account in one-way mode with USDT and no SOLUSDT position (the demo's
``demo`` account of ``./scripts/serve``). The client is ``AsyncClient.create`` with its
class-level Binance URLs pointed at the server (``pointing.python_binance_class``); the
limit that fills is placed over the WebSocket API (``ws_futures_create_order``).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .python_binance_startup import client_for, close
from .trading import QTY, SYMBOL, Operator, Plan, TradeRow, plain, report

__all__ = ["trade"]


async def trade(client: Any, operator: Operator, symbol: str = SYMBOL) -> list[str]:
    """The round trip on ``symbol``; the report's lines."""
    plan = Plan(await operator.mark(symbol))
    lines = [f"{symbol} mark {plan.mark}"]
    buy = {"symbol": symbol, "side": "BUY", "quantity": str(QTY)}
    limit = {**buy, "type": "LIMIT", "timeInForce": "GTC"}
    try:
        bought = await client.futures_create_order(**buy, type="MARKET", newOrderRespType="RESULT")
        lines.append(f"market BUY {QTY}: {bought['status']} at {plain(bought['avgPrice'])}")

        far = await client.futures_create_order(**limit, price=str(plan.far))
        gone = await client.futures_cancel_order(symbol=symbol, orderId=far["orderId"])
        lines.append(f"limit BUY {QTY} @ {plan.far}: {far['status']}, then {gone['status']}")

        near = await client.ws_futures_create_order(**limit, price=str(plan.near))
        await operator.set_mark(symbol, plan.fill_mark)
        filled = await until_filled(client, symbol, near["orderId"])
        lines.append(
            f"limit BUY {QTY} @ {plan.near}: {near['status']}; mark to {plan.fill_mark}: "
            f"{filled['status']} at {plain(filled['avgPrice'])}"
        )

        closed = await client.futures_create_order(
            symbol=symbol,
            side="SELL",
            type="MARKET",
            quantity=str(2 * QTY),
            reduceOnly="true",
            newOrderRespType="RESULT",
        )
        lines.append(
            f"reduce-only SELL {2 * QTY}: {closed['status']} at {plain(closed['avgPrice'])}"
        )

        ours = {bought["orderId"], near["orderId"], closed["orderId"]}
        trades = await client.futures_account_trades(symbol=symbol)
        lines += report(
            TradeRow(
                t["side"],
                t["qty"],
                t["price"],
                t["maker"],
                t["commission"],
                t["commissionAsset"],
                t["realizedPnl"],
            )
            for t in trades
            if t["orderId"] in ours
        )
    finally:
        await operator.set_mark(symbol, plan.mark)
    lines.append(f"mark back to {plan.mark}")
    return lines


async def until_filled(client: Any, symbol: str, order_id: int) -> dict[str, Any]:
    """The order once FILLED (the admin API answers after the fill; a few reads at most)."""
    for _ in range(50):
        order = await client.futures_get_order(symbol=symbol, orderId=order_id)
        if order["status"] == "FILLED":
            return order  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise RuntimeError(f"order {order_id} did not fill")


async def main() -> None:
    client = await client_for(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_URL"),
    )
    client.ws_future.TIMEOUT = 1  # its close() waits this long (10 s by default) for its reader
    try:
        for line in await trade(client, Operator.from_env()):
            print(line)
    finally:
        await close(client)


if __name__ == "__main__":
    asyncio.run(main())
