"""Scenario files (SPEC §10): the documented example loads to the expected state, in the
documented order, with the documented defaults; anything invalid is refused with a message
naming the account, the entry and the problem, and nothing of it is written."""

from __future__ import annotations

import copy
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posrisk.engine import (
    Account,
    AccountRisk,
    Event,
    Fill,
    IsolatedMarginTransfer,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Side,
    SymbolSettings,
    WalletTransfer,
    apply,
    position_row_v2,
)
from posrisk.protocol import canonical_payload, hmac_signature
from posrisk.service.errors import ServiceError
from posrisk.service.scenario import ScenarioError, plan_scenario, read_scenario_file
from posrisk.store import AccountRecord, Snapshot

from .conftest import Env, PublicKeys, restarted

D = Decimal
MARKET = Market.default()
NOW = 1_700_000_000_000
# Obviously fake test credentials; key pairs are generated once per module.
HMAC_SECRET = "test-secret-not-a-real-one"
BTC_LONG = ("BTCUSDT", PositionSide.LONG)


def spec_example(keys: PublicKeys) -> dict[str, Any]:
    """SPEC §10's example document, with real public keys and an obviously fake secret."""
    return {
        "accounts": [
            {
                "name": "alice",
                "keys": [
                    {"type": "hmac", "apiKey": "aliceHmac", "secret": HMAC_SECRET},
                    {"type": "ed25519", "apiKey": "aliceEd", "publicKey": keys.ed25519},
                    {"type": "rsa", "apiKey": "aliceRsa", "publicKey": keys.rsa},
                ],
                "deposits": {"USDT": "10000"},
                "positionMode": "hedge",
                "symbols": {"BTCUSDT": {"leverage": 10, "marginType": "isolated"}},
                "fills": [
                    {
                        "symbol": "BTCUSDT",
                        "side": "BUY",
                        "positionSide": "LONG",
                        "qty": "0.001",
                        "price": "22185.2",
                        "fee": "0.0088",
                        "time": 1655217461579,
                    }
                ],
                "isolatedMarginTransfers": [
                    {"symbol": "BTCUSDT", "positionSide": "LONG", "amount": "5"}
                ],
            }
        ],
        "marks": {"BTCUSDT": "21123.05052574"},
    }


# -- the SPEC example -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_spec_example_loads_to_the_expected_state(
    env: Env, public_keys: PublicKeys
) -> None:
    plan = await env.admin.load_scenario(spec_example(public_keys))
    assert [planned.name for planned in plan.accounts] == ["alice"]
    assert plan.created_at == NOW

    account = env.registry.account("alice").account
    assert account.position_mode is PositionMode.HEDGE
    assert account.settings == {"BTCUSDT": SymbolSettings(10, MarginType.ISOLATED, False)}
    # 10000 deposited, the 0.0088 fee paid (from the isolated wallet, out of the balance).
    assert account.balances == {"USDT": D("9999.9912")}
    position = account.positions[BTC_LONG]
    assert position.amount == D("0.001")
    assert position.entry_price == D("22185.2")
    assert position.open_fees == D("0.0088")
    # Initial margin 0.001 × 22185.2 / 10 = 2.21852, less the fee, plus the 5 transferred.
    assert position.isolated_wallet == D("7.20972")
    assert account.cross_wallet_balance("USDT", MARKET) == D("9992.78148")
    assert env.registry.marks == {"BTCUSDT": D("21123.05052574")}

    row = env.admin.describe("alice")["positions"][0]
    assert {k: row[k] for k in ("symbol", "positionSide", "positionAmt", "entryPrice")} == {
        "symbol": "BTCUSDT",
        "positionSide": "LONG",
        "positionAmt": "0.001",
        "entryPrice": "22185.2",
    }
    assert row["breakEvenPrice"] == "22194.0"  # 22185.2 + 0.0088 / 0.001
    assert row["markPrice"] == "21123.05052574"
    assert row["unRealizedProfit"] == "-1.06214947"
    assert row["notional"] == "21.12305052"
    assert row["isolatedWallet"] == "7.20972000"
    assert row["isolatedMargin"] == "6.14757052"  # 7.20972 − 1.06214947426
    assert row["initialMargin"] == "2.11230505"  # notional / 10
    assert row["maintMargin"] == "0.08449220"  # notional × 0.004


