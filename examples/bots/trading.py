"""What the three trader bots share: the operator who moves the mark (posrisk's admin API),
the prices of the round trip, and the report of its trades.

A bot under test cannot wait for the market: it asks the operator to move the mark, as a
test would. Against ``posrisk serve`` the admin API listens on its own port (8766 by
default) and its bearer token is in ``<db>-admin.token`` beside the database:

    POSRISK_ADMIN_URL=http://127.0.0.1:8766/admin/v1 \\
    POSRISK_ADMIN_TOKEN=$(cat posrisk-admin.token)

The round trip, on a symbol the account holds no position in (SOLUSDT by default, 1 SOL):
a MARKET BUY; a LIMIT BUY 5 % under the mark that rests and is canceled; a LIMIT BUY 0.5 %
under the mark that rests until the operator moves the mark 0.1 % under it, and fills there
at its own price as maker; a reduce-only MARKET SELL of both; then the mark is put back.
Prices are whole numbers, a multiple of every tick size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from posrisk.client.admin import RemoteOperations

__all__ = ["Operator", "Plan", "TradeRow", "plain", "report"]

SYMBOL = os.environ.get("POSRISK_SYMBOL", "SOLUSDT")
QTY = Decimal(os.environ.get("POSRISK_QTY", "1"))


class Operator:
    """The mark prices, read and moved through posrisk's admin API."""

    def __init__(self, url: str, token: str) -> None:
        self.remote = RemoteOperations(url, token, timeout=10)

    @classmethod
    def from_env(cls) -> Operator:
        url = os.environ.get("POSRISK_ADMIN_URL", "http://127.0.0.1:8766/admin/v1")
        return cls(url, os.environ["POSRISK_ADMIN_TOKEN"])

    async def mark(self, symbol: str) -> Decimal:
        return Decimal((await self.remote.marks())[symbol])

    async def set_mark(self, symbol: str, price: Decimal) -> None:
        """Move ``symbol``'s mark; the resting orders it crosses have filled on return."""
        await self.remote.set_marks({symbol: str(price)})


@dataclass(frozen=True)
class Plan:
    """The round trip's prices from the mark it starts at."""

    mark: Decimal

    @property
    def far(self) -> Decimal:
        """The LIMIT BUY that rests and is canceled."""
        return (self.mark * Decimal("0.95")).to_integral_value(ROUND_FLOOR)

    @property
    def near(self) -> Decimal:
        """The LIMIT BUY that rests, then fills as maker."""
        return (self.mark * Decimal("0.995")).to_integral_value(ROUND_FLOOR)

    @property
    def fill_mark(self) -> Decimal:
        """Where the operator moves the mark: just under ``near``."""
        return self.near * Decimal("0.999")


@dataclass(frozen=True)
class TradeRow:
    """One of the bot's trades, as ``GET /fapi/v1/userTrades`` gives it."""

    side: str
    qty: str
    price: str
    maker: bool
    commission: str
    asset: str
    realized_pnl: str


def plain(number: object) -> str:
    """A number as Binance sends it (a string with trailing zeros), without them."""
    return format(Decimal(str(number)).normalize(), "f")


def report(trades: Iterable[TradeRow]) -> list[str]:
    """A line per trade, then the totals."""
    rows = list(trades)
    lines = [
        f"  {t.side} {plain(t.qty)} @ {plain(t.price)} {'maker' if t.maker else 'taker'}, "
        f"fee {plain(t.commission)} {t.asset}, realized PnL {plain(t.realized_pnl)}"
        for t in rows
    ]
    fees = plain(sum((Decimal(t.commission) for t in rows), Decimal(0)))
    pnl = plain(sum((Decimal(t.realized_pnl) for t in rows), Decimal(0)))
    return [f"trades: {len(rows)}", *lines, f"fees {fees} USDT, realized PnL {pnl} USDT"]
