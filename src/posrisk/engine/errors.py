"""Refusals of the engine, one class per meaning, each carrying Binance's error code.

The service maps an ``EngineError`` to the wire as ``{"code": e.code, "msg": e.msg}``:
``msg`` is Binance's own text for the code, ``detail`` says what exactly was wrong (for
the CLI, the admin API and logs). ``str(e)`` gives both.
"""

from __future__ import annotations

from ..errors import PosriskError

__all__ = [
    "AmountNotPositive",
    "ClientOrderIdDuplicated",
    "CrossBalanceInsufficient",
    "EngineError",
    "ExceedsMaxPosition",
    "FokRejected",
    "InvalidLeverage",
    "InvalidSymbol",
    "InvalidValue",
    "IsolatedBalanceInsufficient",
    "LeverageMarginInsufficient",
    "LeverageReductionIsolated",
    "LimitOrderOnly",
    "MarginInsufficient",
    "MarginTypeLocked",
    "MarginTypeOpenOrders",
    "MarginTypeUnchanged",
    "MaxOpenOrders",
    "MaxStopOrders",
    "ModifyLimitExceeded",
    "ModifyUnchanged",
    "NotIsolatedPosition",
    "NotionalTooSmall",
    "OrderNotFound",
    "PositionIsZero",
    "PositionModeLocked",
    "PositionModeOpenOrders",
    "PositionModeUnchanged",
    "PositionSideMismatch",
    "PostOnlyRejected",
    "PrecisionOverMaximum",
    "PriceAboveMax",
    "PriceAboveMultiplierCap",
    "PriceBelowMin",
    "PriceBelowMultiplierFloor",
    "PriceNotOnTick",
    "PriceNotPositive",
    "QuantityAboveMax",
    "QuantityBelowMin",
    "QuantityNotOnStep",
    "QuantityNotPositive",
    "QuantityWithClosePosition",
    "ReduceOnlyRejected",
    "TimeIntervalTooLong",
    "UnableToFill",
    "UnknownOrder",
    "WouldTriggerImmediately",
]


class EngineError(PosriskError):
    """An event the engine refuses; the account is left exactly as it was."""

    code: int = -1000
    msg: str = "An unknown error occured while processing the request."

    def __init__(self, detail: str = "", *, msg: str | None = None) -> None:
        if msg is not None:
            self.msg = msg
        self.detail = detail
        super().__init__(f"{self.msg} ({detail})" if detail else self.msg)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, msg={self.msg!r}, detail={self.detail!r})"


class InvalidSymbol(EngineError):
    code = -1121
    msg = "Invalid symbol."


class InvalidValue(EngineError):
    """A parameter whose value is unusable: not a finite plain decimal, unknown asset, 0 amount."""

    code = -1130

    def __init__(self, field: str, detail: str = "") -> None:
        self.field = field
        super().__init__(detail, msg=f"Data sent for parameter '{field}' is not valid.")


class PrecisionOverMaximum(EngineError):
    code = -1111
    msg = "Precision is over the maximum defined for this asset."


class PriceNotPositive(EngineError):
    code = -4001
    msg = "Price less than 0."


class QuantityNotPositive(EngineError):
    code = -4003
    msg = "Quantity less than or equal to zero."


class MarginInsufficient(EngineError):
    code = -2019
    msg = "Margin is insufficient."


class ReduceOnlyRejected(EngineError):
    """A hedge-mode fill that would close more than the side holds."""

    code = -2022
    msg = "ReduceOnly Order is rejected."


class ExceedsMaxPosition(EngineError):
    code = -2027
    msg = "Exceeded the maximum allowable position at current leverage."


class LeverageMarginInsufficient(EngineError):
    """Lowering leverage needs more initial margin than the account has available."""

    code = -2028
    msg = "Leverage is smaller than permitted: insufficient margin balance."


class InvalidLeverage(EngineError):
    code = -4028

    def __init__(self, leverage: object, detail: str = "") -> None:
        super().__init__(detail, msg=f"Leverage {leverage} is not valid")


class MarginTypeUnchanged(EngineError):
    code = -4046
    msg = "No need to change margin type."


class MarginTypeOpenOrders(EngineError):
    code = -4047
    msg = "Margin type cannot be changed if there exists open orders."


class MarginTypeLocked(EngineError):
    code = -4048
    msg = "Margin type cannot be changed if there exists position."


class NotIsolatedPosition(EngineError):
    code = -4049
    msg = "Add margin only support for isolated position."


class CrossBalanceInsufficient(EngineError):
    code = -4050
    msg = "Cross balance insufficient."


