"""Funding on gateways sharing one PostgreSQL database and one Redis: both cross the
funding time and settle at once, every account is paid exactly once, with one rate and
mark, and both gateways end up with the same accounts."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import pytest

from posrisk.engine import FundingFee
from posrisk.service.clock import ManualClock

from .conftest import Cluster

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]
D = Decimal
T = 1_700_006_400_000  # 2023-11-15 00:00 UTC, a funding time


def holders(count: int) -> dict[str, object]:
    return {
        "accounts": [
            {
                "name": f"acct-{n:04d}",
                "deposits": {"USDT": "1000"},
                "fills": [
                    {
                        "symbol": "BTCUSDT",
                        "side": "BUY" if n % 2 else "SELL",
                        "qty": "0.010",
                        "price": "20000",
                    }
                ],
            }
            for n in range(count)
        ],
    }


async def test_two_gateways_crossing_a_funding_time_pay_every_account_once(
    cluster: Cluster,
) -> None:
    clock = ManualClock(T - 60_000)
    one = await cluster.gateway(clock=clock)
    assert one.admin is not None
    await one.admin.load_scenario(holders(300))
    two = await cluster.gateway(clock=clock, scenario=None)
    assert one.funding is not None and two.funding is not None and two.admin is not None
    clock.now = T + 100
    await asyncio.gather(one.funding.settle_due(), two.funding.settle_due())
    # BTCUSDT and ETHUSDT (the scenario's marks), each settled by one of them.
    assert one.funding.settlements + two.funding.settlements == 2
    assert await one.store.unfinished_funding() == ()
    snapshot = await one.store.load()
    paid = Counter(
        (r.account, r.event.symbol) for r in snapshot.ledger if isinstance(r.event, FundingFee)
    )
    assert set(paid.values()) == {1}
    assert sum(1 for account, symbol in paid if account.startswith("acct-")) == 300
    [row] = await one.store.funding_history("BTCUSDT", 0, 2**62, limit=10)
    assert row.finished_at is not None and row.rate == D("0.0001")
    await one.admin.catch_up()
    await two.admin.catch_up()
    for name in ("acct-0000", "acct-0001", "alice", "bob"):
        assert one.registry.account(name).account == two.registry.account(name).account
    fee = D("0.01") * row.mark * D("0.0001")
    long = one.registry.account("acct-0001").account.wallet_balance("USDT")
    assert long == D("1000") - fee.quantize(D("0.00000001"))
    # Nothing is left to either: the next funding time is 8 h away.
    assert await one.funding.settle_due() == 0 and await two.funding.settle_due() == 0
