"""A server's service layer in memory, with a manual clock and a scenario of known numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from posrisk.engine import Account, AccountChange, Market
from posrisk.protocol import LimitRules, generate_ed25519, generate_rsa
from posrisk.protocol.limits import RequestWeightLimiter
from posrisk.service.admin import AdminService
from posrisk.service.api import ApiService
from posrisk.service.clock import ManualClock
from posrisk.service.registry import Registry, StateChanged
from posrisk.store import Snapshot, SQLiteStore

# Obviously fake test credentials; key pairs are generated per test session.
HMAC_KEY = "aliceHmacKey0001"
HMAC_SECRET = "test-secret-not-a-real-one"
ED_KEY = "aliceEd25519Key01"
RSA_KEY = "aliceRsaKey0001"
HEDGE_KEY = "bobHmacKey0001"
HEDGE_SECRET = "bob-test-secret"


@dataclass
class Keys:
    ed25519_private: str
    ed25519_public: str
    rsa_private: str
    rsa_public: str


@pytest.fixture(scope="session")
def keys() -> Keys:
    ed_private, ed_public = generate_ed25519()
    rsa_private, rsa_public = generate_rsa()
    return Keys(ed_private, ed_public, rsa_private, rsa_public)


def known_scenario(keys: Keys) -> dict[str, Any]:
    """alice: one-way, the ADA-like BTCUSDT cross long + ETHUSDT isolated short;
    bob: the SPEC's hedge example (LONG 0.001 @ 22185.2, cross wallet 2.53267053)."""
    return {
        "accounts": [
            {
                "name": "alice",
                "keys": [
                    {"type": "hmac", "apiKey": HMAC_KEY, "secret": HMAC_SECRET},
                    {"type": "ed25519", "apiKey": ED_KEY, "publicKey": keys.ed25519_public},
                    {"type": "rsa", "apiKey": RSA_KEY, "publicKey": keys.rsa_public},
                ],
                "deposits": {"USDT": "1000"},
                "symbols": {"ETHUSDT": {"leverage": 10, "marginType": "isolated"}},
                "fills": [
                    {
                        "symbol": "BTCUSDT",
                        "side": "BUY",
                        "qty": "0.010",
                        "price": "20000",
                        "time": 1700000000001,
                    },
                    {
                        "symbol": "ETHUSDT",
                        "side": "SELL",
                        "qty": "1.000",
                        "price": "1000",
                        "time": 1700000000002,
                    },
                ],
            },
            {
                "name": "bob",
                "positionMode": "hedge",
                "keys": [{"type": "hmac", "apiKey": HEDGE_KEY, "secret": HEDGE_SECRET}],
                "deposits": {"USDT": "2.53267053"},
                "fills": [
                    {
                        "symbol": "BTCUSDT",
                        "side": "BUY",
                        "positionSide": "LONG",
                        "qty": "0.001",
                        "price": "22185.2",
                        "time": 1655217461579,
                    },
                ],
            },
        ],
        "marks": {"BTCUSDT": "21123.05052574", "ETHUSDT": "950"},
    }


@dataclass
class Services:
    clock: ManualClock
    registry: Registry
    admin: AdminService
    api: ApiService
    limiter: RequestWeightLimiter
    store: SQLiteStore


@pytest_asyncio.fixture
async def services(keys: Keys) -> AsyncIterator[Services]:
    clock = ManualClock(1_700_000_000_000)
    store = SQLiteStore(":memory:")
    await store.open()
    registry = Registry(Market.default())
    admin = AdminService(store, registry, clock)
    await admin.load_scenario(known_scenario(keys))
    limiter = RequestWeightLimiter(LimitRules())
    yield Services(clock, registry, admin, ApiService(registry, limiter, clock), limiter, store)
    await store.close()


@dataclass
class PublicKeys:
    ed25519: str
    rsa: str


@pytest.fixture(scope="session")
def public_keys(keys: Keys) -> PublicKeys:
    return PublicKeys(keys.ed25519_public, keys.rsa_public)


@dataclass
class Env:
    """An admin service over a SQLite file, with what its listeners heard."""

    path: Path
    store: SQLiteStore
    registry: Registry
    clock: ManualClock
    admin: AdminService
    updates: list[tuple[str, Account, AccountChange, int]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)


@pytest_asyncio.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    path = tmp_path / "posrisk.db"
    store = SQLiteStore(path)
    await store.open()
    registry = Registry(Market.default())
    clock = ManualClock(1_700_000_000_000)
    admin = AdminService(store, registry, clock)
    env = Env(path, store, registry, clock, admin)
    registry.subscribe(lambda changed: told(env, changed))
    yield env
    await store.close()


def told(env: Env, changed: StateChanged) -> None:
    """What the registry told its subscribers, as the env's updates and revoked keys."""
    env.updates.extend(
        (i.account, i.applied.account, i.applied.change, i.time) for i in changed.applied
    )
    env.revoked.extend(changed.revoked)


async def restarted(path: Path) -> tuple[Snapshot, Registry]:
    """What a restarted server would load from ``path``: a fresh store, a fresh replay."""
    store = SQLiteStore(path)
    await store.open()
    try:
        snapshot = await store.load()
    finally:
        await store.close()
    return snapshot, Registry.from_snapshot(snapshot, Market.default())
