"""ccxt (``binanceusdm``, ccxt.pro), unchanged but for its URLs, trading on posrisk: the
round trip of ``trader`` over REST and the WebSocket API, with its stop order on the algo
route, every read agreeing with the engine, and the user stream (``watch_orders``,
``watch_my_trades``, ``watch_balance``) telling each step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest
import pytest_asyncio
from examples.bots.ccxt_guard import exchange_for

from posrisk.app import PosriskServer

from .trader import (
    FAR,
    FEES,
    FILL_MARK,
    NEAR,
    TRADER_KEY,
    TRADER_SECRET,
    WALLET,
    move_mark,
    trader_state,
    trading,
    until,
)

__all__ = ["trading"]

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

BTC = "BTC/USDT:USDT"


@pytest_asyncio.fixture
async def exchange(trading: PosriskServer) -> AsyncIterator[Any]:
    client = exchange_for(TRADER_KEY, TRADER_SECRET, trading.http_url)
    client.options["fetchCurrencies"] = False  # spares the wallet routes, not needed here
    await client.load_markets()
    try:
        yield client
    finally:
        await client.close()


class Watcher:
    """ccxt.pro's ``watch_*`` loops, each answer kept."""

    def __init__(self, exchange: Any) -> None:
        self.orders: list[tuple[str, str]] = []
        self.trades: list[tuple[str, float, float]] = []
        self.balances: list[float] = []
        self.tasks = [
            asyncio.ensure_future(self._loop(exchange.watch_orders, self._order)),
            asyncio.ensure_future(self._loop(exchange.watch_my_trades, self._trade)),
            asyncio.ensure_future(self._loop(exchange.watch_balance, self._balance)),
        ]

    async def _loop(self, watch: Any, keep: Any) -> None:
        while True:
            keep(await watch())

    def _order(self, orders: list[dict[str, Any]]) -> None:
        self.orders += [(o["id"], o["status"]) for o in orders]

    def _trade(self, trades: list[dict[str, Any]]) -> None:
        self.trades += [(t["order"], t["price"], t["fee"]["cost"]) for t in trades]

    def _balance(self, balance: dict[str, Any]) -> None:
        self.balances.append(balance["USDT"]["total"])

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def listening(server: PosriskServer) -> None:
    assert server.streams is not None
    streams = server.streams
    await until(lambda: any(k.sinks for k in streams.listen_keys()), "the user stream attached")


