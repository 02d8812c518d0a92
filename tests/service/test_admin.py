"""AdminService: every write is validated by the engine, committed, then served; a refused
write changes neither the live state nor the database; a restart serves the same state."""

from __future__ import annotations

import asyncio
import string
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posrisk.engine import (
    Account,
    AccountChange,
    AccountRisk,
    BalanceChange,
    CrossBalanceInsufficient,
    EngineError,
    Event,
    Fill,
    InvalidSymbol,
    InvalidValue,
    IsolatedBalanceInsufficient,
    IsolatedMarginTransfer,
    MarginInsufficient,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    PositionSideMismatch,
    SetAutoAddMargin,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    SymbolSettings,
    UpdateReason,
    WalletTransfer,
    apply,
    position_row_v2,
)
from posrisk.protocol import load_private_key
from posrisk.service.admin import AdminService
from posrisk.service.clock import ManualClock
from posrisk.service.errors import AccountExists, ServiceError, UnknownAccount, UnknownKey
from posrisk.service.keys import CreatedKey, make_key
from posrisk.service.registry import Registry
from posrisk.store import AccountRecord, KeyRecord, LedgerRecord, Snapshot, SQLiteStore

from .conftest import Env, PublicKeys, restarted

D = Decimal
MARKET = Market.default()
NOW = 1_700_000_000_000
ALNUM = set(string.ascii_letters + string.digits)
BOTH = PositionSide.BOTH
# Obviously fake test credentials.
HMAC_SECRET = "test-secret-not-a-real-one"


async def assert_durable(env: Env) -> None:
    """A restart serves exactly what the live registry serves."""
    _, fresh = await restarted(env.path)
    assert list(fresh.accounts) == list(env.registry.accounts)
    for name, live in env.registry.accounts.items():
        again = fresh.accounts[name]
        assert again.account == live.account, name
        assert again.version == live.version, name
        assert again.created_at == live.created_at, name
        assert sorted(again.keys) == sorted(live.keys), name
    assert {k: (e.account, e.kind, e.revoked_at) for k, e in fresh.keys.items()} == {
        k: (e.account, e.kind, e.revoked_at) for k, e in env.registry.keys.items()
    }
    assert fresh.marks == env.registry.marks


async def funded(env: Env, name: str = "alice", amount: str = "1000", **kw: Any) -> None:
    await env.admin.create_account(name, **kw)
    await env.admin.wallet(name, "USDT", D(amount))


@dataclass
class Frozen:
    """The state to compare after a refusal: live account, ledger length, whole snapshot."""

    account: Account
    version: int
    snapshot: Snapshot


async def freeze(env: Env, name: str = "alice") -> Frozen:
    entry = env.registry.account(name)
    return Frozen(entry.account, entry.version, await env.store.load())


async def assert_unchanged(env: Env, before: Frozen, name: str = "alice") -> None:
    entry = env.registry.account(name)
    assert entry.account == before.account
    assert entry.version == before.version
    after = await env.store.load()
    assert len(after.ledger) == len(before.snapshot.ledger)
    assert after == before.snapshot
    assert (await restarted(env.path))[1].account(name).account == before.account


# -- accounts ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_create_account_stores_it_empty_and_one_way(env: Env) -> None:
    entry = await env.admin.create_account("alice")
    assert (entry.name, entry.created_at, entry.account, entry.version, entry.keys) == (
        "alice",
        NOW,
        Account(),
        0,
        [],
    )
    assert env.registry.account("alice") is entry
    snapshot = await env.store.load()
    assert snapshot.accounts == (AccountRecord(1, "alice", NOW),)
    assert snapshot.ledger == ()
    assert env.admin.list_accounts() == [
        {"name": "alice", "positionMode": "oneway", "openPositions": 0, "keys": 0}
    ]
    await assert_durable(env)


@pytest.mark.asyncio
async def test_create_account_in_hedge_mode(env: Env) -> None:
    entry = await env.admin.create_account("bob", PositionMode.HEDGE)
    assert entry.account.position_mode is PositionMode.HEDGE
    assert entry.version == 1
    assert (await env.store.load()).ledger == (
        LedgerRecord(1, "bob", NOW, SetPositionMode(PositionMode.HEDGE, NOW)),
    )
    await assert_durable(env)


@pytest.mark.asyncio
async def test_create_account_in_the_default_mode_writes_no_event(env: Env) -> None:
    await env.admin.create_account("carol", PositionMode.ONE_WAY)
    assert (await env.store.load()).ledger == ()


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["", "-alice", "a b", "x" * 65, "ålice", None, 5])
async def test_create_account_refuses_bad_names(env: Env, name: Any) -> None:
    with pytest.raises(InvalidValue) as refused:
        await env.admin.create_account(name)
    assert refused.value.field == "name"
    assert refused.value.code == -1130
    assert refused.value.msg == "Data sent for parameter 'name' is not valid."
    assert await env.store.has_accounts() is False
    assert env.registry.accounts == {}


