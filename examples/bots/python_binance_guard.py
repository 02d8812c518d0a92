"""A liquidation guard on python-binance: which positions are within 2 % of their
liquidation price?

    POSRISK_WS_URL=ws://127.0.0.1:8765/ws-fapi/v1 POSRISK_HTTP_URL=http://127.0.0.1:8765 \\
    POSRISK_API_KEY=... POSRISK_API_SECRET=... python -m examples.bots.python_binance_guard

Against posrisk the client's REST and WebSocket API URLs are pointed at the server (the
plain ``AsyncClient`` constructor makes no request; ``AsyncClient.create`` would ping
Binance). Unset the URL variables and it talks to Binance.
"""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from typing import Any

THRESHOLD = Decimal("0.02")


def client_for(
    api_key: str, secret: str, ws_url: str | None = None, http_url: str | None = None
) -> Any:
    from binance.async_client import AsyncClient
    from binance.ws.websocket_api import WebsocketAPI

    client = AsyncClient(api_key, api_secret=secret)
    if http_url is not None:
        client.FUTURES_URL = f"{http_url}/fapi"
        client.API_URL = f"{http_url}/api"
    if ws_url is not None:
        client.ws_future = WebsocketAPI(url=ws_url)
        client.ws_future.TIMEOUT = 1  # its close() waits this long for the read loop
    return client


async def at_risk(client: Any, threshold: Decimal = THRESHOLD) -> list[str]:
    """Symbols of open positions whose mark is within ``threshold`` of liquidation."""
    risky = []
    for row in await client.ws_futures_v2_account_position():
        mark, liquidation = Decimal(row["markPrice"]), Decimal(row["liquidationPrice"])
        if (
            Decimal(row["positionAmt"])
            and liquidation
            and abs(mark - liquidation) / mark < threshold
        ):
            risky.append(row["symbol"])
    return sorted(risky)


async def close(client: Any) -> None:
    await client.ws_future.close()
    await client.close_connection()


async def main() -> None:
    client = client_for(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_WS_URL"),
        os.environ.get("POSRISK_HTTP_URL"),
    )
    try:
        risky = await at_risk(client)
        print("reduce: " + ", ".join(risky) if risky else "all positions are safe")
    finally:
        await close(client)


if __name__ == "__main__":
    asyncio.run(main())
