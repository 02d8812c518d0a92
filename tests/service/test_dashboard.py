"""What the dashboard sends its viewers, through a fake sink (no sockets): the accounts'
numbers, never their keys."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.engine import Fill, PositionSide, Side, WalletTransfer
from posrisk.service.admin_orders import cancel_open_orders
from posrisk.service.dashboard import Dashboard
from posrisk.service.order_writes import place
from posrisk.service.orders import OrderService

from .conftest import (
    ED_KEY,
    HEDGE_KEY,
    HEDGE_SECRET,
    HMAC_KEY,
    HMAC_SECRET,
    RSA_KEY,
    Keys,
    Services,
)

pytestmark = pytest.mark.asyncio


class Viewer:
    """A dashboard viewer that keeps what it was sent."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.closed = False

    def send(self, message: bytes) -> None:
        self.messages.append(message)

    def close(self) -> None:
        self.closed = True


def _pem_body(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


async def test_the_dashboard_sends_no_key_material(services: Services, keys: Keys) -> None:
    dashboard = Dashboard(services.admin, services.clock)
    viewer = Viewer()
    dashboard.attach(viewer)
    await services.admin.fill(
        "alice", Fill("BTCUSDT", Side.BUY, Decimal("0.010"), Decimal("21000"), PositionSide.BOTH)
    )
    services.clock.advance(1000)
    dashboard.tick()
    kinds = [orjson.loads(m)["type"] for m in viewer.messages]
    assert kinds == ["state", "update", "state"]

    # Whatever is added to an account's description later, the dashboard publishes only
    # what its page shows.
    state = orjson.loads(viewer.messages[0])
    assert [sorted(a) for a in state["accounts"]] == [
        ["balances", "name", "openAlgoOrders", "openOrders", "positionMode", "positions"]
    ] * 2
    assert [a["name"] for a in state["accounts"]] == ["alice", "bob"]
    assert state["accounts"][0]["positions"][0]["symbol"] == "BTCUSDT"

    sent = b"\n".join(viewer.messages)
    material = [HMAC_KEY, HMAC_SECRET, ED_KEY, RSA_KEY, HEDGE_KEY, HEDGE_SECRET]
    material += _pem_body(keys.ed25519_public) + _pem_body(keys.rsa_public)
    material += _pem_body(keys.ed25519_private) + _pem_body(keys.rsa_private)
    leaked = [m for m in material if m.encode() in sent]
    assert leaked == []
    assert b"apiKey" not in sent and b'"keys"' not in sent


async def test_the_state_shows_the_marks_held_and_the_latest_updates(services: Services) -> None:
    dashboard = Dashboard(services.admin, services.clock, feed=1)
    viewer = Viewer()
    dashboard.attach(viewer)
    start = services.clock.now_ms()
    state = orjson.loads(viewer.messages[0])
    assert state["marks"] == {
        "BTCUSDT": [[start, "21123.05052574"]],
        "ETHUSDT": [[start, "950"]],
    }
    dashboard.tick()  # nothing moved: nothing sent
    assert len(viewer.messages) == 1

    services.clock.advance(1000)
    await services.admin.set_marks({"BTCUSDT": Decimal("21000.50")})
    for qty in ("0.001", "0.002"):
        fill = Fill("BTCUSDT", Side.BUY, Decimal(qty), Decimal("21000"), PositionSide.BOTH)
        await services.admin.fill("alice", fill)
    dashboard.tick()
    state = orjson.loads(viewer.messages[-1])
    assert state["marks"]["BTCUSDT"] == [[start, "21123.05052574"], [start + 1000, "21000.50"]]
    assert state["marks"]["ETHUSDT"] == [[start, "950"]]  # unchanged: no new point
    [latest] = state["feed"]  # only the newest is kept (feed=1)
    assert latest["account"] == "alice"
    assert latest["event"]["a"]["P"][0]["pa"] == "0.013"
    updates = [orjson.loads(m) for m in viewer.messages if b'"type":"update"' in m]
    assert [u["event"]["a"]["P"][0]["pa"] for u in updates] == ["0.011", "0.013"]


async def test_open_orders_and_their_order_trade_updates_are_shown(services: Services) -> None:
    orders = OrderService(services.admin)
    dashboard = Dashboard(services.admin, services.clock)
    viewer = Viewer()
    dashboard.attach(viewer)
    params = {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.010", "price": "20000", "newClientOrderId": "dip",
    }  # fmt: skip
    entry = services.registry.account("alice")
    placed = await place(orders, entry, params, services.clock.now_ms())
    services.clock.advance(1000)
    dashboard.tick()
    state = orjson.loads(viewer.messages[-1])
    alice = state["accounts"][0]
    [shown] = alice["openOrders"]
    assert (shown["orderId"], shown["clientOrderId"], shown["price"], shown["status"]) == (
        placed["orderId"], "dip", "20000.00", "NEW",
    )  # fmt: skip
    assert alice["openAlgoOrders"] == [] and state["accounts"][1]["openOrders"] == []
    [new] = [orjson.loads(m) for m in viewer.messages if b'"type":"update"' in m]
    assert (new["account"], new["event"]["e"], new["event"]["o"]["x"]) == (
        "alice", "ORDER_TRADE_UPDATE", "NEW",
    )  # fmt: skip
    assert new["event"]["o"]["b"] == "200"  # the side's bid notional after it

    # A resting fill: its ACCOUNT_UPDATE then its ORDER_TRADE_UPDATE, as the streams get them.
    await services.admin.set_marks({"BTCUSDT": Decimal("19999")})
    await orders.on_marks({"BTCUSDT": Decimal("19999")})
    feed = [(i["event"]["e"], i["event"].get("o", {}).get("x")) for i in dashboard.feed]
    assert feed[:3] == [
        ("ORDER_TRADE_UPDATE", "TRADE"), ("ACCOUNT_UPDATE", None), ("ORDER_TRADE_UPDATE", "NEW"),
    ]  # fmt: skip
    services.clock.advance(1000)
    dashboard.tick()
    assert orjson.loads(viewer.messages[-1])["accounts"][0]["openOrders"] == []


async def test_an_operators_cancel_reaches_the_feed(services: Services) -> None:
    orders = OrderService(services.admin)
    params = {
        "symbol": "ETHUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.100", "price": "990",
    }  # fmt: skip
    await place(orders, services.registry.account("alice"), params, services.clock.now_ms())
    dashboard = Dashboard(services.admin, services.clock)
    await cancel_open_orders(orders, "alice")
    [(account, event)] = [(i["account"], i["event"]) for i in dashboard.feed]
    assert (account, event["e"], event["o"]["X"], event["o"]["s"]) == (
        "alice", "ORDER_TRADE_UPDATE", "CANCELED", "ETHUSDT",
    )  # fmt: skip


async def test_without_viewers_a_big_commit_builds_only_what_the_feed_keeps(
    services: Services,
) -> None:
    """A commit over many accounts (a funding settlement) with nobody watching builds the
    messages of its newest accounts only: the feed keeps its last ``maxlen`` either way."""
    dashboard = Dashboard(services.admin, services.admin.clock, feed=3)
    names = [f"many{i}" for i in range(12)]
    for name in names:
        await services.admin.create_account(name)
    built: list[str] = []
    real = dashboard._feed_items

    def counting(items: list[Any]) -> list[dict[str, Any]]:
        built.append(items[0].account)
        return real(items)

    dashboard._feed_items = counting  # type: ignore[method-assign]

    def deposit(amount: int) -> Any:
        return lambda state, now: [WalletTransfer("USDT", Decimal(amount), now)]

    # Queued behind the first, the other eleven commit together (group commit).
    await asyncio.gather(
        *(services.admin.plan_events(name, deposit(1 + i)) for i, name in enumerate(names))
    )
    feed = [(item["account"], item["event"]["a"]["B"][0]["bc"]) for item in dashboard.feed]
    assert feed == [("many11", "12"), ("many10", "11"), ("many9", "10")]  # newest first
    assert len(built) < len(names)  # the older accounts' messages were never built