@pytest.mark.asyncio
async def test_a_duplicate_account_is_409_and_changes_nothing(env: Env) -> None:
    await funded(env)
    before = await freeze(env)
    with pytest.raises(AccountExists) as refused:
        await env.admin.create_account("alice", PositionMode.HEDGE)
    assert (refused.value.code, refused.value.status) == (-1130, 409)
    assert refused.value.msg == "Account 'alice' already exists."
    await assert_unchanged(env, before)


@pytest.mark.asyncio
async def test_operations_on_an_unknown_account_are_404(env: Env) -> None:
    for attempt in (
        env.admin.wallet("nobody", "USDT", D("1")),
        env.admin.create_key("nobody", "hmac"),
        env.admin.settings("nobody", PositionMode.HEDGE),
    ):
        with pytest.raises(UnknownAccount) as refused:
            await attempt
        assert (refused.value.code, refused.value.status) == (-1130, 404)
        assert refused.value.msg == "Account 'nobody' does not exist."
    with pytest.raises(UnknownAccount):
        env.admin.describe("nobody")
    assert await env.store.has_accounts() is False


# -- keys -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_generated_hmac_secret_is_shown_once_and_stored(env: Env) -> None:
    await env.admin.create_account("alice")
    created = await env.admin.create_key("alice", "hmac")
    assert created.secret is not None
    assert len(created.secret) == 64 and set(created.secret) <= ALNUM
    assert len(created.api_key) == 64 and set(created.api_key) <= ALNUM
    assert (created.account, created.kind, created.public_key, created.private_key) == (
        "alice",
        "hmac",
        None,
        None,
    )
    assert created.as_json() == {
        "apiKey": created.api_key,
        "account": "alice",
        "type": "hmac",
        "secret": created.secret,
    }
    assert created.secret not in repr(created)
    (stored,) = (await env.store.load()).keys
    assert stored == KeyRecord(created.api_key, "alice", "hmac", created.secret, None, NOW)
    assert env.registry.account("alice").keys == [created.api_key]
    assert env.registry.keys[created.api_key].kind == "hmac"
    await assert_durable(env)


@pytest.mark.asyncio
async def test_a_given_hmac_secret_is_stored_and_not_shown_back(env: Env) -> None:
    await env.admin.create_account("alice")
    created = await env.admin.create_key("alice", "hmac", api_key="aliceKey", secret=HMAC_SECRET)
    assert created == CreatedKey("aliceKey", "alice", "hmac")
    assert (await env.store.load()).keys == (
        KeyRecord("aliceKey", "alice", "hmac", HMAC_SECRET, None, NOW),
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
async def test_a_generated_key_pair_returns_the_private_key_and_stores_the_public(
    env: Env, kind: str
) -> None:
    await env.admin.create_account("alice")
    created = await env.admin.create_key("alice", kind)
    assert created.secret is None
    assert created.private_key is not None and created.public_key is not None
    assert created.private_key.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert created.public_key.startswith("-----BEGIN PUBLIC KEY-----\n")
    private = load_private_key(created.private_key)
    assert private.kind == kind
    assert private.public_pem() == created.public_key
    (stored,) = (await env.store.load()).keys
    # Only the public half is kept.
    assert stored == KeyRecord(created.api_key, "alice", kind, None, created.public_key, NOW)
    assert set(created.as_json()) == {"apiKey", "account", "type", "publicKey", "privateKey"}
    await assert_durable(env)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
async def test_a_provided_public_key_is_stored_as_given(
    env: Env, public_keys: PublicKeys, kind: str
) -> None:
    await env.admin.create_account("alice")
    pem = public_keys.ed25519 if kind == "ed25519" else public_keys.rsa
    created = await env.admin.create_key("alice", kind, api_key="aliceK1", public_key=pem)
    assert created == CreatedKey("aliceK1", "alice", kind, public_key=pem)
    assert (await env.store.load()).keys == (KeyRecord("aliceK1", "alice", kind, None, pem, NOW),)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kind", "given", "field", "detail"),
    [
        ("ed25519", "rsa", "publicKey", "the public key is rsa, not ed25519"),
        ("rsa", "ed25519", "publicKey", "the public key is ed25519, not rsa"),
        ("ed25519", "garbage", "publicKey", "not a usable public key: not a PEM public key"),
        ("hmac", "ed25519", "publicKey", "an HMAC key has a secret, not a public key"),
        ("dsa", None, "type", "key type must be one of hmac, ed25519, rsa, got 'dsa'"),
    ],
)
async def test_unusable_keys_are_refused_naming_the_field(
    env: Env, public_keys: PublicKeys, kind: str, given: str | None, field: str, detail: str
) -> None:
    await env.admin.create_account("alice")
    pem = {"rsa": public_keys.rsa, "ed25519": public_keys.ed25519}.get(given or "", given)
    with pytest.raises(InvalidValue) as refused:
        await env.admin.create_key("alice", kind, public_key=pem)
    assert refused.value.field == field
    assert refused.value.msg == f"Data sent for parameter '{field}' is not valid."
    assert refused.value.detail.startswith(detail)
    assert (await env.store.load()).keys == ()
    assert env.registry.keys == {}


