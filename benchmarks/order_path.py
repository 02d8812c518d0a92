"""Where one ``order.place`` spends its time, in this process: the durable commit, the
engine's matching, applying the commit (the registry, the order index, the user streams'
events), and the rest (reading and checking the frame, the HMAC, the answer's JSON).

    python -m benchmarks.order_path [--orders 2000]

Builds the service layer over a SQLite file (durable, as ``posrisk serve``), one funded
account with a user stream attached (a sink that keeps nothing), and sends ``--orders``
signed ``order.place`` MARKET frames one after the other through ``ApiService.submit``,
alternating BUY and SELL, each awaited. The parts are timed by wrapping the store's
``commit``, the engine's ``place_order`` (as the order service calls it) and the
registry's ``apply_committed``; prints the mean µs of each and its share of a request.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from posrisk.engine import Market
from posrisk.protocol import LimitRules, hmac_signature
from posrisk.protocol.limits import RequestWeightLimiter
from posrisk.service import orders as order_module
from posrisk.service.admin import AdminService
from posrisk.service.api import ApiService, Connection
from posrisk.service.clock import ManualClock
from posrisk.service.orders import OrderService
from posrisk.service.registry import Registry
from posrisk.store import SQLiteStore

KEY, SECRET = "pathKey0001", "path-secret-not-real"
T0 = 1_700_000_000_000


class Sink:
    def send(self, message: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def timed(spent: list[float], function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    return wrapper


def timed_async(spent: list[float], function: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    return wrapper


def answer(answered: asyncio.Future[bytes], response: bytes, _status: int) -> None:
    answered.set_result(response)


async def run(orders: int, folder: Path) -> dict[str, float]:
    store = SQLiteStore(folder / "path.db")
    await store.open()
    clock = ManualClock(T0)
    registry = Registry(Market.default())
    admin = AdminService(store, registry, clock)
    account = {
        "name": "p",
        "keys": [{"type": "hmac", "apiKey": KEY, "secret": SECRET}],
        "deposits": {"USDT": "100000000"},
    }
    await admin.load_scenario({"accounts": [account], "marks": {"BTCUSDT": "60000"}})
    api = ApiService(registry, RequestWeightLimiter(LimitRules(request_weight=10**15)), clock)
    api.orders = OrderService(admin)
    registry.subscribe(api.streams.on_state_changed)
    assert api.streams.attach(api.streams.start(KEY, "p", T0), Sink(), T0)

    spent: dict[str, list[float]] = {"commit": [], "matching": [], "apply": [], "request": []}
    store.commit = timed_async(spent["commit"], store.commit)  # type: ignore[method-assign]
    order_module.place_order = timed(spent["matching"], order_module.place_order)  # type: ignore[attr-defined]
    registry.apply_committed = timed(spent["apply"], registry.apply_committed)  # type: ignore[method-assign]
    conn = Connection("127.0.0.1", T0)
    loop = asyncio.get_running_loop()
    try:
        for n in range(orders):
            clock.advance(60_000 if n % 250 == 249 else 1)  # within the ORDERS windows
            side = "BUY" if n % 2 == 0 else "SELL"
            params: dict[str, Any] = {
                "apiKey": KEY, "symbol": "BTCUSDT", "side": side, "type": "MARKET",
                "quantity": "0.002", "timestamp": clock.now_ms(),
            }  # fmt: skip
            payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
            params["signature"] = hmac_signature(SECRET, payload.encode())
            frame = orjson.dumps({"id": n, "method": "order.place", "params": params})
            answered: asyncio.Future[bytes] = loop.create_future()
            started = time.perf_counter()
            api.submit(conn, frame, partial(answer, answered))
            reply = await answered
            spent["request"].append(time.perf_counter() - started)
            assert b'"status":200' in reply[:80], reply[:300]
    finally:
        await store.close()
    return {part: statistics.fmean(times) * 1e6 for part, times in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="posrisk-order-path-") as folder:
        means = asyncio.run(run(args.orders, Path(folder)))
    total = means["request"]
    rest = total - means["commit"] - means["matching"] - means["apply"]
    print(f"order.place, one at a time, {args.orders} orders: {total:.0f} µs per request")
    parts = (
        ("durable commit (store)", means["commit"]),
        ("matching (engine.place_order)", means["matching"]),
        ("apply: registry, index, streams", means["apply"]),
        ("frame, auth, JSON answer, rest", rest),
    )
    for name, micros in parts:
        print(f"  {name:34s} {micros:8.0f} µs  {100 * micros / total:5.1f}%")


if __name__ == "__main__":
    main()
