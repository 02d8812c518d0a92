"""A ccxt bot's startup, with ccxt's default options: markets, balance, position mode,
leverage and margin mode — the calls a bot makes before it trades.

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    python -m examples.bots.ccxt_startup

Against posrisk every Binance URL ccxt holds has its scheme and host replaced by the
server's (``pointing.point_ccxt``); nothing else changes. Leave ``POSRISK_URL`` unset and
the same code talks to Binance.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .ccxt_guard import exchange_for

__all__ = ["exchange_for", "startup"]

SYMBOL = "BTC/USDT:USDT"


async def startup(exchange: Any, symbol: str = SYMBOL, leverage: int = 20) -> list[str]:
    """What the bot learns at startup, one line each; sets ``leverage`` on ``symbol``."""
    markets = await exchange.load_markets()
    balance = await exchange.fetch_balance()
    usdt = balance["USDT"]
    hedged = (await exchange.fetch_position_mode(symbol))["hedged"]
    await exchange.set_leverage(leverage, symbol)
    set_to = await exchange.fetch_leverage(symbol)
    margin = await exchange.fetch_margin_mode(symbol)
    return [
        f"markets: {len(markets)}",
        f"USDT: total {usdt['total']}, free {usdt['free']}, used {usdt['used']}",
        f"position mode: {'hedge' if hedged else 'one-way'}",
        f"{symbol}: leverage {set_to['longLeverage']}x, margin {margin['marginMode']}",
    ]


async def main() -> None:
    exchange = exchange_for(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_URL"),
    )
    try:
        for line in await startup(exchange):
            print(line)
    finally:
        await exchange.close()


if __name__ == "__main__":
    asyncio.run(main())