@pytest.mark.asyncio
async def test_a_secret_for_a_public_key_type_is_refused(env: Env) -> None:
    await env.admin.create_account("alice")
    with pytest.raises(InvalidValue) as refused:
        await env.admin.create_key("alice", "ed25519", secret=HMAC_SECRET)
    assert refused.value.field == "secret"
    assert refused.value.detail == "an ed25519 key has a public key, not a secret"


@pytest.mark.asyncio
@pytest.mark.parametrize("api_key", ["", "has-dash", "x" * 129, "spa ce"])
async def test_a_malformed_api_key_is_refused(env: Env, api_key: str) -> None:
    await env.admin.create_account("alice")
    with pytest.raises(InvalidValue) as refused:
        await env.admin.create_key("alice", "hmac", api_key=api_key)
    assert refused.value.field == "apiKey"
    assert (await env.store.load()).keys == ()


@pytest.mark.asyncio
async def test_a_duplicate_api_key_is_409_even_across_accounts(env: Env) -> None:
    await env.admin.create_account("alice")
    await env.admin.create_account("bob")
    await env.admin.create_key("alice", "hmac", api_key="sharedKey", secret=HMAC_SECRET)
    before = await env.store.load()
    for owner in ("alice", "bob"):
        with pytest.raises(ServiceError) as refused:
            await env.admin.create_key(owner, "hmac", api_key="sharedKey", secret="other")
        assert (refused.value.code, refused.value.status) == (-1130, 409)
        assert refused.value.msg == "API key 'sharedKey' already exists."
    assert await env.store.load() == before
    assert env.registry.account("bob").keys == []


def test_make_key_does_not_touch_anything() -> None:
    record, created = make_key("alice", "hmac", 5, api_key="k1", secret=HMAC_SECRET)
    assert record == KeyRecord("k1", "alice", "hmac", HMAC_SECRET, None, 5)
    assert created == CreatedKey("k1", "alice", "hmac")


@pytest.mark.asyncio
async def test_revoking_a_key_stores_the_time_and_tells_the_listeners(env: Env) -> None:
    await env.admin.create_account("alice")
    await env.admin.create_key("alice", "hmac", api_key="k1", secret=HMAC_SECRET)
    await env.admin.create_key("alice", "hmac", api_key="k2", secret=HMAC_SECRET)
    env.clock.advance(5_000)
    await env.admin.revoke_key("alice", "k1")
    assert env.revoked == ["k1"]
    assert env.registry.keys["k1"].revoked_at == NOW + 5_000
    assert env.registry.keys["k2"].revoked_at is None
    keys = {k.api_key: k.revoked_at for k in (await env.store.load()).keys}
    assert keys == {"k1": NOW + 5_000, "k2": None}
    assert env.admin.describe("alice")["keys"] == [
        {"apiKey": "k1", "type": "hmac", "revoked": True},
        {"apiKey": "k2", "type": "hmac", "revoked": False},
    ]
    await assert_durable(env)


@pytest.mark.asyncio
async def test_revoking_twice_is_harmless_and_keeps_the_first_time(env: Env) -> None:
    await env.admin.create_account("alice")
    await env.admin.create_key("alice", "hmac", api_key="k1", secret=HMAC_SECRET)
    await env.admin.revoke_key("alice", "k1")
    env.clock.advance(1_000)
    await env.admin.revoke_key("alice", "k1")
    assert env.revoked == ["k1"]
    assert env.registry.keys["k1"].revoked_at == NOW
    assert [k.revoked_at for k in (await env.store.load()).keys] == [NOW]


@pytest.mark.asyncio
async def test_revoking_an_unknown_key_or_another_accounts_key_is_2015(env: Env) -> None:
    await env.admin.create_account("alice")
    await env.admin.create_account("bob")
    await env.admin.create_key("bob", "hmac", api_key="bobKey", secret=HMAC_SECRET)
    for account, api_key in (("alice", "nope"), ("alice", "bobKey")):
        with pytest.raises(UnknownKey) as refused:
            await env.admin.revoke_key(account, api_key)
        assert (refused.value.code, refused.value.status) == (-2015, 404)
        assert refused.value.msg == f"API key {api_key!r} does not exist."
    assert env.revoked == []
    assert env.registry.keys["bobKey"].revoked_at is None
    assert [k.revoked_at for k in (await env.store.load()).keys] == [None]


@pytest.mark.asyncio
async def test_keys_keep_their_creation_order_after_a_restart(env: Env) -> None:
    await env.admin.create_account("alice")
    await env.admin.create_key("alice", "hmac", api_key="zuluKey", secret=HMAC_SECRET)
    await env.admin.create_key("alice", "hmac", api_key="alphaKey", secret=HMAC_SECRET)
    assert env.registry.account("alice").keys == ["zuluKey", "alphaKey"]
    assert (await restarted(env.path))[1].account("alice").keys == ["zuluKey", "alphaKey"]


