"""A python-binance bot's startup: the client built with ``AsyncClient.create`` (which pings
the server and reads its time), then the account, the balance, the position mode and a
leverage change.

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    python -m examples.bots.python_binance_startup

Against posrisk the client's class-level Binance URLs have their scheme and host replaced
by the server's (``pointing.python_binance_class``); leave ``POSRISK_URL`` unset and it
talks to Binance.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .pointing import python_binance_class

SYMBOL = "BTCUSDT"


async def client_for(api_key: str, secret: str, origin: str | None = None) -> Any:
    if origin is None:
        from binance.async_client import AsyncClient

        return await AsyncClient.create(api_key, secret)
    return await python_binance_class(origin).create(api_key, secret)


async def startup(client: Any, symbol: str = SYMBOL, leverage: int = 20) -> list[str]:
    """What the bot learns at startup, one line each; sets ``leverage`` on ``symbol``."""
    account = await client.futures_account()
    [usdt] = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
    hedged = (await client.futures_get_position_mode())["dualSidePosition"]
    changed = await client.futures_change_leverage(symbol=symbol, leverage=leverage)
    [config] = await client.futures_symbol_config(symbol=symbol)
    return [
        f"wallet {account['totalWalletBalance']}, margin {account['totalMarginBalance']}",
        f"USDT: balance {usdt['balance']}, available {usdt['availableBalance']}",
        f"position mode: {'hedge' if hedged else 'one-way'}",
        f"{symbol}: leverage {changed['leverage']}x, margin {config['marginType']}",
    ]


async def close(client: Any) -> None:
    if client.ws_future is not None:
        await client.ws_future.close()
    await client.close_connection()


async def main() -> None:
    client = await client_for(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_URL"),
    )
    try:
        for line in await startup(client):
            print(line)
    finally:
        await close(client)


if __name__ == "__main__":
    asyncio.run(main())
