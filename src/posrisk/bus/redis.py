"""The Redis bus: many gateway processes, on any number of hosts, behaving as one server.

PostgreSQL stays the source of truth for accounts, keys and the ledger; Redis carries
what the gateways tell each other, under one key prefix (``posrisk:`` by default):

- ``changes`` (a stream, ``XADD``/``XREAD``): the store revision of every commit. A
  gateway that reads a revision it does not hold catches up from the database
  (``AdminService.catch_up``), applying each entry and fanning its ``ACCOUNT_UPDATE``
  out to its own user data streams. Every ``resync_s`` it also checks the database, so
  a notification lost with Redis costs at most that long.
- ``marks`` (a hash) and ``events`` (a pub/sub channel): mark ticks, published by the
  gateway whose source or admin API moved them; the hash is the snapshot a starting
  gateway reads.
- ``lk:<listenKey>`` (strings expiring with the key) and ``events``: listenKeys, so a key
  started on one gateway opens streams on any other.
- ``rl:<ip>:<window>`` (hashes) and ``bans`` (a hash): the per-IP request weight and the
  ban ladder, decided atomically in Redis by one Lua script (``SharedLimiter``).
- ``orders:<account>:<interval>:<window>`` (counters expiring with their window): the
  per-account ORDERS windows, counted or refused atomically by a script
  (``SharedOrderCounter``).
- ``gateways`` and ``gw:<id>`` (expiring) and ``events``: who is on the bus, and their
  confirmations that a revoked key is refused (``Revocations``).

When Redis goes away the gateways keep serving from memory: limits fall back to each
gateway's own counters, changes reach the other gateways through the database poll, and
on reconnect every gateway resubscribes and resyncs (marks, listenKeys, bans, ledger).
Redis Cluster is not supported (the script names the keys it touches at run time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..engine.numbers import fmt_exact, fmt_marks
from ..protocol import LimitRules
from ..store import SetMarks, StoreError
from ..urls import redacted
from . import OnBan
from .confirmation import BusError, Confirmation
from .listen_keys import SharedListenKeys
from .ports import Changed, Streams, Writer
from .revocations import Revocations
from .shared_limiter import LIMIT_SCRIPT, SharedLimiter
from .shared_orders import SharedOrderCounter

__all__ = ["LIMIT_SCRIPT", "RedisBus", "SharedLimiter"]

log = logging.getLogger("posrisk.bus")


async def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has ended, cancelling again any that goes on:
    redis-py 8 swallows a cancel that lands while it opens a connection (the call returns
    and the loop around it would run on). Cancelled meanwhile, it still waits, then raises."""
    cancelled = False
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        try:
            await asyncio.wait(pending, timeout=0.05)
        except asyncio.CancelledError:
            cancelled = True
    for task in tasks:  # retrieved: what they failed with is the caller's to read
        if not task.cancelled():
            task.exception()
    if cancelled:
        raise asyncio.CancelledError