# -- wallet -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_deposit_is_applied_persisted_and_announced(env: Env) -> None:
    await env.admin.create_account("alice")
    env.clock.advance(7)
    after = await env.admin.wallet("alice", "USDT", D("1000.5"))
    assert after.balances == {"USDT": D("1000.5")}
    assert env.registry.account("alice").account is after
    assert env.registry.account("alice").version == 1
    assert env.updates == [
        (
            "alice",
            after,
            AccountChange(UpdateReason.DEPOSIT, (BalanceChange("USDT", D("1000.5")),)),
            NOW + 7,
        )
    ]
    assert (await env.store.load()).ledger == (
        LedgerRecord(1, "alice", NOW + 7, WalletTransfer("USDT", D("1000.5"), NOW + 7)),
    )
    await assert_durable(env)


@pytest.mark.asyncio
async def test_a_withdrawal_is_applied_and_persisted(env: Env) -> None:
    await funded(env)
    after = await env.admin.wallet("alice", "USDT", D("-400"))
    assert after.balances == {"USDT": D("600")}
    assert env.updates[-1][2] == AccountChange(
        UpdateReason.WITHDRAW, (BalanceChange("USDT", D("-400")),)
    )
    await assert_durable(env)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("asset", "amount", "error", "code"),
    [
        ("USDT", "-1000.00000001", CrossBalanceInsufficient, -4050),
        ("USDC", "-1", CrossBalanceInsufficient, -4050),
        ("XYZ", "1", InvalidValue, -1130),
        ("USDT", "0", InvalidValue, -1130),
        ("USDT", "0.000000001", InvalidValue, -1130),
    ],
)
async def test_a_refused_wallet_move_changes_nothing(
    env: Env, asset: str, amount: str, error: type[EngineError], code: int
) -> None:
    await funded(env)
    before = await freeze(env)
    updates = list(env.updates)
    with pytest.raises(error) as refused:
        await env.admin.wallet("alice", asset, D(amount))
    assert refused.value.code == code
    assert env.updates == updates
    await assert_unchanged(env, before)


# -- fills ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_fill_is_applied_persisted_and_announced(env: Env) -> None:
    await funded(env)
    env.clock.advance(10)
    fill = Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000"), fee=D("0.08"))
    after = await env.admin.fill("alice", fill)
    position = after.positions[("BTCUSDT", BOTH)]
    assert (position.amount, position.entry_price, position.update_time) == (
        D("0.010"),
        D("20000"),
        NOW + 10,
    )
    assert after.balances == {"USDT": D("999.92")}
    assert env.updates[-1] == (
        "alice",
        after,
        AccountChange(UpdateReason.ORDER, (BalanceChange("USDT"),), (("BTCUSDT", BOTH),)),
        NOW + 10,
    )
    # Exactly what the engine makes of the same events, the fill stamped with the clock.
    expected = Account()
    for event in (WalletTransfer("USDT", D("1000"), NOW), replace(fill, time=NOW + 10)):
        expected = apply(expected, event, MARKET).account
    assert after == expected
    await assert_durable(env)


@pytest.mark.asyncio
async def test_a_fill_with_its_own_time_keeps_it(env: Env) -> None:
    await funded(env)
    fill = Fill("BTCUSDT", Side.BUY, D("0.001"), D("22185.2"), time=1655217461579)
    after = await env.admin.fill("alice", fill)
    assert after.positions[("BTCUSDT", BOTH)].update_time == 1655217461579
    assert (await env.store.load()).ledger[-1].time == 1655217461579
    await assert_durable(env)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fill", "code"),
    [
        (Fill("BTCUSDT", Side.BUY, D("0.001"), D("20000"), PositionSide.LONG), -4061),
        (Fill("FOOUSDT", Side.BUY, D("1"), D("1")), -1121),
        (Fill("BTCUSDT", Side.BUY, D("0.0001"), D("20000")), -1111),
        (Fill("BTCUSDT", Side.BUY, D("0"), D("20000")), -4003),
        (Fill("BTCUSDT", Side.BUY, D("0.001"), D("-1")), -4001),
    ],
)
async def test_a_refused_fill_changes_nothing(env: Env, fill: Fill, code: int) -> None:
    await funded(env)
    await env.admin.fill("alice", Fill("BTCUSDT", Side.BUY, D("0.002"), D("20000")))
    before = await freeze(env)
    updates = list(env.updates)
    with pytest.raises(EngineError) as refused:
        await env.admin.fill("alice", fill)
    assert refused.value.code == code
    assert env.updates == updates
    await assert_unchanged(env, before)


@pytest.mark.asyncio
async def test_a_wrong_side_fill_says_why(env: Env) -> None:
    await funded(env)
    with pytest.raises(PositionSideMismatch) as refused:
        await env.admin.fill(
            "alice", Fill("BTCUSDT", Side.SELL, D("0.001"), D("1"), PositionSide.SHORT)
        )
    assert str(refused.value) == (
        "Order's position side does not match user's setting. (positionSide SHORT in oneway mode)"
    )


# -- isolated margin --------------------------------------------------------------------


