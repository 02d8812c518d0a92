"""A funding bot on Binance's own SDK against posrisk: the mark, the funding rate and the
next funding time, one push of the mark price stream, the position and the wallet; then
the operator moves the server's clock past the funding time, and the bot reads its
FUNDING_FEE and its wallet again and checks both (``funding.py`` has the checks).

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    POSRISK_ADMIN_URL=http://127.0.0.1:8766/admin/v1 \\
    POSRISK_ADMIN_TOKEN=$(cat posrisk-admin.token) python -m examples.bots.binance_sdk_funding

The key is an account holding a position on BTCUSDT (``POSRISK_SYMBOL`` for another), e.g.
``alice`` of ``examples/scenarios/one-way-cross.json``. ``base_path`` points the SDK's REST
client at posrisk, ``stream_url`` its WebSocket streams (``mark_price_stream`` at 1 s). The
REST client blocks: its calls run in a thread, off the bot's event loop.
"""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from typing import Any

from posrisk.client.errors import AdminError

from .binance_sdk_startup import rest_client
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
from .pointing import ws_origin

__all__ = ["funding"]


async def funding(
    rest: Any, operator: FundingOperator, origin: str | None, symbol: str = SYMBOL
) -> list[str]:
    """One funding time lived through on ``symbol``; the report's lines."""
    from binance_sdk_derivatives_trading_usds_futures.rest_api.models import enums

    answer = await asyncio.to_thread(rest.mark_price, symbol=symbol)  # premiumIndex
    rate = answer.data().actual_instance  # one row with ``symbol``
    pushed = await streamed_mark(origin, symbol)
    positions = (await asyncio.to_thread(rest.position_information_v3, symbol=symbol)).data()
    before = Before(
        symbol,
        Decimal(rate.mark_price),
        Decimal(rate.last_funding_rate),
        rate.next_funding_time,
        sum((Decimal(row.position_amt) for row in positions), Decimal(0)),
        await wallet(rest),
    )
    lines = before.lines(pushed)
    await operator.move_past(before.funding_time)
    income = await asyncio.to_thread(
        rest.get_income_history,
        income_type=enums.GetIncomeHistoryIncomeTypeEnum.FUNDING_FEE,
        start_time=before.funding_time,
    )
    fees = [Fee(r.symbol, Decimal(r.income), r.asset, r.time) for r in income.data()]
    return lines + report(before, fees, await wallet(rest))


async def streamed_mark(origin: str | None, symbol: str) -> Decimal:
    """The mark of the first ``markPriceUpdate`` the SDK's stream delivers."""
    from binance_common.configuration import ConfigurationWebSocketStreams
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )
    from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models import enums

    options = {} if origin is None else {"stream_url": ws_origin(origin)}
    client = DerivativesTradingUsdsFutures(
        config_ws_streams=ConfigurationWebSocketStreams(**options)
    )
    connection = await client.websocket_streams.create_connection()  # type: ignore[no-untyped-call]
    try:
        updates: asyncio.Queue[Any] = asyncio.Queue()
        speed = enums.MarkPriceStreamUpdateSpeedEnum.UPDATE_SPEED_1s.value
        stream = await connection.mark_price_stream(symbol=symbol.lower(), update_speed=speed)
        stream.on("message", updates.put_nowait)
        update = await asyncio.wait_for(updates.get(), TIMEOUT)
        return Decimal(update.p)
    finally:
        await connection.close_connection(close_session=True)


async def wallet(rest: Any) -> Decimal:
    """The USDT wallet balance (``balance`` of ``GET /fapi/v3/balance``)."""
    rows = (await asyncio.to_thread(rest.futures_account_balance_v3)).data()
    [usdt] = [row for row in rows if row.asset == "USDT"]
    return Decimal(usdt.balance)


async def main() -> None:
    operator = operator_from_env("binance_sdk_funding")
    origin = os.environ.get("POSRISK_URL")
    rest = rest_client(os.environ["POSRISK_API_KEY"], os.environ["POSRISK_API_SECRET"], origin)
    try:
        for line in await funding(rest, operator, origin):
            print(line)
    except AdminError as e:
        raise refused("binance_sdk_funding", e) from None


if __name__ == "__main__":
    asyncio.run(main())
