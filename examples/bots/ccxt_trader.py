"""A ccxt trader's round trip against posrisk: a market buy, a limit that rests and is
canceled, a limit that rests and fills as maker when the mark moves through it, a
reduce-only close, then its trades and fees (``trading.py`` has the plan).

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    POSRISK_ADMIN_URL=http://127.0.0.1:8766/admin/v1 \\
    POSRISK_ADMIN_TOKEN=$(cat posrisk-admin.token) python -m examples.bots.ccxt_trader

The key is an account in one-way mode with USDT and no SOLUSDT position (the demo's
``demo`` account of ``./scripts/serve``). ccxt keeps its default options; only the scheme
and host of its Binance URLs change (``pointing.point_ccxt``). The mark moves through the
operator's admin API: this bot is for a posrisk server, not for Binance.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .ccxt_guard import exchange_for
from .trading import QTY, SYMBOL, Operator, Plan, TradeRow, plain, report

__all__ = ["trade"]


async def trade(exchange: Any, operator: Operator, symbol: str = SYMBOL) -> list[str]:
    """The round trip on ``symbol`` (a Binance id, e.g. SOLUSDT); the report's lines."""
    await exchange.load_markets()
    unified = exchange.market(symbol)["symbol"]  # SOL/USDT:USDT
    plan = Plan(await operator.mark(symbol))
    amount = float(QTY)
    lines = [f"{symbol} mark {plan.mark}"]
    try:
        bought = (await exchange.create_order(unified, "market", "buy", amount))["info"]
        lines.append(f"market BUY {QTY}: {bought['status']} at {plain(bought['avgPrice'])}")

        far = await exchange.create_order(unified, "limit", "buy", amount, float(plan.far))
        gone = await exchange.cancel_order(far["id"], unified)
        lines.append(
            f"limit BUY {QTY} @ {plan.far}: {far['info']['status']}, then {gone['info']['status']}"
        )

        near = await exchange.create_order(unified, "limit", "buy", amount, float(plan.near))
        await operator.set_mark(symbol, plan.fill_mark)
        filled = (await until_filled(exchange, near["id"], unified))["info"]
        lines.append(
            f"limit BUY {QTY} @ {plan.near}: {near['info']['status']}; mark to {plan.fill_mark}: "
            f"{filled['status']} at {plain(filled['avgPrice'])}"
        )

        closed = await exchange.create_order(
            unified, "market", "sell", 2 * amount, None, {"reduceOnly": True}
        )
        info = closed["info"]
        lines.append(f"reduce-only SELL {2 * QTY}: {info['status']} at {plain(info['avgPrice'])}")

        ours = {str(bought["orderId"]), near["id"], str(info["orderId"])}
        trades = [t["info"] for t in await exchange.fetch_my_trades(unified) if t["order"] in ours]
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
        )
    finally:
        await operator.set_mark(symbol, plan.mark)
    lines.append(f"mark back to {plan.mark}")
    return lines


async def until_filled(exchange: Any, order_id: str, symbol: str) -> dict[str, Any]:
    """The order once FILLED (the admin API answers after the fill; a few reads at most)."""
    for _ in range(50):
        order = await exchange.fetch_order(order_id, symbol)
        if order["status"] == "closed":
            return order  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise RuntimeError(f"order {order_id} did not fill")


async def main() -> None:
    exchange = exchange_for(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_URL"),
    )
    try:
        for line in await trade(exchange, Operator.from_env()):
            print(line)
    finally:
        await exchange.close()


if __name__ == "__main__":
    asyncio.run(main())