async def isolated_long(env: Env) -> None:
    await funded(env)
    await env.admin.settings(
        "alice", None, [SetMarginType("BTCUSDT", MarginType.ISOLATED), SetLeverage("BTCUSDT", 10)]
    )
    await env.admin.fill("alice", Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000")))


@pytest.mark.asyncio
async def test_isolated_margin_moves_both_ways_and_persists(env: Env) -> None:
    await isolated_long(env)
    # 0.010 × 20000 / 10 = 20 moved in by the fill.
    assert env.registry.account("alice").account.positions[("BTCUSDT", BOTH)].isolated_wallet == (
        D("20")
    )
    after = await env.admin.isolated_margin("alice", IsolatedMarginTransfer("BTCUSDT", D("5.5")))
    assert after.positions[("BTCUSDT", BOTH)].isolated_wallet == D("25.5")
    assert after.cross_wallet_balance("USDT", MARKET) == D("974.5")
    assert env.updates[-1][2].reason is UpdateReason.MARGIN_TRANSFER
    after = await env.admin.isolated_margin("alice", IsolatedMarginTransfer("BTCUSDT", D("-25")))
    assert after.positions[("BTCUSDT", BOTH)].isolated_wallet == D("0.5")
    await assert_durable(env)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("amount", "code"), [("-20.00000001", -4051), ("980.00000001", -4050), ("0", -4055)]
)
async def test_a_refused_isolated_transfer_changes_nothing(
    env: Env, amount: str, code: int
) -> None:
    await isolated_long(env)
    before = await freeze(env)
    with pytest.raises(EngineError) as refused:
        await env.admin.isolated_margin("alice", IsolatedMarginTransfer("BTCUSDT", D(amount)))
    assert refused.value.code == code
    await assert_unchanged(env, before)


@pytest.mark.asyncio
async def test_removing_too_much_isolated_margin_is_4051(env: Env) -> None:
    await isolated_long(env)
    with pytest.raises(IsolatedBalanceInsufficient):
        await env.admin.isolated_margin("alice", IsolatedMarginTransfer("BTCUSDT", D("-21")))


# -- settings ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_settings_apply_together_and_persist(env: Env) -> None:
    await env.admin.create_account("alice")
    env.clock.advance(3)
    after = await env.admin.settings(
        "alice",
        PositionMode.HEDGE,
        [
            SetMarginType("BTCUSDT", MarginType.ISOLATED),
            SetLeverage("BTCUSDT", 10),
            SetAutoAddMargin("BTCUSDT", True),
            SetLeverage("ETHUSDT", 50),
        ],
    )
    assert after.position_mode is PositionMode.HEDGE
    assert after.settings == {
        "BTCUSDT": SymbolSettings(10, MarginType.ISOLATED, True),
        "ETHUSDT": SymbolSettings(50),
    }
    assert env.registry.account("alice").version == 5
    ledger = (await env.store.load()).ledger
    assert [r.time for r in ledger] == [NOW + 3] * 5
    assert ledger[0].event == SetPositionMode(PositionMode.HEDGE, NOW + 3)
    await assert_durable(env)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("mode", "events", "code", "text"),
    [
        (
            PositionMode.HEDGE,
            [
                SetMarginType("BTCUSDT", MarginType.ISOLATED),
                SetLeverage("BTCUSDT", 10),
                SetLeverage("ETHUSDT", 200),
            ],
            -4028,
            "Leverage 200 is not valid (ETHUSDT allows leverage 1 to 125)",
        ),
        (None, [SetLeverage("BTCUSDT", 200)], -4028, "Leverage 200 is not valid"),
        (None, [SetLeverage("BTCUSDT", 0)], -4028, "Leverage 0 is not valid"),
        (PositionMode.ONE_WAY, [], -4059, "No need to change position side."),
        (
            None,
            [SetLeverage("BTCUSDT", 5), SetMarginType("BTCUSDT", MarginType.CROSS)],
            -4046,
            "No need to change margin type.",
        ),
        (None, [SetLeverage("FOOUSDT", 5)], -1121, "Invalid symbol."),
    ],
)
async def test_one_bad_setting_applies_none_of_them(
    env: Env, mode: PositionMode | None, events: list[Any], code: int, text: str
) -> None:
    await funded(env)
    before = await freeze(env)
    with pytest.raises(EngineError) as refused:
        await env.admin.settings("alice", mode, events)
    assert refused.value.code == code
    assert str(refused.value).startswith(text)
    await assert_unchanged(env, before)
    assert env.registry.account("alice").account.position_mode is PositionMode.ONE_WAY


@pytest.mark.asyncio
async def test_settings_with_nothing_to_change_are_refused(env: Env) -> None:
    await env.admin.create_account("alice")
    with pytest.raises(InvalidValue) as refused:
        await env.admin.settings("alice")
    assert refused.value.field == "settings"
    assert (await env.store.load()).ledger == ()


