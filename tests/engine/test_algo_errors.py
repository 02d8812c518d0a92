"""Every Algo service refusal carries Binance's code and Binance's own text (golden); the
ones regular orders share are in test_errors."""

from __future__ import annotations

import pytest

from posrisk.engine import algo_errors
from posrisk.engine.algo_errors import MandatoryParamMissing, ParamNotRequired

GOLDEN = {
    "AlgoIdMissing": (
        -1102,
        "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!",
    ),
    "InvalidOrderType": (-1116, "Invalid orderType."),
    "ParamsCombinationInvalid": (-1128, "Combination of optional parameters invalid."),
    "StopPriceNotPositive": (-4006, "Stop price less than zero."),
    "StopOrderTriggering": (-4117, "stop order is triggering"),
    "InvalidActivationPrice": (-4135, "Invalid activation price"),
    "PriceMatchTypeUnsupported": (
        -5038,
        "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT",
    ),
    "GoodTillDateInvalid": (
        -5040,
        "The goodTillDate timestamp must be greater than the current time plus 600 seconds"
        " and smaller than 253402300799000",
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_code_and_text(name: str) -> None:
    error = getattr(algo_errors, name)("detail")
    assert (error.code, error.msg) == GOLDEN[name]
    assert str(error) == f"{GOLDEN[name][1]} (detail)"


def test_parameter_names_are_written_in_lowercase() -> None:
    missing = MandatoryParamMissing("triggerPrice")
    assert (missing.code, missing.msg) == (
        -1102,
        "Mandatory parameter 'triggerprice' was not sent, was empty/null, or malformed.",
    )
    extra = ParamNotRequired("reduceOnly")
    assert (extra.code, extra.msg) == (-1106, "Parameter 'reduceonly' sent when not required.")


def test_working_type_names_the_value() -> None:
    error = algo_errors.InvalidWorkingType("LAST_PRICE")
    assert (error.code, error.msg) == (-4031, "Invalid parameter working type: LAST_PRICE")


def test_every_class_is_golden() -> None:
    names = set(algo_errors.__all__) - {"MandatoryParamMissing", "ParamNotRequired"}
    assert names - {"InvalidWorkingType"} == set(GOLDEN)
