"""The bus: what gateways sharing one database tell each other.

One process (the embedded default) needs nothing: every change is applied and fanned out
in memory, so ``LocalBus`` does nothing and its limiter is the in-process one. Many
gateway processes (``--redis``) share through ``RedisBus``: store revisions, marks,
listenKeys, per-IP request weight and bans, per-account ORDERS counts, and each confirms
a revoked key is refused.
The server builds one or the other with ``open_bus`` and hands it its admin service and
user streams; nothing else knows which one runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..protocol import Limiter, LimitRules, OrderCounter, OrderLimiter, RequestWeightLimiter
from .confirmation import Confirmation
from .ports import Streams, Writer

__all__ = ["Bus", "BusSettings", "LocalBus", "OnBan", "open_bus"]

# Told (ip, until, offences) of each new ban this gateway decided, to save it.
OnBan = Callable[[str, int, int], None]


class Bus(Protocol):
    """What a gateway shares with the others."""

    @property
    def up(self) -> bool:
        """Whether the bus is connected (always true in one process)."""
        ...

    def limiter(self, rules: LimitRules, *, enforce: bool, on_ban: OnBan | None) -> Limiter:
        """The per-IP request-weight limiter, shared by every gateway on this bus."""
        ...

    def order_counter(self) -> OrderLimiter:
        """The per-account ORDERS windows, shared by every gateway on this bus."""
        ...

    async def start(self, admin: Writer, streams: Streams) -> None:
        """Follow the others and tell them of this gateway's changes."""
        ...

    async def stop(self) -> None: ...

    async def confirm_revoked(self, api_key: str, revision: int) -> Confirmation | None:
        """Wait (bounded) until every other gateway no longer accepts ``api_key``."""
        ...

    @property
    def shares_listen_keys(self) -> bool:
        """Whether a listenKey may have been started on another gateway."""
        ...

    async def find_listen_key(self, key: str) -> bool:
        """Whether ``key`` is a live listenKey of any gateway; found, it is served here too
        (a stream may connect here before the bus has told this gateway of its key)."""
        ...


class LocalBus:
    """One process: nothing to share."""

    up = True

    def __repr__(self) -> str:
        return "<LocalBus>"

    def limiter(self, rules: LimitRules, *, enforce: bool, on_ban: OnBan | None) -> Limiter:
        return RequestWeightLimiter(rules, enforce=enforce, on_ban=on_ban)

    def order_counter(self) -> OrderLimiter:
        return OrderCounter()

    async def start(self, admin: Writer, streams: Streams) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def confirm_revoked(self, api_key: str, revision: int) -> Confirmation | None:
        return None  # no other gateway: revoke_key has applied it everywhere

    shares_listen_keys = False

    async def find_listen_key(self, key: str) -> bool:
        return False  # every listenKey is this process's own


class BusSettings(Protocol):
    """What ``open_bus`` reads from the server's settings."""

    redis: str | None
    redis_prefix: str
    redis_timeout_s: float
    resync_s: float
    revoke_timeout_s: float


def open_bus(settings: BusSettings) -> Bus:
    """``RedisBus`` when a Redis URL is given, else ``LocalBus``."""
    if settings.redis is None:
        return LocalBus()
    from .redis import RedisBus

    return RedisBus(
        settings.redis,
        prefix=settings.redis_prefix,
        timeout_s=settings.redis_timeout_s,
        resync_s=settings.resync_s,
        revoke_timeout_s=settings.revoke_timeout_s,
    )