@pytest.mark.asyncio
async def test_the_position_mode_cannot_change_with_an_open_position(env: Env) -> None:
    await funded(env)
    await env.admin.fill("alice", Fill("BTCUSDT", Side.BUY, D("0.001"), D("20000")))
    before = await freeze(env)
    with pytest.raises(EngineError) as refused:
        await env.admin.settings("alice", PositionMode.HEDGE)
    assert refused.value.code == -4068
    await assert_unchanged(env, before)


# -- marks ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_marks_are_persisted_and_merged(env: Env) -> None:
    result = await env.admin.set_marks({"BTCUSDT": D("21000.5")})
    assert result == {"BTCUSDT": D("21000.5")}
    result = await env.admin.set_marks({"ETHUSDT": D("950"), "BTCUSDT": D("21001")})
    assert result == {"BTCUSDT": D("21001"), "ETHUSDT": D("950")}
    assert (await env.store.load()).marks == {"BTCUSDT": D("21001"), "ETHUSDT": D("950")}
    await assert_durable(env)


@pytest.mark.asyncio
async def test_a_mark_of_an_unknown_symbol_is_1121_and_nothing_is_stored(env: Env) -> None:
    await env.admin.set_marks({"BTCUSDT": D("21000")})
    with pytest.raises(InvalidSymbol) as refused:
        await env.admin.set_marks({"ETHUSDT": D("950"), "FOOUSDT": D("1")})
    assert refused.value.code == -1121
    assert env.registry.marks == {"BTCUSDT": D("21000")}
    assert (await env.store.load()).marks == {"BTCUSDT": D("21000")}


# -- describe ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_describe_a_simple_account(env: Env) -> None:
    await funded(env)
    await env.admin.create_key("alice", "hmac", api_key="aliceKey", secret=HMAC_SECRET)
    env.clock.advance(1)
    await env.admin.fill("alice", Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000")))
    await env.admin.set_marks({"BTCUSDT": D("21000")})
    described = env.admin.describe("alice")
    assert described["name"] == "alice"
    assert described["positionMode"] == "oneway"
    # uPnL 0.010 × 1000 = 10; notional 210; maintenance 210 × 0.004 = 0.84.
    assert described["balances"] == [
        {
            "asset": "USDT",
            "walletBalance": "1000.00000000",
            "crossWalletBalance": "1000.00000000",
            "unrealizedProfit": "10.00000000",
            "marginBalance": "1010.00000000",
            "maintMargin": "0.84000000",
        }
    ]
    (row,) = described["positions"]
    assert row["symbol"] == "BTCUSDT"
    assert row["positionSide"] == "BOTH"
    assert row["positionAmt"] == "0.010"
    assert row["entryPrice"] == "20000.0"
    assert row["markPrice"] == "21000.00000000"
    assert row["unRealizedProfit"] == "10.00000000"
    assert row["notional"] == "210.00000000"
    assert row["initialMargin"] == "10.50000000"  # 210 / 20x
    assert row["maintMargin"] == "0.84000000"
    assert row["liquidationPrice"] == "0"  # the wallet covers a fall to zero
    assert row["updateTime"] == NOW + 1
    assert described["keys"] == [{"apiKey": "aliceKey", "type": "hmac", "revoked": False}]
    # The same row the engine writes for the account.
    account = env.registry.account("alice").account
    risk = AccountRisk(account, MARKET, {"BTCUSDT": D("21000")})
    assert row == position_row_v2(risk.position("BTCUSDT", BOTH))
    assert env.admin.list_accounts() == [
        {"name": "alice", "positionMode": "oneway", "openPositions": 1, "keys": 1}
    ]


@pytest.mark.asyncio
async def test_describe_an_empty_account_has_no_balances_or_positions(env: Env) -> None:
    await env.admin.create_account("alice")
    assert env.admin.describe("alice") == {
        "name": "alice",
        "positionMode": "oneway",
        "balances": [],
        "positions": [],
        "keys": [],
    }


# -- event times ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_event_without_time_happens_now_and_replays_with_that_time(env: Env) -> None:
    await funded(env)
    env.clock.now = NOW + 123_456
    await env.admin.fill("alice", Fill("BTCUSDT", Side.BUY, D("0.001"), D("20000")))
    env.clock.advance(60_000)  # a restart later does not move the stamp
    before = env.admin.describe("alice")["positions"][0]["updateTime"]
    assert before == NOW + 123_456
    _, fresh = await restarted(env.path)
    again = AdminService(env.store, fresh, env.clock).describe("alice")
    assert again["positions"][0]["updateTime"] == NOW + 123_456
    assert again == env.admin.describe("alice")


# -- margin: fills Binance's matching engine would refuse (-2019) -----------------------

ISOLATED_10X = [SetMarginType("BTCUSDT", MarginType.ISOLATED), SetLeverage("BTCUSDT", 10)]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("deposit", "setup", "fill"),
    [
        # The fee alone is beyond the wallet: it would be left at −400.
        ("100", [], Fill("BTCUSDT", Side.BUY, D("0.001"), D("20000"), fee=D("500"))),
        # A close at a loss beyond the wallet (never refused) left it at −10.
        (
            "100",
            [
                Fill("BTCUSDT", Side.BUY, D("0.01"), D("20000")),
                Fill("BTCUSDT", Side.SELL, D("0.01"), D("9000")),
            ],
            Fill("ETHUSDT", Side.BUY, D("0.01"), D("1000")),
        ),
        # Isolated 10x: 20 of initial margin + 8 of fee > 25 available.
        ("25", ISOLATED_10X, Fill("BTCUSDT", Side.BUY, D("0.010"), D("20000"), fee=D("8"))),
    ],
    ids=["fee beyond the wallet", "cross on a negative wallet", "isolated margin + fee"],
)
async def test_a_fill_without_the_margin_binance_requires_is_refused_and_changes_nothing(
    env: Env, deposit: str, setup: list[Event], fill: Fill
) -> None:
    await funded(env, amount=deposit)
    if setup:
        await env.admin.apply_events("alice", setup)
    before = await freeze(env)
    updates = list(env.updates)
    with pytest.raises(MarginInsufficient) as refused:
        await env.admin.fill("alice", fill)
    assert (refused.value.code, refused.value.msg) == (-2019, "Margin is insufficient.")
    assert env.updates == updates
    await assert_unchanged(env, before)