@pytest.mark.asyncio
async def test_the_spec_example_registers_its_keys(env: Env, public_keys: PublicKeys) -> None:
    await env.admin.load_scenario(spec_example(public_keys))
    entry = env.registry.account("alice")
    assert entry.keys == ["aliceHmac", "aliceEd", "aliceRsa"]
    assert [env.registry.keys[k].kind for k in entry.keys] == ["hmac", "ed25519", "rsa"]
    credential = env.registry.keys["aliceHmac"].credential
    params = {"apiKey": "aliceHmac", "timestamp": 1}
    assert credential.verify(params, hmac_signature(HMAC_SECRET, canonical_payload(params)))
    assert not credential.verify(params, hmac_signature("other", canonical_payload(params)))


@pytest.mark.asyncio
async def test_the_spec_example_is_durable(env: Env, public_keys: PublicKeys) -> None:
    await env.admin.load_scenario(spec_example(public_keys))
    snapshot, registry = await restarted(env.path)
    assert snapshot.accounts == (AccountRecord(1, "alice", NOW),)
    assert [(k.api_key, k.kind, k.secret, k.public_key) for k in snapshot.keys] == [
        ("aliceHmac", "hmac", HMAC_SECRET, None),
        ("aliceEd", "ed25519", None, public_keys.ed25519),
        ("aliceRsa", "rsa", None, public_keys.rsa),
    ]
    assert registry.account("alice").account == env.registry.account("alice").account
    assert registry.account("alice").version == env.registry.account("alice").version == 6
    assert registry.marks == env.registry.marks == {"BTCUSDT": D("21123.05052574")}


@pytest.mark.asyncio
async def test_the_spec_example_equals_its_events_applied_by_the_engine(
    env: Env, public_keys: PublicKeys
) -> None:
    await env.admin.load_scenario(spec_example(public_keys))
    events: list[Event] = [
        SetPositionMode(PositionMode.HEDGE, NOW),
        SetMarginType("BTCUSDT", MarginType.ISOLATED, NOW),
        SetLeverage("BTCUSDT", 10, NOW),
        WalletTransfer("USDT", D("10000"), NOW),
        Fill(
            "BTCUSDT",
            Side.BUY,
            D("0.001"),
            D("22185.2"),
            PositionSide.LONG,
            D("0.0088"),
            1655217461579,
        ),
        IsolatedMarginTransfer("BTCUSDT", D("5"), PositionSide.LONG, NOW),
    ]
    account = Account()
    for event in events:
        account = apply(account, event, MARKET).account
    assert env.registry.account("alice").account == account
    risk = AccountRisk(account, MARKET, {"BTCUSDT": D("21123.05052574")})
    expected_row = position_row_v2(risk.position("BTCUSDT", PositionSide.LONG))
    assert env.admin.describe("alice")["positions"] == [expected_row]


# -- order and defaults ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_loading_order_is_settings_deposits_fills_then_transfers(env: Env) -> None:
    # Written in the reverse order: a transfer before its fill or a fill before its
    # deposit would be refused, so only the documented order loads.
    doc = {
        "accounts": [
            {
                "isolatedMarginTransfers": [{"symbol": "BTCUSDT", "amount": "1"}],
                "fills": [
                    {
                        "symbol": "BTCUSDT",
                        "side": "BUY",
                        "qty": "0.002",
                        "price": "20000",
                        "time": 2000,
                    },
                    {
                        "symbol": "BTCUSDT",
                        "side": "SELL",
                        "qty": "0.001",
                        "price": "21000",
                        "time": 1000,
                    },
                ],
                "deposits": {"USDT": "100"},
                "symbols": {"BTCUSDT": {"marginType": "isolated", "leverage": 5}},
                "name": "alice",
            }
        ]
    }
    await env.admin.load_scenario(doc)
    snapshot = await env.store.load()
    kinds = [type(record.event).__name__ for record in snapshot.ledger]
    assert set(kinds[:2]) == {"SetMarginType", "SetLeverage"}
    assert kinds[2:] == ["WalletTransfer", "Fill", "Fill", "IsolatedMarginTransfer"]
    # Fills keep the file's order; their times stamp them, they do not reorder them.
    assert [r.time for r in snapshot.ledger if isinstance(r.event, Fill)] == [2000, 1000]
    position = env.registry.account("alice").account.positions[("BTCUSDT", PositionSide.BOTH)]
    assert position.amount == D("0.001")
    assert position.entry_price == D("20000")
    assert position.realized_pnl == D("1")  # 0.001 × (21000 − 20000)
    # 0.002 × 20000 / 5 = 8 put in, half returned on the half close (+1 PnL), 1 added.
    assert position.isolated_wallet == D("5.5")


