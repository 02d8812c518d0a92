"""Many gateways, one server: rows, ACCOUNT_UPDATE, listenKeys, marks and the per-IP limit
shared through PostgreSQL and Redis; and what happens when Redis goes away and comes back."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import websockets

from posrisk.engine import Fill, PositionSide, Side
from posrisk.protocol import LimitRules

from ..gateway.test_server import ask, signed
from ..service.conftest import HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET
from .conftest import Cluster, PrivateRedis, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]
D = Decimal


async def rows(url: str, method: str = "v2/account.position", **params: Any) -> Any:
    async with websockets.connect(url) as ws:
        reply = await ask(ws, method, signed(HEDGE_KEY, HEDGE_SECRET, **params))
    return reply["result"]


async def bob_buys(gateway: Any) -> None:
    """A fill for bob through ``gateway``'s admin service."""
    assert gateway.admin is not None
    await gateway.admin.fill(
        "bob",
        Fill("BTCUSDT", Side.BUY, D("0.002"), D("21000"), PositionSide.LONG),
        force=True,  # bob's wallet is the SPEC's 2.53: too little to open more
    )


async def key_on_both(cluster: Cluster) -> tuple[Any, Any, str]:
    """Two gateways, and a listenKey started on the first that the second has heard of."""
    one = await cluster.gateway()
    two = await cluster.gateway()
    async with websockets.connect(one.ws_url) as ws:
        started = await ask(ws, "userDataStream.start", {"apiKey": HEDGE_KEY})
    key = str(started["result"]["listenKey"])
    await until(lambda: two.streams is not None and two.streams.get(key, 0) is not None)
    return one, two, key


async def test_two_gateways_serve_identical_rows(cluster: Cluster) -> None:
    one = await cluster.gateway()
    two = await cluster.gateway()
    for method in ("account.position", "v2/account.position"):
        assert await rows(one.ws_url, method) == await rows(two.ws_url, method)
    assert (await rows(two.ws_url, symbol="BTCUSDT"))[0]["liquidationPrice"] == "19731.45529116"


async def test_a_fill_on_one_gateway_reaches_streams_and_rows_on_another(
    cluster: Cluster,
) -> None:
    one, two, key = await key_on_both(cluster)
    base = two.ws_url.removesuffix("/ws-fapi/v1")
    async with websockets.connect(f"{base}/ws/{key}") as stream:
        await bob_buys(one)
        update = json.loads(await stream.recv())
    assert update["e"] == "ACCOUNT_UPDATE"
    assert update["a"]["P"][0]["s"] == "BTCUSDT" and update["a"]["P"][0]["pa"] == "0.003"
    assert await rows(two.ws_url) == await rows(one.ws_url)


async def test_a_stream_may_open_before_its_listen_key_reaches_the_gateway(
    cluster: Cluster,
) -> None:
    one, two, key = await key_on_both(cluster)
    assert two.streams is not None
    two.streams.forget(key)  # as if the bus had not told gateway two yet
    base = two.ws_url.removesuffix("/ws-fapi/v1")
    async with websockets.connect(f"{base}/ws/{key}") as stream:
        await until(lambda: attached(two, key))
        await bob_buys(one)
        update = json.loads(await stream.recv())
    assert update["e"] == "ACCOUNT_UPDATE"
    # A key no gateway has: the stream opens, then closes with 1008 (no handshake refusal
    # can wait for Redis).
    async with websockets.connect(f"{base}/ws/{'x' * 64}") as stream:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await stream.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason == "Invalid listenKey."


def attached(gateway: Any, key: str) -> bool:
    """Whether a stream connection of ``gateway`` receives listenKey ``key``."""
    listen = gateway.streams.get(key, 0)
    return listen is not None and len(listen.sinks) == 1


async def test_a_subscription_looks_up_a_listen_key_the_gateway_has_not_heard_of(
    cluster: Cluster,
) -> None:
    one, two, key = await key_on_both(cluster)
    assert two.streams is not None
    two.streams.forget(key)  # as if the bus had not told gateway two yet
    base = two.ws_url.removesuffix("/ws-fapi/v1")
    async with websockets.connect(f"{base}/private/stream") as stream:
        frame = {"method": "SUBSCRIBE", "params": [key, "y" * 64], "id": "a-uuid"}
        await stream.send(json.dumps(frame))
        assert json.loads(await stream.recv()) == {"result": None, "id": "a-uuid"}
        await until(lambda: attached(two, key))
        await bob_buys(one)
        update = json.loads(await stream.recv())
    assert update["stream"] == key and update["data"]["e"] == "ACCOUNT_UPDATE"


async def test_marks_moved_on_one_gateway_move_every_row(cluster: Cluster) -> None:
    one = await cluster.gateway()
    two = await cluster.gateway()
    assert one.admin is not None and two.admin is not None
    await one.admin.set_marks({"BTCUSDT": D("25000")})
    await until(lambda: two.registry.marks["BTCUSDT"] == D("25000"))
    assert await rows(two.ws_url) == await rows(one.ws_url)
    # A gateway starting now reads the marks from Redis's snapshot.
    three = await cluster.gateway()
    assert three.registry.marks["BTCUSDT"] == D("25000")


