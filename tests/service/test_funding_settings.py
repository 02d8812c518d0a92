"""Funding settings as an operator states them: the fields, what is accepted, the errors
naming the field, merging over the current setting, and the stored JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest

from posrisk.engine import EngineError, Market
from posrisk.engine.funding import SymbolFunding
from posrisk.service.funding_settings import (
    FundingSetting,
    decode_setting,
    parse_funding,
    setting_json,
)
from posrisk.service.scenario import ScenarioError, plan_scenario
from posrisk.store import SetMeta

D = Decimal
MARKET = Market.default()


def test_stated_fields_over_the_defaults_and_the_rate_time() -> None:
    parsed = parse_funding({"BTCUSDT": {"rate": "0.0003", "intervalHours": 4}}, MARKET, now=7)
    assert parsed == {
        "BTCUSDT": FundingSetting(SymbolFunding(rate=D("0.0003"), interval_hours=4), rate_time=7)
    }
    # No rate stated: the rate is not (re)stated, its time stays.
    again = parse_funding({"BTCUSDT": {"cap": "0.03"}}, MARKET, now=9, current=parsed)
    assert again["BTCUSDT"] == FundingSetting(
        SymbolFunding(rate=D("0.0003"), interval_hours=4, cap=D("0.03")), rate_time=7
    )
    # Integers and numeric strings for the interval; a rate beyond the cap is kept as given.
    wide = parse_funding({"ETHUSDT": {"rate": "0.05", "intervalHours": "1"}}, MARKET, now=1)
    assert wide["ETHUSDT"].funding.rate == D("0.05")
    assert wide["ETHUSDT"].funding.clamped_rate == D("0.02")
    assert wide["ETHUSDT"].funding.interval_hours == 1


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ({}, -1130, "funding must map at least one symbol"),
        ([], -1130, "funding must map at least one symbol"),
        ({"NOPEUSDT": {"rate": "0.1"}}, -1121, "funding: 'NOPEUSDT' is not a symbol"),
        ({"BTCUSDT": {}}, -1130, "funding.BTCUSDT must be an object"),
        ({"BTCUSDT": "0.1"}, -1130, "funding.BTCUSDT must be an object"),
        ({"BTCUSDT": {"rates": "0.1"}}, -1130, "unknown field 'rates'"),
        ({"BTCUSDT": {"rate": 0.1}}, -1130, "is a float"),
        ({"BTCUSDT": {"rate": "abc"}}, -1130, "'funding.BTCUSDT.rate'"),
        ({"BTCUSDT": {"rate": "0.000000001"}}, -1130, "at most 8 decimals"),
        ({"BTCUSDT": {"rate": "1.5"}}, -1130, "within ±1"),
        ({"BTCUSDT": {"intervalHours": 3}}, -1130, "one of 1, 2, 4, 8"),
        ({"BTCUSDT": {"intervalHours": True}}, -1130, "one of 1, 2, 4, 8"),
        ({"BTCUSDT": {"intervalHours": 16}}, -1130, "funding.BTCUSDT.intervalHours"),
        ({"BTCUSDT": {"cap": "-0.03"}}, -1130, "cap -0.03 must be above floor -0.02"),
        ({"BTCUSDT": {"floor": "0.02"}}, -1130, "cap 0.02 must be above floor 0.02"),
    ],
)
def test_refusals_name_the_field(body: object, code: int, text: str) -> None:
    with pytest.raises(EngineError) as refused:
        parse_funding(body, MARKET, now=1)
    assert refused.value.code == code
    assert text in str(refused.value)


def test_stored_json_round_trips() -> None:
    setting = FundingSetting(SymbolFunding(rate=D("-0.0003"), interval_hours=2), rate_time=5)
    assert setting_json(setting) == {
        "rate": "-0.0003",
        "intervalHours": 2,
        "cap": "0.02",
        "floor": "-0.02",
        "rateTime": 5,
    }
    meta = setting.meta("BTCUSDT")
    assert meta.key == "funding:BTCUSDT"
    assert decode_setting(meta.value) == setting
    with pytest.raises(ValueError, match="unreadable funding setting"):
        decode_setting('{"rate": "x"}')


@pytest.mark.parametrize(
    ("funding", "code", "text"),
    [
        ({"BTCUSDT": {"intervalHours": 12}}, -1130, "funding.BTCUSDT.intervalHours must be one"),
        ({"BTCUSDT": {"rate": "0.0001", "period": 8}}, -1130, "unknown field 'period'"),
        ({"XYZUSDT": {"rate": "0.0001"}}, -1121, "'XYZUSDT' is not a symbol"),
        ("0.0001", -1130, "funding must map at least one symbol"),
    ],
)
def test_a_scenarios_funding_is_checked_with_the_rest(
    funding: object, code: int, text: str
) -> None:
    with pytest.raises(ScenarioError) as refused:
        plan_scenario({"accounts": [], "funding": funding}, MARKET, now=1)
    assert refused.value.code == code
    assert text in str(refused.value)
    plan = plan_scenario({"funding": {"BTCUSDT": {"intervalHours": 2}}}, MARKET, now=3)
    assert [change.key for change in plan.changes() if isinstance(change, SetMeta)] == [
        "funding:BTCUSDT"
    ]
    assert plan.funding["BTCUSDT"] == FundingSetting(SymbolFunding(interval_hours=2))
