"""User data streams without sockets: listenKeys and their lifetime, and each committed
change as one ``ACCOUNT_UPDATE`` to every stream of its account, through fake sinks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.engine import Fill, PositionSide, SetAutoAddMargin, Side, account_update_event
from posrisk.service.dashboard import Dashboard
from posrisk.service.stream_events import account_update
from posrisk.service.streams import ListenKey, UserStreams

from .conftest import HEDGE_KEY, HMAC_KEY, Services

pytestmark = pytest.mark.asyncio

NOW = 1_700_000_000_000
TTL = 60_000


class FakeSink:
    """A stream connection that keeps what it was sent."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.closed = False

    def send(self, message: bytes) -> None:
        self.messages.append(message)

    def close(self) -> None:
        self.closed = True

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(m) for m in self.messages]


def alice_buys(qty: str = "0.010", price: str = "21000") -> Fill:
    return Fill("BTCUSDT", Side.BUY, Decimal(qty), Decimal(price), PositionSide.BOTH)


async def test_a_key_is_started_once_per_api_key_and_pinged_to_live(services: Services) -> None:
    streams = UserStreams(services.registry, ttl_ms=TTL)
    key = streams.start(HMAC_KEY, "alice", NOW)
    assert len(key) == 64 and key.isalnum()
    assert streams.start(HMAC_KEY, "alice", NOW + 10) == key  # the same key, extended
    assert streams.get(key, NOW + 10 + TTL - 1) is not None
    assert streams.get(key, NOW + 10 + TTL) is None
    assert streams.ping(HMAC_KEY, NOW + 30_000) == key
    assert streams.get(key, NOW + 30_000 + TTL - 1) is not None
    assert streams.ping(HEDGE_KEY, NOW) is None  # bob has no key
    assert streams.start(HEDGE_KEY, "bob", NOW) != key


async def test_listeners_hear_starts_pings_and_stops(services: Services) -> None:
    streams = UserStreams(services.registry, ttl_ms=TTL)
    heard: list[tuple[int | None, str]] = []

    def listener(listen: ListenKey | None, key: str) -> None:
        heard.append((None if listen is None else listen.expires_at, key))

    streams.listeners.append(listener)
    key = streams.start(HMAC_KEY, "alice", NOW)
    streams.ping(HMAC_KEY, NOW + 5)
    assert streams.stop(HMAC_KEY) is True
    assert streams.stop(HMAC_KEY) is False  # nothing left to stop: nobody told
    assert heard == [(NOW + TTL, key), (NOW + 5 + TTL, key), (None, key)]


async def test_attach_needs_a_live_key_and_stop_closes_its_streams(services: Services) -> None:
    streams = UserStreams(services.registry, ttl_ms=TTL)
    key = streams.start(HMAC_KEY, "alice", NOW)
    sink, late, other = FakeSink(), FakeSink(), FakeSink()
    assert streams.attach("no-such-key", other, NOW) is False
    assert streams.attach(key, sink, NOW) is True
    assert streams.attach(key, late, NOW + TTL) is False  # expired, though not yet swept
    streams.stop(HMAC_KEY)
    assert (sink.closed, late.closed, other.closed) == (True, False, False)
    assert streams.get(key, NOW) is None


async def test_expiry_says_listen_key_expired_then_closes(services: Services) -> None:
    streams = UserStreams(services.registry, ttl_ms=TTL)
    key = streams.start(HMAC_KEY, "alice", NOW)
    kept = streams.start(HEDGE_KEY, "bob", NOW + 1000)
    sink, bobs = FakeSink(), FakeSink()
    streams.attach(key, sink, NOW)
    streams.attach(kept, bobs, NOW + 1000)
    assert streams.expire(NOW + TTL - 1) == []
    assert streams.expire(NOW + TTL) == [key]
    assert sink.events() == [{"e": "listenKeyExpired", "E": NOW + TTL, "listenKey": key}]
    assert sink.closed and not bobs.closed and bobs.messages == []
    assert streams.ping(HMAC_KEY, NOW + TTL) is None
    assert [k.key for k in streams.listen_keys()] == [kept]


async def test_mirrored_keys_are_served_and_forgotten(services: Services) -> None:
    streams = UserStreams(services.registry, ttl_ms=TTL)
    streams.mirror("k" * 64, HMAC_KEY, "alice", NOW + 500)
    streams.mirror("k" * 64, HMAC_KEY, "alice", NOW + 100)  # an older extension: kept later
    [listen] = streams.listen_keys()
    assert (listen.key, listen.account, listen.expires_at) == ("k" * 64, "alice", NOW + 500)
    assert streams.ping(HMAC_KEY, NOW) == "k" * 64
    sink = FakeSink()
    assert streams.attach("k" * 64, sink, NOW)
    assert streams.forget("k" * 64) is True
    assert sink.closed and streams.listen_keys() == []
    assert streams.forget("k" * 64) is False


