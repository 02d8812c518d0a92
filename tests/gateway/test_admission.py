"""Who may open a connection (issue 13 A.4): bans on every path, stream connection
attempts per IP, one cap per IP over every kind of connection, derived from RLIMIT_NOFILE."""

from __future__ import annotations

import json
import logging
import resource
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import websockets

from posrisk.app import PosriskServer
from posrisk.gateway.admission import connections_per_ip, open_file_limit
from posrisk.gateway.server import GatewaySettings
from posrisk.protocol.ratelimit import LimitRules
from posrisk.service.clock import ManualClock

from ..service.conftest import HMAC_KEY, Keys
from .conftest import make_server
from .test_server import ask, get

pytestmark = [pytest.mark.timeout(30)]

QUIET = GatewaySettings(ping_interval_s=3600, pong_timeout_s=3600)


async def listen_key(server: PosriskServer) -> str:
    async with websockets.connect(server.ws_url) as ws:
        reply = await ask(ws, "userDataStream.start", {"apiKey": HMAC_KEY})
    return str(reply["result"]["listenKey"])


async def refused(url: str) -> tuple[int, Any, Any]:
    """The HTTP answer to a WS handshake the server must refuse."""
    with pytest.raises(websockets.InvalidStatus) as refusal:
        async with websockets.connect(url):
            pass
    response = refusal.value.response
    return response.status_code, response.headers, json.loads(response.body or b"null")


@pytest.mark.asyncio
async def test_a_banned_ip_gets_418_on_every_path(tmp_path: Path, keys: Keys) -> None:
    server = await make_server(tmp_path, keys, gateway=QUIET)
    try:
        key = await listen_key(server)
        ws = server.ws_url.rsplit("/ws-fapi/v1", 1)[0]
        now = server.clock.now_ms()
        server.gateway.api.limiter.restore_bans({"127.0.0.1": (now + 600_000, 1)})  # type: ignore[union-attr]
        for path in ("/", "/health", "/metrics", "/fapi/v1/time", "/fapi/v1/exchangeInfo", "/x"):
            status, headers, body = await get(server.http_url + path)
            assert status == 418, path
            assert body["code"] == -1003 and body["msg"].startswith(
                "Way too many requests; IP banned"
            )
            assert int(headers["Retry-After"]) > 0
        for path in ("/ws-fapi/v1", f"/ws/{key}", f"/private/ws/{key}", "/dashboard/ws"):
            status, headers, body = await refused(ws + path)
            assert (status, body["code"]) == (418, -1003), path
            assert int(headers["Retry-After"]) > 0, path
        server.gateway.api.limiter.restore_bans({"127.0.0.1": (now, 1)})  # type: ignore[union-attr]
        status, _, body = await get(server.http_url + "/health")
        assert status == 200 and body["status"] == "ok"
        async with websockets.connect(f"{ws}/ws/{key}"):
            pass
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_stream_handshakes_are_counted_and_refused_past_the_attempt_limit(
    tmp_path: Path, keys: Keys
) -> None:
    clock = ManualClock(1_700_000_200_000)  # 200 s before its 5-minute window ends
    settings = replace(QUIET, stream_attempts=3, stream_attempts_window_s=300)
    server = await make_server(tmp_path, keys, gateway=settings, clock=clock)
    try:
        key = await listen_key(server)
        ws = server.ws_url.rsplit("/ws-fapi/v1", 1)[0]
        async with websockets.connect(f"{ws}/ws/{key}"), websockets.connect(f"{ws}/dashboard/ws"):
            status, _, body = await refused(f"{ws}/ws/{'x' * 64}")  # a bad key counts too
            assert (status, body["code"]) == (400, -1125)
            for path in (f"/private/ws/{key}", "/dashboard/ws"):
                status, headers, body = await refused(ws + path)
                assert (status, body["code"]) == (429, -1003), path
                assert body["msg"] == (
                    "Too many new connections; current limit is 3 per 5 minutes per IP."
                )
                assert headers["Retry-After"] == "200"
            async with websockets.connect(server.ws_url):  # the WS API is charged weight instead
                pass
        clock.advance(200_000)  # the next window
        async with websockets.connect(f"{ws}/ws/{key}"):
            pass
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_every_kind_of_connection_counts_against_the_cap(tmp_path: Path, keys: Keys) -> None:
    server = await make_server(tmp_path, keys, gateway=replace(QUIET, max_connections_per_ip=3))
    try:
        key = await listen_key(server)
        ws = server.ws_url.rsplit("/ws-fapi/v1", 1)[0]
        async with (
            websockets.connect(server.ws_url),
            websockets.connect(f"{ws}/ws/{key}"),
            websockets.connect(f"{ws}/dashboard/ws"),
        ):
            for url in (server.ws_url, f"{ws}/ws/{key}", f"{ws}/dashboard/ws"):
                status, _, body = await refused(url)
                assert (status, body["code"]) == (429, -1003), url
                assert body["msg"] == "Too many connections; current limit is 3 per IP."
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_a_ws_api_handshake_past_the_weight_limit_says_when_to_retry(
    tmp_path: Path, keys: Keys
) -> None:
    clock = ManualClock(1_699_999_995_000)  # 45 s before its minute ends
    server = await make_server(
        tmp_path, keys, gateway=QUIET, clock=clock, limits=LimitRules(request_weight=10)
    )
    try:
        async with websockets.connect(server.ws_url):  # weight 5
            pass
        async with websockets.connect(server.ws_url):  # weight 10
            pass
        status, headers, body = await refused(server.ws_url)
        assert (status, body["code"]) == (429, -1003)
        assert headers["Retry-After"] == "45"
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_plain_gets_cost_weight_one(tmp_path: Path, keys: Keys) -> None:
    clock = ManualClock(1_699_999_995_000)  # 45 s before its minute ends
    server = await make_server(
        tmp_path, keys, gateway=QUIET, clock=clock, limits=LimitRules(request_weight=3)
    )
    try:
        for path in ("/health", "/nope", "/health"):
            status, _, _ = await get(server.http_url + path)
            assert status in (200, 404), path
        for path in ("/", "/health", "/metrics", "/nope"):
            status, headers, body = await get(server.http_url + path)
            assert (status, body["code"]) == (429, -1003), path
            assert headers["Retry-After"] == "45"
        clock.advance(45_000)
        status, _, body = await get(server.http_url + "/health")
        assert status == 200 and body["status"] == "ok"
    finally:
        await server.stop()