@pytest.mark.asyncio
async def test_a_forced_fill_is_recorded_as_given_and_replays(env: Env) -> None:
    await funded(env, amount="100")
    fill = Fill("BTCUSDT", Side.BUY, D("0.001"), D("20000"), fee=D("500"))
    after = await env.admin.fill("alice", fill, force=True)
    assert after.wallet_balance("USDT") == D("-400")
    await assert_durable(env)  # a replay takes what was forced


@pytest.mark.asyncio
async def test_the_margin_check_marks_positions_at_the_served_marks(env: Env) -> None:
    await funded(env, amount="100")
    await env.admin.fill("alice", Fill("BTCUSDT", Side.BUY, D("0.1"), D("20000")))  # all 100
    more = Fill("BTCUSDT", Side.BUY, D("0.17"), D("22000"))  # needs 187
    with pytest.raises(MarginInsufficient):
        await env.admin.fill("alice", more)
    # At 22000: +200 unrealized, 110 initial margin → 190 available.
    await env.admin.set_marks({"BTCUSDT": D("22000")})
    after = await env.admin.fill("alice", more)
    assert after.position("BTCUSDT", BOTH).amount == D("0.27")
    # At 19000 the account is under water: nothing opens, a close still goes through.
    await env.admin.set_marks({"BTCUSDT": D("19000")})
    with pytest.raises(MarginInsufficient):
        await env.admin.fill("alice", Fill("ETHUSDT", Side.BUY, D("0.01"), D("1000")))
    await env.admin.fill("alice", Fill("BTCUSDT", Side.SELL, D("0.27"), D("19000")))
    await assert_durable(env)


@pytest.mark.asyncio
async def test_a_refused_fill_in_a_batch_refuses_the_whole_batch(env: Env) -> None:
    await funded(env, amount="100")
    before = await freeze(env)
    batch: list[Event] = [
        Fill("BTCUSDT", Side.BUY, D("0.05"), D("20000")),  # 50: fits
        Fill("BTCUSDT", Side.BUY, D("0.06"), D("20000")),  # 60 more: 50 left
    ]
    with pytest.raises(MarginInsufficient):
        await env.admin.apply_events("alice", batch)
    await assert_unchanged(env, before)


# What an operator may throw at one account, in any order. Fills only BUY (in one-way
# mode they only open), so that nothing realizes a loss: then no accepted write may take
# a cross wallet below zero. Fees run up to far beyond any wallet here.
_SYMBOLS = st.sampled_from(["BTCUSDT", "ETHUSDT"])
_AMOUNTS = st.sampled_from(["1", "10", "100", "1000", "-1", "-50", "-1000"]).map(D)
_OPENING_WRITES = st.one_of(
    st.builds(WalletTransfer, st.just("USDT"), _AMOUNTS),
    st.builds(
        Fill,
        _SYMBOLS,
        st.just(Side.BUY),
        st.sampled_from(["0.001", "0.01", "0.1", "1"]).map(D),
        st.sampled_from(["100", "1000", "20000", "30000"]).map(D),
        fee=st.sampled_from(["0", "0.01", "0.5", "5", "50", "500"]).map(D),
    ),
    st.builds(SetLeverage, _SYMBOLS, st.integers(1, 125)),
    st.builds(SetMarginType, _SYMBOLS, st.sampled_from(list(MarginType))),
    st.builds(IsolatedMarginTransfer, _SYMBOLS, _AMOUNTS),
)
_ANY_WRITES = st.one_of(
    _OPENING_WRITES,
    st.builds(
        Fill,
        _SYMBOLS,
        st.sampled_from(list(Side)),
        st.sampled_from(["0.001", "0.01", "0.1", "1"]).map(D),
        st.sampled_from(["100", "1000", "20000", "30000"]).map(D),
        fee=st.sampled_from(["0", "0.5", "500"]).map(D),
    ),
    st.dictionaries(
        _SYMBOLS, st.sampled_from(["500", "1000", "19000", "25000"]).map(D), min_size=1
    ),
)


