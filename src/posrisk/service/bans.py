"""IP bans outlive the process: each is written to the store's meta table.

A ban lives in the meta key ``ban:<ip>`` as ``{"until": ms, "offences": n}`` (the offence
count keeps the ladder climbing after a restart). A write that fails (a full disk, a
database that went away) is not forgotten: ``BanWriter`` keeps it pending — the latest ban
per IP, at most ``max_pending`` IPs — and retries with a doubling delay until it is saved or
the ban has ended (an ended ban needs no saving). Whatever is still pending at shutdown
gets one last attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from ..store import SetMeta, Store
from .clock import Clock

__all__ = ["BAN_PREFIX", "BanWriter", "saved_bans"]

log = logging.getLogger("posrisk.bans")

# Meta keys holding IP bans: "ban:<ip>" → {"until": ms, "offences": n}.
BAN_PREFIX = "ban:"


def saved_bans(meta: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """The bans an earlier process saved (unreadable entries are skipped)."""
    bans = {}
    for key, value in meta.items():
        if key.startswith(BAN_PREFIX):
            try:
                data = json.loads(value)
                bans[key[len(BAN_PREFIX) :]] = (int(data["until"]), int(data["offences"]))
            except (ValueError, KeyError, TypeError):
                continue
    return bans


def _ban_meta(ip: str, until: int, offences: int) -> SetMeta:
    return SetMeta(BAN_PREFIX + ip, json.dumps({"until": until, "offences": offences}))


class BanWriter:
    """Writes bans in the background; keeps and retries those the store refused."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        first_retry_s: float = 0.5,
        max_retry_s: float = 30.0,
        max_pending: int = 10_000,
        wait: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self.max_pending = max_pending
        # How a retry waits (injected: tests never wait on the wall clock).
        self._wait = wait
        # ip → (until ms, offences): bans not yet known to be saved, the latest per IP.
        self._pending: dict[str, tuple[int, int]] = {}
        # The background writer while there is something to write.
        self._task: asyncio.Task[None] | None = None
        # Failed attempts in a row (0: the last write went through).
        self.failures = 0
        # Set by close(): the store is about to close, nothing more is started.
        self._closed = False

    def __repr__(self) -> str:
        state = f", failing ({self.failures} in a row)" if self.failures else ""
        return f"<BanWriter {len(self._pending)} pending{state}>"

    @property
    def pending(self) -> dict[str, tuple[int, int]]:
        return dict(self._pending)

    def save(self, ip: str, until: int, offences: int) -> None:
        """Write this ban (the limiter's ``on_ban``); returns at once."""
        self._pending[ip] = (until, offences)
        if len(self._pending) > self.max_pending:
            dropped = min(self._pending, key=lambda held: self._pending[held][0])
            del self._pending[dropped]
            log.warning(
                "more than %d IP bans wait for the database: the one ending first (%s) will "
                "not outlive this process",
                self.max_pending,
                dropped,
            )
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        delay = self.first_retry_s
        try:
            while self._drop_ended():
                if await self._attempt():
                    delay = self.first_retry_s
                else:
                    await self._wait(delay)
                    delay = min(delay * 2, self.max_retry_s)
        finally:
            self._task = None

    async def _attempt(self) -> bool:
        """One write of every pending ban; whether it went through."""
        batch = dict(self._pending)
        try:
            await self.store.commit([_ban_meta(ip, *ban) for ip, ban in batch.items()])
        except Exception as e:  # whatever the store says: keep the bans, try again later
            self.failures += 1
            if self.failures == 1:  # once per outage, not once per attempt
                log.warning("could not save %d IP ban(s), retrying: %s", len(batch), e)
            return False
        for ip, ban in batch.items():
            if self._pending.get(ip) == ban:  # not replaced by a newer ban meanwhile
                del self._pending[ip]
        if self.failures:
            log.warning("saved the IP bans after %d failed attempts", self.failures)
            self.failures = 0
        return True

    def _drop_ended(self) -> bool:
        """Forget bans that have ended; whether any is left to write."""
        now = self.clock.now_ms()
        ended = [ip for ip, (until, _) in self._pending.items() if until <= now]
        for ip in ended:
            del self._pending[ip]
        if ended:
            log.warning("%d IP ban(s) ended before the database took them", len(ended))
        return bool(self._pending)

    async def close(self) -> None:
        """Stop retrying and make one last attempt at what is pending (before the store
        closes)."""
        self._closed = True
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._drop_ended() and not await self._attempt():
            ips = sorted(self._pending)
            log.error(
                "could not save %d IP ban(s) at shutdown; they end with this process: %s%s",
                len(ips),
                ", ".join(ips[:10]),
                ", ..." if len(ips) > 10 else "",
            )
