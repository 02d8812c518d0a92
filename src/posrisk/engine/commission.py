"""Commission rates per account and symbol: Binance's VIP 0 defaults unless set.

Live fills of 2024-11 and 2025-02 paid 0.0005 taker at VIP 0 (Binance's doc still says
0.0004): maker ``0.0002``, taker ``0.0005``. An account's ``SetCommission`` (a scenario's
``"commission"``, the admin API's ``PUT accounts/{name}/commission``) replaces them, for
every symbol and per symbol.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import InvalidSymbol, InvalidValue
from .events import SetCommission
from .market import Market
from .numbers import is_money

__all__ = ["DEFAULT_MAKER", "DEFAULT_TAKER", "CommissionRates", "check_commission", "rates_for"]

DEFAULT_MAKER = Decimal("0.0002")
DEFAULT_TAKER = Decimal("0.0005")


@dataclass(frozen=True, slots=True)
class CommissionRates:
    maker: Decimal
    taker: Decimal


def rates_for(commission: SetCommission, symbol: str) -> CommissionRates:
    """The rates ``commission`` (an account's last ``SetCommission``) gives ``symbol``."""
    maker = DEFAULT_MAKER if commission.maker is None else commission.maker
    taker = DEFAULT_TAKER if commission.taker is None else commission.taker
    for name, symbol_maker, symbol_taker in commission.symbols:
        if name == symbol:
            maker = maker if symbol_maker is None else symbol_maker
            taker = taker if symbol_taker is None else symbol_taker
    return CommissionRates(maker, taker)


def check_commission(event: SetCommission, market: Market) -> None:
    """Every rate a finite decimal above -1 and below 1, with at most 8 decimals (a
    negative maker rate is a rebate); every symbol listed once and in ``market``."""
    rates = [("maker", event.maker), ("taker", event.taker)]
    seen: set[str] = set()
    for name, maker, taker in event.symbols:
        if name not in market:
            raise InvalidSymbol(f"{name!r} is not a symbol of this market")
        if name in seen:
            raise InvalidValue("symbols", f"{name} is given twice")
        seen.add(name)
        rates += [(f"{name}.maker", maker), (f"{name}.taker", taker)]
    for field, rate in rates:
        if rate is None:
            continue
        if not rate.is_finite() or not -1 < rate < 1 or not is_money(rate):
            raise InvalidValue(
                field, f"{rate} is not a rate above -1 and below 1 with at most 8 decimals"
            )
