"""User data streams: listenKeys, and each commit's events to every stream of its account.

Transport-free: a stream is a ``Sink`` (send bytes, close) registered under a listenKey;
the gateway supplies real connections. ``UserStreams.on_state_changed`` is the registry's
listener: what each commit tells an account (``stream_events.account_messages``:
``ACCOUNT_UPDATE``, ``ACCOUNT_CONFIG_UPDATE``, ``ORDER_TRADE_UPDATE``, ``TRADE_LITE``,
``ALGO_UPDATE``) is encoded once and sent, in commit order, to every open stream of the
account. A listenKey lives
``ttl_ms`` (60 minutes) after its start or last ping; ``expire(now)`` sends
``listenKeyExpired`` to its streams and closes them.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from .registry import AccountChanged, Registry, StateChanged
from .stream_events import account_messages

__all__ = ["LISTEN_KEY_TTL_MS", "ListenKey", "Sink", "UserStreams"]

LISTEN_KEY_TTL_MS = 60 * 60 * 1000
_ALPHABET = string.ascii_letters + string.digits


class Sink(Protocol):
    """One stream connection, as the gateway provides it."""

    def send(self, message: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class ListenKey:
    key: str
    api_key: str
    account: str
    expires_at: int
    # The stream connections open on this key, in the order they connected.
    sinks: list[Sink] = field(default_factory=list)


class UserStreams:
    """ListenKeys by key (and by API key), and the fan-out of account updates."""

    def __init__(self, registry: Registry, ttl_ms: int = LISTEN_KEY_TTL_MS) -> None:
        self.registry = registry
        self.ttl_ms = ttl_ms
        self._keys: dict[str, ListenKey] = {}
        self._by_api_key: dict[str, str] = {}
        # account -> its listenKeys (in the order they started): a commit finds an
        # account's streams without looking at every other account's.
        self._by_account: dict[str, dict[str, None]] = {}
        # Events sent, for the metrics and the tests.
        self.sent = 0
        # Told of every listenKey this process starts or extends (the key) and stops (None
        # and the key), so other gateways can mirror them; see ``mirror`` and ``forget``.
        self.listeners: list[Callable[[ListenKey | None, str], None]] = []

    def __repr__(self) -> str:
        streams = sum(len(k.sinks) for k in self._keys.values())
        return f"<UserStreams {len(self._keys)} listenKeys, {streams} streams>"

    def start(self, api_key: str, account: str, now: int) -> str:
        """A listenKey for ``api_key``; an active one is returned again and extended."""
        existing = self._by_api_key.get(api_key)
        if existing is not None and existing in self._keys:
            self._keys[existing].expires_at = now + self.ttl_ms
            self._tell(self._keys[existing], existing)
            return existing
        key = "".join(secrets.choice(_ALPHABET) for _ in range(64))
        self._add(ListenKey(key, api_key, account, now + self.ttl_ms))
        self._tell(self._keys[key], key)
        return key

    def ping(self, api_key: str, now: int) -> str | None:
        """Extend ``api_key``'s listenKey by the TTL; None when it has none."""
        key = self._by_api_key.get(api_key)
        if key is None or key not in self._keys:
            return None
        self._keys[key].expires_at = now + self.ttl_ms
        self._tell(self._keys[key], key)
        return key

    def stop(self, api_key: str) -> bool:
        """Delete ``api_key``'s listenKey and close its streams."""
        key = self._by_api_key.get(api_key)
        if key is None or not self.forget(key):
            return False
        self._tell(None, key)
        return True

    def on_listen_key(self, listener: Callable[[ListenKey | None, str], None]) -> None:
        """Tell ``listener`` of a listenKey started or kept alive here, or stopped (None)."""
        self.listeners.append(listener)

    def _tell(self, listen: ListenKey | None, key: str) -> None:
        for listener in self.listeners:
            listener(listen, key)

    def listen_keys(self) -> list[ListenKey]:
        """Every listenKey this process knows (started here or mirrored)."""
        return list(self._keys.values())

    def mirror(self, key: str, api_key: str, account: str, expires_at: int) -> None:
        """A listenKey another gateway started or extended: served here too."""
        listen = self._keys.get(key)
        if listen is None:
            self._add(ListenKey(key, api_key, account, expires_at))
        else:
            listen.expires_at = max(listen.expires_at, expires_at)
            self._by_api_key[api_key] = key

    def _add(self, listen: ListenKey) -> None:
        self._keys[listen.key] = listen
        self._by_api_key[listen.api_key] = listen.key
        self._by_account.setdefault(listen.account, {})[listen.key] = None

    def _drop(self, listen: ListenKey) -> None:
        del self._keys[listen.key]
        if self._by_api_key.get(listen.api_key) == listen.key:
            del self._by_api_key[listen.api_key]
        keys = self._by_account.get(listen.account)
        if keys is not None:
            keys.pop(listen.key, None)
            if not keys:
                del self._by_account[listen.account]

    def sinks_of(self, account: str) -> list[Sink]:
        """Every open stream of ``account``, in the order its listenKeys started."""
        keys = self._by_account.get(account, ())
        return [sink for key in keys for sink in self._keys[key].sinks]

    def forget(self, key: str) -> bool:
        """Drop a listenKey (stopped here or by another gateway) and close its streams."""
        listen = self._keys.get(key)
        if listen is None:
            return False
        self._drop(listen)
        for sink in listen.sinks:
            sink.close()
        return True

    def get(self, key: str, now: int) -> ListenKey | None:
        found = self._keys.get(key)
        return found if found is not None and found.expires_at > now else None

    def attach(self, key: str, sink: Sink, now: int) -> bool:
        listen = self.get(key, now)
        if listen is None:
            return False
        listen.sinks.append(sink)
        return True

    def detach(self, key: str, sink: Sink) -> None:
        listen = self._keys.get(key)
        if listen is not None and sink in listen.sinks:
            listen.sinks.remove(sink)

    def on_state_changed(self, changed: StateChanged) -> None:
        """Subscribed to the registry: each account's messages of the commit
        (``stream_events.account_messages``) to its streams, and a revoked key loses its
        streams."""
        by_account: dict[str, list[AccountChanged]] = {}
        for item in changed.applied:
            by_account.setdefault(item.account, []).append(item)
        for account, items in by_account.items():
            sinks = self.sinks_of(account)
            if sinks:
                self._send(sinks, account_messages(self.registry, items))
        for api_key in changed.revoked:
            self.revoke_api_key(api_key)

    def revoke_api_key(self, api_key: str) -> None:
        """A revoked API key loses its listenKey and its streams."""
        self.stop(api_key)

    def expire(self, now: int) -> list[str]:
        """Expire every key not pinged in time: ``listenKeyExpired``, then close."""
        expired = [k for k in self._keys.values() if k.expires_at <= now]
        for listen in expired:
            self._drop(listen)
            message = orjson.dumps({"e": "listenKeyExpired", "E": now, "listenKey": listen.key})
            for sink in listen.sinks:
                sink.send(message)
                sink.close()
        return [listen.key for listen in expired]

    def _send(self, sinks: list[Sink], messages: list[dict[str, Any]]) -> None:
        for event in messages:
            message = orjson.dumps(event)
            for sink in sinks:
                sink.send(message)
                self.sent += 1
