"""The client against posrisk: key types, logon, timeouts, reconnects, clock skew, errors,
rate limits, the sync facade."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from picows import WSListener, ws_create_server

from posrisk.app import PosriskServer
from posrisk.client import (
    ConnectionLost,
    InvalidApiKey,
    InvalidApiKeyFormat,
    InvalidParameter,
    InvalidSignature,
    InvalidSymbol,
    IPBanned,
    KeyTypeNotSupported,
    MalformedRequest,
    MarginType,
    PositionClient,
    PositionSide,
    RateLimited,
    RequestTimeout,
    TimestampOutsideRecvWindow,
)
from posrisk.protocol import LimitRules, canonical_payload, hmac_signature
from posrisk.service.clock import ManualClock

from ..gateway.conftest import make_server
from ..service.conftest import (
    ED_KEY,
    HEDGE_KEY,
    HEDGE_SECRET,
    HMAC_KEY,
    HMAC_SECRET,
    RSA_KEY,
    Keys,
    known_scenario,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys)
    yield running
    await running.stop()


def client(server: PosriskServer, api_key: str, key: Any, **options: Any) -> PositionClient:
    return PositionClient(server.ws_url, api_key, key, **options)


async def test_positions_with_an_hmac_key(server: PosriskServer) -> None:
    async with client(server, HEDGE_KEY, HEDGE_SECRET) as c:
        assert not c.logged_on  # HMAC keys cannot log on: each request is signed
        long, short = await c.positions("BTCUSDT")
        assert (long.position_side, short.position_side) == (PositionSide.LONG, PositionSide.SHORT)
        assert long.unrealized_profit == Decimal("-1.06214947")
        assert long.liquidation_price == Decimal("19731.45529116")
        assert (long.leverage, long.margin_type) == (20, MarginType.CROSS)
        assert long.update_time_ms == 1655217461579
        assert not short.is_open
        [v2] = await c.positions_v2()
        assert (v2.symbol, v2.maint_margin, v2.margin_asset) == (
            "BTCUSDT",
            Decimal("0.08449220"),
            "USDT",
        )
        every = await c.positions()
        assert len(every) == 2 * 345
        usage = c.rate_limit
        assert usage is not None and usage.limit == 2400
        assert usage.count == 5 + 2 * 3 + 5 * 3  # handshake, 3 clock samples, 3 requests


async def test_an_ed25519_key_logs_on_so_requests_are_not_signed(
    server: PosriskServer, keys: Keys, tmp_path: Path
) -> None:
    path = tmp_path / "ed.pem"
    path.write_text(keys.ed25519_private)
    async with client(server, ED_KEY, path) as c:
        assert c.logged_on
        assert server.gateway is not None
        [listener] = list(server.gateway.connections)
        assert listener.conn.session_key == ED_KEY
        rows = await c.positions_v2()
        assert [(r.symbol, r.side) for r in rows] == [("BTCUSDT", "LONG"), ("ETHUSDT", "SHORT")]
        assert "logged on" in repr(c)


async def test_an_rsa_key_signs_each_request(server: PosriskServer, keys: Keys) -> None:
    async with client(server, RSA_KEY, keys.rsa_private) as c:
        assert not c.logged_on
        [eth] = await c.positions("ETHUSDT")
        assert (eth.position_amt, eth.isolated_wallet) == (Decimal("-1.000"), Decimal("100"))


async def test_a_logon_refused_falls_back_to_signing(server: PosriskServer) -> None:
    async with client(server, HMAC_KEY, HMAC_SECRET) as c:
        with pytest.raises(KeyTypeNotSupported) as refused:
            await c.logon()
        assert refused.value.code == -4056
        assert not c.logged_on
        assert (await c.positions("BTCUSDT"))[0].position_amt == Decimal("0.010")


async def test_every_mapped_error(server: PosriskServer) -> None:
    async with client(server, HMAC_KEY, "not-the-secret") as c:
        with pytest.raises(InvalidSignature) as bad_signature:
            await c.positions()
        assert (bad_signature.value.code, bad_signature.value.status) == (-1022, 400)
        assert bad_signature.value.payload["error"]["msg"] == (
            "Signature for this request is not valid."
        )
    async with client(server, "unknownKey42", "x") as c:
        with pytest.raises(InvalidApiKey):
            await c.positions()
    async with client(server, "bad key!", "x") as c:
        with pytest.raises(InvalidApiKeyFormat):
            await c.positions()
    async with client(server, HMAC_KEY, HMAC_SECRET, recv_window=70_000) as c:
        with pytest.raises(InvalidParameter) as invalid:
            await c.positions()
        assert invalid.value.code == -1130
    async with client(server, HMAC_KEY, HMAC_SECRET) as c:
        with pytest.raises(InvalidSymbol):
            await c.positions("NOTASYMBOL")
        with pytest.raises(
            MalformedRequest, match=re.escape("Unknown method 'account.nonexistent'")
        ):
            await c.request("account.nonexistent")
        stale = {"apiKey": HMAC_KEY, "timestamp": int(time.time() * 1000) - 60_000}
        stale["signature"] = hmac_signature(HMAC_SECRET, canonical_payload(stale))
        with pytest.raises(TimestampOutsideRecvWindow):
            await c.request("account.position", stale, signed=False)
        # The connection survives every error.
        assert (await c.positions("BTCUSDT"))[0].is_open


async def test_a_revoked_key_ends_the_session(server: PosriskServer, keys: Keys) -> None:
    assert server.admin is not None
    async with client(server, ED_KEY, keys.ed25519_private) as c:
        assert c.logged_on
        await server.admin.revoke_key("alice", ED_KEY)
        with pytest.raises(InvalidApiKey):
            await c.positions()
        assert not c.logged_on


async def test_the_clock_offset_is_measured_and_used(server: PosriskServer) -> None:
    skewed = lambda: time.time() + 30.0  # noqa: E731 - a laptop 30 s fast
    async with client(server, HMAC_KEY, HMAC_SECRET, clock=skewed) as c:
        assert -30_500 < c.clock_offset_ms < -29_500
        assert (await c.positions("BTCUSDT"))[0].is_open


async def test_a_minus_1021_resyncs_the_clock_and_retries_once(server: PosriskServer) -> None:
    skewed = lambda: time.time() - 20.0  # noqa: E731 - 20 s slow, and no sync at connect
    async with client(server, HMAC_KEY, HMAC_SECRET, clock=skewed, sync_clock=False) as c:
        assert c.clock_offset_ms == 0
        assert (await c.positions("BTCUSDT"))[0].is_open
        assert 19_500 < c.clock_offset_ms < 20_500


class Stall(WSListener):
    """Accepts the connection, answers nothing."""


async def test_a_server_that_stalls_gives_a_timeout_error() -> None:
    stalling = await ws_create_server(lambda _: Stall(), "127.0.0.1", 0)
    port = stalling.sockets[0].getsockname()[1]
    try:
        c = PositionClient(
            f"ws://127.0.0.1:{port}/", HMAC_KEY, HMAC_SECRET, timeout=0.2, sync_clock=False
        )
        await c.connect()
        started = time.monotonic()
        with pytest.raises(
            RequestTimeout, match=re.escape("no answer to account.position within 0.2 s")
        ):
            await c.positions()
        assert 0.15 < time.monotonic() - started < 2
        with pytest.raises(TimeoutError):  # RequestTimeout is a TimeoutError
            await c.positions()
        await c.close()
    finally:
        stalling.close()


async def test_connecting_to_nothing_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = PositionClient(f"ws://127.0.0.1:{port}/ws-fapi/v1", HMAC_KEY, HMAC_SECRET)
    with pytest.raises(ConnectionLost, match="cannot connect"):
        await c.connect()


async def test_reconnect_after_a_graceful_restart(tmp_path: Path, keys: Keys) -> None:
    first = await make_server(tmp_path, keys)
    port = first.port
    c = client(first, ED_KEY, keys.ed25519_private, backoff=(0.01, 0.05))
    await c.connect()
    await first.stop()  # sends serverShutdown: the client starts reconnecting
    second = await make_server(tmp_path, keys, scenario=None, port=port)
    try:
        rows = await c.positions_v2()
        assert [r.symbol for r in rows] == ["BTCUSDT", "ETHUSDT"]
        assert c.connections == 2 and c.logged_on  # the session was restored
    finally:
        await c.close()
        await second.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve_process(
    db: Path, port: int, scenario: Path | None, timeout_s: float = 30
) -> asyncio.subprocess.Process:
    """``posrisk serve`` on ``port`` (no admin API: nothing else bound), once it serves; a
    server that exits or stays silent fails the test with what it printed."""
    args = [sys.executable, "-m", "posrisk.cli", "serve", "--db", str(db), "--port", str(port)]
    args.append("--no-admin")
    if scenario is not None:
        args += ["--scenario", str(scenario)]
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    printed = b""
    deadline = time.monotonic() + timeout_s
    try:
        while b"Press Ctrl-C" not in printed:
            line = await asyncio.wait_for(process.stdout.readline(), deadline - time.monotonic())
            if not line:  # EOF: the server exited
                raise AssertionError(f"serve exited:\n{printed.decode(errors='replace')}")
            printed += line
    except BaseException:
        if process.returncode is None:
            process.kill()
        await process.wait()
        raise
    return process


async def test_a_server_that_cannot_start_fails_the_test_instead_of_hanging(
    tmp_path: Path,
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(AssertionError, match="serve exited"):
            await serve_process(tmp_path / "x.db", busy.getsockname()[1], None)


async def test_reconnect_after_the_server_is_killed_and_restarted(
    tmp_path: Path, keys: Keys
) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(known_scenario(keys)))
    db, port = tmp_path / "killed.db", free_port()
    process = await serve_process(db, port, scenario)
    c = PositionClient(
        f"ws://127.0.0.1:{port}/ws-fapi/v1",
        ED_KEY,
        keys.ed25519_private,
        backoff=(0.02, 0.1),
        timeout=30,
    )
    try:
        await c.connect()
        assert (await c.positions("BTCUSDT"))[0].position_amt == Decimal("0.010")
        process.send_signal(signal.SIGKILL)  # no goodbye, no close frame
        await process.wait()
        waiting = asyncio.ensure_future(c.positions("BTCUSDT"))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        process = await serve_process(db, port, None)
        [btc] = await waiting
        assert btc.position_amt == Decimal("0.010")
        assert c.connections == 2 and c.logged_on
    finally:
        await c.close()
        process.send_signal(signal.SIGINT)
        await process.wait()


async def test_no_reconnect_when_told_not_to(tmp_path: Path, keys: Keys) -> None:
    running = await make_server(tmp_path, keys)
    c = client(running, HMAC_KEY, HMAC_SECRET, reconnect=False)
    await c.connect()
    await running.stop()
    with pytest.raises(ConnectionLost):
        await c.positions()
    await c.close()


async def test_the_connection_is_recycled_before_its_age_limit(server: PosriskServer) -> None:
    async with client(server, HMAC_KEY, HMAC_SECRET, max_connection_age=3600) as c:
        timer = c._age_timer
        assert timer is not None
        assert 3599 < timer.when() - asyncio.get_running_loop().time() <= 3600
        assert c._transport is not None
        c._recycle(c._transport)  # what the timer does when it fires
        assert (await c.positions("BTCUSDT"))[0].is_open
        assert c.connections == 2


async def test_waiting_for_the_rate_limit_window_instead_of_crossing_it(
    tmp_path: Path, keys: Keys
) -> None:
    clock = ManualClock(1_700_000_020_000)  # 40 s into a minute
    running = await make_server(tmp_path, keys, limits=LimitRules(request_weight=12), clock=clock)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # time passes for server and client alike
        slept.append(seconds)
        clock.advance(round(seconds * 1000))

    c = client(
        running,
        HMAC_KEY,
        HMAC_SECRET,
        clock=lambda: clock.now / 1000,
        sleep=sleep,
        sync_clock=False,
    )
    try:
        await c.connect()  # handshake: 5
        await c.positions("BTCUSDT")  # 10
        await c.positions("BTCUSDT")  # 15 > 12: waits for the next minute, then 5
        assert slept == [20.0]
        usage = c.rate_limit
        assert usage is not None and (usage.count, usage.window_start) == (5, 1_700_000_040_000)
    finally:
        await c.close()
        await running.stop()


async def test_without_waiting_the_server_says_429_then_418(tmp_path: Path, keys: Keys) -> None:
    running = await make_server(
        tmp_path, keys, limits=LimitRules(request_weight=10, ban_after_rejections=1)
    )
    c = client(running, HMAC_KEY, HMAC_SECRET, wait_for_rate_limit=False, sync_clock=False)
    try:
        await c.connect()
        await c.positions("BTCUSDT")
        with pytest.raises(RateLimited) as limited:
            await c.positions("BTCUSDT")
        assert type(limited.value) is RateLimited
        assert limited.value.retry_after is not None and 0 <= limited.value.retry_after <= 60
        with pytest.raises(IPBanned):
            await c.positions("BTCUSDT")
    finally:
        await c.close()
        await running.stop()


async def test_the_sync_facade(server: PosriskServer) -> None:
    def script() -> tuple[list[Any], Any]:
        with PositionClient.sync(server.ws_url, HEDGE_KEY, HEDGE_SECRET) as c:
            return c.positions_v2(), c.rate_limit

    rows, usage = await asyncio.to_thread(script)
    assert [r.position_side for r in rows] == [PositionSide.LONG]
    assert usage is not None and usage.count > 0


class Pinger(WSListener):
    """Pings as soon as a client connects and records the pong."""

    pong: asyncio.Future[bytes]

    def on_ws_connected(self, transport: Any) -> None:
        transport.send_ping(b"are you there")

    def on_ws_frame(self, transport: Any, frame: Any) -> None:
        from picows import WSMsgType

        if frame.msg_type is WSMsgType.PONG and not self.pong.done():
            self.pong.set_result(frame.get_payload_as_bytes())


async def test_the_client_answers_server_pings() -> None:
    listener = Pinger()
    listener.pong = asyncio.get_running_loop().create_future()
    pinging = await ws_create_server(lambda _: listener, "127.0.0.1", 0)
    port = pinging.sockets[0].getsockname()[1]
    try:
        c = PositionClient(f"ws://127.0.0.1:{port}/", HMAC_KEY, HMAC_SECRET, sync_clock=False)
        await c.connect()
        assert await asyncio.wait_for(listener.pong, 5) == b"are you there"
        await c.close()
    finally:
        pinging.close()


async def test_a_server_failure_is_a_server_internal_error(
    server: PosriskServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posrisk.client import ServerInternalError
    from posrisk.service import api

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug in the server")

    async with client(server, HMAC_KEY, HMAC_SECRET) as c:
        monkeypatch.setitem(api.METHODS, "v2/account.position", broken)
        with pytest.raises(ServerInternalError) as failed:
            await c.positions_v2()
        assert (failed.value.code, failed.value.status) == (-1001, 500)
        assert (await c.positions("BTCUSDT"))[0].is_open  # the connection is still there


async def test_account_status_and_balance(server: PosriskServer, keys: Keys) -> None:
    async with client(server, HEDGE_KEY, HEDGE_SECRET) as c:
        status = await c.account_status()
        # Bob: 2.53267053 USDT; LONG 0.001 BTCUSDT @ 22185.2 at 21123.05052574, cross 20x.
        assert status.total_wallet_balance == Decimal("2.53267053")
        assert status.total_unrealized_profit == Decimal("-1.06214947")
        assert status.available_balance == Decimal("0.41436852")
        assert [a.asset for a in status.assets] == ["BTC", "USDC", "USDT"]
        assert len(status.positions) == 2 * 345
        long = next(p for p in status.positions if p.symbol == "BTCUSDT")
        assert (long.position_side, long.leverage, long.isolated) == (PositionSide.LONG, 20, False)
        assert long.notional is None  # a v2 field
        v2 = await c.account_status(v2=True)
        [row] = v2.positions
        assert (row.notional, row.leverage) == (Decimal("21.12305052"), None)
        [btc, _, usdt] = await c.balance()
        assert (usdt.asset, usdt.balance, usdt.max_withdraw_amount) == (
            "USDT",
            Decimal("2.53267053"),
            Decimal("0.41436852"),
        )
        assert usdt.account_alias == btc.account_alias == "ZaDI"
        assert (btc.balance, btc.update_time_ms) == (0, 0)
        usage = c.rate_limit
        assert usage is not None and usage.count == 5 + 2 * 3 + 5 * 3

    def script() -> tuple[Any, Any]:
        with PositionClient.sync(server.ws_url, ED_KEY, keys.ed25519_private) as sync:
            return sync.account_status().asset("USDT"), sync.balance()[2]

    asset, balance = await asyncio.to_thread(script)
    assert (asset.cross_wallet_balance, balance.available_balance) == (
        Decimal("900"),
        Decimal("900.66897999"),
    )