class RedisBus:
    """Gateways sharing a PostgreSQL database, told of each other's changes by Redis."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "posrisk:",
        timeout_s: float = 1.0,
        resync_s: float = 5.0,
        retry_s: float = 0.2,
        block_ms: int = 1000,
        revoke_timeout_s: float = 2.0,
        presence_s: float = 1.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.resync_s = resync_s
        self.retry_s = retry_s
        self.block_ms = block_ms
        self.id = secrets.token_hex(8)
        self.up = False
        # Reconnections that resynced, for the metrics and the tests.
        self.resyncs = 0
        # Typed Any: redis-py's replies are unions of bytes, str, int and lists by command.
        self.redis: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        # XREAD blocks: a connection of its own whose reads may wait that long.
        self._blocking: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s + block_ms / 1000, socket_connect_timeout=timeout_s
        )
        self._limiter: SharedLimiter | None = None
        self._admin: Writer | None = None
        self._streams: Streams | None = None
        # The limit script's SHA1 in Redis (``SharedLimiter`` loads it again if Redis forgot).
        self.limit_sha = ""
        self._outbox: list[Callable[[Any], object]] = []
        self._writing = False
        self._broken = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        # Symbols whose marks moved here while Redis was away: written first on resync.
        self._unsent_marks: set[str] = set()
        self.listen_keys = SharedListenKeys(self)
        self.revocations = Revocations(
            self, timeout_s=revoke_timeout_s, presence_s=presence_s, presence_ttl_s=5 * presence_s
        )

    def __repr__(self) -> str:
        return f"<RedisBus {redacted(self.url)} {self.prefix!r} {'up' if self.up else 'down'}>"

    # -- keys ------------------------------------------------------------------------

    @property
    def channel(self) -> str:
        return self.prefix + "events"

    @property
    def _stream(self) -> str:
        return self.prefix + "changes"

    @property
    def _marks(self) -> str:
        return self.prefix + "marks"

    @property
    def bans_key(self) -> str:
        return self.prefix + "bans"

    # -- the Bus interface -------------------------------------------------------------

    def limiter(self, rules: LimitRules, *, enforce: bool, on_ban: OnBan | None) -> SharedLimiter:
        self._limiter = SharedLimiter(self, rules, enforce=enforce, on_ban=on_ban)
        return self._limiter

    def order_counter(self) -> SharedOrderCounter:
        return SharedOrderCounter(self)

    async def start(self, admin: Writer, streams: Streams) -> None:
        """Connect (a clear error when Redis cannot be reached), resync, then follow."""
        self._admin, self._streams = admin, streams
        self.revocations.admin = admin
        await self.start_limiter_only()
        admin.registry.subscribe(self._state_changed)
        self.listen_keys.streams = streams
        streams.on_listen_key(self.listen_keys.changed)
        connected = await self._connect()
        loop = asyncio.get_running_loop()
        self._runner = loop.create_task(self._run(connected))
        self._poller = loop.create_task(self._poll_database())

    async def start_limiter_only(self) -> None:
        """Load the limit script: enough for ``SharedLimiter`` (the benchmarks use this)."""
        try:
            self.limit_sha = await self.redis.script_load(LIMIT_SCRIPT)
        except (RedisError, OSError) as e:
            raise BusError(f"cannot reach Redis at {self!r}: {e}") from None
        self.up = True

    async def stop(self) -> None:
        await _cancel_all([task for task in (self._runner, self._poller) if task is not None])
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.revocations.withdraw()
        self.up = False
        await self.redis.aclose()
        await self._blocking.aclose()

    # -- connection ------------------------------------------------------------------

    async def _connect(self) -> tuple[Any, bytes]:
        """Subscribe, note the stream's end, resync: nothing said meanwhile is missed."""
        pubsub: Any = self.redis.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            await self.revocations.announce()  # once subscribed: asked, it hears the question
            last = await self.redis.xrevrange(self._stream, count=1)
            tail = last[0][0] if last else b"0-0"
            await self._resync()
        except BaseException:
            await pubsub.aclose()
            raise
        self.up = True
        self._broken.clear()
        self.resyncs += 1
        return pubsub, tail

    async def _run(self, connected: tuple[Any, bytes] | None) -> None:
        delay = self.retry_s
        while True:
            pubsub = None
            try:
                if connected is None:
                    connected = await self._connect()
                    log.info("Redis bus back: resubscribed and resynced")
                pubsub, tail = connected
                delay = self.retry_s
                await self._follow_until_broken(pubsub, tail)
            except (RedisError, OSError) as e:
                self.lost(e)
            except Exception:  # a bug must not end the bus for good: log, reconnect
                log.exception("the Redis bus failed; reconnecting")
                self.lost(RuntimeError("internal error"))
            finally:
                self.up = False
                connected = None
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _follow_until_broken(self, pubsub: Any, tail: bytes) -> None:
        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(self._listen(pubsub)),
            loop.create_task(self._follow(tail)),
            loop.create_task(self._watch()),
            loop.create_task(self.revocations.keep_announcing()),
            loop.create_task(self._broken.wait()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel_all(tasks)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    def lost(self, error: BaseException) -> None:
        """Redis failed a call: serve alone until the runner reconnects."""
        if self.up:
            log.warning("Redis bus lost (%s): serving from this gateway alone", error)
        self.up = False
        self._broken.set()

    def spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- inbound ---------------------------------------------------------------------

    async def _listen(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            try:
                event = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                log.warning("ignored a bus message that is not JSON")
                continue
            if isinstance(event, dict) and event.get("from") != self.id:
                try:
                    self._received(event)
                except (KeyError, TypeError, ValueError) as e:
                    log.warning("ignored a malformed bus message (%r): %s", event.get("kind"), e)

    def _received(self, event: dict[str, Any]) -> None:
        assert self._admin is not None and self._streams is not None
        kind = event.get("kind")
        if kind == "marks":
            self._take_marks(event.get("marks"))
        elif kind in ("listenKey", "listenKeyStopped"):
            self.listen_keys.received(event)
        elif kind == "revoked":
            self.revocations.asked(event)
        elif kind == "revokedAck":
            self.revocations.answered(event)
        elif kind == "ban" and self._limiter is not None:
            self._limiter.restore_bans({event["ip"]: (int(event["until"]), int(event["n"]))})

    def _take_marks(self, marks: object) -> None:
        """Marks another gateway moved (or Redis held): into the registry, not passed on."""
        assert self._admin is not None
        registry = self._admin.registry
        if not isinstance(marks, Mapping):
            return
        moved = {}
        for symbol, text in marks.items():
            name = symbol.decode() if isinstance(symbol, bytes) else str(symbol)
            try:
                price = Decimal(text.decode() if isinstance(text, bytes) else str(text))
            except InvalidOperation:
                continue
            if name in registry.market and price > 0 and registry.marks.get(name) != price:
                moved[name] = price
        if moved:
            registry.apply_committed([SetMarks(moved, 0)], local=False)

    async def _follow(self, tail: bytes) -> None:
        """Read the revisions others committed; catch up when one is new here."""
        assert self._admin is not None
        while True:
            found = await self._blocking.xread({self._stream: tail}, block=self.block_ms)
            newest = 0
            for _, entries in found:
                for entry_id, fields in entries:
                    tail = entry_id
                    if fields.get(b"from") != self.id.encode():
                        newest = max(newest, int(fields.get(b"rev", 0)))
            if newest > self._admin.registry.revision:
                await self._catch_up()

    async def _watch(self) -> None:
        """Every ``resync_s``: is Redis still there? (A dead host never closes a socket.)"""
        while True:
            await asyncio.sleep(self.resync_s)
            await self.redis.ping()

    async def _poll_database(self) -> None:
        """Every ``resync_s``, Redis or not: did the database move without a word?"""
        while True:
            await asyncio.sleep(self.resync_s)
            await self._catch_up()

    async def _catch_up(self) -> None:
        assert self._admin is not None
        try:
            applied = await self._admin.catch_up()
        except StoreError as e:
            log.error("could not catch up with the database: %s", e)
            return
        if applied:
            log.debug("caught up: %d ledger entries", applied)

    async def _resync(self) -> None:
        """After (re)connecting: give Redis what it may have lost, take what is newer."""
        assert self._admin is not None and self._streams is not None
        registry = self._admin.registry
        pipe = self.redis.pipeline(transaction=False)
        unsent = {s: registry.marks[s] for s in self._unsent_marks if s in registry.marks}
        if unsent:
            text = fmt_marks(unsent)
            pipe.hset(self._marks, mapping=text)
            pipe.publish(self.channel, self.event({"kind": "marks", "marks": text}))
        for symbol, price in registry.marks.items():
            pipe.hsetnx(self._marks, symbol, fmt_exact(price))
        self.listen_keys.write_all(pipe)
        for ip, (until, offences) in self.bans_here().items():
            pipe.hsetnx(self.bans_key, ip, f"{until}:{offences}")
        await pipe.execute()
        self._unsent_marks.clear()
        self._take_marks(await self.redis.hgetall(self._marks))
        await self.listen_keys.read_all()
        if self._limiter is not None:
            bans = {}
            for ip, text in (await self.redis.hgetall(self.bans_key)).items():
                until, _, offences = text.decode().partition(":")
                bans[ip.decode()] = (int(until), int(offences))
            self._limiter.restore_bans(bans)
        await self._catch_up()

    async def confirm_revoked(self, api_key: str, revision: int) -> Confirmation | None:
        return await self.revocations.confirm(api_key, revision)

    shares_listen_keys = True

    async def find_listen_key(self, key: str) -> bool:
        if self._streams is None:
            return False
        try:
            return await self.listen_keys.read_one(key)
        except (RedisError, OSError) as e:
            log.warning("could not look listenKey up in Redis: %s", e)
            return False

    def bans_here(self) -> dict[str, tuple[int, int]]:
        return self._limiter.bans if self._limiter is not None else {}

    # -- outbound --------------------------------------------------------------------

    def event(self, body: dict[str, Any]) -> bytes:
        return orjson.dumps({**body, "from": self.id})

    def publish(self, body: dict[str, Any]) -> None:
        message = self.event(body)
        self.send(lambda pipe: pipe.publish(self.channel, message))

    def send(self, write: Callable[[Any], object]) -> None:
        """Queue a write; one task writes the queue out in order, one pipeline a turn."""
        self._outbox.append(write)
        if not self._writing:
            self._writing = True
            self.spawn(self._write_out())

    async def _write_out(self) -> None:
        try:
            while self._outbox:
                writes, self._outbox = self._outbox, []
                if not self.up:
                    continue  # the resync after reconnecting covers what is dropped here
                pipe = self.redis.pipeline(transaction=False)
                for write in writes:
                    write(pipe)
                try:
                    await pipe.execute()
                except (RedisError, OSError) as e:
                    self.lost(e)
        finally:
            self._writing = False

    def _state_changed(self, changed: Changed) -> None:
        """Tell the others what this gateway changed (what came from them is not sent back)."""
        if not changed.local:
            return
        if changed.revision is not None:
            self._committed(changed.revision)
        if changed.marks:
            self._marks_moved(changed.marks)

    def _committed(self, revision: int) -> None:
        fields = {"rev": revision, "from": self.id}
        self.send(lambda pipe: pipe.xadd(self._stream, fields, maxlen=10_000, approximate=True))

    def _marks_moved(self, marks: Mapping[str, Decimal]) -> None:
        if not self.up:
            self._unsent_marks.update(marks)
            return
        text = fmt_marks(marks)
        message = self.event({"kind": "marks", "marks": text})

        def write(pipe: Any) -> None:
            pipe.hset(self._marks, mapping=text)
            pipe.publish(self.channel, message)

        self.send(write)
