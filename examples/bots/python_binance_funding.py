"""A python-binance funding bot against posrisk: the mark, the funding rate and the next
funding time, one push of the mark price stream, the position and the wallet; then the
operator moves the server's clock past the funding time, and the bot reads its
FUNDING_FEE and its wallet again and checks both (``funding.py`` has the checks).

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    POSRISK_ADMIN_URL=http://127.0.0.1:8766/admin/v1 \\
    POSRISK_ADMIN_TOKEN=$(cat posrisk-admin.token) python -m examples.bots.python_binance_funding

The key is an account holding a position on BTCUSDT (``POSRISK_SYMBOL`` for another), e.g.
``alice`` of ``examples/scenarios/one-way-cross.json``. The client is
``AsyncClient.create`` with its class-level Binance URLs pointed at the server
(``pointing.python_binance_class``); the stream is ``BinanceSocketManager``'s
``symbol_mark_price_socket`` (``<symbol>@markPrice@1s`` on the futures market path), its
base pointed at the server (``pointing.point_python_binance_streams``).
"""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from typing import Any

from posrisk.client.errors import AdminError

from .funding import (
    SYMBOL,
    TIMEOUT,
    Before,
    Fee,
    FundingOperator,
    operator_from_env,
    refused,
    report,
)
from .pointing import point_python_binance_streams
from .python_binance_startup import client_for, close

__all__ = ["funding"]


async def funding(
    client: Any, operator: FundingOperator, origin: str | None, symbol: str = SYMBOL
) -> list[str]:
    """One funding time lived through on ``symbol``; the report's lines."""
    rate = await client.futures_mark_price(symbol=symbol)  # GET /fapi/v1/premiumIndex
    pushed = await streamed_mark(client, origin, symbol)
    before = Before(
        symbol,
        Decimal(rate["markPrice"]),
        Decimal(rate["lastFundingRate"]),
        int(rate["nextFundingTime"]),
        sum(
            (
                Decimal(row["positionAmt"])
                for row in await client.futures_position_information(symbol=symbol)
            ),
            Decimal(0),
        ),
        await wallet(client),
    )
    lines = before.lines(pushed)
    await operator.move_past(before.funding_time)
    rows = await client.futures_income_history(
        incomeType="FUNDING_FEE", startTime=before.funding_time
    )
    fees = [Fee(r["symbol"], Decimal(r["income"]), r["asset"], int(r["time"])) for r in rows]
    return lines + report(before, fees, await wallet(client))


async def streamed_mark(client: Any, origin: str | None, symbol: str) -> Decimal:
    """The mark of the first ``markPriceUpdate`` the socket receives."""
    from binance.ws.streams import BinanceSocketManager

    manager = BinanceSocketManager(client)
    if origin is not None:
        point_python_binance_streams(manager, origin)
    socket = manager.symbol_mark_price_socket(symbol)
    socket.TIMEOUT = 1  # its exit waits for the read loop's recv timeout (10 s by default)
    async with socket:
        while True:
            message = await asyncio.wait_for(socket.recv(), TIMEOUT)
            data = message.get("data", message)  # combined (stream?streams=) or raw
            if data.get("e") == "markPriceUpdate":
                return Decimal(data["p"])


async def wallet(client: Any) -> Decimal:
    """The USDT wallet balance (``balance`` of ``GET /fapi/v2/balance``)."""
    [usdt] = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
    return Decimal(usdt["balance"])


async def main() -> None:
    operator = operator_from_env("python_binance_funding")
    origin = os.environ.get("POSRISK_URL")
    client = await client_for(
        os.environ["POSRISK_API_KEY"], os.environ["POSRISK_API_SECRET"], origin
    )
    client.ws_future.TIMEOUT = 1  # its close() waits this long (10 s by default) for its reader
    try:
        for line in await funding(client, operator, origin):
            print(line)
    except AdminError as e:
        raise refused("python_binance_funding", e) from None
    finally:
        await close(client)


if __name__ == "__main__":
    asyncio.run(main())
