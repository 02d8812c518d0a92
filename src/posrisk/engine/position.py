"""One position (a symbol and a side) and the fill formulas of SPEC §9.

Each function is named after the quantity it returns and states its formula; they are
pure and assume the engine's decimal context (``numbers.CONTEXT``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from .events import PositionSide
from .numbers import ZERO, to_money

__all__ = [
    "Position",
    "break_even_price",
    "entry_price_after_increase",
    "realized_pnl",
]


@dataclass(frozen=True, slots=True)
class Position:
    """What an account holds of one symbol on one side."""

    symbol: str
    side: PositionSide
    # Signed size: long > 0, short < 0.
    amount: Decimal = ZERO
    # Average open price of what is held; 0 when flat.
    entry_price: Decimal = ZERO
    # Trading fees paid to open what is held (a partial close releases its share).
    open_fees: Decimal = ZERO
    # Realized PnL before fees, accumulated over the position's life (ACCOUNT_UPDATE "cr").
    realized_pnl: Decimal = ZERO
    # Margin held by this position when the symbol is isolated; 0 for cross.
    isolated_wallet: Decimal = ZERO
    # Time (ms) of the last fill or margin transfer; 0 if never changed.
    update_time: int = 0

    @property
    def direction(self) -> int:
        """+1 long, -1 short, 0 flat."""
        return (self.amount > 0) - (self.amount < 0)

    @property
    def break_even_price(self) -> Decimal:
        return break_even_price(self.entry_price, self.open_fees, self.amount)

    def increased(self, qty: Decimal, price: Decimal, fee: Decimal, direction: int) -> Position:
        """The position after opening ``qty`` more in ``direction`` (+1/-1) at ``price``."""
        size = abs(self.amount)
        return replace(
            self,
            amount=self.amount + direction * qty,
            entry_price=entry_price_after_increase(size, self.entry_price, qty, price),
            open_fees=self.open_fees + fee,
        )

    def reduced(self, qty: Decimal, price: Decimal) -> tuple[Position, Decimal]:
        """The position after closing ``qty`` (≤ its size) at ``price``, and the realized PnL."""
        size = abs(self.amount)
        pnl = realized_pnl(qty, price, self.entry_price, self.direction)
        remaining = size - qty
        if not remaining:
            return replace(
                self,
                amount=ZERO,
                entry_price=ZERO,
                open_fees=ZERO,
                realized_pnl=self.realized_pnl + pnl,
            ), pnl
        return replace(
            self,
            amount=self.direction * remaining,
            open_fees=self.open_fees * remaining / size,
            realized_pnl=self.realized_pnl + pnl,
        ), pnl


def entry_price_after_increase(
    size: Decimal, entry: Decimal, qty: Decimal, price: Decimal
) -> Decimal:
    """entry = (|q0|·e0 + q·p) / (|q0| + q)."""
    if not size:
        return price
    return (size * entry + qty * price) / (size + qty)


def realized_pnl(qty: Decimal, price: Decimal, entry: Decimal, direction: int) -> Decimal:
    """realized = closed qty × (p − entry) × direction (before fees), a wallet amount.

    Rounded to 8 decimals (``to_money``): it settles into a wallet.
    """
    return to_money(qty * (price - entry) * direction)


def break_even_price(entry: Decimal, open_fees: Decimal, amount: Decimal) -> Decimal:
    """long: entry + fees/|qty|; short: entry − fees/|qty|; flat: 0.

    ``fees`` are the trading fees paid to open what is held: 30 ADA long at 0.385 with a
    0.02% fee (0.00231) → 0.385077.
    """
    if not amount:
        return ZERO
    per_unit = open_fees / abs(amount)
    return entry + per_unit if amount > 0 else entry - per_unit
