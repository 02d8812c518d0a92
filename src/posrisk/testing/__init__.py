"""posrisk for testing trading bots: a real server in your test process.

    from posrisk.testing import serve

    with serve() as exchange:                    # the demo accounts, keys generated
        key = exchange.key("demo")               # apiKey and secret of an HMAC key
        bot = MyBot(exchange.url, key.api_key, key.secret)
        exchange.set_marks(BTCUSDT="58000")      # move the market mid-test
        exchange.fill("demo", "BTCUSDT", "SELL", "0.080", "58000")
        exchange.advance(minutes=61)             # the server's clock: listenKeys expire
        exchange.advance(hours=8)                # ... and funding is settled
        order = bot.last_order_id                # a LIMIT your bot left resting
        exchange.set_marks(BTCUSDT="57000")      # the touch crosses it: it fills
        exchange.wait_for_order("demo", order, "FILLED", timeout=5)
        exchange.open_orders("demo"); exchange.cancel_orders("demo", symbol="BTCUSDT")

``serve(scenario)`` takes a scenario (a dict, or a JSON/YAML file shaped like those in
``examples/scenarios/``: accounts with keys, deposits, settings, fills; marks), starts a
``PosriskServer`` on a free loopback port in a thread of its own, with an in-memory
database and no admin API, and stops it on exit. It works the same from synchronous
tests, from ``pytest-asyncio`` tests and from unittest or scripts; the pytest fixture
``posrisk_server`` (``posrisk.testing.plugin``, registered with pytest) wraps it.

The handle's methods block until the server has applied the change and its streams have
sent the resulting ``ACCOUNT_UPDATE`` (they are quick: one in-memory commit). The server's
clock is the machine's plus whatever ``advance`` added; requests after an ``advance`` must
carry timestamps from that clock (``exchange.now_ms()``), as after any clock jump — a client
that syncs its clock with the server's (``PositionClient``, ccxt's
``adjustForTimeDifference``) follows by itself.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import orjson

from ..app import PosriskServer, ServerSettings
from ..engine import Fill
from ..gateway.server import GatewaySettings
from ..protocol import LimitRules, generate_api_key, generate_ed25519, generate_hmac_secret
from ..service import settings as owner_settings
from ..service.accounts import account_balance, account_status
from ..service.clock import OffsetClock
from ..service.demo import DEMO_SCENARIO
from ..service.income_routes import income, income_query
from ..service.inputs import parse_fill, parse_marks
from ..service.scenario import read_scenario_file
from .orders import OrderMethods, OrderWatch

__all__ = ["OffsetClock", "PosriskTestServer", "TestKey", "demo_scenario", "serve"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TestKey:
    """An API key of the scenario: ``secret`` for HMAC, ``private_key`` (PEM) for the
    Ed25519 keys this module generated (a scenario's own public keys come without one)."""

    __test__ = False  # not a pytest test class

    account: str
    type: str
    api_key: str
    secret: str | None = None
    private_key: str | None = None

    def __repr__(self) -> str:
        return f"TestKey({self.account!r}, {self.type!r}, {self.api_key!r})"


def demo_scenario() -> tuple[dict[str, Any], list[TestKey]]:
    """The demo accounts (``demo`` one-way, ``demo-hedge`` hedge) with fresh keys: an HMAC
    key each, and an Ed25519 key for ``demo``."""
    scenario = copy.deepcopy(DEMO_SCENARIO)
    keys = []
    for account in scenario["accounts"]:
        name = account["name"]
        hmac_key = TestKey(name, "hmac", generate_api_key(), secret=generate_hmac_secret())
        account["keys"] = [{"type": "hmac", "apiKey": hmac_key.api_key, "secret": hmac_key.secret}]
        keys.append(hmac_key)
        if name == "demo":
            private, public = generate_ed25519()
            ed_key = TestKey(name, "ed25519", generate_api_key(), private_key=private)
            account["keys"].append(
                {"type": "ed25519", "apiKey": ed_key.api_key, "publicKey": public}
            )
            keys.append(ed_key)
    return scenario, keys


def _scenario_keys(scenario: Mapping[str, Any]) -> list[TestKey]:
    keys = []
    for account in scenario.get("accounts", []):
        for key in account.get("keys", []):
            keys.append(
                TestKey(account["name"], key["type"], key["apiKey"], secret=key.get("secret"))
            )
    return keys


class PosriskTestServer(OrderMethods):
    """A posrisk server in a thread of its own, and the handle a test drives it with
    (its orders: ``OrderMethods``)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        scenario: Mapping[str, Any] | str | Path | None = None,
        *,
        limits: LimitRules | None = None,
        liquidate: bool = False,
        listen_key_check_s: float = 0.05,
        timeout_s: float = 10.0,
        funding: str | Path | None = None,
    ) -> None:
        if scenario is None:
            document, self.keys = demo_scenario()
        else:
            if isinstance(scenario, str | Path):
                loaded = read_scenario_file(Path(scenario))
                if not isinstance(loaded, Mapping):
                    raise ValueError(f"{scenario}: a scenario is an object with 'accounts'")
                scenario = loaded
            document = dict(scenario)
            self.keys = _scenario_keys(document)
        self.clock = OffsetClock()
        self.timeout_s = timeout_s
        self._scenario = document
        self._settings = ServerSettings(
            db=":memory:",
            port=0,
            demo=False,
            admin_port=None,
            limits=limits or LimitRules(),
            liquidate=liquidate,
            clock=self.clock,
            gateway=GatewaySettings(listen_key_check_s=listen_key_check_s),
            funding_file=None if funding is None else Path(funding),
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.server: PosriskServer | None = None
        self.watch: OrderWatch | None = None

    def __repr__(self) -> str:
        return f"<PosriskTestServer {self.url if self.server else 'stopped'}>"

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> PosriskTestServer:
        """Start serving (on a free loopback port); returns once the server listens."""
        if self._thread is not None:
            raise RuntimeError("this test server is already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="posrisk-test-server", daemon=True
        )
        self._thread.start()
        server = PosriskServer(self._settings)
        try:
            self._call(server.start())
            self._call(self._load(server))
        except BaseException:
            self._shutdown(None)
            raise
        self.server = server
        return self

    async def _load(self, server: PosriskServer) -> None:
        assert server.admin is not None
        self.watch = OrderWatch(server.registry)  # before the scenario's orders
        await server.admin.load_scenario(self._scenario)

    def stop(self) -> None:
        """Tell clients and close them, then stop the thread (a second stop does nothing)."""
        self._shutdown(self.server)
        self.server = None

    def _shutdown(self, server: PosriskServer | None) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if server is not None:
                self._call(server.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(self.timeout_s)
            loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> PosriskTestServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> PosriskTestServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def _call(self, work: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._loop is None:
            raise RuntimeError("the test server is not running")
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        return future.result(self.timeout_s if timeout is None else timeout)

    def _running(self) -> PosriskServer:
        if self.server is None:
            raise RuntimeError("the test server is not running: use it inside `with serve()`")
        return self.server

    # -- where and who -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The WebSocket API: ``ws://127.0.0.1:<port>/ws-fapi/v1``."""
        return self._running().ws_url

    @property
    def http_url(self) -> str:
        """The REST base (``/fapi/v2/positionRisk`` ...) and stream base (``ws://…/ws/``)."""
        return self._running().http_url

    @property
    def stream_url(self) -> str:
        """User data streams: ``<stream_url>/<listenKey>``."""
        return self.http_url.replace("http", "ws", 1) + "/ws"

    def key(self, account: str, type: str = "hmac") -> TestKey:
        """The first key of ``account`` of that type."""
        for key in self.keys:
            if key.account == account and key.type == type:
                return key
        raise KeyError(f"no {type} key for account {account!r} in this scenario")

    def now_ms(self) -> int:
        """The server's clock (the machine's plus every ``advance``)."""
        return self.clock.now_ms()

    # -- moving the world --------------------------------------------------------------

    def set_marks(self, marks: Mapping[str, object] | None = None, **by_symbol: object) -> None:
        """Move mark prices (``set_marks(BTCUSDT="58000")``): the resting orders they cross
        fill (before this returns), then crossed positions liquidate when started with
        ``liquidate=True``."""
        parsed = parse_marks({**(marks or {}), **by_symbol})
        admin = self._running().admin
        assert admin is not None
        self._call(admin.set_marks(parsed))

    def set_funding(
        self,
        symbol: str,
        *,
        rate: object = None,
        interval_hours: int | None = None,
        cap: object = None,
        floor: object = None,
    ) -> dict[str, Any]:
        """Set ``symbol``'s funding (``set_funding("BTCUSDT", rate="0.0003",
        interval_hours=4)``; what is left out stays); answers its setting and next rate."""
        given = {"rate": rate, "intervalHours": interval_hours, "cap": cap, "floor": floor}
        fields = {name: value for name, value in given.items() if value is not None}
        rates = self._running().rates
        assert rates is not None
        answer: dict[str, Any] = self._call(rates.set({symbol: fields}))
        return dict(answer[symbol])

    def fill(
        self,
        account: str,
        symbol: str,
        side: str,
        qty: object,
        price: object,
        *,
        position_side: str = "BOTH",
        fee: object = "0",
        force: bool = False,
    ) -> None:
        """A trade on ``account`` (as the matching engine would report it: refused with
        -2019 when its opening part needs more margin than is available, unless ``force``)."""
        fill: Fill = parse_fill(
            {
                "symbol": symbol,
                "side": side,
                "qty": str(qty),
                "price": str(price),
                "positionSide": position_side,
                "fee": str(fee),
            },
            default_time=0,
        )
        admin = self._running().admin
        assert admin is not None
        self._call(admin.fill(account, fill, force=force))

    def deposit(self, account: str, amount: object, asset: str = "USDT") -> None:
        """Move ``amount`` into (negative: out of) the account's wallet."""
        admin = self._running().admin
        assert admin is not None
        self._call(admin.wallet(account, asset, Decimal(str(amount))))

    def advance(
        self, *, ms: int = 0, seconds: float = 0, minutes: float = 0, hours: float = 0
    ) -> None:
        """Move the server's clock forward (listenKey expiry, bans, rate-limit windows);
        what fell due (GTD expiry, funding times) has run on return. Clients stamping
        requests with the machine's clock keep working (see ``service.clock``)."""
        total = ms + int(seconds * 1000) + int(minutes * 60_000) + int(hours * 3_600_000)
        server = self.server
        if server is None or server.clock_control is None:
            self.clock.advance(total)  # not serving: nothing can fall due
        else:
            self._call(server.clock_control.advance(total), timeout=max(self.timeout_s, 60.0))

    def account(self, name: str) -> dict[str, Any]:
        """The account as the admin API shows it (balances, open positions, keys)."""
        admin = self._running().admin
        assert admin is not None

        async def describe() -> dict[str, Any]:  # read on the server's own thread
            return admin.describe(name)

        return self._call(describe())

    # -- what the account owner sees and sets (the same answers as over REST) ----------

    def balance(self, account: str) -> list[dict[str, Any]]:
        """The account's balance array, one item per margin asset, as ``GET
        /fapi/v3/balance`` answers it (``balance``, ``availableBalance``, ... as strings)."""
        items: list[dict[str, Any]] = self._read(account, account_balance)
        return items

    def account_status(self, account: str, *, v2: bool = True) -> dict[str, Any]:
        """The account's totals, assets and rows as ``GET /fapi/v3/account`` answers them
        (``v2=False``: ``/fapi/v2/account``)."""
        status: dict[str, Any] = self._read(
            account, lambda registry, entry: account_status(registry, entry, v2=v2, rest=True)
        )
        return status

    def income(self, account: str, **filters: object) -> list[dict[str, Any]]:
        """The account's income rows as ``GET /fapi/v1/income`` answers them, ``filters``
        as its params (``symbol``, ``incomeType``, ``startTime``, ``endTime``, ``page``,
        ``limit``; without times the last 7 days): Binance's refusals raise."""
        server = self._running()
        admin = server.admin
        assert admin is not None
        params = {name: str(value) for name, value in filters.items()}

        async def read() -> list[dict[str, Any]]:  # on the server's own thread
            server.registry.account(account)
            query = income_query(params, admin.market, admin.clock.now_ms())
            return await income(admin.store, account, query)

        return self._call(read())

    def set_leverage(self, account: str, symbol: str, leverage: int) -> dict[str, Any]:
        """``POST /fapi/v1/leverage`` as the account owner: Binance's refusals raise."""
        params = {"symbol": symbol, "leverage": str(leverage)}
        return self._owner(owner_settings.change_leverage, account, params)

    def set_margin_type(self, account: str, symbol: str, margin_type: str) -> dict[str, Any]:
        """``POST /fapi/v1/marginType`` (``ISOLATED`` or ``CROSSED``) as the account owner."""
        params = {"symbol": symbol, "marginType": margin_type}
        return self._owner(owner_settings.change_margin_type, account, params)

    def set_position_mode(self, account: str, *, hedge: bool) -> dict[str, Any]:
        """``POST /fapi/v1/positionSide/dual`` as the account owner."""
        params = {"dualSidePosition": "true" if hedge else "false"}
        return self._owner(owner_settings.change_position_mode, account, params)

    def _owner(
        self, operation: owner_settings.ServiceOperation, account: str, params: dict[str, str]
    ) -> dict[str, Any]:
        admin = self._running().admin
        assert admin is not None

        async def run() -> Any:
            return await operation(admin, account, params)

        answer: dict[str, Any] = orjson.loads(orjson.dumps(self._call(run())))
        return answer

    def _read(self, account: str, build: Any) -> Any:
        registry = self._running().registry

        async def read() -> Any:  # on the server's own thread
            return orjson.loads(orjson.dumps(build(registry, registry.account(account))))

        return self._call(read())


def serve(
    scenario: Mapping[str, Any] | str | Path | None = None, **options: Any
) -> PosriskTestServer:
    """A test server (a context manager: ``with serve(...) as exchange``); ``scenario`` is
    a dict or a scenario file, None for the demo accounts with fresh keys. Options:
    ``limits`` (``LimitRules``), ``liquidate``, ``listen_key_check_s``, ``timeout_s``,
    ``funding`` (a file of funding rates to replay, as ``posrisk serve --funding``)."""
    return PosriskTestServer(scenario, **options)
