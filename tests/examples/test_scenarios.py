"""The scenario library: every file loads, says what its README line says it shows, and
the recorded sell-off liquidates the cascade in order."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest

from posrisk.app import PosriskServer, ServerSettings
from posrisk.engine import OrderType, OrderUpdate, Side
from posrisk.testing import serve

LIBRARY = Path(__file__).parents[2] / "examples" / "scenarios"
D = Decimal


def test_every_scenario_loads_and_has_its_readme_line() -> None:
    readme = (LIBRARY / "README.md").read_text()
    files = sorted(p.name for p in LIBRARY.iterdir() if p.suffix in (".json", ".csv"))
    assert files == [
        "funding-rates.csv",
        "funding-squeeze.json",
        "funding.json",
        "hedge.json",
        "isolated.json",
        "liquidation-cascade.json",
        "near-liquidation.json",
        "one-way-cross.json",
        "resting-orders.json",
        "sell-off.csv",
    ]
    for name in files:
        assert f"`{name}`" in readme, f"{name} has no line in the README"
        if name.endswith(".json"):
            with serve(LIBRARY / name) as exchange:
                for account in json.loads((LIBRARY / name).read_text())["accounts"]:
                    assert exchange.account(account["name"])["positions"]


def test_the_funding_the_readme_promises() -> None:
    with serve(LIBRARY / "funding.json") as exchange:
        rates = exchange.server.rates if exchange.server is not None else None
        assert rates is not None
        now = exchange.now_ms()
        assert (rates.upcoming("BTCUSDT", now).rate, rates.upcoming("ETHUSDT", now).rate) == (
            D("0.0003"),
            D("-0.0002"),
        )
        assert rates.schedule(now).of("ETHUSDT").interval_hours == 1
    with serve(LIBRARY / "one-way-cross.json", funding=LIBRARY / "funding-rates.csv") as exchange:
        rates = exchange.server.rates if exchange.server is not None else None
        assert rates is not None
        assert rates.schedule(1_767_254_400_000).of("BTCUSDT").rate == D("0.00025")
        assert rates.upcoming("ETHUSDT", exchange.now_ms()).rate == D("0.00012")  # the last


def test_the_shapes_the_readme_promises() -> None:
    with serve(LIBRARY / "hedge.json") as exchange:
        sides = {p["positionSide"] for p in exchange.account("hedger")["positions"]}
        assert sides == {"LONG", "SHORT"}
    with serve(LIBRARY / "isolated.json") as exchange:
        rows = exchange.account("isolde")["positions"]
        assert all(D(r["isolatedWallet"]) > 0 for r in rows)  # each its own margin
    with serve(LIBRARY / "near-liquidation.json") as exchange:
        [usdt] = exchange.account("edge")["balances"]
        ratio = D(usdt["maintMargin"]) / D(usdt["marginBalance"])
        assert D("0.8") < ratio < 1
    with serve(LIBRARY / "resting-orders.json") as exchange:
        orders = exchange.open_orders("rita")
        assert [(o["clientOrderId"], o["reduceOnly"]) for o in orders] == [
            ("take-profit", True),
            ("buy-the-dip", False),
        ]
        exchange.set_marks(BTCUSDT="63001")
        taken = exchange.wait_for_order("rita", orders[0]["orderId"], "FILLED")
        assert taken["avgPrice"] == "63000.00000"
        [flat] = exchange.account("rita")["positions"]  # kept by the open BUY
        assert flat["positionAmt"] == "0.000"
        assert [o["clientOrderId"] for o in exchange.open_orders("rita")] == ["buy-the-dip"]


def test_funding_alone_liquidates_the_squeeze() -> None:
    # A 1 BTC long from 60000 at 20x on 3100 USDT, the mark at 57150: a margin balance of
    # 3100 − 2850 = 250 against a maintenance margin of 57150 × 0.005 − 50 = 235.75
    # (94.3 %). The next funding time (every 4 hours at 0.005) takes 57150 × 0.005 =
    # 285.75 out of the wallet: the margin balance falls to −35.75, and the long is
    # liquidated at its bankruptcy price, which leaves the wallet at 0.
    with serve(LIBRARY / "funding-squeeze.json", liquidate=True) as exchange:
        [usdt] = exchange.account("squeezed")["balances"]
        assert (usdt["marginBalance"], usdt["maintMargin"]) == ("250.00000000", "235.75000000")
        [long] = exchange.account("squeezed")["positions"]
        assert long["liquidationPrice"] == "57135.67839195"  # under the mark: not crossed
        exchange.advance(hours=4)  # past exactly one 4-hour funding time
        assert exchange.account("squeezed")["positions"] == []
        rows = exchange.income("squeezed")
        assert [(r["incomeType"], r["symbol"], r["income"]) for r in rows] == [
            ("TRANSFER", "", "3100.00000000"),
            ("FUNDING_FEE", "BTCUSDT", "-285.75000000"),
            ("REALIZED_PNL", "BTCUSDT", "-2814.25000000"),  # the liquidation's close
        ]
        assert rows[1]["time"] % (4 * 3_600_000) == 0  # paid at the funding time
        assert rows[2]["tradeId"] != ""  # a trade: the LIQUIDATION order's
        assert sum(D(r["income"]) for r in rows) == 0
        assert exchange.balance("squeezed")[0]["balance"] == "0.00000000"


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_the_recorded_sell_off_liquidates_the_cascade_in_order(tmp_path: Path) -> None:
    server = PosriskServer(
        ServerSettings(
            db=str(tmp_path / "cascade.db"),
            port=0,
            admin_port=None,
            scenario=LIBRARY / "liquidation-cascade.json",
            marks="replay",
            marks_file=LIBRARY / "sell-off.csv",
            marks_speed=0,
            liquidate=True,
        )
    )
    await server.start()
    try:
        for _ in range(500):
            if not server.registry.account("cascade").account.open_positions():
                break
            await asyncio.sleep(0.01)
        assert server.admin is not None
        snapshot = await server.store.load()
    finally:
        await server.stop()
    closed = [  # each close is a LIQUIDATION order, as Binance sends it
        record.event.order.symbol
        for record in snapshot.ledger
        if isinstance(record.event, OrderUpdate)
        and record.event.order.type is OrderType.LIQUIDATION
        and record.event.order.side is Side.SELL
    ]
    assert closed == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
