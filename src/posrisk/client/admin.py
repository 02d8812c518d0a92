"""The admin API from the outside: ``Operations`` over HTTP, for the CLI and scripts."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson

from .errors import AdminError

__all__ = ["RemoteOperations"]

Json = dict[str, Any]


class RemoteOperations:
    """``posrisk.service.operations.Operations`` through a running server's admin API;
    a refusal, or no answer, raises ``AdminError``."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"<RemoteOperations {self.url}>"

    async def _call(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        headers = {**self._headers, "Content-Type": "application/json"}
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.request(method, self.url + path, data=data, headers=headers) as r,
            ):
                raw = await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise AdminError(
                -1001, 503, f"the admin API at {self.url} did not answer: {e}"
            ) from None
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise AdminError(-1001, 502, f"the admin API answered {status} without JSON") from None
        if status >= 400:
            code = answer.get("code", -1000) if isinstance(answer, dict) else -1000
            msg = answer.get("msg", "") if isinstance(answer, dict) else str(answer)
            raise AdminError(code, status, msg)
        return answer

    async def list_accounts(self) -> list[Json]:
        return await self._call("GET", "/accounts")  # type: ignore[no-any-return]

    async def describe(self, name: str) -> Json:
        return await self._call("GET", f"/accounts/{name}")  # type: ignore[no-any-return]

    async def create_account(self, body: Json) -> Json:
        return await self._call("POST", "/accounts", body)  # type: ignore[no-any-return]

    async def create_key(self, name: str, body: Json) -> Json:
        return await self._call("POST", f"/accounts/{name}/keys", body)  # type: ignore[no-any-return]

    async def revoke_key(self, name: str, api_key: str) -> Json:
        return await self._call("DELETE", f"/accounts/{name}/keys/{api_key}")  # type: ignore[no-any-return]

    async def wallet(self, name: str, body: Json) -> Json:
        return await self._call("POST", f"/accounts/{name}/wallet", body)  # type: ignore[no-any-return]

    async def settings(self, name: str, body: Json) -> Json:
        return await self._call("POST", f"/accounts/{name}/settings", body)  # type: ignore[no-any-return]

    async def fill(self, name: str, body: Json) -> Json:
        return await self._call("POST", f"/accounts/{name}/fills", body)  # type: ignore[no-any-return]

    async def isolated_margin(self, name: str, body: Json) -> Json:
        path = f"/accounts/{name}/isolated-margin"
        return await self._call("POST", path, body)  # type: ignore[no-any-return]

    async def commission(self, name: str, body: Json) -> Json:
        path = f"/accounts/{name}/commission"
        return await self._call("PUT", path, body)  # type: ignore[no-any-return]

    async def orders(self, name: str, symbol: str | None = None) -> Json:
        query = "" if symbol is None else f"?symbol={quote(symbol)}"
        return await self._call("GET", f"/accounts/{name}/orders{query}")  # type: ignore[no-any-return]

    async def cancel_orders(
        self, name: str, symbol: str | None = None, order_id: int | None = None
    ) -> Json:
        given = {"symbol": symbol, "orderId": order_id}
        query = urlencode({k: v for k, v in given.items() if v is not None})
        path = f"/accounts/{name}/orders" + (f"?{query}" if query else "")
        return await self._call("DELETE", path)  # type: ignore[no-any-return]

    async def marks(self) -> Json:
        return await self._call("GET", "/marks")  # type: ignore[no-any-return]

    async def set_marks(self, body: Json) -> Json:
        return await self._call("PUT", "/marks", body)  # type: ignore[no-any-return]

    async def funding(self) -> Json:
        return await self._call("GET", "/funding")  # type: ignore[no-any-return]

    async def set_funding(self, body: Json) -> Json:
        return await self._call("PUT", "/funding", body)  # type: ignore[no-any-return]

    async def load_scenario(self, document: object) -> Json:
        return await self._call("POST", "/scenarios", document)  # type: ignore[no-any-return]

    async def clock(self) -> Json:
        return await self._call("GET", "/clock")  # type: ignore[no-any-return]

    async def advance_clock(self, body: Json) -> Json:
        return await self._call("POST", "/clock", body)  # type: ignore[no-any-return]
