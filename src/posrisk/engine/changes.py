"""What an applied event changed: the account after it, and what ``ACCOUNT_UPDATE`` (and
``ACCOUNT_CONFIG_UPDATE``) must tell."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from .events import UpdateReason
from .numbers import ZERO

if TYPE_CHECKING:
    from .account import Account, PositionKey

__all__ = ["AccountChange", "Applied", "BalanceChange"]


@dataclass(frozen=True, slots=True)
class BalanceChange:
    """A balance that moved; ``change`` is ``bc``: the move other than PnL and fees."""

    asset: str
    change: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class AccountChange:
    """What an event moved; ``reason`` is None for settings that send no ACCOUNT_UPDATE."""

    reason: UpdateReason | None
    balances: tuple[BalanceChange, ...] = ()
    positions: tuple[PositionKey, ...] = ()
    # (symbol, leverage) of a leverage set, same or not: ``ACCOUNT_CONFIG_UPDATE``.
    leverage: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    account: Account
    change: AccountChange
