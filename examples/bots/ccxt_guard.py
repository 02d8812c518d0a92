"""A liquidation guard on ccxt: which positions are within 2 % of their liquidation price?

    POSRISK_WS_URL=ws://127.0.0.1:8765/ws-fapi/v1 POSRISK_HTTP_URL=http://127.0.0.1:8765 \\
    POSRISK_API_KEY=... POSRISK_API_SECRET=... python -m examples.bots.ccxt_guard

Against posrisk, every ccxt URL is pointed at the server (and ``fetchCurrencies`` is off,
or ccxt asks api.binance.com for currencies first). Against Binance, leave the two URL
variables unset: the same code then talks to the exchange.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

THRESHOLD = 0.02  # flag a position whose mark is within 2 % of its liquidation price


def exchange_for(
    api_key: str, secret: str, ws_url: str | None = None, http_url: str | None = None
) -> Any:
    import ccxt.pro

    exchange = ccxt.pro.binanceusdm(
        {"apiKey": api_key, "secret": secret, "options": {"fetchCurrencies": False}}
    )
    if http_url is not None:
        for name, url in list(exchange.urls["api"].items()):
            if isinstance(url, str):
                exchange.urls["api"][name] = re.sub(r"^https?://[^/]+", http_url, url)
    if ws_url is not None:
        exchange.urls["api"]["ws"]["ws-api"]["linear"] = ws_url
    return exchange


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
        os.environ.get("POSRISK_WS_URL"),
        os.environ.get("POSRISK_HTTP_URL"),
    )
    try:
        risky = await at_risk(exchange)
        print("reduce: " + ", ".join(risky) if risky else "all positions are safe")
    finally:
        await exchange.close()


if __name__ == "__main__":
    asyncio.run(main())
