"""A liquidation guard on ccxt: which positions are within 2 % of their liquidation price?

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    python -m examples.bots.ccxt_guard

Against posrisk, every Binance URL ccxt holds has its scheme and host replaced by the
server's (``pointing.point_ccxt``); ccxt's options stay its defaults. Against Binance,
leave ``POSRISK_URL`` unset: the same code then talks to the exchange.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .pointing import point_ccxt

THRESHOLD = 0.02  # flag a position whose mark is within 2 % of its liquidation price


def exchange_for(api_key: str, secret: str, origin: str | None = None) -> Any:
    """ccxt's USDⓈ-M client with its default options; pointed at ``origin`` if given."""
    import ccxt.pro

    exchange = ccxt.pro.binanceusdm({"apiKey": api_key, "secret": secret})
    return exchange if origin is None else point_ccxt(exchange, origin)


async def at_risk(exchange: Any, threshold: float = THRESHOLD) -> list[str]:
    """Symbols of open positions whose mark is within ``threshold`` of liquidation."""
    risky = []
    for position in await exchange.fetch_positions_ws():
        mark, liquidation = position["markPrice"], position["liquidationPrice"]
        if position["contracts"] and liquidation and abs(mark - liquidation) / mark < threshold:
            risky.append(position["symbol"])
    return sorted(risky)


async def main() -> None:
    exchange = exchange_for(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_URL"),
    )
    try:
        risky = await at_risk(exchange)
        print("reduce: " + ", ".join(risky) if risky else "all positions are safe")
    finally:
        await exchange.close()


if __name__ == "__main__":
    asyncio.run(main())
