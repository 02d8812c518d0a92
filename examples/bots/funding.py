"""What the three funding bots share: the operator who moves the clock (posrisk's admin
API), what a bot reads before and after a funding time, the checks and the report.

A bot under test cannot wait 8 hours for a funding time: it reads the next one, then asks
the operator to move the server's clock just past it. The server settles the funding time
before it answers, so the FUNDING_FEE is in the income history and the wallet at once:

    POSRISK_ADMIN_URL=http://127.0.0.1:8766/admin/v1 \\
    POSRISK_ADMIN_TOKEN=$(cat posrisk-admin.token)

The checks (a failed one raises): the fee on the bot's symbol is
``round_half_even(−positionAmt × mark × rate, 8)`` with the mark and rate read before the
funding time, and the wallet moved by exactly the FUNDING_FEE rows of that funding time
(every symbol the account holds pays or receives at it).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from posrisk.client.errors import AdminError

from .trading import Operator, plain

__all__ = ["Before", "Fee", "FundingOperator", "operator_from_env", "report", "when"]

SYMBOL = os.environ.get("POSRISK_SYMBOL", "BTCUSDT")
PAST = 1_000  # how far past the funding time the clock is moved (ms)
TIMEOUT = 10.0  # seconds to wait for one markPriceUpdate


class FundingOperator(Operator):
    """The operator of ``trading.Operator``, who also moves the server's clock."""

    async def move_past(self, funding_time: int) -> int:
        """Move the server's clock ``PAST`` ms beyond ``funding_time`` (not at all when it
        is already there); the funding times crossed have settled on return. The server's
        time after the move."""
        now = int((await self.remote.clock())["time"])
        moved = await self.remote.advance_clock({"advanceMs": max(funding_time + PAST - now, 0)})
        return int(moved["time"])


def operator_from_env(bot: str) -> FundingOperator:
    """The operator the environment names; without ``POSRISK_ADMIN_TOKEN`` the bot stops
    with one line: it cannot move the clock of a server whose admin API it cannot reach."""
    token = os.environ.get("POSRISK_ADMIN_TOKEN")
    if not token:
        sys.exit(
            f"{bot}: POSRISK_ADMIN_TOKEN is not set: this bot asks posrisk's admin API "
            "(POSRISK_ADMIN_URL, http://127.0.0.1:8766/admin/v1 by default) to move the "
            "clock past the next funding time"
        )
    url = os.environ.get("POSRISK_ADMIN_URL", "http://127.0.0.1:8766/admin/v1")
    return FundingOperator(url, token)


def refused(bot: str, error: AdminError) -> SystemExit:
    """An admin API refusal (or silence) as the one line a bot stops with."""
    return SystemExit(f"{bot}: the admin API refused: {error}")


def when(ms: int) -> str:
    """A funding time as the report shows it: ``2026-12-03 16:00 UTC``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Before:
    """What the bot read before the funding time."""

    symbol: str
    mark: Decimal
    rate: Decimal
    funding_time: int  # the next funding time (ms)
    amount: Decimal  # the position's amount (signed: short < 0)
    wallet: Decimal  # the USDT wallet balance

    def expected_fee(self) -> Decimal:
        """What the position pays (< 0) or receives at the funding time."""
        fee = -self.amount * self.mark * self.rate
        return fee.quantize(Decimal("1e-8"), ROUND_HALF_EVEN)

    def lines(self, streamed: Decimal) -> list[str]:
        """The report's lines up to the operator's move; ``streamed`` is the mark pushed."""
        return [
            f"{self.symbol} mark {plain(self.mark)}, funding rate {plain(self.rate)}, "
            f"next funding {when(self.funding_time)}",
            f"markPrice stream: {self.symbol} {plain(streamed)}",
            f"position {plain(self.amount)} {self.symbol}, wallet {plain(self.wallet)} USDT",
        ]


@dataclass(frozen=True)
class Fee:
    """A FUNDING_FEE row of the income history."""

    symbol: str
    income: Decimal
    asset: str
    time: int


def report(before: Before, fees: list[Fee], wallet: Decimal) -> list[str]:
    """The lines from the operator's move on; raises ``AssertionError`` when the fee is not
    the position's, or the wallet did not move by exactly the fees of the funding time."""
    paid = [fee for fee in fees if fee.time == before.funding_time]
    ours = [fee for fee in paid if fee.symbol == before.symbol]
    if len(ours) != 1:
        raise AssertionError(
            f"{len(ours)} FUNDING_FEE rows for {before.symbol} at {when(before.funding_time)}"
        )
    [fee] = ours
    expected = before.expected_fee()
    if fee.income != expected:
        raise AssertionError(f"FUNDING_FEE {plain(fee.income)}, expected {plain(expected)}")
    moved = sum((row.income for row in paid if row.asset == "USDT"), Decimal(0))
    if wallet - before.wallet != moved:
        raise AssertionError(
            f"the wallet moved by {plain(wallet - before.wallet)}, the fees by {plain(moved)}"
        )
    formula = f"{plain(-before.amount)} × {plain(before.mark)} × {plain(before.rate)}"
    lines = [
        f"operator: clock moved past {when(before.funding_time)}",
        f"FUNDING_FEE {plain(fee.income)} {fee.asset} at {when(fee.time)} ({formula})",
    ]
    lines += [
        f"FUNDING_FEE {plain(row.income)} {row.asset} at {when(row.time)} on {row.symbol}"
        for row in paid
        if row is not fee
    ]
    lines.append(f"wallet {plain(wallet)} USDT")
    return lines