async def test_a_fill_goes_to_every_stream_of_its_account_only(services: Services) -> None:
    streams = UserStreams(services.registry, ttl_ms=TTL)
    services.registry.subscribe(streams.on_state_changed)
    key = streams.start(HMAC_KEY, "alice", NOW)
    first, second, bobs = FakeSink(), FakeSink(), FakeSink()
    streams.attach(key, first, NOW)
    streams.attach(key, second, NOW)
    streams.attach(streams.start(HEDGE_KEY, "bob", NOW), bobs, NOW)

    await services.admin.fill("alice", alice_buys())

    assert first.messages == second.messages and len(first.messages) == 1
    assert bobs.messages == []
    assert streams.sent == 2
    [event] = first.events()
    assert (event["e"], event["E"], event["T"]) == ("ACCOUNT_UPDATE", NOW, NOW)
    assert event["a"]["m"] == "ORDER"
    [balance] = event["a"]["B"]
    assert (balance["a"], balance["bc"]) == ("USDT", "0")
    [position] = event["a"]["P"]
    assert (position["s"], position["pa"], position["ps"]) == ("BTCUSDT", "0.02", "BOTH")
    assert (position["ep"], position["mt"]) == ("20500", "cross")


async def test_a_change_that_sends_nothing_is_not_sent(services: Services) -> None:
    streams = UserStreams(services.registry, ttl_ms=TTL)
    services.registry.subscribe(streams.on_state_changed)
    published: list[object] = []
    services.registry.subscribe(lambda changed: published.extend(changed.applied))
    sink = FakeSink()
    streams.attach(streams.start(HMAC_KEY, "alice", NOW), sink, NOW)
    # Auto-add-margin is published, but moves no balance, no position, no leverage.
    await services.admin.settings("alice", None, [SetAutoAddMargin("BTCUSDT", True, NOW)])
    assert len(published) == 1
    assert sink.messages == [] and streams.sent == 0


async def test_the_user_stream_and_the_dashboard_show_one_event(services: Services) -> None:
    streams = UserStreams(services.registry, ttl_ms=TTL)
    services.registry.subscribe(streams.on_state_changed)
    dashboard = Dashboard(services.admin, services.clock)
    sink = FakeSink()
    streams.attach(streams.start(HMAC_KEY, "alice", NOW), sink, NOW)

    await services.admin.fill("alice", alice_buys("0.005", "20000"))

    [streamed] = sink.events()
    [item] = dashboard.feed
    assert item == {"account": "alice", "event": streamed}


async def test_account_update_is_the_engines_event_at_the_registrys_marks(
    services: Services,
) -> None:
    registry = services.registry
    caught: list[Any] = []
    services.registry.subscribe(lambda changed: caught.extend(changed.applied))
    await services.admin.fill("alice", alice_buys())
    [(_, applied, time, _)] = caught
    state, change = applied.account, applied.change

    event = account_update(registry, state, change, time)
    assert event == account_update_event(
        state, change, registry.market, registry.marks, event_time=time, transaction_time=time
    )
    assert event is not None
    assert event["a"]["P"][0]["up"] == "12.46101051"  # 0.020 × (21123.05052574 − 20500)

    later = account_update(
        registry, state, change, time, now=time + 7, marks={"BTCUSDT": Decimal("22000")}
    )
    assert later is not None
    assert (later["E"], later["T"]) == (time + 7, time)
    assert later["a"]["P"][0]["up"] == "30.00000000"  # 0.020 × (22000 − 20500)


async def test_an_accounts_streams_are_found_by_account_and_forgotten_with_their_keys(
    services: Services,
) -> None:
    streams = UserStreams(services.registry, ttl_ms=1000)
    sinks = {name: FakeSink() for name in ("alice", "bob")}
    keys = {}
    for name, sink in sinks.items():
        keys[name] = streams.start(f"{name}Key", name, 0)
        assert streams.attach(keys[name], sink, 0)
    assert streams.sinks_of("alice") == [sinks["alice"]]
    assert streams.sinks_of("carol") == []
    streams.forget(keys["alice"])
    assert streams.sinks_of("alice") == []
    streams.expire(2000)
    assert streams.sinks_of("bob") == [] and streams.listen_keys() == []
    mirrored = "k" * 64
    streams.mirror(mirrored, "bobKey2", "bob", 5000)
    assert streams.attach(mirrored, sinks["bob"], 2000)
    assert streams.sinks_of("bob") == [sinks["bob"]]
