"""Orders on many gateways sharing PostgreSQL and Redis: an order placed on one is seen,
cancelled and streamed on another; a resting order fills once whichever gateways see the
mark; ids stay unique; the ORDERS windows hold across gateways."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import websockets

from posrisk.app import PosriskServer
from posrisk.engine import OrderUpdate
from posrisk.protocol import hmac_signature
from posrisk.service.clock import ManualClock

from ..gateway.test_server import ask, signed
from ..service.conftest import HMAC_KEY, HMAC_SECRET
from .conftest import Cluster, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]
D = Decimal


def rest_call(base: str, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any, Any]:
    """Alice's signed REST call on the server at ``base``: (status, headers, body)."""
    params = {**params, "timestamp": int(time.time() * 1000)}
    query = urllib.parse.urlencode(params)
    query += "&signature=" + hmac_signature(HMAC_SECRET, query.encode())
    request = urllib.request.Request(
        f"{base}{path}?{query}", method=method, headers={"X-MBX-APIKEY": HMAC_KEY}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


async def rest(gateway: PosriskServer, method: str, path: str, **params: Any) -> Any:
    """Alice's signed REST call on ``gateway``: (status, headers, body)."""
    return await asyncio.to_thread(rest_call, gateway.http_url, method, path, params)


async def place(gateway: PosriskServer, price: str, client_id: str, qty: str = "0.010") -> Any:
    async with websockets.connect(gateway.ws_url) as ws:
        reply = await ask(
            ws, "order.place",
            signed(HMAC_KEY, HMAC_SECRET, symbol="BTCUSDT", side="BUY", type="LIMIT",
                   timeInForce="GTC", quantity=qty, price=price, newClientOrderId=client_id),
        )  # fmt: skip
    assert reply["status"] == 200, reply
    return reply["result"]


def open_ids(gateway: PosriskServer) -> set[int]:
    return set(gateway.registry.account("alice").account.orders)


async def stream_on(cluster: Cluster, one: PosriskServer, two: PosriskServer) -> Any:
    """A user data stream of alice's on gateway ``two``, its listenKey started on ``one``."""
    async with websockets.connect(one.ws_url) as ws:
        started = await ask(ws, "userDataStream.start", {"apiKey": HMAC_KEY})
    key = str(started["result"]["listenKey"])
    await until(lambda: two.streams is not None and two.streams.get(key, 0) is not None)
    base = two.ws_url.removesuffix("/ws-fapi/v1")
    return await websockets.connect(f"{base}/ws/{key}")


async def next_order_update(stream: Any) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(stream.recv(), 10))
        if event["e"] == "ORDER_TRADE_UPDATE":
            return event["o"]  # type: ignore[no-any-return]


async def trades_in_ledger(gateway: PosriskServer) -> Counter[int]:
    """TRADE events per orderId in the shared ledger."""
    snapshot = await gateway.store.load()
    return Counter(
        r.event.order.order_id
        for r in snapshot.ledger
        if isinstance(r.event, OrderUpdate) and r.event.trade is not None
    )


async def test_an_order_placed_on_one_gateway_is_seen_cancelled_and_streamed_on_another(
    cluster: Cluster,
) -> None:
    one = await cluster.gateway()
    two = await cluster.gateway()
    stream = await stream_on(cluster, one, two)
    try:
        placed = await place(one, "20000", "from-one")
        order_id = placed["orderId"]
        new = await next_order_update(stream)
        assert (new["i"], new["x"], new["X"], new["c"]) == (order_id, "NEW", "NEW", "from-one")
        # Acknowledged means stored: gateway two answers for it at once.
        async with websockets.connect(two.ws_url) as ws:
            status = await ask(
                ws, "order.status",
                signed(HMAC_KEY, HMAC_SECRET, symbol="BTCUSDT", orderId=order_id),
            )  # fmt: skip
        assert status["result"]["status"] == "NEW" and status["result"]["price"] == "20000.00"
        await until(lambda: order_id in open_ids(two))
        code, _, listed = await rest(two, "GET", "/fapi/v1/openOrders", symbol="BTCUSDT")
        assert code == 200 and [o["orderId"] for o in listed] == [order_id]
        # Cancelled on two: one's state and the stream follow.
        async with websockets.connect(two.ws_url) as ws:
            cancelled = await ask(
                ws, "order.cancel",
                signed(HMAC_KEY, HMAC_SECRET, symbol="BTCUSDT", orderId=order_id),
            )  # fmt: skip
        assert cancelled["result"]["status"] == "CANCELED"
        update = await next_order_update(stream)
        assert (update["i"], update["x"], update["X"]) == (order_id, "CANCELED", "CANCELED")
        await until(lambda: not open_ids(one))
        code, _, listed = await rest(one, "GET", "/fapi/v1/openOrders", symbol="BTCUSDT")
        assert (code, listed) == (200, [])
    finally:
        await stream.close()


