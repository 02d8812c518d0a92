"""The served rows' cache: each (method, symbol) answer serialised once, rebuilt when the
account or the marks move, and always the engine's rows at the current state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from posrisk.engine import (
    AccountRisk,
    Fill,
    PositionSide,
    Side,
    account_position_rows,
    account_rows,
)
from posrisk.service.views import position_rows

from .conftest import Services

pytestmark = pytest.mark.asyncio


def decoded(fragment: orjson.Fragment) -> Any:
    return orjson.loads(orjson.dumps(fragment))


def engine_rows(services: Services, name: str, v2: bool, symbol: str | None) -> Any:
    registry = services.registry
    entry = registry.account(name)
    risk = AccountRisk(entry.account, registry.market, registry.marks)
    return orjson.loads(orjson.dumps(account_rows(risk, v2=v2, symbol=symbol)))


async def test_each_answer_is_the_engines_rows(services: Services) -> None:
    registry = services.registry
    for name in ("alice", "bob"):
        entry = registry.account(name)
        for v2 in (False, True):
            for symbol in (None, "BTCUSDT", "ETHUSDT", "SOLUSDT"):
                served = decoded(position_rows(registry, entry, v2, symbol))
                assert served == engine_rows(services, name, v2, symbol), (name, v2, symbol)
    bob = registry.account("bob")
    rows = decoded(position_rows(registry, bob, False, "BTCUSDT"))
    assert rows == orjson.loads(
        orjson.dumps(account_position_rows(bob.account, registry.market, registry.marks, "BTCUSDT"))
    )
    assert [r["positionSide"] for r in rows] == ["LONG", "SHORT"]


async def test_an_answer_is_serialised_once_while_nothing_moves(services: Services) -> None:
    registry = services.registry
    entry = registry.account("alice")
    first = position_rows(registry, entry, True, None)
    assert position_rows(registry, entry, True, None) is first
    assert position_rows(registry, entry, True, "BTCUSDT") is not first
    assert set(entry.rows) == {(True, None), (True, "BTCUSDT")}
    risk = entry.risk
    position_rows(registry, entry, False, None)
    assert entry.risk is risk  # one marking serves every answer of this state


async def test_new_marks_rebuild_the_rows(services: Services) -> None:
    registry = services.registry
    entry = registry.account("alice")
    before = position_rows(registry, entry, True, "BTCUSDT")
    await services.admin.set_marks({"BTCUSDT": Decimal("22000")})
    after = position_rows(registry, entry, True, "BTCUSDT")
    assert after is not before
    [row] = decoded(after)
    assert (row["markPrice"], row["unRealizedProfit"]) == ("22000.00000000", "20.00000000")
    assert set(entry.rows) == {(True, "BTCUSDT")}  # the old answers are gone


async def test_a_change_to_the_account_rebuilds_its_rows(services: Services) -> None:
    registry = services.registry
    entry = registry.account("alice")
    before = decoded(position_rows(registry, entry, True, "BTCUSDT"))
    fill = Fill("BTCUSDT", Side.BUY, Decimal("0.010"), Decimal("21000"), PositionSide.BOTH)
    await services.admin.fill("alice", fill)
    entry = registry.account("alice")
    [row] = decoded(position_rows(registry, entry, True, "BTCUSDT"))
    assert before != [row]
    assert (row["positionAmt"], row["entryPrice"]) == ("0.020", "20500.0")
