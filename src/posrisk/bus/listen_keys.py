"""listenKeys shared on the Redis bus, so a key started on one gateway opens streams on any
other: ``lk:<listenKey>`` (a string expiring with the key) holds it, and the events channel
says when one starts, is kept alive or stops."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from .ports import ListenKeyState, Streams

if TYPE_CHECKING:
    from .redis import RedisBus

__all__ = ["SharedListenKeys"]


class SharedListenKeys:
    """This gateway's listenKeys written to Redis, and the others' mirrored here."""

    def __init__(self, bus: RedisBus) -> None:
        self.bus = bus
        # Set by the bus's start: the user streams the listenKeys open.
        self.streams: Streams | None = None

    def __repr__(self) -> str:
        return f"<SharedListenKeys {self.bus.prefix}lk:*>"

    def _name(self, key: str) -> str:
        return self.bus.prefix + "lk:" + key

    def changed(self, listen: ListenKeyState | None, key: str) -> None:
        """A listenKey started or kept alive here (``listen``), or stopped (None)."""
        bus = self.bus
        if listen is None:
            message = bus.event({"kind": "listenKeyStopped", "key": key})

            def stopped(pipe: Any) -> None:
                pipe.delete(self._name(key))
                pipe.publish(bus.channel, message)

            bus.send(stopped)
            return
        message = bus.event(
            {
                "kind": "listenKey",
                "key": key,
                "apiKey": listen.api_key,
                "account": listen.account,
                "expiresAt": listen.expires_at,
            }
        )

        def started(pipe: Any) -> None:
            self.write(pipe, listen)
            pipe.publish(bus.channel, message)

        bus.send(started)

    def write(self, pipe: Any, listen: ListenKeyState, *, only_new: bool = False) -> None:
        value = orjson.dumps(
            {"apiKey": listen.api_key, "account": listen.account, "expiresAt": listen.expires_at}
        )
        pipe.set(self._name(listen.key), value, pxat=listen.expires_at, nx=only_new)

    def write_all(self, pipe: Any) -> None:
        """On resync: give Redis the listenKeys it may have lost (never overwriting)."""
        assert self.streams is not None
        for listen in self.streams.listen_keys():
            self.write(pipe, listen, only_new=True)

    async def read_all(self) -> None:
        """On resync: mirror every listenKey Redis holds."""
        assert self.streams is not None
        redis = self.bus.redis
        async for name in redis.scan_iter(match=self._name("*"), count=500):
            value = await redis.get(name)
            if value is not None:
                data = orjson.loads(value)
                key = name.decode()[len(self._name("")) :]
                self.streams.mirror(key, data["apiKey"], data["account"], data["expiresAt"])

    async def read_one(self, key: str) -> bool:
        """Mirror ``key`` if Redis holds it (a stream came before the bus's word of it)."""
        assert self.streams is not None
        value = await self.bus.redis.get(self._name(key))
        if value is None:
            return False
        data = orjson.loads(value)
        self.streams.mirror(key, data["apiKey"], data["account"], data["expiresAt"])
        return True

    def received(self, event: dict[str, Any]) -> None:
        """Another gateway's ``listenKey`` or ``listenKeyStopped``."""
        assert self.streams is not None
        if event["kind"] == "listenKey":
            self.streams.mirror(
                event["key"], event["apiKey"], event["account"], int(event["expiresAt"])
            )
        else:
            self.streams.forget(event["key"])
