"""``GET /fapi/v1/income`` in the service layer: every income type from real flows (a
deposit, operator fills, an order's trade with PnL and fee, funding cross and isolated, an
insurance clear after a liquidation), the filters, paging, Binance's refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from posrisk.engine import Fill, PositionMode, PositionSide, Side, WalletTransfer
from posrisk.engine.funding import FundingSchedule, funding_events
from posrisk.engine.income import income_row
from posrisk.service.orders import OrderService
from posrisk.service.rest import RestService
from posrisk.store import IncomeQuery

from .conftest import Services
from .test_account_routes import call, refusal, used
from .test_account_routes import rest as rest  # the fixture
from .test_orders import body, place

pytestmark = pytest.mark.asyncio

INCOME = ("GET", "/fapi/v1/income")
D = Decimal
# The last funding time before the services' clock (1_700_000_000_000), 8-hourly.
FUNDING_TIME = 1_700_000_000_000 // 28_800_000 * 28_800_000


async def income(
    rest: RestService, services: Services, account: str = "alice", **params: str
) -> Any:
    return body(await call(rest, services, INCOME, account, params))


async def settle(services: Services, account: str) -> list[Any]:
    """The funding settlement of ``FUNDING_TIME`` for ``account``, committed as the
    settlement would commit it."""
    registry = services.registry

    def plan(state: Any, now: int) -> list[Any]:
        return list(
            funding_events(state, registry.market, registry.marks, FundingSchedule(), FUNDING_TIME)
        )

    return await services.admin.plan_events(account, plan)


async def test_a_deposit_and_fills_are_transfer_pnl_and_commission(
    rest: RestService, services: Services
) -> None:
    admin, now = services.admin, services.clock.now_ms()
    await admin.apply_events(
        "dana",
        [
            WalletTransfer("USDT", D("1000"), now - 3),
            Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000"), fee=D("0.080000004"), time=now - 2),
            Fill("BTCUSDT", Side.SELL, D("0.004"), D("21000"), fee=D("0.0336"), time=now - 1),
        ],
    )
    rows = await income(rest, services, "dana")
    assert rows == [
        {"symbol": "", "incomeType": "TRANSFER", "income": "1000.00000000", "asset": "USDT",
         "info": "TRANSFER", "time": now - 3, "tranId": rows[0]["tranId"], "tradeId": ""},
        {"symbol": "BTCUSDT", "incomeType": "COMMISSION", "income": "-0.08000000",
         "asset": "USDT", "info": "COMMISSION", "time": now - 2, "tranId": rows[1]["tranId"],
         "tradeId": ""},
        {"symbol": "BTCUSDT", "incomeType": "REALIZED_PNL", "income": "4.00000000",
         "asset": "USDT", "info": "REALIZED_PNL", "time": now - 1, "tranId": rows[2]["tranId"],
         "tradeId": ""},
        {"symbol": "BTCUSDT", "incomeType": "COMMISSION", "income": "-0.03360000",
         "asset": "USDT", "info": "COMMISSION", "time": now - 1, "tranId": rows[3]["tranId"],
         "tradeId": ""},
    ]  # fmt: skip
    assert len({row["tranId"] for row in rows}) == 4
    wallet = services.registry.account("dana").account.wallet_balance("USDT")
    assert sum(D(row["income"]) for row in rows) == wallet


async def test_an_orders_trade_names_its_trade_id(rest: RestService, services: Services) -> None:
    services.api.orders = OrderService(services.admin)
    bought = body(
        await place(rest, services, symbol="BTCUSDT", side="SELL", type="MARKET", quantity="1")
    )
    [trade] = body(
        await call(rest, services, ("GET", "/fapi/v1/userTrades"), "carol", {"symbol": "BTCUSDT"})
    )
    rows = await income(rest, services, "carol", incomeType="REALIZED_PNL")
    assert [(r["tradeId"], r["income"]) for r in rows] == [(str(trade["id"]), trade["realizedPnl"])]
    fees = await income(rest, services, "carol", incomeType="COMMISSION")
    assert [(r["tradeId"], r["income"]) for r in fees] == [
        (str(trade["id"]), "-" + trade["commission"])
    ]
    assert bought["orderId"] == trade["orderId"]


async def test_funding_is_one_row_per_side_cross_and_isolated(
    rest: RestService, services: Services
) -> None:
    settled = await settle(services, "alice")
    assert len(settled) == 2  # BTCUSDT cross, ETHUSDT isolated
    rows = await income(rest, services, incomeType="FUNDING_FEE")
    assert [(r["symbol"], r["income"], r["asset"], r["time"], r["tradeId"]) for r in rows] == [
        ("BTCUSDT", "-0.02112305", "USDT", FUNDING_TIME, ""),
        ("ETHUSDT", "0.09500000", "USDT", FUNDING_TIME, ""),
    ]
    one = await income(rest, services, incomeType="FUNDING_FEE", symbol="ETHUSDT")
    assert one == rows[1:]


async def test_a_hedge_cross_funding_has_a_row_for_each_side(
    rest: RestService, services: Services
) -> None:
    now = services.clock.now_ms()
    await services.admin.apply_events(
        "bob",
        [Fill("BTCUSDT", Side.SELL, D("0.002"), D("21000"), PositionSide.SHORT, time=now - 1)],
        force=True,
    )
    [event] = await settle(services, "bob")
    assert len(event.fees) == 2
    rows = await income(rest, services, "bob", incomeType="FUNDING_FEE")
    assert [D(r["income"]) for r in rows] == [fee for _, fee in event.fees]
    assert rows[1]["tranId"] == rows[0]["tranId"] + 1


async def test_a_liquidation_left_below_zero_is_an_insurance_clear(
    rest: RestService, services: Services
) -> None:
    admin, now = services.admin, services.clock.now_ms()
    await admin.create_account("erin", PositionMode.HEDGE)
    # BTCUSDT hedged flat with 1000 locked in as loss, 900 in the wallet and 450 of gain on
    # ETHUSDT: BTCUSDT is crossed, closed at the mark (no bankruptcy price for a flat
    # symbol), and the wallet ends 100 below zero: the insurance fund clears it.
    await admin.apply_events(
        "erin",
        [
            WalletTransfer("USDT", D("900"), now - 4),
            Fill("BTCUSDT", Side.BUY, D("1"), D("21000"), PositionSide.LONG, time=now - 3),
            Fill("BTCUSDT", Side.SELL, D("1"), D("20000"), PositionSide.SHORT, time=now - 2),
            Fill("ETHUSDT", Side.BUY, D("1"), D("500"), PositionSide.LONG, time=now - 1),
        ],
        force=True,
    )
    await admin.liquidate("erin")
    rows = [r for r in await income_of(services, "erin") if r["time"] == now]
    assert [(r["incomeType"], r["income"], r["tradeId"] != "") for r in rows] == [
        ("REALIZED_PNL", "123.05052574", True),
        ("REALIZED_PNL", "-1123.05052574", True),
        ("INSURANCE_CLEAR", "100.00000000", False),
    ]
    assert admin.registry.account("erin").account.wallet_balance("USDT") == 0
    assert sum(D(r["income"]) for r in rows) == D(-900)


async def income_of(services: Services, account: str) -> Any:
    rows = await services.store.income(account, IncomeQuery(0, 2**63 - 1, 1000))
    return [income_row(r.entry, r.tran_id, r.time) for r in rows]


async def test_filters_window_and_pages(rest: RestService, services: Services) -> None:
    admin, now = services.admin, services.clock.now_ms()
    week = 7 * 24 * 3600 * 1000
    times = [now - week - 1, now - week, now - 5, now - 4, now - 3]
    await admin.apply_events(
        "dana", [WalletTransfer("USDT", D(i + 1), t) for i, t in enumerate(times)]
    )
    recent = await income(rest, services, "dana")
    assert [r["time"] for r in recent] == times[1:]  # the last 7 days, ends included
    since = await income(rest, services, "dana", startTime=str(now - week - 1))
    assert [r["time"] for r in since] == times
    until = await income(rest, services, "dana", endTime=str(now - 4))
    assert [r["time"] for r in until] == times[:4]  # the 7 days before it
    both = await income(rest, services, "dana", startTime="0", endTime=str(now - 5))
    assert [r["time"] for r in both] == times[:3]
    pages = [
        await income(rest, services, "dana", startTime="0", limit="2", page=str(page))
        for page in (1, 2, 3, 4)
    ]
    assert [[r["time"] for r in p] for p in pages] == [times[:2], times[2:4], times[4:], []]
    assert await income(rest, services, "dana", incomeType="WELCOME_BONUS") == []
    assert await income(rest, services, "dana", symbol="BTCUSDT") == []
    assert await income(rest, services, "dana", startTime=str(now), endTime=str(now - 1)) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"incomeType": "DEPOSIT"}, (-1130, "Data sent for parameter 'incomeType' is not valid.")),
        ({"incomeType": "transfer"}, (-1130, "Data sent for parameter 'incomeType' is not valid.")),
        ({"limit": "1001"}, (-1130, "Data sent for parameter 'limit' is not valid.")),
        ({"limit": "0"}, (-1130, "Data sent for parameter 'limit' is not valid.")),
        ({"page": "0"}, (-1130, "Data sent for parameter 'page' is not valid.")),
        ({"symbol": "NOPEUSDT"}, (-1121, "Invalid symbol.")),
    ],
)
async def test_refusals_are_binances(
    rest: RestService, services: Services, params: dict[str, str], expected: tuple[int, str]
) -> None:
    status, answer = refusal(await call(rest, services, INCOME, "alice", params))
    assert (status, answer["code"], answer["msg"]) == (400, *expected)


async def test_the_route_weighs_30_and_every_binance_type_is_accepted(
    rest: RestService, services: Services
) -> None:
    first = await call(rest, services, INCOME, "alice", {"incomeType": "SPECIAL_FUNDING_FEE"})
    second = await call(rest, services, INCOME, "alice", {"incomeType": "DELIVERED_SETTELMENT"})
    assert (first.status, second.status) == (200, 200)
    assert used(second) - used(first) == 30