async def test_ccxt_round_trip_over_rest_and_ws(trading: PosriskServer, exchange: Any) -> None:
    watcher = Watcher(exchange)
    try:
        await listening(trading)
        bought = await exchange.create_order(BTC, "market", "buy", 0.01)
        assert (bought["status"], bought["average"], bought["filled"]) == ("closed", 20000.0, 0.01)

        far = await exchange.create_order(BTC, "limit", "buy", 0.01, float(FAR))
        assert far["status"] == "open"
        [open_order] = await exchange.fetch_open_orders(BTC)
        assert (open_order["id"], open_order["price"]) == (far["id"], 19000.0)
        assert (await exchange.fetch_order(far["id"], BTC))["status"] == "open"
        canceled = await exchange.cancel_order(far["id"], BTC)
        assert canceled["status"] == "canceled"

        near = await exchange.create_order_ws(BTC, "limit", "buy", 0.01, float(NEAR))
        assert (await exchange.fetch_order_ws(near["id"], BTC))["status"] == "open"
        await move_mark(trading, FILL_MARK)
        filled = await exchange.fetch_order(near["id"], BTC)
        assert (filled["status"], filled["average"], filled["filled"]) == ("closed", 19500.0, 0.01)

        # A stop goes to the algo route; a limit over the WS API, canceled there; then all.
        stop = await exchange.create_order(
            BTC, "market", "sell", 0.02, None, {"stopPrice": 18000, "reduceOnly": True}
        )
        assert (stop["status"], stop["triggerPrice"]) == ("open", 18000.0)
        assert stop["info"]["algoType"] == "CONDITIONAL"  # POST /fapi/v1/algoOrder
        [waiting] = await exchange.fetch_open_orders(BTC, params={"trigger": True})
        assert (waiting["id"], waiting["reduceOnly"]) == (stop["id"], True)
        spare = await exchange.create_order_ws(BTC, "limit", "buy", 0.01, 18500.0)
        assert (await exchange.cancel_order_ws(spare["id"], BTC))["status"] == "canceled"
        await exchange.create_order(BTC, "limit", "buy", 0.01, 18600.0)
        await exchange.cancel_all_orders(BTC)  # DELETE allOpenOrders: the stop stays
        assert await exchange.fetch_open_orders(BTC) == []
        assert len(await exchange.fetch_open_orders(BTC, params={"trigger": True})) == 1
        await exchange.cancel_all_orders(BTC, {"trigger": True})  # DELETE algoOpenOrders
        assert await exchange.fetch_open_orders(BTC, params={"trigger": True}) == []

        closed = await exchange.create_order(
            BTC, "market", "sell", 0.02, None, {"reduceOnly": True}
        )
        assert (closed["status"], closed["average"], closed["reduceOnly"]) == (
            "closed",
            19400.0,
            True,
        )

        trades = await exchange.fetch_my_trades(BTC)
        assert [(t["order"], t["side"], t["price"], t["takerOrMaker"]) for t in trades] == [
            (bought["id"], "buy", 20000.0, "taker"),
            (near["id"], "buy", 19500.0, "maker"),
            (closed["id"], "sell", 19400.0, "taker"),
        ]
        assert [D(str(t["fee"]["cost"])) for t in trades] == FEES
        assert trader_state(trading) == (WALLET, D(0))
        balance = await exchange.fetch_balance()
        assert balance["USDT"]["total"] == float(WALLET)
        positions = [p for p in await exchange.fetch_positions([BTC]) if p["contracts"]]
        assert positions == []

        await until(lambda: len(watcher.trades) == 3, "three trades watched")
        assert watcher.trades == [
            (bought["id"], 20000.0, 0.1),
            (near["id"], 19500.0, 0.039),
            (closed["id"], 19400.0, 0.194),
        ]
        await until(lambda: watcher.balances[-1:] == [float(WALLET)], "the last balance")
        statuses = [s for i, s in watcher.orders if i == near["id"]]
        assert statuses == ["open", "closed"]
        for step in (bought, closed):
            assert (step["id"], "closed") in watcher.orders
        assert (far["id"], "canceled") in watcher.orders
        assert (spare["id"], "canceled") in watcher.orders
    finally:
        await watcher.stop()


async def test_ccxt_stop_over_the_ws_api_triggers_on_the_mark(
    trading: PosriskServer, exchange: Any
) -> None:
    # Long 0.010 at 20000; a reduce-only STOP_MARKET SELL at 19000 placed with
    # algoOrder.place; the mark falls to 18900: it triggers and sells at the mark as taker
    # (fee 189 × 0.0005 = 0.0945; realized (18900 − 20000) × 0.010 = −11).
    await exchange.create_order(BTC, "market", "buy", 0.01)
    stop = await exchange.create_order_ws(
        BTC, "market", "sell", 0.01, None, {"stopPrice": 19000, "reduceOnly": True}
    )
    assert (stop["status"], stop["triggerPrice"], stop["info"]["algoType"]) == (
        "open",
        19000.0,
        "CONDITIONAL",
    )
    await move_mark(trading, D("18900"))
    assert await exchange.fetch_open_orders(BTC, params={"trigger": True}) == []
    *_, sold = await exchange.fetch_my_trades(BTC)
    assert (sold["side"], sold["price"], sold["takerOrMaker"]) == ("sell", 18900.0, "taker")
    assert D(str(sold["fee"]["cost"])) == D("0.0945")
    assert trader_state(trading) == (D("1000") - D("0.1") - D("0.0945") - D("11"), D(0))


async def test_ccxt_sees_order_refusals_by_their_codes(exchange: Any) -> None:
    import ccxt

    # ccxt picks its linear error map by Binance's URL: against posrisk these codes come as
    # plain ExchangeError, the code in the message.
    with pytest.raises(ccxt.ExchangeError, match="-2019"):  # Margin is insufficient.
        await exchange.create_order(BTC, "market", "buy", 10)
    with pytest.raises(ccxt.ExchangeError, match="-2022"):  # ReduceOnly Order is rejected.
        await exchange.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    with pytest.raises(ccxt.ExchangeError, match="-2019"):
        await exchange.create_order_ws(BTC, "limit", "buy", 10, 19000.0)
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):  # Unknown order sent.
        await exchange.cancel_order("123456", BTC)