@pytest.mark.asyncio
async def test_position_mode_comes_before_the_fills(env: Env) -> None:
    doc = {
        "accounts": [
            {
                "name": "alice",
                "fills": [
                    {
                        "symbol": "BTCUSDT",
                        "side": "SELL",
                        "positionSide": "SHORT",
                        "qty": "0.001",
                        "price": "20000",
                    }
                ],
                "deposits": {"USDT": "100"},
                "positionMode": "hedge",
            }
        ]
    }
    await env.admin.load_scenario(doc)
    account = env.registry.account("alice").account
    assert account.positions[("BTCUSDT", PositionSide.SHORT)].amount == D("-0.001")


@pytest.mark.asyncio
async def test_defaults_oneway_both_no_fee_and_the_load_time(env: Env) -> None:
    env.clock.now = NOW + 12_345
    doc = {
        "accounts": [
            {
                "name": "carol",
                "deposits": {"USDT": "100"},
                "fills": [{"symbol": "BTCUSDT", "side": "BUY", "qty": "0.001", "price": "20000"}],
            }
        ]
    }
    await env.admin.load_scenario(doc)
    account = env.registry.account("carol").account
    assert account.position_mode is PositionMode.ONE_WAY
    assert account.settings == {}
    assert account.balances == {"USDT": D("100")}  # no fee
    position = account.positions[("BTCUSDT", PositionSide.BOTH)]
    assert (position.amount, position.open_fees, position.update_time) == (
        D("0.001"),
        D(0),
        NOW + 12_345,
    )
    snapshot = await env.store.load()
    assert snapshot.accounts == (AccountRecord(1, "carol", NOW + 12_345),)
    assert [r.time for r in snapshot.ledger] == [NOW + 12_345, NOW + 12_345]
    assert env.admin.describe("carol")["positions"][0]["updateTime"] == NOW + 12_345


@pytest.mark.asyncio
async def test_a_oneway_position_mode_is_the_default_and_writes_no_event(env: Env) -> None:
    await env.admin.load_scenario({"accounts": [{"name": "dave", "positionMode": "oneway"}]})
    assert (await env.store.load()).ledger == ()
    assert env.registry.account("dave").account == Account()


@pytest.mark.asyncio
async def test_an_empty_document_loads_nothing(env: Env) -> None:
    plan = await env.admin.load_scenario({})
    assert plan.accounts == []
    assert await env.store.has_accounts() is False


@pytest.mark.asyncio
async def test_scenario_marks_are_merged_with_existing_ones(env: Env) -> None:
    await env.admin.set_marks({"ETHUSDT": D("950")})
    await env.admin.load_scenario({"accounts": [], "marks": {"BTCUSDT": "21000.5"}})
    assert env.registry.marks == {"ETHUSDT": D("950"), "BTCUSDT": D("21000.5")}
    assert (await env.store.load()).marks == {"ETHUSDT": D("950"), "BTCUSDT": D("21000.5")}


@pytest.mark.asyncio
async def test_a_second_scenario_adds_accounts_next_to_the_first(
    env: Env, public_keys: PublicKeys
) -> None:
    await env.admin.load_scenario(spec_example(public_keys))
    await env.admin.load_scenario({"accounts": [{"name": "bob", "deposits": {"USDC": "7"}}]})
    assert list(env.registry.accounts) == ["alice", "bob"]
    _, registry = await restarted(env.path)
    assert registry.account("bob").account.balances == {"USDC": D("7")}


# -- refusals ---------------------------------------------------------------------------

GOOD_BOB: dict[str, Any] = {
    "name": "bob",
    "keys": [{"type": "hmac", "apiKey": "bobKey", "secret": "bob-fake-secret"}],
    "deposits": {"USDT": "100"},
    "fills": [{"symbol": "BTCUSDT", "side": "BUY", "qty": "0.001", "price": "20000"}],
}


