"""Hostile bodies to the admin API's funding and clock operations (aiohttp client).

What is thrown (Hypothesis): ``PUT /admin/v1/funding`` bodies of the right shape with
hostile values (rates, caps and floors as any number, string, unicode, huge integer;
intervals of any kind; symbols unlisted, lower case, empty; unknown fields), arbitrary
JSON, and a body setting every listed symbol at once; ``POST /admin/v1/clock`` with
``advanceMs`` of every type and magnitude (negative, past a year, 2**63, floats, booleans,
strings) and extra fields; ``GET``s of both with and without the token.

What must hold: every answer is JSON, a 2xx or a 4xx ``{"code","msg"}`` — never a 500;
a refused funding body changes no setting (compared through ``GET /admin/v1/funding``);
the clock only moves when the answer says it did, by what was asked; and what was
accepted is durable (a fresh server on the same database serves the same settings).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posrisk.app import PosriskServer
from posrisk.engine import Market

from ..service.conftest import Keys
from .test_admin_api import (
    TOKEN,
    Request,
    check_answer,
    hostile_number,
    json_value,
    send,
    start,
    unicode_text,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

HYPOTHESIS = settings(
    deadline=None,
    max_examples=120,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
symbol = st.sampled_from(["BTCUSDT", "ETHUSDT", "SOLUSDT", "btcusdt", "NOPEUSDT", "", "€"])
rate_text = st.sampled_from(
    ["0.0001", "-0.0003", "0.01", "1", "-1", "1.00000001", "0.000000001", "0", "-0"]
)
funding_fields = st.fixed_dictionaries(
    {},
    optional={
        "rate": rate_text | hostile_number,
        "intervalHours": st.sampled_from([1, 2, 4, 8, 3, 0, -8, 24, "8", 8.0, True, None]),
        "cap": st.sampled_from(["0.02", "0.03", "1", "2"]) | hostile_number,
        "floor": st.sampled_from(["-0.02", "-0.03", "-1", "-2"]) | hostile_number,
        "extra": json_value,
    },
)
funding_body = st.one_of(
    st.dictionaries(symbol, funding_fields, max_size=3),
    st.dictionaries(symbol, funding_fields, max_size=3),
    json_value,
    st.dictionaries(symbol, json_value, max_size=2),
)
advance = st.one_of(
    st.integers(-5, 10**6),
    st.sampled_from([366 * 86_400_000, 366 * 86_400_000 + 1, 2**63, 2**64, -(2**63), 10**30]),
    st.floats(),
    st.booleans(),
    st.none(),
    unicode_text,
    st.sampled_from(["1000", "8h", "1e3", "", "１"]),
    st.lists(st.integers(0, 5), max_size=2),
)
clock_body = st.one_of(
    st.fixed_dictionaries({"advanceMs": advance}),
    st.fixed_dictionaries({"advanceMs": advance, "extra": json_value}),
    json_value,
)


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await start(tmp_path, keys)
    yield running
    await running.stop()


async def _funding(session: aiohttp.ClientSession, server: PosriskServer) -> Any:
    status, body = await send(session, server, Request("GET", "/funding", None, None))
    assert status == 200
    return body


@HYPOTHESIS
@given(body=funding_body, raw=st.sampled_from([None, b"", b"{", b"\xff", b"[]", b"null"]))
async def test_hostile_funding_bodies(server: PosriskServer, body: Any, raw: bytes | None) -> None:
    async with aiohttp.ClientSession() as session:
        before = await _funding(session, server)
        sent = json.dumps(body).encode() if raw is None else raw
        request = Request("PUT", "/funding", sent, endpoint="funding")
        status, answer = await send(session, server, request)
        check_answer(request, status, answer)
        after = await _funding(session, server)
        if status >= 400:
            assert after == before, f"a refused body changed the settings: {request}"
        else:
            assert answer == after


async def test_every_symbol_at_once_and_durable(
    server: PosriskServer, tmp_path: Path, keys: Keys
) -> None:
    body = {s.name: {"rate": "-0.0005", "intervalHours": 4} for s in Market.default()}
    async with aiohttp.ClientSession() as session:
        request = Request("PUT", "/funding", json.dumps(body).encode(), endpoint="funding")
        status, answer = await send(session, server, request)
        check_answer(request, status, answer)
        assert status == 200
        served = await _funding(session, server)
    await server.stop()
    again = await start(tmp_path, keys, scenario=None)
    try:
        async with aiohttp.ClientSession() as session:
            assert await _funding(session, again) == served
    finally:
        await again.stop()


@HYPOTHESIS
@given(body=clock_body)
async def test_hostile_clock_bodies(server: PosriskServer, body: Any) -> None:
    async with aiohttp.ClientSession() as session:
        _, before = await send(session, server, Request("GET", "/clock", None, None))
        request = Request("POST", "/clock", json.dumps(body).encode(), endpoint="clock")
        status, answer = await send(session, server, request)
        check_answer(request, status, answer)
        _, after = await send(session, server, Request("GET", "/clock", None, None))
        if status >= 400:
            assert after["advancedMs"] == before["advancedMs"], request
        else:
            assert after["advancedMs"] == before["advancedMs"] + body["advanceMs"]


@pytest.mark.parametrize("path", ["/funding", "/clock"])
@pytest.mark.parametrize("authorization", [None, "Bearer nope", f"Basic {TOKEN}", ""])
async def test_without_the_token_nothing_is_read_or_moved(
    server: PosriskServer, path: str, authorization: str | None
) -> None:
    async with aiohttp.ClientSession() as session:
        for method, body in (("GET", None), ("PUT" if path == "/funding" else "POST", b"{}")):
            request = Request(method, path, body, authorization=authorization)
            status, answer = await send(session, server, request)
            check_answer(request, status, answer)
            assert (status, answer["code"]) == (401, -1002)