async def test_the_request_weight_limit_holds_across_gateways(cluster: Cluster) -> None:
    rules = LimitRules(request_weight=100, ban_after_rejections=3)
    one = await cluster.gateway(limits=rules)
    two = await cluster.gateway(limits=rules)
    answers = []
    a = await websockets.connect(one.ws_url)
    b = await websockets.connect(two.ws_url)
    # 100 - 2 handshakes of 5 = 90: 18 requests of weight 5, wherever they go.
    for n in range(22):
        ws = a if n % 2 else b
        reply = await ask(ws, "account.position", signed(HMAC_KEY, HMAC_SECRET), n)
        answers.append(reply.get("status"))
    assert answers[:18] == [200] * 18
    assert answers[18:21] == [429] * 3  # a first 429, then two more refusals
    assert answers[21] == 418  # the third refusal after the first 429 bans the IP
    await a.wait_closed()  # a banned IP loses its connection
    # Every gateway knows the ban: a new handshake anywhere is refused.
    await until(
        lambda: (
            two.gateway is not None
            and two.gateway.api.limiter.banned_until("127.0.0.1", two.clock.now_ms()) is not None
        )
    )
    for gateway in (one, two):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(gateway.ws_url):
                pass
        assert refused.value.response.status_code == 418
    await a.close()
    await b.close()


async def test_redis_restarting_loses_no_write_and_the_gateways_resync(
    cluster_factory: Any, private_redis: PrivateRedis
) -> None:
    cluster = await cluster_factory(private_redis.url)
    one = await cluster.gateway()
    two = await cluster.gateway()
    assert one.admin is not None
    private_redis.stop()
    await until(lambda: not one.bus.up and not two.bus.up)
    # Writes are acknowledged by PostgreSQL; the other gateway still sees them (it polls).
    await one.admin.fill(
        "bob",
        Fill("BTCUSDT", Side.BUY, D("0.002"), D("21000"), PositionSide.LONG),
        force=True,  # bob's wallet is the SPEC's 2.53: too little to open more
    )
    await until(lambda: two.registry.account("bob").version == one.registry.account("bob").version)
    # Requests are served meanwhile (limits counted per gateway).
    assert await rows(two.ws_url) == await rows(one.ws_url)
    private_redis.start()
    await until(lambda: one.bus.up and two.bus.up)
    # Through the restarted Redis: marks, listenKeys and ACCOUNT_UPDATE flow again.
    await one.admin.set_marks({"BTCUSDT": D("24000")})
    await until(lambda: two.registry.marks["BTCUSDT"] == D("24000"))
    async with websockets.connect(two.ws_url) as ws:
        started = await ask(ws, "userDataStream.start", {"apiKey": HEDGE_KEY})
    key = started["result"]["listenKey"]
    await until(lambda: one.streams is not None and one.streams.get(key, 0) is not None)
    base = one.ws_url.removesuffix("/ws-fapi/v1")
    async with websockets.connect(f"{base}/ws/{key}") as stream:
        assert two.admin is not None
        await two.admin.wallet("bob", "USDT", D(5))
        update = json.loads(await stream.recv())
    assert update["e"] == "ACCOUNT_UPDATE" and update["a"]["m"] == "DEPOSIT"


async def test_malformed_bus_messages_are_ignored(cluster: Cluster) -> None:
    import redis.asyncio as aioredis

    one = await cluster.gateway()
    two = await cluster.gateway()
    assert one.admin is not None
    client = aioredis.Redis.from_url(cluster.redis)
    try:
        for junk in (
            b"not json",
            b"[]",
            b'{"kind": "listenKey", "from": "elsewhere"}',
            b'{"kind": "marks", "from": "elsewhere", "marks": {"BTCUSDT": "abc", "NOPE": "1"}}',
            b'{"kind": "ban", "from": "elsewhere", "ip": "10.0.0.1", "until": "soon"}',
        ):
            await client.publish(cluster.prefix + "events", junk)
    finally:
        await client.aclose()
    await one.admin.set_marks({"BTCUSDT": D("26000")})
    await until(lambda: two.registry.marks["BTCUSDT"] == D("26000"))
    assert two.bus.up and "NOPE" not in two.registry.marks


async def test_redis_needs_a_shared_database(cluster: Cluster, tmp_path: Any) -> None:
    from posrisk.service.errors import ServiceError

    from ..gateway.conftest import make_server

    with pytest.raises(ServiceError, match="needs --db postgresql://"):
        await make_server(tmp_path, cluster.keys, redis=cluster.redis)


async def test_a_gateway_stops_even_when_redis_py_swallows_the_cancel(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py 8 swallows a cancel that lands while it opens a connection: the call returns
    as if nothing happened, and a loop around it would run on, so stop() never returned."""
    import asyncio

    one = await cluster.gateway()
    cluster.gateways.remove(one)
    bus: Any = one.bus
    real = bus._blocking.xread
    entered, swallowed = asyncio.Event(), 0

    async def xread(*args: Any, **kwargs: Any) -> Any:
        nonlocal swallowed
        entered.set()
        try:
            return await real(*args, **kwargs)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed += 1
            return []

    monkeypatch.setattr(bus._blocking, "xread", xread)
    await asyncio.wait_for(entered.wait(), 10)  # the follow loop reads through the patch
    stopping = asyncio.ensure_future(one.stop())
    done, _ = await asyncio.wait([stopping], timeout=10)  # it took forever before
    if not done:
        stopping.cancel()
        await asyncio.wait([stopping], timeout=10)
    assert done and swallowed == 1
