"""Revocations confirmed by every gateway on the Redis bus before the admin API answers.

- **Who is there.** Each gateway on the bus keeps ``gw:<id>`` (its host and pid) alive
  with a time to live of ``presence_ttl_s``, renewed every ``presence_s``, and its id in
  the set ``gateways``. A gateway that stops cleanly removes itself; one that dies or is cut
  off from Redis drops out when its key expires.
- **Asking.** Once a revocation is committed, the gateway that made it reads who is there,
  publishes ``{"kind": "revoked", "apiKey", "rev", "ask"}`` on the events channel and waits
  for every one of them to answer ``{"kind": "revokedAck", "ask"}`` — at most
  ``timeout_s``.
- **Answering.** A gateway asked catches up with the database to ``rev`` (PostgreSQL is the
  source of truth: applying the revocation ends the key's sessions and streams there) and
  answers only once the key is revoked in its own served state.

A gateway that does not answer in time (stalled, partitioned from Redis, killed within the
last ``presence_ttl_s``) is named in the admin API's answer: it applies the revocation at
its next database check (every ``resync_s``), or it is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from ..store import StoreError
from .confirmation import Confirmation
from .ports import Writer

if TYPE_CHECKING:
    from .redis import RedisBus

__all__ = ["Revocations"]

log = logging.getLogger("posrisk.bus")


@dataclass(slots=True)
class _Ask:
    """One revocation waiting for the others' answers."""

    expected: set[str]
    answered: set[str] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, gateway: str) -> None:
        self.answered.add(gateway)
        if self.expected <= self.answered:
            self.done.set()


class Revocations:
    """This gateway's presence on the bus, its questions and its answers."""

    def __init__(
        self,
        bus: RedisBus,
        *,
        timeout_s: float = 2.0,
        presence_s: float = 1.0,
        presence_ttl_s: float = 5.0,
    ) -> None:
        self.bus = bus
        self.timeout_s = timeout_s
        self.presence_s = presence_s
        self.presence_ttl_s = presence_ttl_s
        # How the others name this gateway when it does not answer.
        self.description = f"{socket.gethostname()} pid {os.getpid()}"
        # Set by the bus's start: whose served state answers.
        self.admin: Writer | None = None
        # ask token → the revocation waiting for answers.
        self._asks: dict[str, _Ask] = {}

    def __repr__(self) -> str:
        return f"<Revocations {len(self._asks)} waiting, timeout {self.timeout_s} s>"

    @property
    def _roll(self) -> str:
        return self.bus.prefix + "gateways"

    def _presence(self, gateway: str) -> str:
        return self.bus.prefix + "gw:" + gateway

    # -- presence ------------------------------------------------------------------------

    async def announce(self) -> None:
        """Say (again) that this gateway is on the bus; Redis errors go to the caller."""
        pipe = self.bus.redis.pipeline(transaction=False)
        ttl_ms = int(self.presence_ttl_s * 1000)
        pipe.set(self._presence(self.bus.id), self.description, px=ttl_ms)
        pipe.sadd(self._roll, self.bus.id)
        await pipe.execute()

    async def keep_announcing(self) -> None:
        """Renew the presence while the bus is followed (a failure breaks the follow)."""
        while True:
            await asyncio.sleep(self.presence_s)
            await self.announce()

    async def withdraw(self) -> None:
        """Leave the roll (a clean stop): nobody waits for this gateway any more."""
        with contextlib.suppress(RedisError, OSError):
            pipe = self.bus.redis.pipeline(transaction=False)
            pipe.delete(self._presence(self.bus.id))
            pipe.srem(self._roll, self.bus.id)
            await pipe.execute()

    async def others(self) -> dict[str, str]:
        """The other gateways on the bus now: id → description. Ids whose presence has
        expired are struck off the roll."""
        redis = self.bus.redis
        ids = sorted(m.decode() for m in await redis.smembers(self._roll))
        ids = [gateway for gateway in ids if gateway != self.bus.id]
        if not ids:
            return {}
        found = await redis.mget([self._presence(gateway) for gateway in ids])
        gone = [gateway for gateway, value in zip(ids, found, strict=True) if value is None]
        if gone:
            await redis.srem(self._roll, *gone)
        return {
            gateway: value.decode()
            for gateway, value in zip(ids, found, strict=True)
            if value is not None
        }

    # -- asking ----------------------------------------------------------------------------

    async def confirm(self, api_key: str, revision: int) -> Confirmation:
        """Ask every other gateway to apply the store up to ``revision`` and confirm that
        ``api_key`` is refused; wait at most ``timeout_s`` for the answers."""
        bus = self.bus
        token = secrets.token_hex(8)
        ask = _Ask(set())
        others: dict[str, str] | None = None
        self._asks[token] = ask
        try:
            if bus.up:
                others = await self.others()
                ask.expected = set(others)
                if others:
                    bus.publish(
                        {"kind": "revoked", "apiKey": api_key, "rev": revision, "ask": token}
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(ask.done.wait(), self.timeout_s)
        except (RedisError, OSError) as e:
            bus.lost(e)
        finally:
            del self._asks[token]
        if others is None:  # nobody could be asked
            missing, why = ["every other gateway"], "Redis is unreachable from this gateway"
        else:
            missing = sorted(others[gateway] for gateway in set(others) - ask.answered)
            why = f"{len(missing)} gateway(s) did not confirm within {self.timeout_s:g} s"
        confirmed = len(ask.expected & ask.answered)
        if not missing:
            return Confirmation(confirmed)
        log.warning("revoked API key %r: %s (%s)", api_key, why, ", ".join(missing))
        return Confirmation(confirmed, tuple(missing), self._note(why))

    def _note(self, what: str) -> str:
        return (
            f"the key is revoked in the database; {what}: each applies the revocation at its "
            f"next database check (every {self.bus.resync_s:g} s) or is no longer running; "
            "revoke again to ask again"
        )

    def answered(self, event: dict[str, Any]) -> None:
        """Another gateway confirmed (``revokedAck``)."""
        ask = self._asks.get(str(event["ask"]))
        if ask is not None:
            ask.answer(str(event["from"]))

    # -- answering -------------------------------------------------------------------------

    def asked(self, event: dict[str, Any]) -> None:
        """Another gateway revoked a key (``revoked``): apply it here, then say so."""
        api_key, revision, token = str(event["apiKey"]), int(event["rev"]), str(event["ask"])
        self.bus.spawn(self._apply(api_key, revision, token))

    async def _apply(self, api_key: str, revision: int, token: str) -> None:
        admin = self.admin
        assert admin is not None
        registry = admin.registry
        if registry.revision < revision:
            try:
                await admin.catch_up()
            except StoreError as e:  # unconfirmed: the revoking gateway names this one
                log.error("could not catch up with a revocation: %s", e)
                return
        entry = registry.keys.get(api_key)
        if registry.revision < revision or (entry is not None and entry.revoked_at is None):
            log.error("asked to confirm revoking %r (revision %d): not seen", api_key, revision)
            return
        self.bus.publish({"kind": "revokedAck", "ask": token})
