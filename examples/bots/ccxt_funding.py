"""A ccxt funding bot against posrisk: the mark, the funding rate and the next funding
time, one push of the mark price stream, the position and the wallet; then the operator
moves the server's clock past the funding time, and the bot reads its FUNDING_FEE and its
wallet again and checks both (``funding.py`` has the checks).

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    POSRISK_ADMIN_URL=http://127.0.0.1:8766/admin/v1 \\
    POSRISK_ADMIN_TOKEN=$(cat posrisk-admin.token) python -m examples.bots.ccxt_funding

The key is an account holding a position on BTCUSDT (``POSRISK_SYMBOL`` for another), e.g.
``alice`` of ``examples/scenarios/one-way-cross.json``. ccxt keeps its default options;
only the scheme and host of its Binance URLs change (``pointing.point_ccxt``), the
WebSocket ones included (``watch_mark_price`` subscribes ``<symbol>@markPrice@1s``). The
clock moves through the operator's admin API: this bot is for a posrisk server, not for
Binance.
"""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from typing import Any

from posrisk.client.errors import AdminError

from .ccxt_guard import exchange_for
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

__all__ = ["funding"]


async def funding(exchange: Any, operator: FundingOperator, symbol: str = SYMBOL) -> list[str]:
    """One funding time lived through on ``symbol`` (a Binance id); the report's lines."""
    await exchange.load_markets()
    unified = exchange.market(symbol)["symbol"]  # BTC/USDT:USDT
    rate = (await exchange.fetch_funding_rate(unified))["info"]  # GET /fapi/v1/premiumIndex
    pushed = await asyncio.wait_for(exchange.watch_mark_price(unified), TIMEOUT)
    before = Before(
        symbol,
        Decimal(rate["markPrice"]),
        Decimal(rate["lastFundingRate"]),
        int(rate["nextFundingTime"]),
        await position_amount(exchange, unified),
        await wallet(exchange),
    )
    lines = before.lines(Decimal(str(pushed["info"]["p"])))
    await operator.move_past(before.funding_time)
    history = await exchange.fetch_funding_history(None, before.funding_time)
    fees = [
        Fee(row["info"]["symbol"], Decimal(row["info"]["income"]), row["code"], row["timestamp"])
        for row in history
    ]
    return lines + report(before, fees, await wallet(exchange))


async def position_amount(exchange: Any, unified: str) -> Decimal:
    """The position's signed amount (one-way mode), 0 without one."""
    rows = await exchange.fetch_positions([unified])
    return sum((Decimal(row["info"]["positionAmt"]) for row in rows), Decimal(0))


async def wallet(exchange: Any) -> Decimal:
    """The USDT wallet balance (without unrealized PnL), as ``GET /fapi/v3/account`` has it."""
    balance = await exchange.fetch_balance()
    [usdt] = [row for row in balance["info"]["assets"] if row["asset"] == "USDT"]
    return Decimal(usdt["walletBalance"])


async def main() -> None:
    operator = operator_from_env("ccxt_funding")
    exchange = exchange_for(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_URL"),
    )
    try:
        for line in await funding(exchange, operator):
            print(line)
    except AdminError as e:
        raise refused("ccxt_funding", e) from None
    finally:
        await exchange.close()


if __name__ == "__main__":
    asyncio.run(main())
