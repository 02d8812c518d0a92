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
    # Order refusals (Binance's error-code page; -4116 as a 2025-08 live response).
    "PriceAboveMax": (-4002, "Price greater than max price."),
    "PriceBelowMin": (-4013, "Price less than min price."),
    "PriceNotOnTick": (-4014, "Price not increased by tick size."),
    "QuantityBelowMin": (-4004, "Quantity less than min quantity."),
    "QuantityAboveMax": (-4005, "Quantity greater than max quantity."),
    "QuantityNotOnStep": (-4023, "Qty not increased by step size."),
    "PriceAboveMultiplierCap": (-4016, "Price is higher than mark price multiplier cap."),
    "PriceBelowMultiplierFloor": (-4024, "Price is lower than mark price multiplier floor."),
    "MaxOpenOrders": (-2025, "Reach max open order limit."),
    "MaxStopOrders": (-4045, "Reach max stop order limit."),
    "UnableToFill": (-2020, "Unable to fill."),
    "WouldTriggerImmediately": (-2021, "Order would immediately trigger."),
    "UnknownOrder": (-2011, "Unknown order sent."),
    "OrderNotFound": (-2013, "Order does not exist."),
    "ClientOrderIdDuplicated": (-4116, "ClientOrderId is duplicated."),
    "QuantityWithClosePosition": (-4137, "Quantity must be zero with closePosition equals true"),
    "FokRejected": (
        -5021,
        "Due to the order could not be filled immediately, the FOK order has been rejected.",
    ),
    "PostOnlyRejected": (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    ),
    "LimitOrderOnly": (-5025, "Only limit order is supported."),
    "ModifyLimitExceeded": (-5026, "Exceed maximum modify order limit."),
    "ModifyUnchanged": (-5027, "No need to modify the order."),
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
    notional = errors.NotionalTooSmall("20", "why")
    assert (notional.code, notional.msg) == (
        -4164,
        "Order's notional must be no smaller than 20 (unless you choose reduce only).",
    )
    assert (
        errors.NotionalTooSmall().msg
        == errors.NotionalTooSmall.msg
        == ("Order's notional must be no smaller than 5 (unless you choose reduce only).")
    )
    interval = errors.TimeIntervalTooLong()
    assert (interval.code, interval.msg) == (-4165, "Maximum time interval is 7 days")
    assert errors.TimeIntervalTooLong(3).msg == "Maximum time interval is 3 days"


def test_every_refusal_is_listed() -> None:
    templated = {"EngineError", "InvalidLeverage", "InvalidValue", "NotionalTooSmall"}
    templated.add("TimeIntervalTooLong")
    assert set(GOLDEN) == set(errors.__all__) - templated