async def test_resting_orders_fill_once_when_both_gateways_see_the_mark(
    cluster: Cluster,
) -> None:
    one = await cluster.gateway()
    two = await cluster.gateway()
    stream = await stream_on(cluster, one, two)
    try:
        # Placed on both gateways at once: every orderId is new.
        placed = await asyncio.gather(
            *(place(one if n % 2 else two, str(21000 - 10 * n), f"rest-{n}") for n in range(6))
        )
        ids = {p["orderId"] for p in placed}
        assert len(ids) == 6
        await until(lambda: open_ids(one) == ids == open_ids(two))
        assert one.feed is not None and two.feed is not None
        # Both feeds see a mark crossing all six, and both match.
        await asyncio.gather(
            one.feed.apply({"BTCUSDT": D("20900")}), two.feed.apply({"BTCUSDT": D("20900")})
        )
        await until(lambda: not open_ids(one) and not open_ids(two))
        assert await trades_in_ledger(one) == Counter(ids)  # one TRADE each
        code, _, trades = await rest(two, "GET", "/fapi/v1/userTrades", symbol="BTCUSDT")
        assert code == 200 and Counter(t["orderId"] for t in trades) == Counter(ids)
        assert len({t["id"] for t in trades}) == 6  # trade ids unique across gateways
        assert one.orders is not None and two.orders is not None
        assert one.orders.fills + two.orders.fills == 6
        filled = [await next_order_update(stream) for _ in range(12)]
        assert Counter(u["i"] for u in filled if u["x"] == "TRADE") == Counter(ids)
        _, _, on_one = await rest(one, "GET", "/fapi/v1/userTrades", symbol="BTCUSDT")
        assert on_one == trades
    finally:
        await stream.close()


async def test_a_mark_only_one_gateway_moved_fills_an_order_placed_on_the_other(
    cluster: Cluster,
) -> None:
    one = await cluster.gateway()
    two = await cluster.gateway()
    assert two.feed is not None and one.orders is not None and two.orders is not None
    for n in range(3):
        placed = await place(one, "21000", f"race-{n}")
        # At once: gateway two may not have heard of the order yet.
        await two.feed.apply({"BTCUSDT": D(20900 - n)})
        await until(lambda: not open_ids(one) and not open_ids(two))
        assert (await trades_in_ledger(one))[placed["orderId"]] == 1
        await two.feed.apply({"BTCUSDT": D(21123)})
        await until(lambda: one.registry.marks["BTCUSDT"] == D(21123))
    assert one.orders.fills + two.orders.fills == 3


async def test_the_orders_windows_hold_across_gateways(cluster: Cluster) -> None:
    # Both gateways' clocks stand still: every placement falls in one window.
    now = int(time.time() * 1000)
    one = await cluster.gateway(clock=ManualClock(now))
    two = await cluster.gateway(clock=ManualClock(now))
    assert one.orders is not None
    # 298 placements counted on gateway one in this 10 s window (Binance allows 300).
    await one.orders.counter.decide("alice", (298, 298), now)
    code, headers, _ = await rest(
        two, "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
        timeInForce="GTC", quantity="0.010", price="20000", recvWindow=60000,
    )  # fmt: skip
    assert code == 200 and headers["X-MBX-ORDER-COUNT-10S"] == "299"
    async with websockets.connect(two.ws_url) as ws:
        reply = await ask(
            ws, "order.place",
            signed(HMAC_KEY, HMAC_SECRET, symbol="BTCUSDT", side="BUY", type="LIMIT",
                   timeInForce="GTC", quantity="0.010", price="20001", recvWindow=60000),
        )  # fmt: skip
    assert reply["status"] == 200
    orders = [x for x in reply["rateLimits"] if x["rateLimitType"] == "ORDERS"]
    assert [x["count"] for x in orders] == [300, 300]
    code, headers, body = await rest(
        one, "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
        timeInForce="GTC", quantity="0.010", price="20002", recvWindow=60000,
    )  # fmt: skip
    message = "Too many new orders; current limit is 300 orders per 10 SECOND."
    assert (code, body) == (429, {"code": -1015, "msg": message})
    assert headers["X-MBX-ORDER-COUNT-10S"] == "300"


async def test_back_to_back_fills_on_both_gateways_all_commit_with_unique_ids(
    cluster: Cluster,
) -> None:
    """Four clients placing as fast as answered, two on each gateway: every write commits
    (one that keeps losing to the other gateway holds it back for its last plan)."""
    one = await cluster.gateway()
    two = await cluster.gateway()
    answered: list[dict[str, Any]] = []

    async def client(gateway: PosriskServer, name: str) -> None:
        async with websockets.connect(gateway.ws_url) as ws:
            for n in range(30):
                reply = await ask(
                    ws, "order.place",
                    signed(HMAC_KEY, HMAC_SECRET, symbol="BTCUSDT", type="MARKET",
                           side="SELL" if n % 2 else "BUY", quantity="0.005",
                           newClientOrderId=f"{name}-{n}", newOrderRespType="RESULT"),
                )  # fmt: skip
                assert reply["status"] == 200, reply
                answered.append(reply["result"])

    await asyncio.gather(*(client(one if k % 2 else two, f"c{k}") for k in range(4)))
    ids = Counter(o["orderId"] for o in answered)
    assert len(ids) == 120 and all(o["status"] == "FILLED" for o in answered)
    assert await trades_in_ledger(one) == ids  # one TRADE each
    code, _, trades = await rest(two, "GET", "/fapi/v1/userTrades", symbol="BTCUSDT", limit=1000)
    assert code == 200 and len({t["id"] for t in trades}) == len(trades) == 120