class IsolatedBalanceInsufficient(EngineError):
    code = -4051
    msg = "Isolated balance insufficient."


class PositionIsZero(EngineError):
    """Margin moved into or out of an isolated side that holds no position."""

    code = -4054
    msg = "Cannot add position margin: position is 0."


class AmountNotPositive(EngineError):
    code = -4055
    msg = "Amount must be positive."


class PositionModeUnchanged(EngineError):
    code = -4059
    msg = "No need to change position side."


class PositionSideMismatch(EngineError):
    code = -4061
    msg = "Order's position side does not match user's setting."


class PositionModeOpenOrders(EngineError):
    code = -4067
    msg = "Position side cannot be changed if there exists open orders."


class PositionModeLocked(EngineError):
    code = -4068
    msg = "Position side cannot be changed if there exists position."


class LeverageReductionIsolated(EngineError):
    code = -4161
    msg = "Leverage reduction is not supported in Isolated Margin Mode with open positions."


# -- order refusals: Binance's filters, in the order a placement meets them -------------


class PriceAboveMax(EngineError):
    code = -4002
    msg = "Price greater than max price."


class PriceBelowMin(EngineError):
    code = -4013
    msg = "Price less than min price."


class PriceNotOnTick(EngineError):
    code = -4014
    msg = "Price not increased by tick size."


class QuantityBelowMin(EngineError):
    code = -4004
    msg = "Quantity less than min quantity."


class QuantityAboveMax(EngineError):
    code = -4005
    msg = "Quantity greater than max quantity."


class QuantityNotOnStep(EngineError):
    code = -4023
    msg = "Qty not increased by step size."


class PriceAboveMultiplierCap(EngineError):
    """A BUY priced above mark × PERCENT_PRICE's multiplierUp."""

    code = -4016
    msg = "Price is higher than mark price multiplier cap."


class PriceBelowMultiplierFloor(EngineError):
    """A SELL priced below mark × PERCENT_PRICE's multiplierDown."""

    code = -4024
    msg = "Price is lower than mark price multiplier floor."


class NotionalTooSmall(EngineError):
    """The opening part of an order worth less than MIN_NOTIONAL's ``notional``."""

    code = -4164
    msg = "Order's notional must be no smaller than 5 (unless you choose reduce only)."

    def __init__(self, notional: object = 5, detail: str = "") -> None:
        self.notional = notional
        super().__init__(
            detail,
            msg=f"Order's notional must be no smaller than {notional} (unless you choose "
            "reduce only).",
        )


class MaxOpenOrders(EngineError):
    """MAX_NUM_ORDERS: the symbol already has as many open orders as it may."""

    code = -2025
    msg = "Reach max open order limit."


class MaxStopOrders(EngineError):
    """MAX_NUM_ALGO_ORDERS: the symbol already has as many open algo orders as it may."""

    code = -4045
    msg = "Reach max stop order limit."


class UnableToFill(EngineError):
    """A MARKET order on a symbol without a mark: no price to fill at."""

    code = -2020
    msg = "Unable to fill."


class WouldTriggerImmediately(EngineError):
    code = -2021
    msg = "Order would immediately trigger."


class UnknownOrder(EngineError):
    """Canceling an order that is not open."""

    code = -2011
    msg = "Unknown order sent."


class OrderNotFound(EngineError):
    """Asking for (or modifying) an order that does not exist or is no longer kept."""

    code = -2013
    msg = "Order does not exist."


class ClientOrderIdDuplicated(EngineError):
    code = -4116
    msg = "ClientOrderId is duplicated."


class QuantityWithClosePosition(EngineError):
    code = -4137
    msg = "Quantity must be zero with closePosition equals true"


class TimeIntervalTooLong(EngineError):
    """startTime and endTime further apart than a query allows."""

    code = -4165
    msg = "Maximum time interval is 7 days"

    def __init__(self, days: int = 7, detail: str = "") -> None:
        self.days = days
        super().__init__(detail, msg=f"Maximum time interval is {days} days")


class FokRejected(EngineError):
    code = -5021
    msg = "Due to the order could not be filled immediately, the FOK order has been rejected."


class PostOnlyRejected(EngineError):
    code = -5022
    msg = "Due to the order could not be executed as maker, the Post Only order will be rejected."


class LimitOrderOnly(EngineError):
    """Modifying an order that is not a LIMIT order."""

    code = -5025
    msg = "Only limit order is supported."


class ModifyLimitExceeded(EngineError):
    """The 10 000th modification of one order."""

    code = -5026
    msg = "Exceed maximum modify order limit."


class ModifyUnchanged(EngineError):
    code = -5027
    msg = "No need to modify the order."
