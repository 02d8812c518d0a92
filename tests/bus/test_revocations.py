"""A revoked key stops on every gateway before the DELETE answers: each gateway on the bus
confirms it applied the revocation; one that does not within the timeout is named."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets
from typer.testing import CliRunner

from posrisk.app import PosriskServer
from posrisk.cli import app

from ..gateway.test_server import ask, signed
from ..service.conftest import ED_KEY, HEDGE_KEY, HEDGE_SECRET, HMAC_KEY, HMAC_SECRET, RSA_KEY
from .conftest import Cluster

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def delete(server: PosriskServer, path: str) -> tuple[int, Any]:
    headers = {"Authorization": "Bearer cluster-test-token"}
    async with (
        aiohttp.ClientSession() as session,
        session.delete(f"{server.admin_url}{path}", headers=headers) as response,
    ):
        return response.status, json.loads(await response.read())


async def test_the_request_after_the_delete_is_refused_on_the_other_gateway(
    cluster: Cluster,
) -> None:
    one = await cluster.gateway()
    two = await cluster.gateway()
    three = await cluster.gateway()
    async with websockets.connect(two.ws_url) as a, websockets.connect(three.ws_url) as b:
        for ws in (a, b):
            assert (await ask(ws, "account.position", signed(HMAC_KEY, HMAC_SECRET)))[
                "status"
            ] == 200
        status, body = await delete(one, f"/accounts/alice/keys/{HMAC_KEY}")
        assert (status, body["revoked"]) == (200, True)
        for ws in (a, b):
            reply = await ask(ws, "account.position", signed(HMAC_KEY, HMAC_SECRET))
            assert (reply["status"], reply["error"]["code"]) == (401, -2015)
        # Other keys still serve.
        assert (await ask(a, "account.position", signed(HEDGE_KEY, HEDGE_SECRET)))["status"] == 200


async def test_a_gateway_that_never_confirms_is_named_after_the_timeout(cluster: Cluster) -> None:
    import redis.asyncio as aioredis

    one = await cluster.gateway(revoke_timeout_s=0.2)
    two = await cluster.gateway()
    three = await cluster.gateway()
    await three.stop()  # a clean stop leaves the roll: nobody waits for it
    cluster.gateways.remove(three)
    client = aioredis.Redis.from_url(cluster.redis)
    try:
        # A gateway on the roll that never answers (stalled, or cut off from Redis), and an
        # id whose presence has expired (killed over five seconds ago).
        await client.set(cluster.prefix + "gw:ghost", "ghost-host pid 7", px=60_000)
        await client.sadd(cluster.prefix + "gateways", "ghost", "expired")
        status, body = await delete(one, f"/accounts/alice/keys/{HMAC_KEY}")
        assert status == 200
        assert {k: body[k] for k in ("apiKey", "revoked", "gateways")} == {
            "apiKey": HMAC_KEY,
            "revoked": True,
            "gateways": {"confirmed": 1, "unconfirmed": ["ghost-host pid 7"]},
        }
        assert body["note"].startswith(
            "the key is revoked in the database; 1 gateway(s) did not confirm within 0.2 s: "
            "each applies the revocation at its next database check (every 0.2 s)"
        )
        assert await client.smembers(cluster.prefix + "gateways") == {
            one.bus.id.encode(),  # type: ignore[attr-defined]
            two.bus.id.encode(),  # type: ignore[attr-defined]
            b"ghost",
        }
        # The gateways that confirmed refuse the key already.
        async with websockets.connect(two.ws_url) as ws:
            reply = await ask(ws, "account.position", signed(HMAC_KEY, HMAC_SECRET))
            assert reply["error"]["code"] == -2015
        # The CLI says so too (a warning on stderr).
        revoke = [
            *("key", "revoke", "alice", RSA_KEY),
            *("--admin-url", str(one.admin_url), "--admin-token", "cluster-test-token"),
        ]
        result = await asyncio.to_thread(CliRunner(env={"COLUMNS": "200"}).invoke, app, revoke)
        assert (result.exit_code, result.stdout) == (0, f"revoked {RSA_KEY}\n")
        assert result.stderr.startswith(
            "warning: the key is revoked in the database; 1 gateway(s) did not confirm"
        )
        # Revoking again asks again: with the ghost gone, every gateway confirms.
        await client.delete(cluster.prefix + "gw:ghost")
        status, body = await delete(one, f"/accounts/alice/keys/{HMAC_KEY}")
        assert (status, body) == (
            200,
            {
                "apiKey": HMAC_KEY,
                "revoked": True,
                "gateways": {"confirmed": 1, "unconfirmed": []},
            },
        )
    finally:
        await client.aclose()


async def test_a_session_logged_on_elsewhere_ends_before_the_delete_answers(
    cluster: Cluster,
) -> None:
    import time

    from posrisk.protocol import canonical_payload, load_private_key

    one = await cluster.gateway()
    two = await cluster.gateway()
    async with websockets.connect(two.ws_url) as ws:
        params: dict[str, Any] = {"apiKey": ED_KEY, "timestamp": int(time.time() * 1000)}
        private = load_private_key(cluster.keys.ed25519_private)
        params["signature"] = private.sign(canonical_payload(params))
        assert (await ask(ws, "session.logon", params))["status"] == 200
        assert (await delete(one, f"/accounts/alice/keys/{ED_KEY}"))[0] == 200
        reply = await ask(ws, "account.position", {"timestamp": int(time.time() * 1000)})
        assert (reply["id"], reply["status"], reply["error"]["code"]) == (None, 401, -2015)


async def test_without_redis_the_answer_says_no_gateway_could_be_asked(
    cluster_factory: Any, private_redis: Any
) -> None:
    from .conftest import until

    cluster = await cluster_factory(private_redis.url)
    one = await cluster.gateway()
    await cluster.gateway()
    private_redis.stop()
    await until(lambda: not one.bus.up)
    status, body = await delete(one, f"/accounts/alice/keys/{HMAC_KEY}")
    assert (status, body["revoked"], body["gateways"]) == (
        200,
        True,
        {"confirmed": 0, "unconfirmed": ["every other gateway"]},
    )
    assert "Redis is unreachable from this gateway" in body["note"]
