"""The admin API client (``client.admin.RemoteOperations``) against a stand-in admin API:
what it sends, what it returns, and the ``AdminError`` for each way a call fails."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import pytest_asyncio
from aiohttp import web

from posrisk.client import AdminError, ClientError
from posrisk.client.admin import RemoteOperations

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

TOKEN = "admin-token"


async def handle(request: web.Request) -> web.Response:
    """Echo what was asked, or fail as the path says."""
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return web.json_response({"code": -2015, "msg": "Invalid token."}, status=401)
    if request.path == "/accounts/ghost":
        return web.json_response(
            {"code": -1130, "msg": "Account 'ghost' does not exist."}, status=404
        )
    if request.path == "/marks" and request.method == "GET":
        return web.Response(text="<html>a proxy page</html>", status=200)
    if request.path == "/scenarios":
        return web.json_response(["not", "an", "object"], status=500)
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "body": orjson.loads(body) if body else None,
            "contentType": request.headers.get("Content-Type"),
            "query": request.query_string,
        }
    )


@pytest_asyncio.fixture
async def admin_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    await runner.cleanup()


async def test_each_operation_is_its_method_and_path_with_a_json_body(admin_url: str) -> None:
    ops = RemoteOperations(admin_url, TOKEN)
    assert ops.url == admin_url.rstrip("/")
    calls: list[tuple[Any, str, str, Any]] = [
        (ops.list_accounts(), "GET", "/accounts", None),
        (ops.describe("alice"), "GET", "/accounts/alice", None),
        (ops.create_account({"name": "bob"}), "POST", "/accounts", {"name": "bob"}),
        (ops.create_key("bob", {"type": "HMAC"}), "POST", "/accounts/bob/keys", {"type": "HMAC"}),
        (ops.revoke_key("bob", "k1"), "DELETE", "/accounts/bob/keys/k1", None),
        (ops.wallet("bob", {"amount": "1"}), "POST", "/accounts/bob/wallet", {"amount": "1"}),
        (ops.settings("bob", {}), "POST", "/accounts/bob/settings", {}),
        (ops.fill("bob", {"qty": "1"}), "POST", "/accounts/bob/fills", {"qty": "1"}),
        (ops.isolated_margin("bob", {}), "POST", "/accounts/bob/isolated-margin", {}),
        (ops.commission("bob", {"maker": "0"}), "PUT", "/accounts/bob/commission", {"maker": "0"}),
        (ops.set_marks({"BTCUSDT": "1"}), "PUT", "/marks", {"BTCUSDT": "1"}),
        (ops.clock(), "GET", "/clock", None),
        (ops.advance_clock({"advanceMs": 5}), "POST", "/clock", {"advanceMs": 5}),
    ]
    for call, method, path, body in calls:
        answer = await call
        assert (answer["method"], answer["path"], answer["body"]) == (method, path, body)
        assert answer["contentType"] == "application/json"


async def test_open_orders_are_read_and_canceled_with_their_filters_in_the_query(
    admin_url: str,
) -> None:
    ops = RemoteOperations(admin_url, TOKEN)
    calls: list[tuple[Any, str, str]] = [
        (ops.orders("bob"), "GET", ""),
        (ops.orders("bob", "BTCUSDT"), "GET", "symbol=BTCUSDT"),
        (ops.cancel_orders("bob"), "DELETE", ""),
        (ops.cancel_orders("bob", "ETHUSDT"), "DELETE", "symbol=ETHUSDT"),
        (ops.cancel_orders("bob", None, 1000000007), "DELETE", "orderId=1000000007"),
        (ops.cancel_orders("bob", "BTCUSDT", 7), "DELETE", "symbol=BTCUSDT&orderId=7"),
    ]
    for call, method, query in calls:
        answer = await call
        assert (answer["method"], answer["path"], answer["query"]) == (
            method,
            "/accounts/bob/orders",
            query,
        )
        assert answer["body"] is None


async def test_a_refusal_keeps_the_apis_code_status_and_message(admin_url: str) -> None:
    with pytest.raises(AdminError) as refused:
        await RemoteOperations(admin_url, TOKEN).describe("ghost")
    error = refused.value
    assert (error.code, error.status, error.msg) == (-1130, 404, "Account 'ghost' does not exist.")
    assert str(error) == error.msg and isinstance(error, ClientError)
    with pytest.raises(AdminError) as unauthorized:
        await RemoteOperations(admin_url, "wrong").list_accounts()
    assert (unauthorized.value.code, unauthorized.value.status) == (-2015, 401)


async def test_an_error_that_is_not_an_object_is_code_minus_1000(admin_url: str) -> None:
    with pytest.raises(AdminError) as refused:
        await RemoteOperations(admin_url, TOKEN).load_scenario({"accounts": []})
    error = refused.value
    assert (error.code, error.status, error.msg) == (-1000, 500, "['not', 'an', 'object']")


async def test_an_answer_without_json_is_a_502(admin_url: str) -> None:
    with pytest.raises(AdminError) as refused:
        await RemoteOperations(admin_url, TOKEN).marks()
    error = refused.value
    assert (error.code, error.status) == (-1001, 502)
    assert error.msg == "the admin API answered 200 without JSON"


async def test_no_answer_is_a_503_naming_the_url() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(AdminError) as refused:
        await RemoteOperations(url, TOKEN, timeout=5).list_accounts()
    error = refused.value
    assert (error.code, error.status) == (-1001, 503)
    assert error.msg.startswith(f"the admin API at {url} did not answer: ")
    assert repr(error).startswith("AdminError(code=-1001, status=503, msg=")