# -- the cap from RLIMIT_NOFILE ----------------------------------------------------------------


def test_the_cap_is_a_quarter_of_the_descriptors() -> None:
    assert connections_per_ip(1024) == 256
    assert connections_per_ip(1_048_576) == 262_144
    assert connections_per_ip(3) == 1  # never zero
    assert connections_per_ip(resource.RLIM_INFINITY) == connections_per_ip(1 << 20)


def test_the_soft_limit_is_raised_to_the_hard_one_when_allowed() -> None:
    limits = {"now": (1024, 4096)}

    def set_limit(_: int, value: tuple[int, int]) -> None:
        limits["now"] = value

    def refuse(_: int, value: tuple[int, int]) -> None:
        raise ValueError("not allowed")

    get = lambda _: limits["now"]  # noqa: E731
    assert open_file_limit(get, set_limit) == 4096 and limits["now"] == (4096, 4096)
    limits["now"] = (1024, 4096)
    assert open_file_limit(get, refuse) == 1024
    limits["now"] = (1024, resource.RLIM_INFINITY)
    assert open_file_limit(get, refuse) == 1024  # an unlimited hard limit is not asked for


@pytest.mark.asyncio
async def test_the_gateway_derives_its_cap_and_says_so(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _: (8, 8))
    monkeypatch.setattr(resource, "setrlimit", lambda *_: None)
    with caplog.at_level(logging.INFO, logger="posrisk.gateway"):
        server = await make_server(tmp_path, keys, gateway=QUIET)
    try:
        lines = [r.getMessage() for r in caplog.records if r.name == "posrisk.gateway"]
        assert lines == [
            "at most 2 WS connections per IP (a quarter of the 8 file descriptors "
            "this process may open)"
        ]
        async with websockets.connect(server.ws_url), websockets.connect(server.ws_url):
            status, _, body = await refused(server.ws_url)
            assert (status, body["code"]) == (429, -1003)
    finally:
        await server.stop()
