"""An account's figures in one margin asset: what ``account.status`` and
``account.balance`` show per asset (walletBalance ... maxWithdrawAmount), exact.

``AccountRisk`` (``risk.py``) sums its marked positions into one ``AssetRisk`` per margin
asset of the market; the formulas of the derived figures are module functions named after
what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from .numbers import CONTEXT, ZERO

__all__ = ["AssetRisk", "available_balance", "max_withdraw_amount"]


def available_balance(
    cross_wallet_balance: Decimal,
    cross_unrealized_pnl: Decimal,
    cross_initial_margin: Decimal,
    open_order_initial_margin: Decimal = ZERO,
) -> Decimal:
    """availableBalance = crossWalletBalance + crossUnPnl − Σ_cross positionInitialMargin
    − openOrderInitialMargin, per margin asset, as Binance defines it.

    What an opening order or fill may use: unrealized PnL of cross positions counts, a
    loss against it and a profit for it, as on Binance; isolated positions count only
    through their wallets, which have left the cross wallet. It may be negative.
    Worked example: deposit 1000 USDT; BUY 0.002 BTCUSDT @ 91739.90 paying 0.0917399,
    cross 20x; mark 92000 → 999.9082601 + 0.5202 − 9.2 = 991.2284601.
    """
    return (
        cross_wallet_balance
        + cross_unrealized_pnl
        - cross_initial_margin
        - open_order_initial_margin
    )


def max_withdraw_amount(
    cross_wallet_balance: Decimal,
    cross_unrealized_pnl: Decimal,
    cross_initial_margin: Decimal,
    open_order_initial_margin: Decimal = ZERO,
) -> Decimal:
    """maxWithdrawAmount = max(0, min(crossWalletBalance, crossWalletBalance
    + min(0, crossUnPnl) − Σ_cross positionInitialMargin − openOrderInitialMargin)).

    Unlike availableBalance, a cross profit does not count (it is not yet in the wallet)
    while a loss does; never more than the cross wallet holds, never negative.
    Worked example as ``available_balance``: 999.9082601 + 0 − 9.2 = 990.7082601.
    """
    room = (
        cross_wallet_balance
        + min(ZERO, cross_unrealized_pnl)
        - cross_initial_margin
        - open_order_initial_margin
    )
    return max(ZERO, min(cross_wallet_balance, room))


@dataclass(frozen=True, slots=True)
class AssetRisk:
    """An account's totals in one margin asset, cross and isolated positions together
    unless the name says ``cross``."""

    asset: str
    # walletBalance: deposits, fees, realized PnL...; isolated wallets included.
    wallet_balance: Decimal
    # crossWalletBalance: walletBalance − every isolated wallet in this asset.
    cross_wallet_balance: Decimal
    unrealized_pnl: Decimal
    cross_unrealized_pnl: Decimal
    maint_margin: Decimal
    cross_maint_margin: Decimal
    # Σ positionInitialMargin (|notional| / leverage at the mark) of every position.
    position_initial_margin: Decimal
    # Σ positionInitialMargin of the cross positions only.
    cross_initial_margin: Decimal
    # Σ openOrderInitialMargin: the margin resting orders hold (an input of AccountRisk).
    open_order_initial_margin: Decimal = ZERO
    # Time (ms) of the asset's last wallet change; 0 if it never had one.
    update_time: int = 0

    @property
    def initial_margin(self) -> Decimal:
        """initialMargin = positionInitialMargin + openOrderInitialMargin."""
        return self.position_initial_margin + self.open_order_initial_margin

    @property
    def margin_balance(self) -> Decimal:
        """marginBalance = walletBalance + unrealizedProfit (every position in this asset)."""
        return self.wallet_balance + self.unrealized_pnl

    @property
    def available_balance(self) -> Decimal:
        """``available_balance`` of this asset (may be negative)."""
        return available_balance(
            self.cross_wallet_balance,
            self.cross_unrealized_pnl,
            self.cross_initial_margin,
            self.open_order_initial_margin,
        )

    @property
    def max_withdraw_amount(self) -> Decimal:
        """``max_withdraw_amount`` of this asset (0 to crossWalletBalance)."""
        return max_withdraw_amount(
            self.cross_wallet_balance,
            self.cross_unrealized_pnl,
            self.cross_initial_margin,
            self.open_order_initial_margin,
        )

    @property
    def cross_margin_ratio(self) -> Decimal:
        """cross maintenance margin / cross margin balance (≥ 1 means liquidation)."""
        balance = self.cross_wallet_balance + self.cross_unrealized_pnl
        if balance <= 0:
            return Decimal(1) if self.cross_maint_margin else ZERO
        with localcontext(CONTEXT):
            return self.cross_maint_margin / balance
