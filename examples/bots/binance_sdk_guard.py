"""A liquidation guard on Binance's own SDK (binance-sdk-derivatives-trading-usds-futures):
which positions are within 2 % of their liquidation price?

    POSRISK_WS_URL=ws://127.0.0.1:8765/ws-fapi/v1 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    python -m examples.bots.binance_sdk_guard

``stream_url`` points the SDK's WebSocket API at posrisk; unset ``POSRISK_WS_URL`` and it
talks to Binance.
"""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from typing import Any

THRESHOLD = Decimal("0.02")


async def connect(api_key: str, secret: str, ws_url: str | None = None) -> Any:
    from binance_common.configuration import ConfigurationWebSocketAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    options: dict[str, Any] = {"api_key": api_key, "api_secret": secret}
    if ws_url is not None:
        options["stream_url"] = ws_url
    client = DerivativesTradingUsdsFutures(config_ws_api=ConfigurationWebSocketAPI(**options))
    return await client.websocket_api.create_connection()  # type: ignore[no-untyped-call]


async def at_risk(connection: Any, threshold: Decimal = THRESHOLD) -> list[str]:
    """Symbols of open positions whose mark is within ``threshold`` of liquidation."""
    rows = (await connection.position_information_v2()).data().result
    risky = []
    for row in rows:
        mark, liquidation = Decimal(row.mark_price), Decimal(row.liquidation_price)
        if Decimal(row.position_amt) and liquidation and abs(mark - liquidation) / mark < threshold:
            risky.append(row.symbol)
    return sorted(risky)


async def main() -> None:
    connection = await connect(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_WS_URL"),
    )
    try:
        risky = await at_risk(connection)
        print("reduce: " + ", ".join(risky) if risky else "all positions are safe")
    finally:
        await connection.close_connection()


if __name__ == "__main__":
    asyncio.run(main())
