"""The mark feed: ticks from a source into the registry, saved, and (optionally) liquidating.

A tick updates every row at once (the marks version moves, cached rows are rebuilt) and
sends no ACCOUNT_UPDATE, as on Binance. Ticks are kept in memory; the latest mark per
symbol is saved every ``persist_interval`` seconds and when the feed stops (SPEC §12).
Each tick (and each mark an administrator sets) first fills the resting orders it crossed
(``OrderService.on_marks``); then, with ``liquidate`` on, every account with an open
position in a margin asset whose marks moved is checked, and whatever the marks crossed is
liquidated through the admin service (``liquidation.Liquidator``, shared with funding).
Each periodic save also settles the funding that became due (``FundingService``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from ..engine.numbers import AMOUNT_LIMIT
from ..marks import MarkSource
from ..marks.sources import Sleep
from ..store import SetMarks
from .admin import AdminService
from .liquidation import Liquidator
from .orders import OrderService

if TYPE_CHECKING:
    from .funding import FundingService

__all__ = ["MarkFeed"]

log = logging.getLogger("posrisk.marks")


class MarkFeed:
    """Applies mark batches to the live registry; runs a source if given one."""

    def __init__(
        self,
        admin: AdminService,
        *,
        liquidate: bool = False,
        persist_interval: float = 2.0,
        sleep: Sleep = asyncio.sleep,
        orders: OrderService | None = None,
        liquidator: Liquidator | None = None,
    ) -> None:
        self.admin = admin
        self.orders = orders
        self.liquidator = liquidator or Liquidator(admin)
        # Settles due funding on each periodic save (set at composition).
        self.funding: FundingService | None = None
        self.registry = admin.registry
        self.liquidate = liquidate
        self.persist_interval = persist_interval
        self.sleep = sleep
        # Symbols whose mark moved since the last save.
        self._unsaved: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        # Ticks applied, for the metrics and the tests.
        self.ticks = 0
        admin.after_marks_set(self._after_admin_marks)

    def __repr__(self) -> str:
        return f"<MarkFeed {self.ticks} ticks, liquidate={self.liquidate}>"

    @property
    def liquidations(self) -> int:
        """Positions liquidated (by the marks, and by funding fees)."""
        return self.liquidator.liquidations

    async def apply(self, batch: Mapping[str, Decimal]) -> None:
        """One tick: known symbols' marks move now; liquidate if enabled."""
        known = {
            s: p for s, p in batch.items() if s in self.registry.market and 0 < p < AMOUNT_LIMIT
        }
        if not known:
            return
        self.registry.apply_committed([SetMarks(known, self.admin.clock.now_ms())])
        self._unsaved.update(known)
        self.ticks += 1
        await self._after_admin_marks(known)

    async def _after_admin_marks(self, marks: Mapping[str, Decimal]) -> None:
        if self.orders is not None:
            await self.orders.on_marks(marks)
        if self.liquidate:
            await self.check(marks)

    async def check(self, moved: Mapping[str, Decimal]) -> None:
        """Liquidate what ``moved`` crossed, in every account that could be affected."""
        await self.liquidator.check(moved)

    async def save(self) -> None:
        """Write the latest mark of every symbol that moved since the last save."""
        if not self._unsaved:
            return
        marks = {s: self.registry.marks[s] for s in self._unsaved}
        self._unsaved = set()
        try:
            await self.admin.store.commit([SetMarks(marks, self.admin.clock.now_ms())])
        except BaseException:
            self._unsaved |= marks.keys()  # saved next time, not forgotten
            raise

    def start(self, source: MarkSource | None) -> None:
        loop = asyncio.get_running_loop()
        if source is not None:
            self._tasks.append(loop.create_task(self._run(source)))
        self._tasks.append(loop.create_task(self._save_periodically()))

    async def _run(self, source: MarkSource) -> None:
        async for batch in source.batches():
            try:
                await self.apply(batch)
            except Exception:
                log.exception("mark tick failed")

    async def _save_periodically(self) -> None:
        while True:
            await self.sleep(self.persist_interval)
            try:
                await self.save()
            except Exception:
                log.exception("saving marks failed")
            if self.orders is not None:
                await self.orders.expire()  # GTD orders whose time has come
            if self.funding is not None:
                try:
                    await self.funding.settle_due()
                except Exception:
                    log.exception("settling funding failed (tried again next time)")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.save()
