"""Refusals of the Algo service (conditional orders), each with Binance's code and text.

Kept apart from ``errors`` while orders are being built in parallel; several of these are
shared with regular orders (-1102, -1106, -1128, -2011, -2021, -4116, -5040).
"""

from __future__ import annotations

from .errors import EngineError

__all__ = [
    "AlgoIdMissing",
    "GoodTillDateInvalid",
    "InvalidActivationPrice",
    "InvalidOrderType",
    "InvalidWorkingType",
    "MandatoryParamMissing",
    "ParamNotRequired",
    "ParamsCombinationInvalid",
    "PriceMatchTypeUnsupported",
    "StopOrderTriggering",
    "StopPriceNotPositive",
]


class MandatoryParamMissing(EngineError):
    """A parameter the order type needs, missing or out of its range (lowercase name, as
    Binance writes it: ``'triggerprice'``)."""

    code = -1102

    def __init__(self, param: str, detail: str = "") -> None:
        self.param = param.lower()
        super().__init__(
            detail,
            msg=f"Mandatory parameter '{self.param}' was not sent, was empty/null, or malformed.",
        )


class AlgoIdMissing(EngineError):
    code = -1102
    msg = "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!"


class ParamNotRequired(EngineError):
    code = -1106

    def __init__(self, param: str, detail: str = "") -> None:
        self.param = param.lower()
        super().__init__(detail, msg=f"Parameter '{self.param}' sent when not required.")


class InvalidOrderType(EngineError):
    code = -1116
    msg = "Invalid orderType."


class ParamsCombinationInvalid(EngineError):
    code = -1128
    msg = "Combination of optional parameters invalid."


class StopPriceNotPositive(EngineError):
    code = -4006
    msg = "Stop price less than zero."


class InvalidWorkingType(EngineError):
    code = -4031

    def __init__(self, working_type: str, detail: str = "") -> None:
        super().__init__(detail, msg=f"Invalid parameter working type: {working_type}")


class StopOrderTriggering(EngineError):
    """A cancel of an algo order whose regular order is being sent."""

    code = -4117
    msg = "stop order is triggering"


class InvalidActivationPrice(EngineError):
    code = -4135
    msg = "Invalid activation price"


class PriceMatchTypeUnsupported(EngineError):
    code = -5038
    msg = "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT"


class GoodTillDateInvalid(EngineError):
    code = -5040
    msg = (
        "The goodTillDate timestamp must be greater than the current time plus 600 seconds"
        " and smaller than 253402300799000"
    )
