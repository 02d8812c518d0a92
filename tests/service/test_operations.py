"""The administration operations as JSON in, JSON out, on an admin service in memory: what
the admin API serves and the CLI runs, parsed with the scenario file's field names."""

from __future__ import annotations

from typing import Any

import pytest

from posrisk.bus.confirmation import Confirmation
from posrisk.engine import InvalidValue
from posrisk.service.operations import AdminOperations, as_body

from .conftest import HEDGE_KEY, HMAC_KEY, Services

pytestmark = pytest.mark.asyncio


def position(described: dict[str, Any], symbol: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in described["positions"] if p["symbol"] == symbol]
    [row] = found
    return row


async def test_marks_are_read_and_set_as_exact_text(services: Services) -> None:
    ops = AdminOperations(services.admin)
    assert await ops.marks() == {"BTCUSDT": "21123.05052574", "ETHUSDT": "950"}
    assert await ops.set_marks({"BTCUSDT": "22000.10"}) == {
        "BTCUSDT": "22000.10",
        "ETHUSDT": "950",
    }
    with pytest.raises(InvalidValue) as bad:
        await ops.set_marks({"BTCUSDT": "0"})
    assert bad.value.field == "marks.BTCUSDT"


async def test_an_account_is_created_funded_set_up_and_filled(services: Services) -> None:
    ops = AdminOperations(services.admin)
    created = await ops.create_account({"name": "carol", "positionMode": "hedge"})
    assert (created["name"], created["positionMode"], created["positions"]) == (
        "carol",
        "hedge",
        [],
    )
    funded = await ops.wallet("carol", {"amount": "500"})
    assert [(b["asset"], b["walletBalance"]) for b in funded["balances"]] == [
        ("USDT", "500.00000000")
    ]
    await ops.settings("carol", {"symbols": {"BTCUSDT": {"leverage": 10}}})
    filled = await ops.fill(
        "carol",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "positionSide": "LONG",
            "qty": "0.01",
            "price": "20000",
        },
    )
    row = position(filled, "BTCUSDT")
    assert (row["positionSide"], row["positionAmt"], row["initialMargin"]) == (
        "LONG",
        "0.010",
        "21.12305052",  # 0.01 × 21123.05052574 / 10
    )
    assert [a["name"] for a in await ops.list_accounts()] == ["alice", "bob", "carol"]
    assert (await ops.describe("carol"))["positions"] == filled["positions"]


async def test_bodies_with_unknown_fields_are_refused(services: Services) -> None:
    ops = AdminOperations(services.admin)
    with pytest.raises(InvalidValue) as unknown:
        await ops.create_account({"name": "dave", "colour": "blue"})
    assert unknown.value.field == "colour"
    with pytest.raises(InvalidValue) as missing:
        await ops.wallet("alice", {"asset": "USDT"})
    assert missing.value.field == "amount"
    with pytest.raises(InvalidValue) as kind:
        await ops.create_key("alice", {"type": 7})
    assert kind.value.field == "type"
    assert "dave" not in services.registry.accounts


async def test_isolated_margin_moves_the_isolated_wallet(services: Services) -> None:
    ops = AdminOperations(services.admin)
    before = position(await ops.describe("alice"), "ETHUSDT")["isolatedWallet"]
    after = await ops.isolated_margin("alice", {"symbol": "ETHUSDT", "amount": "10"})
    assert (before, position(after, "ETHUSDT")["isolatedWallet"]) == (
        "100.00000000",  # 1.000 × 1000 / 10x, no fee
        "110.00000000",
    )


async def test_a_key_is_created_then_revoked(services: Services) -> None:
    ops = AdminOperations(services.admin)
    created = await ops.create_key("alice", {"type": "hmac", "apiKey": "aliceSecondKey01"})
    assert (created["apiKey"], created["account"], created["type"]) == (
        "aliceSecondKey01",
        "alice",
        "hmac",
    )
    assert len(created["secret"]) >= 32
    assert await ops.revoke_key("alice", "aliceSecondKey01") == {
        "apiKey": "aliceSecondKey01",
        "revoked": True,
    }
    keys = {k["apiKey"]: k["revoked"] for k in (await ops.describe("alice"))["keys"]}
    assert keys["aliceSecondKey01"] is True and keys[HMAC_KEY] is False


class Witnesses:
    """Other gateways that confirm each revocation, noting what they were asked."""

    def __init__(self, answer: Confirmation | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, int]] = []

    async def confirm_revoked(self, api_key: str, revision: int) -> Confirmation | None:
        self.asked.append((api_key, revision))
        return self.answer


async def test_a_revocation_waits_for_the_other_gateways(services: Services) -> None:
    witnesses = Witnesses(Confirmation(1, ("host-b:42",), "host-b did not answer"))
    ops = AdminOperations(services.admin, witnesses)
    answer = await ops.revoke_key("bob", HEDGE_KEY)
    assert answer == {
        "apiKey": HEDGE_KEY,
        "revoked": True,
        "gateways": {"confirmed": 1, "unconfirmed": ["host-b:42"]},
        "note": "host-b did not answer",
    }
    assert witnesses.asked == [(HEDGE_KEY, services.registry.revision)]
    alone = AdminOperations(services.admin, Witnesses(None))
    assert await alone.revoke_key("bob", HEDGE_KEY) == {"apiKey": HEDGE_KEY, "revoked": True}


async def test_a_scenario_loads_its_accounts(services: Services) -> None:
    ops = AdminOperations(services.admin)
    loaded = await ops.load_scenario(
        {"accounts": [{"name": "erin", "deposits": {"USDT": "5"}}, {"name": "frank"}]}
    )
    assert loaded == {"accounts": ["erin", "frank"]}
    assert {"erin", "frank"} <= set(services.registry.accounts)


async def test_a_body_must_be_an_object() -> None:
    assert as_body({"a": 1}, "fill") == {"a": 1}
    with pytest.raises(InvalidValue) as refused:
        as_body([1], "fill")
    assert (refused.value.field, refused.value.detail) == ("fill", "fill must be a JSON object")


async def test_an_operator_fill_may_carry_a_fee_of_more_than_8_decimals(
    services: Services,
) -> None:
    """The fee a live fill paid, to every digit: the wallet pays it rounded half-even to 8
    decimals and break-even keeps it whole, as Binance does."""
    ops = AdminOperations(services.admin)
    await ops.create_account({"name": "erin"})
    await ops.wallet("erin", {"amount": "1000"})
    filled = await ops.fill(
        "erin",
        {"symbol": "BTCUSDT", "side": "BUY", "qty": "0.002", "price": "91739.9",
         "fee": "0.0917399"},
    )  # fmt: skip
    row = position(filled, "BTCUSDT")
    assert row["breakEvenPrice"] == "91785.76995"
    account = services.registry.account("erin").account
    assert str(account.wallet_balance("USDT")) == "999.90826010"
