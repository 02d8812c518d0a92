"""Who sees the dashboard, /health and /metrics: the decision as data, then through the
gateway's router with the peer's address given (a test cannot connect from outside
127.0.0.0/8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio
from multidict import CIMultiDict
from picows import WSUpgradeRequest

from posrisk.app import PosriskServer
from posrisk.gateway.audience import admits, browser_refusal
from posrisk.gateway.server import Gateway, GatewaySettings
from posrisk.gateway.streams import DashboardListener

from ..service.conftest import Keys
from .conftest import make_server


def headers(**given: str) -> CIMultiDict[str]:
    return CIMultiDict((name.replace("_", "-"), value) for name, value in given.items())


@pytest.mark.parametrize(
    ("audience", "ip", "admitted"),
    [
        ("loopback", "127.0.0.1", True),
        ("loopback", "127.8.9.10", True),
        ("loopback", "::1", True),
        ("loopback", "::ffff:127.0.0.1", True),
        ("loopback", "10.1.2.3", False),
        ("loopback", "::ffff:10.1.2.3", False),
        ("loopback", "2001:db8::1", False),
        ("any", "10.1.2.3", True),
        ("off", "127.0.0.1", False),
    ],
)
def test_who_is_in_an_audience(audience: str, ip: str, admitted: bool) -> None:
    assert admits(audience, ip) is admitted


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8765", None),  # a program: no Origin
        ("127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("localhost:8765", "http://localhost:8765"),
        ("LOCALHOST:8765", "http://localhost:8765"),
        ("posrisk.localhost:8765", "https://posrisk.localhost:8765"),
        ("[::1]:8765", "http://[::1]:8765"),
        ("127.0.0.1", "http://127.0.0.1"),
        ("127.0.0.1:80", "http://127.0.0.1"),
        ("127.0.0.1", "https://127.0.0.1:443"),
        ("", None),  # HTTP/1.0, no Host: not a browser
    ],
)
def test_a_page_of_this_server_is_let_in(host: str, origin: str | None) -> None:
    given = headers(Host=host) if origin is None else headers(Host=host, Origin=origin)
    assert browser_refusal(given, "loopback") is None


@pytest.mark.parametrize(
    ("host", "origin", "reason"),
    [
        ("127.0.0.1:8765", "http://evil.example", "Origin 'http://evil.example' is not"),
        ("127.0.0.1:8765", "http://127.0.0.1:9999", "is not this server (127.0.0.1:8765)"),
        ("127.0.0.1:8765", "null", "Origin 'null'"),
        ("127.0.0.1:8765", "ws://127.0.0.1:8765", "is not this server"),
        ("127.0.0.1:8765", "http://127.0.0.1:8765.evil.example", "is not this server"),
        ("localhost:8765", "http://127.0.0.1:8765", "is not this server"),
        ("", "http://127.0.0.1:8765", "(no Host)"),
        # DNS rebinding: the page's own name now resolves to 127.0.0.1.
        ("evil.example:8765", "http://evil.example:8765", "Host 'evil.example:8765' is not"),
        ("localhost.evil.example:8765", None, "is not a loopback address"),
    ],
)
def test_a_page_of_another_site_is_refused(host: str, origin: str | None, reason: str) -> None:
    given = headers(Host=host) if origin is None else headers(Host=host, Origin=origin)
    refusal = browser_refusal(given, "loopback")
    assert refusal is not None and reason in refusal


def test_any_name_may_serve_the_dashboard_to_any_client_but_origins_still_count() -> None:
    public = headers(Host="risk.example.com", Origin="https://risk.example.com")
    assert browser_refusal(public, "any") is None
    foreign = headers(Host="risk.example.com", Origin="https://evil.example")
    assert browser_refusal(foreign, "any") is not None


def request(path: str, **given: str) -> WSUpgradeRequest:
    made = WSUpgradeRequest()
    made.method, made.path, made.version = b"GET", path.encode(), b"HTTP/1.1"
    made.headers = headers(**given)
    return made


def answer(gateway: Gateway, path: str, ip: str, **given: str) -> tuple[int, Any]:
    routed = gateway.route(request(path, **given), ip)
    if isinstance(routed, DashboardListener):
        return 101, None
    body = routed.response.body or b""
    decoded = orjson.loads(body) if body.startswith(b"{") else body
    return int(routed.response.status), decoded


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


@pytest.mark.asyncio
async def test_health_and_metrics_are_for_loopback_clients_by_default(
    server: PosriskServer,
) -> None:
    gateway = server.gateway
    assert gateway is not None and gateway.settings.monitoring == "loopback"
    host = {"Host": f"127.0.0.1:{gateway.port}"}
    for path in ("/health", "/metrics"):
        assert answer(gateway, path, "127.0.0.1", **host)[0] == 200
        assert answer(gateway, path, "::1", **host)[0] == 200
        # Outside: as an unknown path, so nothing says the endpoint exists.
        assert answer(gateway, path, "10.1.2.3", **host) == (
            404,
            {"code": -5000, "msg": f"Path {path}, Method GET is invalid"},
        )
        # A page that rebound its name to 127.0.0.1 cannot read them either.
        status, body = answer(gateway, path, "127.0.0.1", Host="evil.example")
        assert status == 403 and "not a loopback address" in body["msg"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("monitoring", "outside", "inside"), [("any", 200, 200), ("off", 404, 404)]
)
async def test_health_and_metrics_can_be_published_or_turned_off(
    tmp_path: Path, keys: Keys, monitoring: str, outside: int, inside: int
) -> None:
    running = await make_server(tmp_path, keys, gateway=GatewaySettings(monitoring=monitoring))
    try:
        gateway = running.gateway
        assert gateway is not None
        for path in ("/health", "/metrics"):
            assert answer(gateway, path, "10.1.2.3", Host="risk.example.com")[0] == outside
            assert answer(gateway, path, "127.0.0.1", Host="127.0.0.1")[0] == inside
    finally:
        await running.stop()


@pytest.mark.asyncio
async def test_the_dashboard_refuses_foreign_pages_with_403(server: PosriskServer) -> None:
    gateway = server.gateway
    assert gateway is not None
    own = f"127.0.0.1:{gateway.port}"
    assert answer(gateway, "/dashboard/ws", "127.0.0.1", Host=own, Origin=f"http://{own}") == (
        101,
        None,
    )
    assert answer(gateway, "/dashboard/ws", "127.0.0.1", Host=own)[0] == 101
    for path in ("/", "/dashboard/ws"):
        status, body = answer(gateway, path, "127.0.0.1", Host=own, Origin="https://evil.example")
        assert status == 403 and body["code"] == -1000, body
        assert body["msg"] == f"Origin 'https://evil.example' is not this server ({own})."
        status, body = answer(
            gateway, path, "127.0.0.1", Host="evil.example", Origin="http://evil.example"
        )
        assert status == 403 and "not a loopback address" in body["msg"]
        assert answer(gateway, path, "10.1.2.3", Host=own)[0] == 404
