"""Every engine refusal carries Binance's code and Binance's own text (golden)."""

from __future__ import annotations

import pytest

from posrisk.engine import errors

GOLDEN = {
    "InvalidSymbol": (-1121, "Invalid symbol."),
    "PrecisionOverMaximum": (-1111, "Precision is over the maximum defined for this asset."),
    "PriceNotPositive": (-4001, "Price less than 0."),
    "QuantityNotPositive": (-4003, "Quantity less than or equal to zero."),
    "MarginInsufficient": (-2019, "Margin is insufficient."),
    "ReduceOnlyRejected": (-2022, "ReduceOnly Order is rejected."),
    "ExceedsMaxPosition": (-2027, "Exceeded the maximum allowable position at current leverage."),
    "LeverageMarginInsufficient": (
        -2028,
        "Leverage is smaller than permitted: insufficient margin balance.",
    ),
    "MarginTypeUnchanged": (-4046, "No need to change margin type."),
    "MarginTypeOpenOrders": (-4047, "Margin type cannot be changed if there exists open orders."),
    "MarginTypeLocked": (-4048, "Margin type cannot be changed if there exists position."),
    "NotIsolatedPosition": (-4049, "Add margin only support for isolated position."),
    "CrossBalanceInsufficient": (-4050, "Cross balance insufficient."),
    "IsolatedBalanceInsufficient": (-4051, "Isolated balance insufficient."),
    "PositionIsZero": (-4054, "Cannot add position margin: position is 0."),
    "AmountNotPositive": (-4055, "Amount must be positive."),
    "PositionModeUnchanged": (-4059, "No need to change position side."),
    "PositionSideMismatch": (-4061, "Order's position side does not match user's setting."),
    "PositionModeOpenOrders": (
        -4067,
        "Position side cannot be changed if there exists open orders.",
    ),
    "PositionModeLocked": (-4068, "Position side cannot be changed if there exists position."),
    "LeverageReductionIsolated": (
        -4161,
        "Leverage reduction is not supported in Isolated Margin Mode with open positions.",
    ),
}


@pytest.mark.parametrize(("name", "golden"), GOLDEN.items())
def test_each_refusal_has_binances_code_and_text(name: str, golden: tuple[int, str]) -> None:
    error = getattr(errors, name)("detail")
    assert (error.code, error.msg) == golden
    assert error.detail == "detail" and str(error) == f"{golden[1]} (detail)"


def test_the_templated_ones() -> None:
    leverage = errors.InvalidLeverage(200)
    assert (leverage.code, leverage.msg) == (-4028, "Leverage 200 is not valid")
    value = errors.InvalidValue("amount", "why")
    assert (value.code, value.msg) == (-1130, "Data sent for parameter 'amount' is not valid.")


def test_every_refusal_is_listed() -> None:
    templated = {"EngineError", "InvalidLeverage", "InvalidValue"}
    assert set(GOLDEN) == set(errors.__all__) - templated
