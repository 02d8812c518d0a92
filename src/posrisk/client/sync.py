"""``SyncPositionClient``: the async client for scripts and notebooks.

It runs its own event loop in a daemon thread; every method blocks until the answer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .connection import PositionClient
from .limits import RateLimitUsage
from .models import AccountStatus, Balance, Position, PositionV2

__all__ = ["SyncPositionClient"]

T = TypeVar("T")


class SyncPositionClient:
    """``PositionClient`` with blocking methods; connects on creation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="posrisk-client", daemon=True
        )
        self._thread.start()
        try:
            self._client: PositionClient = self._run(self._make(*args, **kwargs))
            self._run(self._client.connect())
        except BaseException:
            self._stop_loop()
            raise

    async def _make(self, *args: Any, **kwargs: Any) -> PositionClient:
        return PositionClient(*args, **kwargs)  # built inside its loop

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __repr__(self) -> str:
        # Also when construction failed half-way (tracebacks show locals' reprs).
        client = getattr(self, "_client", None)
        return f"<SyncPositionClient {client!r}>" if client else "<SyncPositionClient unconnected>"

    def __enter__(self) -> SyncPositionClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> PositionClient:
        return self._client

    @property
    def rate_limit(self) -> RateLimitUsage | None:
        return self._client.rate_limit

    @property
    def clock_offset_ms(self) -> int:
        return self._client.clock_offset_ms

    def positions(self, symbol: str | None = None) -> list[Position]:
        return self._run(self._client.positions(symbol))

    def positions_v2(self, symbol: str | None = None) -> list[PositionV2]:
        return self._run(self._client.positions_v2(symbol))

    def account_status(self, *, v2: bool = False) -> AccountStatus:
        return self._run(self._client.account_status(v2=v2))

    def balance(self) -> list[Balance]:
        return self._run(self._client.balance())

    def request(
        self, method: str, params: dict[str, Any] | None = None, *, signed: bool = True
    ) -> Any:
        return self._run(self._client.request(method, params, signed=signed))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._client.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
