"""``GET /fapi/v1/income`` paging is bounded: no read goes deeper into the index than
``MAX_DEPTH`` rows whatever ``page`` says (the store's reads are counted, not timed); a
page past the bound answers ``[]`` when the window ends before it, else -1130 for
``page``; and an account's income is never reachable with another account's key."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posrisk.engine.income import IncomeEntry, IncomeType
from posrisk.service import income_routes
from posrisk.service.rest import RestService
from posrisk.store import AddIncome, IncomeQuery

from .conftest import Services
from .test_account_routes import call, refusal
from .test_account_routes import rest as rest  # the fixture
from .test_orders import body

pytestmark = pytest.mark.asyncio

INCOME = ("GET", "/fapi/v1/income")
NOW = 1_700_000_000_000


async def _add(services: Services, account: str, count: int, seq_from: int) -> None:
    entry = IncomeEntry(0, IncomeType.FUNDING_FEE, Decimal("-0.1"), "USDT", "BTCUSDT")
    await services.store.commit(
        [AddIncome(account, seq_from + i, NOW - 1000 + i, (entry,)) for i in range(count)]
    )


class _Reads:
    """The offsets and limits the income route asks the store for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, services: Services) -> None:
        self.asked: list[IncomeQuery] = []
        store = services.store
        original = store.income

        async def counted(account: str, query: IncomeQuery) -> Any:
            self.asked.append(query)
            return await original(account, query)

        monkeypatch.setattr(store, "income", counted)


async def test_page_a_billion_reads_no_deeper_than_the_bound(
    rest: RestService, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _add(services, "alice", 5, 10_000)
    reads = _Reads(monkeypatch, services)
    for page in ("1000000000", "9223372036854775"):
        response = await call(rest, services, INCOME, "alice", {"page": page, "limit": "1000"})
        assert (response.status, body(response)) == (200, [])
    assert reads.asked and all(
        q.offset + q.limit <= income_routes.MAX_DEPTH + 1 for q in reads.asked
    )


async def test_past_the_bound_empty_or_refused(
    rest: RestService, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(income_routes, "MAX_DEPTH", 3)
    await _add(services, "dana", 3, 20_000)
    reads = _Reads(monkeypatch, services)
    # dana has 3 rows in the window: page 3 of 2 starts past them, and past the bound: empty.
    response = await call(rest, services, INCOME, "dana", {"page": "3", "limit": "2"})
    assert (response.status, body(response)) == (200, [])
    assert reads.asked == [replace(reads.asked[0], limit=1, offset=3)]
    await _add(services, "dana", 3, 30_000)  # 6 rows: the page holds some, but too deep
    response = await call(rest, services, INCOME, "dana", {"page": "3", "limit": "2"})
    assert refusal(response) == (
        400,
        {"code": -1130, "msg": "Data sent for parameter 'page' is not valid."},
    )
    # Within the bound, paging is as before.
    response = await call(rest, services, INCOME, "dana", {"page": "2", "limit": "2"})
    assert len(body(response)) == 2


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"symbol": "BTCUSDT"},
        {"incomeType": "FUNDING_FEE"},
        {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE"},
        {"startTime": "0", "endTime": "9223372036854775807", "limit": "1000"},
        {"startTime": "0"},
        {"endTime": str(NOW + 1000), "page": "1"},
    ],
)
async def test_another_accounts_income_is_unreachable(
    rest: RestService, services: Services, params: dict[str, str]
) -> None:
    await _add(services, "alice", 4, 40_000)
    alice = body(await call(rest, services, INCOME, "alice", params))
    assert len(alice) >= 4
    for other in ("bob", "carol", "dana"):
        theirs = body(await call(rest, services, INCOME, other, params))
        assert not {r["tranId"] for r in theirs} & {r["tranId"] for r in alice}


income_values = st.sampled_from(
    [
        "", "0", "1", "-1", "1.5", "1e3", "１０", "99999999999999999999", str(2**63 - 1),
        str(2**63), "1000", "1001", "1000000000", "BTCUSDT", "NOPEUSDT", "btcusdt",
        "FUNDING_FEE", "funding_fee", "TRANSFER", "DELIVERED_SETTELMENT", "%00", "€",
    ]
) | st.integers(-(2**66), 2**66).map(str)  # fmt: skip
# A fresh IP each example (weight 30 each).
_IPS = (f"10.77.{i // 250 % 250}.{i % 250}" for i in itertools.count(1))
income_names = st.sampled_from(
    ["symbol", "incomeType", "startTime", "endTime", "page", "limit", "Page", "LIMIT"]
)


@settings(
    deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.dictionaries(income_names, income_values, max_size=5))
async def test_hostile_income_params_get_rows_or_binances_refusal(
    rest: RestService, services: Services, params: dict[str, str]
) -> None:
    response = await call(rest, services, INCOME, "alice", params, ip=next(_IPS))
    if response.status == 200:
        assert isinstance(body(response), list)
    else:
        status, refused = refusal(response)
        assert status == 400
        assert refused["code"] in {-1000, -1100, -1101, -1102, -1121, -1130}, refused
