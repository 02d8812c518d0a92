"""The admin API: HTTP JSON on its own port (SPEC §13), for writes the WS port cannot take.

Paths under ``/admin/v1/``; every request needs ``Authorization: Bearer <token>``
(compared in constant time). Bodies use the scenario file's field names; answers are
200 (201 for a create) with the resulting state, or 4xx ``{"code", "msg"}``. It only
moves JSON: the operations are ``service.operations.AdminOperations``, as for the CLI.
"""

from __future__ import annotations

import hmac
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from ..engine import InvalidValue
from ..errors import PosriskError
from ..service.errors import ServiceError
from ..service.operations import Operations, as_body
from ..store import StoreError

__all__ = ["ADMIN_PREFIX", "AdminApi"]

log = logging.getLogger("posrisk.admin")

ADMIN_PREFIX = "/admin/v1"
_MAX_BODY = 4 << 20
_ORDER_ID = re.compile(r"[0-9]{1,19}")
_UNAUTHORIZED = {"code": -1002, "msg": "You are not authorized to execute this request."}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class AdminApi:
    """The aiohttp application serving ``operations`` behind a bearer ``token``."""

    def __init__(self, operations: Operations, token: str) -> None:
        self.operations = operations
        self._token = token.encode()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def __repr__(self) -> str:
        return f"<AdminApi port {self.port}>"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=_MAX_BODY)
        p = ADMIN_PREFIX
        app.add_routes(
            [
                web.get(f"{p}/accounts", self._accounts),
                web.post(f"{p}/accounts", self._create_account),
                web.get(f"{p}/accounts/{{name}}", self._account),
                web.get(f"{p}/accounts/{{name}}/keys", self._keys),
                web.post(f"{p}/accounts/{{name}}/keys", self._create_key),
                web.delete(f"{p}/accounts/{{name}}/keys/{{api_key}}", self._revoke_key),
                web.post(f"{p}/accounts/{{name}}/wallet", self._wallet),
                web.post(f"{p}/accounts/{{name}}/settings", self._settings),
                web.post(f"{p}/accounts/{{name}}/fills", self._fill),
                web.post(f"{p}/accounts/{{name}}/isolated-margin", self._isolated_margin),
                web.put(f"{p}/accounts/{{name}}/commission", self._commission),
                web.get(f"{p}/accounts/{{name}}/orders", self._orders),
                web.delete(f"{p}/accounts/{{name}}/orders", self._cancel_orders),
                web.get(f"{p}/marks", self._marks),
                web.put(f"{p}/marks", self._set_marks),
                web.get(f"{p}/funding", self._funding),
                web.put(f"{p}/funding", self._set_funding),
                web.post(f"{p}/scenarios", self._scenario),
                web.get(f"{p}/clock", self._clock),
                web.post(f"{p}/clock", self._advance_clock),
            ]
        )
        return app

    async def start(self, sockets: Sequence[socket.socket]) -> None:
        """Serve on ``sockets`` (bound by ``gateway.ports.bind_port``)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        for sock in sockets:
            await web.SockSite(self._runner, sock).start()
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Authentication first, then every refusal as ``{"code", "msg"}``."""
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), self._token):
            return _json(_UNAUTHORIZED, 401)
        try:
            return await handler(request)
        except PosriskError as e:
            return _refusal(e)
        except web.HTTPException as e:
            return _json({"code": -1000, "msg": e.reason}, e.status)
        except Exception:
            log.exception("admin API failure on %s %s", request.method, request.path)
            return _json(
                {
                    "code": -1001,
                    "msg": "Internal error; unable to process your request. Please try again.",
                },
                500,
            )

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ServiceError("Malformed request: not valid JSON.", code=-1000) from None

    async def _object(self, request: web.Request) -> dict[str, Any]:
        return as_body(await self._body(request), "body")

    async def _accounts(self, request: web.Request) -> web.Response:
        return _json(await self.operations.list_accounts())

    async def _create_account(self, request: web.Request) -> web.Response:
        return _json(await self.operations.create_account(await self._object(request)), 201)

    async def _account(self, request: web.Request) -> web.Response:
        return _json(await self.operations.describe(request.match_info["name"]))

    async def _keys(self, request: web.Request) -> web.Response:
        return _json((await self.operations.describe(request.match_info["name"]))["keys"])

    async def _create_key(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json(await self.operations.create_key(name, await self._object(request)), 201)

    async def _revoke_key(self, request: web.Request) -> web.Response:
        info = request.match_info
        return _json(await self.operations.revoke_key(info["name"], info["api_key"]))

    async def _wallet(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json(await self.operations.wallet(name, await self._object(request)))

    async def _settings(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json(await self.operations.settings(name, await self._object(request)))

    async def _fill(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json(await self.operations.fill(name, await self._object(request)))

    async def _isolated_margin(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json(await self.operations.isolated_margin(name, await self._object(request)))

    async def _commission(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json(await self.operations.commission(name, await self._object(request)))

    async def _orders(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json(await self.operations.orders(name, request.query.get("symbol")))

    async def _cancel_orders(self, request: web.Request) -> web.Response:
        """``?symbol=`` and ``?orderId=`` narrow it; without either: every open order."""
        name, query = request.match_info["name"], request.query
        order_id = query.get("orderId")
        if order_id is not None and _ORDER_ID.fullmatch(order_id) is None:
            raise InvalidValue("orderId", "orderId must be a positive integer")
        return _json(
            await self.operations.cancel_orders(
                name, query.get("symbol"), None if order_id is None else int(order_id)
            )
        )

    async def _marks(self, request: web.Request) -> web.Response:
        return _json(await self.operations.marks())

    async def _set_marks(self, request: web.Request) -> web.Response:
        return _json(await self.operations.set_marks(await self._object(request)))

    async def _funding(self, request: web.Request) -> web.Response:
        return _json(await self.operations.funding())

    async def _set_funding(self, request: web.Request) -> web.Response:
        return _json(await self.operations.set_funding(await self._object(request)))

    async def _scenario(self, request: web.Request) -> web.Response:
        return _json(await self.operations.load_scenario(await self._body(request)), 201)

    async def _clock(self, request: web.Request) -> web.Response:
        return _json(await self.operations.clock())

    async def _advance_clock(self, request: web.Request) -> web.Response:
        return _json(await self.operations.advance_clock(await self._object(request)))


def _refusal(error: PosriskError) -> web.Response:
    """The admin API's one translation of a refusal: ``{"code", "msg"}`` with its status
    (the full text, detail included); a database that cannot be written is a 503."""
    if isinstance(error, StoreError):
        log.error("admin API write refused by the database: %s", error)
        return _json({"code": error.code, "msg": f"Database unavailable: {error}"}, error.status)
    return _json({"code": error.code, "msg": str(error)}, error.status)