async def _write_all(writes: list[Any], *, opening_only: bool) -> int:
    """Apply ``writes`` one by one to a fresh account; every refusal must leave the served
    account and the ledger as they were. Returns how many were accepted."""
    store = SQLiteStore(":memory:")
    await store.open()
    try:
        registry = Registry(MARKET)
        admin = AdminService(store, registry, ManualClock(NOW))
        await admin.create_account("alice")
        accepted = 0
        for write in writes:
            entry = registry.account("alice")
            before = (entry.account, entry.version, len((await store.load()).ledger))
            try:
                if isinstance(write, dict):
                    await admin.set_marks(write)
                else:
                    await admin.apply_events("alice", [write])
            except EngineError:
                entry = registry.account("alice")
                after = (entry.account, entry.version, len((await store.load()).ledger))
                assert after == before, f"refused {write!r} changed the account or ledger"
                continue
            accepted += 1
            if opening_only:
                account = registry.account("alice").account
                cross = account.cross_wallet_balance("USDT", MARKET)
                assert cross >= 0, f"{write!r} left the cross wallet at {cross}"
        return accepted
    finally:
        await store.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=st.lists(_OPENING_WRITES, max_size=12))
def test_no_accepted_opening_writes_take_a_cross_wallet_below_zero(writes: list[Any]) -> None:
    asyncio.run(_write_all(writes, opening_only=True))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=st.lists(_ANY_WRITES, max_size=12))
def test_every_refused_write_leaves_the_account_and_the_ledger_unchanged(
    writes: list[Any],
) -> None:
    asyncio.run(_write_all(writes, opening_only=False))


@pytest.mark.asyncio
async def test_drain_waits_for_the_write_under_way_and_those_queued(env: Env) -> None:
    # The server's shutdown closed the store under writes it had accepted: they failed
    # with "is not open" (-1001) after the client had sent them. drain() waits for them.
    await env.admin.create_account("drained")
    release = asyncio.Event()
    commit = env.store.commit
    done: list[str] = []

    async def slow_commit(*args: Any, **kwargs: Any) -> Any:
        await release.wait()
        return await commit(*args, **kwargs)

    env.store.commit = slow_commit  # type: ignore[method-assign]
    writes = [asyncio.create_task(env.admin.wallet("drained", "USDT", Decimal(n))) for n in (1, 2)]
    for write in writes:
        write.add_done_callback(lambda _: done.append("write"))
    await asyncio.sleep(0)
    drain = asyncio.create_task(env.admin.drain())
    drain.add_done_callback(lambda _: done.append("drain"))
    await asyncio.sleep(0.01)
    assert done == [] and not drain.done()
    release.set()
    await drain
    assert done == ["write", "write", "drain"]
    balance = env.registry.account("drained").account.balances["USDT"]
    assert balance == Decimal(3)


@pytest.mark.asyncio
async def test_plans_queued_together_commit_together_each_against_the_last(env: Env) -> None:
    """Group commit: the writes waiting for the lock are planned in turn (each against
    the state the ones before it left) and committed in one transaction; a refusal among
    them answers its own caller only."""
    for name in ("g1", "g2"):
        await env.admin.create_account(name)
    commits: list[int] = []
    commit = env.store.commit

    async def counted(changes: Any, **kwargs: Any) -> Any:
        commits.append(len(changes))
        return await commit(changes, **kwargs)

    env.store.commit = counted  # type: ignore[method-assign]

    def deposit(amount: str) -> Any:
        return lambda state, now: [WalletTransfer("USDT", Decimal(amount), now)]

    def withdraw_all(state: Any, now: int) -> list[Any]:
        # Planned after the deposits before it in the batch: it sees them.
        return [WalletTransfer("USDT", -state.wallet_balance("USDT"), now)]

    def refused(state: Any, now: int) -> list[Any]:
        raise InvalidValue("amount", "refused on purpose")

    writes = [
        env.admin.plan_events("g1", deposit("5")),
        env.admin.plan_events("g1", deposit("7")),
        env.admin.plan_events("g2", refused),
        env.admin.plan_events("g1", withdraw_all),
        env.admin.plan_events("g2", deposit("1")),
    ]
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(results[2], InvalidValue)
    assert results[3] == [WalletTransfer("USDT", Decimal(-12), results[3][0].time)]  # type: ignore[index]
    # The first takes the free lock at once; the others, queued behind its commit, are
    # planned in turn and written in one transaction.
    assert commits == [1, 3]
    assert env.registry.account("g1").account.wallet_balance("USDT") == 0
    assert env.registry.account("g2").account.wallet_balance("USDT") == 1
    snapshot = await env.store.load()  # durable, in the order planned
    amounts = [r.event.amount for r in snapshot.ledger if isinstance(r.event, WalletTransfer)]
    assert amounts[-4:] == [Decimal(5), Decimal(7), Decimal(-12), Decimal(1)]
