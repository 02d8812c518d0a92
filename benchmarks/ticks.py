"""What a mark tick costs the order service with many resting orders: none crossed, k crossed.

    python -m benchmarks.ticks [--orders 1000,10000,100000] [--accounts 10000]
        [--crossed 1,10,100] [--ticks 200] [--repeats 5]

In this process, on an in-memory SQLite store: ``--accounts`` funded accounts and N resting
BTCUSDT LIMIT orders spread over them (BUYs from 59000 down, SELLs from 61000 up, marked at
60000), committed as ledger ``OrderUpdate`` events through ``AdminService.commit`` (the
store, then ``Registry.apply_committed``, which the order index follows) rather than through
N requests. Then it times the real ``OrderService.on_marks`` path:

- quiet: the mark moves between 60000 and 60000.1, crossing nothing, ``--ticks`` times; the
  median µs per tick (it must not grow with N: the index finds crossed orders by price);
- crossed: k BUY LIMITs at 59900 on k accounts are added (untimed), then one tick to 59890
  fills them all (each account's fill a durable commit); the median µs of that tick over
  ``--repeats``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from decimal import Decimal
from typing import Any

from posrisk.engine import Execution, Market, Order, OrderType, OrderUpdate, Side
from posrisk.service.admin import AdminService
from posrisk.service.clock import ManualClock
from posrisk.service.orders import OrderService
from posrisk.service.registry import Registry
from posrisk.store import AppendEvent, SQLiteStore

SYMBOL = "BTCUSDT"
T0 = 1_700_000_000_000
QUIET = (Decimal("60000"), Decimal("60000.1"))
CROSS_PRICE = Decimal("59900")
CROSSING_MARK = Decimal("59890")
CHUNK = 5_000


class World:
    """A served state with resting orders, and the service whose ``on_marks`` is timed."""

    def __init__(self, store: SQLiteStore, admin: AdminService, orders: OrderService) -> None:
        self.store = store
        self.admin = admin
        self.registry = admin.registry
        self.orders = orders
        self.next_client = 0

    def order(self, account: str, side: Side, price: Decimal) -> AppendEvent:
        order_id = self.registry.ids.next_ids().next_order_id()
        self.registry.ids.order = order_id  # the next one comes after, before the commit
        self.next_client += 1
        order = Order(
            order_id, f"bench-{self.next_client}", SYMBOL, side, OrderType.LIMIT,
            Decimal("0.002"), price, time=T0, update_time=T0,
        )  # fmt: skip
        return AppendEvent(account, OrderUpdate(order, Execution.NEW, time=T0), T0)

    async def rest(self, changes: list[AppendEvent]) -> None:
        for start in range(0, len(changes), CHUNK):
            await self.admin.commit(changes[start : start + CHUNK])

    async def tick(self, mark: Decimal) -> float:
        """One tick of ``mark`` through ``on_marks``; its µs."""
        self.registry.marks[SYMBOL] = mark
        started = time.perf_counter()
        await self.orders.on_marks({SYMBOL: mark})
        return (time.perf_counter() - started) * 1e6


async def build(resting: int, accounts: int) -> World:
    store = SQLiteStore(":memory:")
    await store.open()
    registry = Registry(Market.default())
    admin = AdminService(store, registry, ManualClock(T0))
    await admin.load_scenario(
        {
            "accounts": [
                {"name": f"a{i}", "deposits": {"USDT": "100000000"}} for i in range(accounts)
            ],
            "marks": {SYMBOL: str(QUIET[0])},
        }
    )
    world = World(store, admin, OrderService(admin))
    tick = Decimal("0.1")
    changes = []
    for j in range(resting):
        step = (j // 2) % 9_000 * tick
        side = Side.BUY if j % 2 == 0 else Side.SELL
        price = Decimal("59000") - step if side is Side.BUY else Decimal("61000") + step
        changes.append(world.order(f"a{j % accounts}", side, price))
    await world.rest(changes)
    assert len(world.orders.index) == resting, world.orders.index
    return world


async def quiet(world: World, ticks: int) -> float:
    times = [await world.tick(QUIET[i % 2]) for i in range(ticks)]
    assert world.orders.fills == 0
    return statistics.median(times)


async def crossed(world: World, k: int, repeats: int, accounts: int) -> float:
    times = []
    for r in range(repeats):
        base = world.orders.fills
        await world.tick(QUIET[0])
        first = (r * k) % accounts
        await world.rest(
            [world.order(f"a{(first + i) % accounts}", Side.BUY, CROSS_PRICE) for i in range(k)]
        )
        times.append(await world.tick(CROSSING_MARK))
        assert world.orders.fills - base == k, (world.orders.fills - base, k)
    await world.tick(QUIET[0])
    return statistics.median(times)


async def run(
    sizes: list[int], accounts: int, ks: list[int], ticks: int, repeats: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    print(f"{'resting':>8s} {'accounts':>8s} {'quiet µs':>9s} " + " ".join(
        f"{f'k={k} µs':>10s}" for k in ks
    ), flush=True)  # fmt: skip
    for resting in sizes:
        started = time.perf_counter()
        world = await build(resting, accounts)
        built = time.perf_counter() - started
        try:
            row: dict[str, Any] = {"resting": resting, "accounts": accounts}
            row["quiet_us"] = await quiet(world, ticks)
            for k in ks:
                row[f"k{k}_us"] = await crossed(world, k, repeats, accounts)
        finally:
            await world.store.close()
        rows.append(row)
        cells = " ".join(f"{row[f'k{k}_us']:10.0f}" for k in ks)
        print(
            f"{resting:8d} {accounts:8d} {row['quiet_us']:9.1f} {cells}   (built in {built:.1f} s)",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", default="1000,10000,100000")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--crossed", default="1,10,100")
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(n) for n in args.orders.split(",")]
    ks = [int(k) for k in args.crossed.split(",")]
    asyncio.run(run(sizes, args.accounts, ks, args.ticks, args.repeats))


if __name__ == "__main__":
    main()
