"""The pytest plugin as a bot developer uses it: the posrisk_server fixture, sync and
async, the posrisk marker, and the plugin found through its entry point."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import websockets
import websockets.sync.client

from posrisk.client import PositionClient
from posrisk.errors import PosriskError
from posrisk.protocol import canonical_payload, hmac_signature
from posrisk.testing import PosriskTestServer

pytestmark = pytest.mark.timeout(60)


def ask_sync(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    with websockets.sync.client.connect(url) as ws:
        ws.send(json.dumps({"id": 1, "method": method, "params": params}))
        return json.loads(ws.recv(timeout=10))  # type: ignore[no-any-return]


def signed(server: PosriskTestServer, account: str, **params: Any) -> dict[str, Any]:
    key = server.key(account)
    assert key.secret is not None
    params = {"apiKey": key.api_key, "timestamp": server.now_ms(), **params}
    params["signature"] = hmac_signature(key.secret, canonical_payload(params))
    return params


def test_a_sync_test_gets_the_demo_accounts(posrisk_server: PosriskTestServer) -> None:
    reply = ask_sync(posrisk_server.url, "v2/account.position", signed(posrisk_server, "demo"))
    rows = {row["symbol"]: row for row in reply["result"]}
    assert rows["BTCUSDT"]["positionAmt"] == "0.080" and rows["ETHUSDT"]["positionAmt"] == "-1.500"
    assert rows["BTCUSDT"]["markPrice"] == "61250.50000000"
    posrisk_server.set_marks(BTCUSDT="58000")
    posrisk_server.fill("demo", "BTCUSDT", "SELL", "0.030", "58000")
    reply = ask_sync(posrisk_server.url, "v2/account.position", signed(posrisk_server, "demo"))
    rows = {row["symbol"]: row for row in reply["result"]}
    assert rows["BTCUSDT"]["positionAmt"] == "0.050"
    assert rows["BTCUSDT"]["markPrice"] == "58000.00000000"


@pytest.mark.asyncio
async def test_an_async_test_drives_the_client_and_the_stream(
    posrisk_server: PosriskTestServer,
) -> None:
    key = posrisk_server.key("demo", "ed25519")
    async with PositionClient(posrisk_server.url, key.api_key, key.private_key) as client:
        before = {p.symbol: p for p in await client.positions_v2()}
        assert before["BTCUSDT"].position_amt == Decimal("0.080")
        listen = await client.request("userDataStream.start", {"apiKey": key.api_key}, signed=False)
        async with websockets.connect(f"{posrisk_server.stream_url}/{listen['listenKey']}") as s:
            posrisk_server.fill("demo", "BTCUSDT", "BUY", "0.010", "61000", fee="0.244")
            update = json.loads(await s.recv())
        assert update["e"] == "ACCOUNT_UPDATE" and update["a"]["P"][0]["pa"] == "0.09"
        after = {p.symbol: p for p in await client.positions_v2()}
        assert after["BTCUSDT"].position_amt == Decimal("0.090")


@pytest.mark.asyncio
async def test_advancing_the_clock_expires_listen_keys(posrisk_server: PosriskTestServer) -> None:
    key = posrisk_server.key("demo-hedge")
    reply = ask_sync(posrisk_server.url, "userDataStream.start", {"apiKey": key.api_key})
    listen_key = reply["result"]["listenKey"]
    async with websockets.connect(f"{posrisk_server.stream_url}/{listen_key}") as stream:
        # The pong comes once the server has attached the stream to its key (the 101 may
        # arrive first): a clock moved before that would expire a key with no stream yet.
        await asyncio.wait_for(await stream.ping(), 10)
        posrisk_server.advance(minutes=61)
        expired = json.loads(await stream.recv())
    assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == listen_key


SMALL = {
    "accounts": [
        {
            "name": "carol",
            "keys": [{"type": "hmac", "apiKey": "carolKey1", "secret": "fake-test-secret"}],
            "deposits": {"USDT": "100"},
            "fills": [{"symbol": "ETHUSDT", "side": "BUY", "qty": "0.10", "price": "2000"}],
        }
    ],
    "marks": {"ETHUSDT": "2100"},
}


@pytest.mark.posrisk(scenario=SMALL)
def test_the_marker_gives_the_scenario(posrisk_server: PosriskTestServer) -> None:
    assert [k.api_key for k in posrisk_server.keys] == ["carolKey1"]
    described = posrisk_server.account("carol")
    assert described["positions"][0]["unRealizedProfit"] == "10.00000000"
    with pytest.raises(KeyError, match="no hmac key for account 'demo'"):
        posrisk_server.key("demo")


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "carol.json"
    path.write_text(json.dumps(SMALL))
    return path


def test_a_scenario_file_and_liquidation(scenario_file: Path) -> None:
    from posrisk.testing import serve

    with serve(scenario_file, liquidate=True) as exchange:
        exchange.set_marks(ETHUSDT="1000")  # 100 USDT cannot carry 0.1 ETH bought at 2000
        assert exchange.account("carol")["positions"] == []
    with pytest.raises(RuntimeError, match="not running"):
        _ = exchange.url


def test_the_plugin_is_found_through_its_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_uses_it(posrisk_server):
            assert posrisk_server.url.startswith("ws://127.0.0.1:")

        @pytest.mark.posrisk(scenario={"accounts": [{"name": "x"}]})
        def test_marker(posrisk_server):
            assert posrisk_server.account("x")["name"] == "x"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_a_plain_async_test_gets_the_server_in_either_asyncio_mode(
    pytester: pytest.Pytester, mode: str
) -> None:
    pytester.makeini(
        f"""
        [pytest]
        asyncio_mode = {mode}
        asyncio_default_fixture_loop_scope = function
        """
    )
    pytester.makepyfile(
        """
        import asyncio
        import json

        import pytest
        import websockets

        async def test_plain(posrisk_server):
            key = posrisk_server.key("demo").api_key
            async with websockets.connect(posrisk_server.url) as ws:
                await ws.send(json.dumps(
                    {"id": 1, "method": "userDataStream.start", "params": {"apiKey": key}}
                ))
                assert '"status":200' in await asyncio.wait_for(ws.recv(), 10)

        @pytest.fixture
        def exchange(posrisk_server):
            return posrisk_server

        async def test_through_a_fixture_of_its_own(exchange):
            await asyncio.sleep(0)
            assert exchange.url.startswith("ws://127.0.0.1:")

        @pytest.mark.asyncio
        async def test_marked(posrisk_server):
            assert len(posrisk_server.keys) == 3

        def test_sync(posrisk_server):
            assert posrisk_server.key("demo-hedge")
        """
    )
    result = pytester.runpytest_subprocess("-p", "asyncio", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


@pytest.mark.posrisk(scenario=SMALL)
def test_the_balance_and_the_owners_settings(posrisk_server: PosriskTestServer) -> None:
    # 100 USDT; long 0.1 ETHUSDT from 2000 at mark 2100: uPnL 10, at 20x PIM 10.5.
    [usdt] = [b for b in posrisk_server.balance("carol") if b["asset"] == "USDT"]
    assert (usdt["balance"], usdt["crossUnPnl"]) == ("100.00000000", "10.00000000")
    assert (usdt["availableBalance"], usdt["maxWithdrawAmount"]) == ("99.50000000", "89.50000000")
    answer = posrisk_server.set_leverage("carol", "ETHUSDT", 10)
    assert answer == {"leverage": 10, "maxNotionalValue": "150000000", "symbol": "ETHUSDT"}
    status = posrisk_server.account_status("carol")
    assert (status["availableBalance"], status["totalPositionInitialMargin"]) == (
        "89.00000000",
        "21.00000000",
    )
    assert posrisk_server.account_status("carol", v2=False)["positions"][0]["leverage"]
    with pytest.raises(PosriskError) as refused:  # an open position keeps its margin type
        posrisk_server.set_margin_type("carol", "ETHUSDT", "ISOLATED")
    assert refused.value.code == -4048
    with pytest.raises(PosriskError) as refused:
        posrisk_server.set_position_mode("carol", hedge=True)
    assert refused.value.code == -4068
    assert posrisk_server.set_margin_type("carol", "BTCUSDT", "isolated")["code"] == 200


@pytest.mark.posrisk(scenario=SMALL)
def test_income_is_what_the_route_answers(posrisk_server: PosriskTestServer) -> None:
    start = posrisk_server.now_ms()  # the server's clock runs
    posrisk_server.deposit("carol", "5")
    posrisk_server.fill("carol", "ETHUSDT", "SELL", "0.1", "2200", fee="0.088")
    rows = posrisk_server.income("carol", startTime=start)[-3:]  # the scenario's may share ms
    assert [(r["incomeType"], r["income"], r["symbol"]) for r in rows] == [
        ("TRANSFER", "5.00000000", ""),
        ("REALIZED_PNL", "20.00000000", "ETHUSDT"),
        ("COMMISSION", "-0.08800000", "ETHUSDT"),
    ]
    assert posrisk_server.income("carol", incomeType="COMMISSION")[-1:] == rows[2:]
    with pytest.raises(PosriskError) as refused:
        posrisk_server.income("carol", incomeType="BONUS")
    assert refused.value.code == -1130


def rest_buy(server: PosriskTestServer, price: str, **extra: str) -> dict[str, Any]:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    return server.place_order("demo", **{**params, "quantity": "0.010", "price": price, **extra})


def test_a_resting_order_fills_when_the_marks_cross_it(posrisk_server: PosriskTestServer) -> None:
    placed = rest_buy(posrisk_server, "60000", newClientOrderId="dip")
    assert (placed["status"], placed["clientOrderId"]) == ("NEW", "dip")
    [listed] = posrisk_server.open_orders("demo")
    assert (listed["orderId"], listed["price"], listed["status"]) == (
        placed["orderId"], "60000.00", "NEW",
    )  # fmt: skip
    reply = ask_sync(posrisk_server.url, "order.status", signed(
        posrisk_server, "demo", symbol="BTCUSDT", orderId=placed["orderId"],
    ))  # fmt: skip
    assert reply["result"]["status"] == "NEW"  # the owner sees the same order
    with pytest.raises(TimeoutError, match=r"did not become FILLED within 0.05 s \(it is NEW\)"):
        posrisk_server.wait_for_order("demo", placed["orderId"], "FILLED", timeout=0.05)
    posrisk_server.set_marks(BTCUSDT="59999.9")
    filled = posrisk_server.wait_for_order("demo", placed["orderId"], "FILLED")
    assert (filled["executedQty"], filled["avgPrice"]) == ("0.010", "60000.00000")
    assert posrisk_server.open_orders("demo") == []
    rows = {p["symbol"]: p for p in posrisk_server.account("demo")["positions"]}
    assert rows["BTCUSDT"]["positionAmt"] == "0.090"


def test_wait_for_order_wakes_on_the_change_from_another_thread(
    posrisk_server: PosriskTestServer,
) -> None:
    placed = rest_buy(posrisk_server, "60000")
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(
            posrisk_server.wait_for_order, "demo", placed["orderId"], "CANCELED", timeout=30
        )
        canceled = posrisk_server.cancel_orders("demo", order_id=placed["orderId"])
        assert [o["status"] for o in canceled["orders"]] == ["CANCELED"]
        assert waiting.result(30)["status"] == "CANCELED"


def test_orders_are_canceled_by_symbol_or_all(posrisk_server: PosriskTestServer) -> None:
    first = rest_buy(posrisk_server, "60000")["orderId"]
    second = rest_buy(posrisk_server, "59000")["orderId"]
    assert [o["orderId"] for o in posrisk_server.orders("demo", "BTCUSDT")["orders"]] == [
        first,
        second,
    ]
    assert posrisk_server.orders("demo", "ETHUSDT") == {"orders": [], "algoOrders": []}
    with pytest.raises(PosriskError) as refused:
        posrisk_server.cancel_orders("demo", order_id=12345)
    assert refused.value.code == -2011
    with pytest.raises(PosriskError) as refused:  # a refusal keeps Binance's code
        rest_buy(posrisk_server, "60000", newClientOrderId="x", timeInForce="FOK")
    assert refused.value.code == -5021
    assert posrisk_server.cancel_orders("demo", "ETHUSDT")["orders"] == []
    canceled = posrisk_server.cancel_orders("demo")
    assert [o["orderId"] for o in canceled["orders"]] == [first, second]
    assert posrisk_server.wait_for_order("demo", second, "CANCELED", timeout=0)["orderId"] == second


WITH_ORDERS = {
    **SMALL,
    "accounts": [
        {
            **SMALL["accounts"][0],  # type: ignore[index]
            "orders": [
                {
                    "symbol": "ETHUSDT",
                    "side": "SELL",
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "quantity": "0.10",
                    "price": "2200",
                    "reduceOnly": True,
                },
            ],
        }
    ],
}


@pytest.mark.posrisk(scenario=WITH_ORDERS)
def test_a_scenarios_resting_order_is_waited_for(posrisk_server: PosriskTestServer) -> None:
    [order] = posrisk_server.open_orders("carol")
    assert (order["side"], order["reduceOnly"], order["price"]) == ("SELL", True, "2200.00")
    posrisk_server.set_marks(ETHUSDT="2200")
    closed = posrisk_server.wait_for_order("carol", order["orderId"], "FILLED")
    assert closed["avgPrice"] == "2200.00000"
    assert posrisk_server.account("carol")["positions"] == []


def test_advancing_the_clock_runs_what_fell_due_and_clients_keep_their_clock(
    posrisk_server: PosriskTestServer,
) -> None:
    posrisk_server.set_marks(BTCUSDT="60000")
    deadline = posrisk_server.now_ms() + 11 * 60_000  # GTD: at least 10 minutes ahead
    order = posrisk_server.place_order(
        "demo", symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTD",
        quantity="0.010", price="50000", goodTillDate=deadline,
    )  # fmt: skip
    posrisk_server.advance(hours=1)
    # Expired before advance returned: no wait, no poll.
    assert posrisk_server.open_orders("demo") == []
    assert posrisk_server.wait_for_order("demo", order["orderId"], "EXPIRED")["status"] == "EXPIRED"
    # A client that stamps requests with this machine's clock is still served.
    key = posrisk_server.key("demo")
    assert key.secret is not None
    params: dict[str, Any] = {"apiKey": key.api_key, "timestamp": int(time.time() * 1000)}
    params["signature"] = hmac_signature(key.secret, canonical_payload(params))
    reply = ask_sync(posrisk_server.url, "v2/account.position", params)
    assert reply["status"] == 200, reply


def test_advancing_past_a_funding_time_charges_the_positions_once() -> None:
    scenario = {
        "accounts": [
            {
                "name": "trader",
                "keys": [{"type": "hmac", "apiKey": "traderKey0001", "secret": "not-a-secret"}],
                "deposits": {"USDT": "1000"},
                "fills": [{"symbol": "BTCUSDT", "side": "BUY", "qty": "0.010", "price": "20000"}],
            }
        ],
        "marks": {"BTCUSDT": "21000"},
    }
    with PosriskTestServer(scenario) as exchange:
        [before] = [b for b in exchange.balance("trader") if b["asset"] == "USDT"]
        exchange.advance(hours=8)  # crosses exactly one funding time (every 8 h from 00:00)
        [after] = [b for b in exchange.balance("trader") if b["asset"] == "USDT"]
        paid = Decimal(before["balance"]) - Decimal(after["balance"])
        assert paid == Decimal("0.021")  # 0.010 × 21000 × 0.0001
        exchange.advance(minutes=1)
        [again] = [b for b in exchange.balance("trader") if b["asset"] == "USDT"]
        assert again["balance"] == after["balance"]
