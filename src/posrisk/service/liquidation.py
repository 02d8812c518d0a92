"""Liquidation after the marks or the wallets moved: one piece shared by the mark feed
(marks crossed positions) and funding (fees tipped accounts over).

``Liquidator.accounts`` liquidates whatever the current marks have crossed in the named
accounts, one after the other through ``AdminService.liquidate`` (their open orders
expire, then LIQUIDATION orders close the crossed positions); ``check`` does it for every
account holding a position margined in an asset whose marks moved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal

from .admin import AdminService

__all__ = ["Liquidator"]

log = logging.getLogger("posrisk.marks")


class Liquidator:
    """Liquidates crossed positions through the admin service; counts the positions closed."""

    def __init__(self, admin: AdminService) -> None:
        self.admin = admin
        # Positions liquidated, for the metrics and the tests.
        self.liquidations = 0

    def __repr__(self) -> str:
        return f"<Liquidator {self.liquidations} liquidations>"

    async def check(self, moved: Mapping[str, Decimal]) -> None:
        """Liquidate what ``moved`` crossed, in every account that could be affected."""
        market = self.admin.registry.market
        assets = {market[s].margin_asset for s in moved if s in market}
        names = [
            name
            for name, entry in list(self.admin.registry.accounts.items())
            if any(
                market[p.symbol].margin_asset in assets
                for p in entry.account.open_positions()
                if p.symbol in market
            )
        ]
        await self.accounts(names)

    async def accounts(self, names: Iterable[str]) -> int:
        """Liquidate what the current marks have crossed in each of ``names``; returns the
        positions closed."""
        closed = 0
        for name in names:
            results = await self.admin.liquidate(name)
            if results:
                closed += sum(1 for r in results if r.change.positions)
                log.info("liquidated %s: %d events", name, len(results))
        self.liquidations += closed
        return closed
