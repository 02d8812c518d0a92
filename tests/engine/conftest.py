from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, localcontext

import pytest

from posrisk.engine import Account, Event, Market, apply
from posrisk.engine.numbers import CONTEXT


@pytest.fixture(scope="session")
def market() -> Market:
    return Market.default()


def run(events: list[Event], market: Market, account: Account | None = None) -> Account:
    """The account after applying ``events`` in order (each must be accepted)."""
    account = account or Account()
    for event in events:
        account = apply(account, event, market).account
    return account


def D(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture(autouse=True)
def engine_precision() -> Iterator[None]:
    """Expected values in tests are computed at the engine's precision (40 digits)."""
    with localcontext(CONTEXT):
        yield