def after_bob(alice: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A document whose first account is fine and whose second (alice) is not."""
    return {"accounts": [copy.deepcopy(GOOD_BOB), {"name": "alice", **alice}], **top}


def fill(**fields: Any) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "side": "BUY", "qty": "0.001", "price": "20000", **fields}


FUNDED = {"deposits": {"USDT": "100"}}

REFUSALS: list[tuple[str, Any, str]] = [
    (
        "unknown symbol in a fill",
        after_bob({**FUNDED, "fills": [fill(), fill(symbol="FOOUSDT")]}),
        "account 'alice', fills[1]: Invalid symbol. ('FOOUSDT' is not a symbol of this market)",
    ),
    (
        "unknown symbol in the settings",
        after_bob({"symbols": {"FOOUSDT": {"leverage": 5}}}),
        "account 'alice', symbols.FOOUSDT: Invalid symbol. "
        "('FOOUSDT' is not a symbol of this market)",
    ),
    (
        "unknown symbol in a transfer",
        after_bob({**FUNDED, "isolatedMarginTransfers": [{"symbol": "FOOUSDT", "amount": "1"}]}),
        "account 'alice', isolatedMarginTransfers[0]: Invalid symbol. "
        "('FOOUSDT' is not a symbol of this market)",
    ),
    (
        "a fill that breaks the one-way mode",
        after_bob({**FUNDED, "fills": [fill(), fill(positionSide="LONG")]}),
        "account 'alice', fills[1]: Order's position side does not match user's setting. "
        "(positionSide LONG in oneway mode)",
    ),
    (
        "a fill that breaks the hedge mode",
        after_bob({**FUNDED, "positionMode": "hedge", "fills": [fill()]}),
        "account 'alice', fills[0]: Order's position side does not match user's setting. "
        "(positionSide BOTH in hedge mode)",
    ),
    (
        "a fill without the margin Binance requires",
        after_bob({**FUNDED, "fills": [fill(qty="0.1", fee="1")]}),
        "account 'alice', fills[0]: Margin is insufficient. (opening 0.1 BTCUSDT at 20000 needs "
        "100.00000000 USDT initial margin at 20x + 1.00000000 fee; availableBalance is "
        "100.00000000)",
    ),
    (
        "a fill checked at entry prices, not at the scenario's marks",
        after_bob(
            {
                **FUNDED,
                "fills": [fill(qty="0.1"), fill(symbol="ETHUSDT", qty="0.01", price="1000")],
            },
            marks={"BTCUSDT": "30000"},
        ),
        "account 'alice', fills[1]: Margin is insufficient. (opening 0.01 ETHUSDT at 1000 needs "
        "0.50000000 USDT initial margin at 20x + 0.00000000 fee; availableBalance is 0.00000000)",
    ),
    (
        "a force that is not a boolean",
        after_bob({**FUNDED, "fills": [fill(force="yes")]}),
        "account 'alice', fills[0]: Data sent for parameter 'force' is not valid. (expected true "
        "or false, got 'yes')",
    ),
    (
        "a deposit over the cap on every amount",
        after_bob({"deposits": {"USDT": "1000000000000000"}}),
        "account 'alice', deposits.USDT: Data sent for parameter 'amount' is not valid. "
        "(1000000000000000 is not below 1000000000000000)",
    ),
    (
        "an apiKey used twice in the document",
        after_bob({"keys": [{"type": "hmac", "apiKey": "bobKey", "secret": "x"}]}),
        "account 'alice', keys[0]: duplicate apiKey 'bobKey'",
    ),
    (
        "an apiKey used twice by one account",
        after_bob(
            {
                "keys": [
                    {"type": "hmac", "apiKey": "k1", "secret": "x"},
                    {"type": "hmac", "apiKey": "k1", "secret": "y"},
                ]
            }
        ),
        "account 'alice', keys[1]: duplicate apiKey 'k1'",
    ),
    (
        "an account defined twice",
        {"accounts": [copy.deepcopy(GOOD_BOB), {"name": "bob"}]},
        "accounts[1]: account 'bob' is defined twice or already exists",
    ),
    (
        "an exponent in a price",
        after_bob({**FUNDED, "fills": [fill(price="1e5")]}),
        "account 'alice', fills[0]: Data sent for parameter 'price' is not valid. "
        "('1e5' is not a plain decimal like '12.5')",
    ),
    (
        "a float quantity",
        after_bob({**FUNDED, "fills": [fill(qty=1.5)]}),
        "account 'alice', fills[0]: Data sent for parameter 'qty' is not valid. "
        '(1.5 is a float; write it as a string, e.g. "1.5")',
    ),
    (
        "a float transfer amount",
        after_bob({**FUNDED, "isolatedMarginTransfers": [{"symbol": "BTCUSDT", "amount": 1.5}]}),
        "account 'alice', isolatedMarginTransfers[0]: Data sent for parameter 'amount' is not "
        'valid. (1.5 is a float; write it as a string, e.g. "1.5")',
    ),
    (
        "an unknown account field",
        after_bob({"balance": "1"}),
        "accounts[1]: Data sent for parameter 'balance' is not valid. (accounts[1]: unknown "
        "field 'balance' (expected ['commission', 'deposits', 'fills', "
        "'isolatedMarginTransfers', 'keys', 'name', 'orders', 'positionMode', 'symbols']))",
    ),
    (
        "an unknown fill field",
        after_bob({**FUNDED, "fills": [fill(reduceOnly=True)]}),
        "account 'alice', fills[0]: Data sent for parameter 'reduceOnly' is not valid. (fill: "
        "unknown field 'reduceOnly' (expected ['fee', 'force', 'positionSide', 'price', 'qty', "
        "'side', 'symbol', 'time']))",
    ),
    (
        "an unknown key field",
        after_bob({"keys": [{"type": "hmac", "apiKey": "k1", "secret": "x", "label": "a"}]}),
        "account 'alice', keys[0]: Data sent for parameter 'label' is not valid. (keys[0]: "
        "unknown field 'label' (expected ['apiKey', 'publicKey', 'secret', 'type']))",
    ),
    (
        "an unknown top-level field",
        {"accounts": [copy.deepcopy(GOOD_BOB)], "mark": {"BTCUSDT": "1"}},
        "unknown top-level field 'mark' (expected accounts, marks, funding)",
    ),
    (
        "a missing name",
        {"accounts": [copy.deepcopy(GOOD_BOB), {"deposits": {"USDT": "1"}}]},
        "accounts[1]: Data sent for parameter 'name' is not valid. (accounts[1]: 'name' is "
        "required)",
    ),
    (
        "a bad name",
        {"accounts": [{"name": "a b"}]},
        "accounts[0]: Data sent for parameter 'name' is not valid. (account names are 1-64 "
        "letters, digits, '_', '.', '-', got 'a b')",
    ),
    (
        "an HMAC key without its secret",
        after_bob({"keys": [{"type": "hmac", "apiKey": "k1"}]}),
        "account 'alice', keys[0]: an HMAC key needs its 'secret'",
    ),
    (
        "an Ed25519 key without its public key",
        after_bob({"keys": [{"type": "ed25519", "apiKey": "k1"}]}),
        "account 'alice', keys[0]: an ed25519 key needs its 'publicKey'",
    ),
    (
        "an RSA key without its public key",
        after_bob({"keys": [{"type": "rsa", "apiKey": "k1"}]}),
        "account 'alice', keys[0]: an rsa key needs its 'publicKey'",
    ),
    (
        "a key without an apiKey",
        after_bob({"keys": [{"type": "hmac", "secret": "x"}]}),
        "account 'alice', keys[0]: Data sent for parameter 'apiKey' is not valid. (keys[0]: "
        "'apiKey' is required)",
    ),
    (
        "a malformed apiKey",
        after_bob({"keys": [{"type": "hmac", "apiKey": "k-1", "secret": "x"}]}),
        "account 'alice', keys[0]: Data sent for parameter 'apiKey' is not valid. (API keys "
        "are 1-128 letters and digits)",
    ),
    (
        "a key of an unknown type",
        after_bob({"keys": [{"type": "dsa", "apiKey": "k1", "publicKey": "x"}]}),
        "account 'alice', keys[0]: Data sent for parameter 'type' is not valid. (key type must "
        "be one of hmac, ed25519, rsa, got 'dsa')",
    ),
    (
        "a leverage the symbol does not allow",
        after_bob({"symbols": {"BTCUSDT": {"leverage": 200}}}),
        "account 'alice', symbols.BTCUSDT: Leverage 200 is not valid (BTCUSDT allows leverage "
        "1 to 125)",
    ),
    (
        "a transfer into a cross position",
        after_bob(
            {
                **FUNDED,
                "fills": [fill()],
                "isolatedMarginTransfers": [{"symbol": "BTCUSDT", "amount": "1"}],
            }
        ),
        "account 'alice', isolatedMarginTransfers[0]: Add margin only support for isolated "
        "position. (BTCUSDT is cross margined)",
    ),
    (
        "a fill time that is not milliseconds",
        after_bob({**FUNDED, "fills": [fill(time="1655217461579")]}),
        "account 'alice', fills[0]: Data sent for parameter 'time' is not valid. (time must be "
        "milliseconds since the epoch, got '1655217461579')",
    ),
    (
        "fills that are not a list",
        after_bob({"fills": fill()}),
        "account 'alice', fills: 'fills' must be a list",
    ),
    (
        "a negative deposit",
        after_bob({"deposits": {"USDT": "-5"}}),
        "account 'alice', deposits.USDT: Cross balance insufficient. (withdrawing 5 USDT, the "
        "cross wallet has 0)",
    ),
    (
        "a mark of an unknown symbol",
        {"accounts": [copy.deepcopy(GOOD_BOB)], "marks": {"FOOUSDT": "1"}},
        "marks: Invalid symbol. ('FOOUSDT' is not a symbol of this market)",
    ),
    (
        "a negative mark",
        {"accounts": [copy.deepcopy(GOOD_BOB)], "marks": {"BTCUSDT": "-1"}},
        "marks: Data sent for parameter 'marks.BTCUSDT' is not valid. (a mark price must be "
        "positive, got -1)",
    ),
    (
        "a float mark",
        {"accounts": [copy.deepcopy(GOOD_BOB)], "marks": {"BTCUSDT": 21000.5}},
        "marks: Data sent for parameter 'marks.BTCUSDT' is not valid. (21000.5 is a float; "
        'write it as a string, e.g. "21000.5")',
    ),
    (
        "marks that are not an object",
        {"accounts": [copy.deepcopy(GOOD_BOB)], "marks": ["BTCUSDT"]},
        "marks: Data sent for parameter 'marks' is not valid. (marks must map at least one "
        "symbol to a price)",
    ),
    (
        "a document that is not an object",
        [copy.deepcopy(GOOD_BOB)],
        "a scenario is a JSON object with 'accounts' and optional 'marks' and 'funding'",
    ),
    (
        "accounts that are not a list",
        {"accounts": copy.deepcopy(GOOD_BOB)},
        "'accounts' must be a list",
    ),
    (
        "an account that is not an object",
        {"accounts": [copy.deepcopy(GOOD_BOB), "alice"]},
        "accounts[1]: Data sent for parameter 'accounts[1]' is not valid. (accounts[1] must be "
        "a JSON object, got str)",
    ),
]


# An engine refusal keeps its Binance code; posrisk's own scenario checks use -1130.
ENGINE_CODES = {
    "Invalid symbol.": -1121,
    "Margin is insufficient.": -2019,
    "Order's position side does not match user's setting.": -4061,
    "is not valid (": -4028,
    "Add margin only support for isolated position.": -4049,
    "Cross balance insufficient.": -4050,
}


def expected_code(message: str) -> int:
    return next((code for text, code in ENGINE_CODES.items() if text in message), -1130)


async def assert_nothing_written(env: Env) -> None:
    assert await env.store.load() == Snapshot((), (), (), {}, {})
    assert env.registry.accounts == {}
    assert env.registry.keys == {}
    assert env.registry.marks == {}


@pytest.mark.asyncio
@pytest.mark.parametrize(("case", "document", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_an_invalid_scenario_is_refused_and_nothing_is_written(
    env: Env, case: str, document: Any, message: str
) -> None:
    with pytest.raises(ScenarioError) as refused:
        await env.admin.load_scenario(document)
    assert str(refused.value) == message
    assert refused.value.msg == message
    assert (refused.value.code, refused.value.status) == (expected_code(message), 400)
    assert isinstance(refused.value, ServiceError)
    await assert_nothing_written(env)


@pytest.mark.asyncio
async def test_a_forced_fill_loads_as_given(env: Env) -> None:
    """``"force": true`` imports a fill Binance would have refused for margin."""
    document = {
        "accounts": [{"name": "alice", **FUNDED, "fills": [fill(fee="500", force=True)]}],
    }
    await env.admin.load_scenario(document)
    account = env.registry.account("alice").account
    assert account.wallet_balance("USDT") == D("-400")
    assert account.position("BTCUSDT", PositionSide.BOTH).amount == D("0.001")


@pytest.mark.asyncio
async def test_an_apikey_that_already_exists_is_refused(env: Env) -> None:
    await env.admin.create_account("zed")
    await env.admin.create_key("zed", "hmac", api_key="bobKey", secret="zed-fake-secret")
    before = await env.store.load()
    with pytest.raises(ScenarioError) as refused:
        await env.admin.load_scenario({"accounts": [copy.deepcopy(GOOD_BOB)]})
    assert str(refused.value) == "account 'bob', keys[0]: duplicate apiKey 'bobKey'"
    assert await env.store.load() == before
    assert list(env.registry.accounts) == ["zed"]


@pytest.mark.asyncio
async def test_an_account_that_already_exists_is_refused(env: Env) -> None:
    await env.admin.create_account("bob")
    before = await env.store.load()
    with pytest.raises(ScenarioError) as refused:
        await env.admin.load_scenario({"accounts": [copy.deepcopy(GOOD_BOB)]})
    assert str(refused.value) == "accounts[0]: account 'bob' is defined twice or already exists"
    assert await env.store.load() == before
    assert env.registry.account("bob").account == Account()


def test_plan_scenario_writes_nothing_and_is_checked_completely() -> None:
    plan = plan_scenario({"accounts": [copy.deepcopy(GOOD_BOB)]}, MARKET, now=NOW)
    (bob,) = plan.accounts
    assert [type(change).__name__ for change in plan.changes()] == [
        "NewAccount",
        "NewKey",
        "AppendEvent",
        "AppendEvent",
    ]
    assert bob.account.positions[("BTCUSDT", PositionSide.BOTH)].amount == D("0.001")


# -- known weaknesses ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_malformed_deposit_names_its_entry(env: Env) -> None:
    with pytest.raises(ScenarioError) as refused:
        await env.admin.load_scenario(
            {"accounts": [{"name": "alice", "deposits": {"USDT": "1e5"}}]}
        )
    assert str(refused.value) == (
        "account 'alice', deposits.USDT: Data sent for parameter 'amount' is not valid. "
        "('1e5' is not a plain decimal like '12.5')"
    )


@pytest.mark.asyncio
async def test_a_malformed_leverage_names_its_symbol(env: Env) -> None:
    doc = {"accounts": [{"name": "alice", "symbols": {"BTCUSDT": {"leverage": "ten"}}}]}
    with pytest.raises(ScenarioError) as refused:
        await env.admin.load_scenario(doc)
    assert str(refused.value).startswith("account 'alice', symbols.BTCUSDT: ")


@pytest.mark.asyncio
async def test_stating_the_default_margin_type_loads(env: Env) -> None:
    doc = {"accounts": [{"name": "alice", "symbols": {"BTCUSDT": {"marginType": "cross"}}}]}
    await env.admin.load_scenario(doc)
    assert env.registry.account("alice").account.settings_for(MARKET["BTCUSDT"]).margin_type is (
        MarginType.CROSS
    )


# -- files ------------------------------------------------------------------------------


def test_read_a_json_scenario_file(tmp_path: Path, public_keys: PublicKeys) -> None:
    path = tmp_path / "alice.json"
    path.write_text(json.dumps(spec_example(public_keys)))
    assert read_scenario_file(path) == spec_example(public_keys)


def test_a_file_that_is_not_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"accounts": [')
    with pytest.raises(ScenarioError) as refused:
        read_scenario_file(path)
    assert str(refused.value).startswith(f"{path}: not JSON (")


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(ScenarioError) as refused:
        read_scenario_file(path)
    assert str(refused.value) == f"cannot read scenario {path}: No such file or directory"


def test_a_directory_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as refused:
        read_scenario_file(tmp_path)
    assert str(refused.value) == f"cannot read scenario {tmp_path}: Is a directory"


def test_read_a_yaml_scenario_file(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "alice.yaml"
    path.write_text(
        "accounts:\n"
        "  - name: alice\n"
        "    deposits: {USDT: '100'}\n"
        "    symbols: {BTCUSDT: {leverage: 10}}\n"
        "marks: {BTCUSDT: '21000.5'}\n"
    )
    assert read_scenario_file(path) == {
        "accounts": [
            {"name": "alice", "deposits": {"USDT": "100"}, "symbols": {"BTCUSDT": {"leverage": 10}}}
        ],
        "marks": {"BTCUSDT": "21000.5"},
    }


def test_a_yaml_file_without_pyyaml_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    path = tmp_path / "alice.yml"
    path.write_text("accounts: []\n")
    with pytest.raises(ScenarioError) as refused:
        read_scenario_file(path)
    assert str(refused.value) == f"{path}: YAML scenarios need PyYAML (pip install pyyaml)"
