"""Commission rates: Binance's VIP 0 defaults, an account's rates, per symbol overrides; a
``SetCommission`` replaces the last one and is checked before it is taken."""

from __future__ import annotations

from decimal import Decimal

import pytest

from posrisk.engine import (
    DEFAULT_MAKER,
    DEFAULT_TAKER,
    Account,
    AccountChange,
    CommissionRates,
    EngineError,
    Market,
    SetCommission,
    apply,
    rates_for,
)

from .conftest import D


def test_the_defaults_are_vip_0() -> None:
    assert (D("0.0002"), D("0.0005")) == (DEFAULT_MAKER, DEFAULT_TAKER)
    assert rates_for(Account().commission, "BTCUSDT") == CommissionRates(D("0.0002"), D("0.0005"))


def test_account_rates_then_symbol_overrides_each_rate_alone() -> None:
    commission = SetCommission(
        maker=D("0.0001"),
        symbols=(("ETHUSDC", D("0"), None), ("BTCUSDT", None, D("0.0004"))),
    )
    assert rates_for(commission, "SOLUSDT") == CommissionRates(D("0.0001"), D("0.0005"))
    assert rates_for(commission, "ETHUSDC") == CommissionRates(D("0"), D("0.0005"))
    assert rates_for(commission, "BTCUSDT") == CommissionRates(D("0.0001"), D("0.0004"))


def test_set_commission_replaces_the_last_and_moves_nothing(market: Market) -> None:
    first = apply(Account(), SetCommission(maker=D("-0.0001"), time=1), market)
    assert first.change == AccountChange(None)
    assert rates_for(first.account.commission, "BTCUSDT").maker == D("-0.0001")  # a rebate
    second = apply(first.account, SetCommission(taker=D("0.0003"), time=2), market).account
    assert rates_for(second.commission, "BTCUSDT") == CommissionRates(D("0.0002"), D("0.0003"))
    assert second.balances == {} and second.positions == {}


@pytest.mark.parametrize(
    ("event", "code", "field"),
    [
        (SetCommission(maker=D("1")), -1130, "maker"),
        (SetCommission(taker=D("-1")), -1130, "taker"),
        (SetCommission(taker=D("0.000000001")), -1130, "taker"),
        (SetCommission(maker=Decimal("NaN")), -1130, "maker"),
        (SetCommission(symbols=(("NOPEUSDT", D("0"), None),)), -1121, None),
        (SetCommission(symbols=(("BTCUSDT", None, D("2")),)), -1130, "BTCUSDT.taker"),
        (
            SetCommission(symbols=(("BTCUSDT", D("0"), None), ("BTCUSDT", None, D("0")))),
            -1130,
            "symbols",
        ),
    ],
)
def test_unusable_rates_are_refused(
    market: Market, event: SetCommission, code: int, field: str | None
) -> None:
    with pytest.raises(EngineError) as info:
        apply(Account(), event, market)
    assert info.value.code == code
    if field is not None:
        assert info.value.msg == f"Data sent for parameter '{field}' is not valid."
