"""The dashboard at ``/``, in headless Chromium: it shows the numbers account.position
serves and follows a fill as it happens. Chromium is driven over its DevTools protocol
(no extra package); CI installs Debian's ``chromium`` (scripts/test)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets
from websockets.typing import Origin

from posrisk.app import PosriskServer
from posrisk.engine import Fill, PositionSide, Side
from posrisk.gateway.server import GatewaySettings
from posrisk.service.admin_orders import cancel_open_orders
from posrisk.service.order_writes import place

from ..service.conftest import Keys
from .conftest import make_server
from .test_server import ask, http_get, signed

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]

FIELDS = ("positionAmt", "entryPrice", "markPrice", "unRealizedProfit", "liquidationPrice")
# Read the page as a person would: every account, and every position row's cells.
READ_PAGE = """JSON.stringify({
  status: document.getElementById("status").textContent,
  accounts: [...document.querySelectorAll("section.account")].map(section => ({
    name: section.dataset.account,
    rows: [...section.querySelectorAll("tr[data-symbol]")].map(row => Object.fromEntries([
      ["symbol", row.dataset.symbol], ["side", row.dataset.side],
      ...[...row.querySelectorAll("td[data-field]")].map(c => [c.dataset.field, c.textContent])]))
  })),
  feed: [...document.querySelectorAll("#feed li[data-account]")].map(li => li.textContent)
})"""


class Browser:
    """Headless Chromium on a DevTools port of its own, one page."""

    def __init__(self, process: subprocess.Popen[str], endpoint: str) -> None:
        self.process = process
        self.endpoint = endpoint
        self.page: Any = None
        self._id = 0
        # What the page's console logged (Log.entryAdded): CSP violations land here.
        self.console: list[dict[str, Any]] = []

    async def open(self, url: str) -> None:
        request = urllib.request.Request(f"{self.endpoint}/json/new?{url}", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as reply:
            target = json.loads(reply.read())
        self.page = await websockets.connect(target["webSocketDebuggerUrl"], max_size=None)
        await self.call("Log.enable")  # also replays what was logged before

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        self._id += 1
        await self.page.send(json.dumps({"id": self._id, "method": method, "params": params or {}}))
        while True:
            message = json.loads(await asyncio.wait_for(self.page.recv(), 10))
            if message.get("method") == "Log.entryAdded":
                self.console.append(message["params"]["entry"])
            if message.get("id") == self._id:
                return message["result"]

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        return result["result"].get("value")

    async def read(self) -> dict[str, Any]:
        text = await self.evaluate(READ_PAGE)
        if text is None:  # the page is still loading (its elements are not there yet)
            return {"status": "", "accounts": [], "feed": []}
        return json.loads(text)  # type: ignore[no-any-return]

    async def until(self, condition: Any, seconds: float = 15.0) -> dict[str, Any]:
        """Read the page until ``condition(page)`` holds (bounded)."""
        for _ in range(int(seconds / 0.05)):
            page = await self.read()
            if condition(page):
                return page
            await asyncio.sleep(0.05)
        raise AssertionError(f"the page never showed it: {page}")


@pytest_asyncio.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Chromium: " + message)
        pytest.skip(message)
    process = subprocess.Popen(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={tmp_path / 'chromium'}",
            # Nothing but the page under test: no network of its own.
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        endpoint = None
        for _ in range(200):
            line = await asyncio.wait_for(asyncio.to_thread(process.stderr.readline), 30)
            if not line:  # EOF: Chromium exited
                break
            if "DevTools listening on ws://" in line:
                address = line.split("ws://", 1)[1].split("/", 1)[0]
                endpoint = f"http://{address}"
                break
        assert endpoint is not None, "Chromium did not open its DevTools port"
        running = Browser(process, endpoint)
        yield running
        if running.page is not None:
            await running.page.close()
    finally:
        process.terminate()
        process.wait(10)


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, gateway=GatewaySettings(dashboard_interval_s=0.05))
    yield running
    await running.stop()


@pytest_asyncio.fixture
async def demo(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    """A server that seeded the demo accounts (what ``posrisk serve`` shows first)."""
    running = await make_server(
        tmp_path, keys, scenario=None, gateway=GatewaySettings(dashboard_interval_s=0.05)
    )
    yield running
    await running.stop()


async def test_the_page_shows_the_demo_as_account_position_serves_it_and_follows_a_fill(
    demo: PosriskServer, browser: Browser
) -> None:
    assert demo.demo is not None
    key = demo.demo.hmac
    assert key.secret is not None
    await browser.open(demo.http_url + "/")
    page = await browser.until(lambda p: p["status"] == "live" and p["accounts"])
    assert [a["name"] for a in page["accounts"]] == ["demo", "demo-hedge"]
    async with websockets.connect(demo.ws_url) as ws:
        every = (await ask(ws, "account.position", signed(key.api_key, key.secret)))["result"]
    served = [row for row in every if Decimal(row["positionAmt"])]  # the open ones
    shown = {row["symbol"]: row for row in page["accounts"][0]["rows"]}
    assert sorted(shown) == sorted(row["symbol"] for row in served) == ["BTCUSDT", "ETHUSDT"]
    for row in served:
        assert {f: shown[row["symbol"]][f] for f in FIELDS} == {f: row[f] for f in FIELDS}
    assert shown["ETHUSDT"]["side"] == "SHORT" and shown["ETHUSDT"]["distance"].strip() == "5.65 %"

    assert demo.admin is not None
    await demo.admin.fill(
        "demo", Fill("BTCUSDT", Side.BUY, Decimal("0.010"), Decimal("61000"), PositionSide.BOTH)
    )
    page = await browser.until(
        lambda p: p["feed"] and any(r["positionAmt"] == "0.090" for r in p["accounts"][0]["rows"])
    )
    # pa normalized, as Binance sends it (a 2026-04 capture): "0.09", not "0.090".
    assert page["feed"][0].split(" ", 1)[1].startswith("ORDER demo: BTCUSDT 0.09 · ")
    # Under its Content-Security-Policy: styled (the inline <style> and the bars' CSSOM
    # widths applied), and nothing refused on the way.
    looks = await browser.evaluate(
        'JSON.stringify([getComputedStyle(document.querySelector("header")).backgroundColor,'
        ' document.querySelector(".bar > span").style.width])'
    )
    assert json.loads(looks)[0] == "rgb(27, 31, 36)" and json.loads(looks)[1].endswith("%")
    await browser.evaluate("1")  # collect what the console logged meanwhile
    assert [e["text"] for e in browser.console if "Content Security Policy" in e["text"]] == []


READ_ORDERS = """JSON.stringify({
  orders: [...document.querySelectorAll("section.account tr[data-order]")].map(row =>
    [row.closest("section").dataset.account, row.dataset.order,
     ...[...row.querySelectorAll("td[data-field]")].map(c => c.textContent)]),
  feed: [...document.querySelectorAll("#feed li[data-event]")].map(li =>
    [li.dataset.event, li.textContent])
})"""


async def read_orders(browser: Browser, condition: Any) -> dict[str, Any]:
    """Read the page's order rows and feed until ``condition`` holds (bounded)."""
    for _ in range(300):
        text = await browser.evaluate(READ_ORDERS)
        page = json.loads(text) if text else {"orders": [], "feed": []}
        if condition(page):
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"the page never showed it: {page}")


async def test_the_page_shows_open_orders_and_their_order_trade_updates(
    demo: PosriskServer, browser: Browser
) -> None:
    assert demo.gateway is not None and demo.gateway.api.orders is not None
    orders = demo.gateway.api.orders
    await browser.open(demo.http_url + "/")
    await browser.until(lambda p: p["status"] == "live" and p["accounts"])
    params = {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.010", "price": "60000",
    }  # fmt: skip
    placed = await place(orders, demo.registry.account("demo"), params, demo.clock.now_ms())
    order_id = str(placed["orderId"])
    page = await read_orders(browser, lambda p: p["orders"])
    assert page["orders"] == [["demo", order_id, "0.010", "60000.00", "NEW"]]
    assert page["feed"][0][0] == "ORDER_TRADE_UPDATE"
    assert f"NEW demo: {order_id} BTCUSDT BUY LIMIT 0.01 @ 60000" in page["feed"][0][1]

    await cancel_open_orders(orders, "demo")
    page = await read_orders(browser, lambda p: not p["orders"])
    assert f"CANCELED demo: {order_id} BTCUSDT" in page["feed"][0][1]
    await browser.evaluate("1")  # collect what the console logged meanwhile
    assert [e["text"] for e in browser.console if e.get("level") == "error"] == []


def fetch(url: str) -> Any:
    return urllib.request.urlopen(url, timeout=5)


async def test_the_dashboard_is_for_loopback_clients_unless_told(
    server: PosriskServer,
) -> None:
    gateway = server.gateway
    assert gateway is not None
    assert gateway._shows_dashboard("127.0.0.1") and gateway._shows_dashboard("::1")
    assert not gateway._shows_dashboard("10.1.2.3")
    page = await asyncio.to_thread(fetch, server.http_url + "/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"/dashboard/ws" in page.read()


async def test_the_page_is_served_with_a_tight_content_security_policy(
    server: PosriskServer,
) -> None:
    page = await asyncio.to_thread(fetch, server.http_url + "/")
    body = page.read().decode()
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    policy = dict(
        directive.strip().partition(" ")[::2]
        for directive in page.headers["Content-Security-Policy"].split(";")
    )
    script = body.split("<script>", 1)[1].split("</script>", 1)[0]
    style = body.split("<style>", 1)[1].split("</style>", 1)[0]
    assert policy == {
        "default-src": "'none'",
        "script-src": f"'sha256-{_sha256(script)}'",
        "style-src": f"'sha256-{_sha256(style)}'",
        "connect-src": "'self'",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    assert body.count("<script") == 1 and body.count("<style") == 1 and " style=" not in body


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


async def test_a_page_of_another_site_cannot_open_the_dashboard_socket(
    server: PosriskServer,
) -> None:
    url = server.http_url.replace("http", "ws", 1) + "/dashboard/ws"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(url, origin=Origin("https://evil.example"), open_timeout=5)
    response = refused.value.response
    assert response.status_code == 403
    own = server.http_url.removeprefix("http://")
    assert json.loads(response.body) == {
        "code": -1000,
        "msg": f"Origin 'https://evil.example' is not this server ({own}).",
    }
    # The page's own origin, and a program (no Origin), are let in.
    for origin in (Origin(server.http_url), None):
        async with websockets.connect(url, origin=origin, open_timeout=5) as viewer:
            state = json.loads(await asyncio.wait_for(viewer.recv(), 5))
            assert state["type"] == "state" and len(state["accounts"]) == 2


async def test_the_dashboard_can_be_turned_off(tmp_path: Path, keys: Keys) -> None:
    off = await make_server(tmp_path, keys, gateway=GatewaySettings(dashboard="off"))
    try:
        status, _, body = await asyncio.to_thread(http_get, off.http_url + "/")
        assert (status, body) == (404, {"code": -5000, "msg": "Path /, Method GET is invalid"})
    finally:
        await off.stop()
