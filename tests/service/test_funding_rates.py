"""FundingRates: settings durable before served, the rate in force at a time (settings,
a replayed series, rates a mark source saw), index prices, and other gateways reading
what one set or saw."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from posrisk.engine import EngineError, Market
from posrisk.engine.funding import SymbolFunding
from posrisk.marks import MarkExtras, RandomWalk, Replay
from posrisk.service.admin import AdminService
from posrisk.service.clock import ManualClock
from posrisk.service.errors import ServiceError
from posrisk.service.funding_rates import OBSERVED_META_KEY, FundingRates, funding_series
from posrisk.service.funding_settings import FundingSetting
from posrisk.service.registry import Registry
from posrisk.store import SQLiteStore

pytestmark = pytest.mark.asyncio
D = Decimal
H = 3_600_000
T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC: a funding time of every interval


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "rates.db")
    await opened.open()
    yield opened
    await opened.close()


async def gateway(store: SQLiteStore, clock: ManualClock, **options: object) -> FundingRates:
    """A registry loaded from ``store`` and its rates, as a (re)started gateway has them."""
    registry = Registry.from_snapshot(await store.load(), Market.default())
    admin = AdminService(store, registry, clock)
    return FundingRates(registry, clock, admin=admin, **options)  # type: ignore[arg-type]


async def test_defaults_without_anything_set(store: SQLiteStore) -> None:
    rates = await gateway(store, ManualClock(T0 - 1))
    assert rates.schedule(T0).symbols == {}
    assert rates.upcoming("BTCUSDT", T0 - 1) == SymbolFunding()
    assert rates.index_price("BTCUSDT") is None
    assert rates.as_json() == {}


async def test_a_setting_is_stored_before_it_is_served_and_outlives_a_restart(
    store: SQLiteStore,
) -> None:
    clock = ManualClock(T0 - H)
    rates = await gateway(store, clock)
    answer = await rates.set({"BTCUSDT": {"rate": "0.0003", "intervalHours": 4}})
    assert answer == {
        "BTCUSDT": {
            "rate": "0.0003",
            "intervalHours": 4,
            "cap": "0.02",
            "floor": "-0.02",
            "rateTime": T0 - H,
            "nextFundingTime": T0,
            "nextFundingRate": "0.0003",
        }
    }
    assert set(await store.meta("funding:")) == {"funding:BTCUSDT"}
    assert rates.schedule(T0).of("BTCUSDT") == SymbolFunding(D("0.0003"), 4)
    # Only the interval next: the rate stays as set.
    await rates.set({"BTCUSDT": {"intervalHours": 2}})
    again = await gateway(store, clock)
    assert again.schedule(T0).of("BTCUSDT") == SymbolFunding(D("0.0003"), 2)


async def test_a_refused_setting_writes_nothing(store: SQLiteStore) -> None:
    rates = await gateway(store, ManualClock(T0))
    with pytest.raises(EngineError, match="intervalHours"):
        await rates.set({"BTCUSDT": {"rate": "0.0003"}, "ETHUSDT": {"intervalHours": 5}})
    assert await store.meta("funding:") == {}
    read_only = FundingRates(rates.registry, rates.clock)
    with pytest.raises(ServiceError, match="cannot be changed here"):
        await read_only.set({"BTCUSDT": {"rate": "0.0003"}})


async def test_a_replayed_series_gives_the_rate_of_the_last_entry_at_or_before(
    store: SQLiteStore,
) -> None:
    series = [(T0, "BTCUSDT", D("0.0002")), (T0 + 8 * H, "BTCUSDT", D("-0.0005"))]
    rates = await gateway(store, ManualClock(T0 - H), series=series)
    assert rates.rate_at("BTCUSDT", T0 - 1) == D("0.0001")  # before the series: the default
    assert rates.schedule(T0).of("BTCUSDT").rate == D("0.0002")
    assert rates.schedule(T0 + 8 * H - 1).of("BTCUSDT").rate == D("0.0002")
    assert rates.schedule(T0 + 8 * H).of("BTCUSDT").rate == D("-0.0005")
    # premiumIndex: what the next funding time (T0, then T0 + 8 h) will use.
    assert rates.upcoming("BTCUSDT", T0 - H).rate == D("0.0002")
    assert rates.upcoming("BTCUSDT", T0).rate == D("-0.0005")
    assert rates.schedule(T0).of("ETHUSDT") == SymbolFunding()


async def test_the_newest_of_setting_series_and_seen_rate_is_in_force(
    store: SQLiteStore,
) -> None:
    clock = ManualClock(T0 + H)
    series = [(T0, "BTCUSDT", D("0.0002")), (T0 + 8 * H, "BTCUSDT", D("0.0004"))]
    rates = await gateway(store, clock, series=series)
    await rates.set({"BTCUSDT": {"rate": "0.0009"}})  # at T0 + 1 h: newer than T0's entry
    assert rates.rate_at("BTCUSDT", T0 + 2 * H) == D("0.0009")
    assert rates.rate_at("BTCUSDT", T0 + 8 * H) == D("0.0004")  # the series' next entry
    assert rates.rate_at("BTCUSDT", T0) == D("0.0002")  # the setting came after T0
    # Changing only the cap does not restate the rate: the series keeps its place.
    clock.advance(H)
    await rates.set({"BTCUSDT": {"cap": "0.0003"}})
    assert rates.schedule(T0 + 8 * H).of("BTCUSDT").clamped_rate == D("0.0003")
    assert rates.rate_at("BTCUSDT", T0 + 3 * H) == D("0.0009")
    # A rate the mark source tells now (T0 + 2 h) is the newest.
    rates.observe({"BTCUSDT": MarkExtras(funding_rate=D("-0.0001"))})
    assert rates.rate_at("BTCUSDT", T0 + 3 * H) == D("-0.0001")


async def test_seen_rates_keep_the_last_one_before_each_hour_and_the_index(
    store: SQLiteStore,
) -> None:
    clock = ManualClock(T0 - 2_000)
    rates = await gateway(store, clock)
    rates.observe({"BTCUSDT": MarkExtras(D("60000.5"), D("0.0001"))})
    clock.advance(1_000)
    rates.observe({"BTCUSDT": MarkExtras(D("60001"), D("0.0002")), "NOPEUSDT": MarkExtras()})
    clock.advance(2_000)  # past T0: the settlement at T0 still takes 0.0002
    rates.observe({"BTCUSDT": MarkExtras(funding_rate=D("0.0003"))})
    assert rates.seen["BTCUSDT"] == [(T0 - 1_000, D("0.0002")), (T0 + 1_000, D("0.0003"))]
    assert rates.schedule(T0).of("BTCUSDT").rate == D("0.0002")
    assert rates.upcoming("BTCUSDT", clock.now_ms()).rate == D("0.0003")
    assert rates.index_price("BTCUSDT") == D("60001")
    assert "NOPEUSDT" not in rates.index
    for hour in range(1, 6):
        clock.advance(H)
        rates.observe({"BTCUSDT": MarkExtras(funding_rate=D(hour))})
    assert len(rates.seen["BTCUSDT"]) == 3  # bounded


async def test_another_gateway_reads_what_one_set_and_saw(store: SQLiteStore) -> None:
    clock = ManualClock(T0 - H)
    one = await gateway(store, clock)
    two = await gateway(store, clock)
    replay = Replay.__new__(Replay)  # a source that tells extras, without a file
    replay.on_extras = None
    assert one.follow(replay) is replay and replay.on_extras == one.observe and one.observing
    walk = RandomWalk({}, Market.default())
    assert two.follow(walk) is walk and not two.observing
    await one.set({"BTCUSDT": {"rate": "0.0007", "intervalHours": 1}})
    one.observe({"ETHUSDT": MarkExtras(D("1999.5"), D("0.00015"))})
    assert two.upcoming("BTCUSDT", clock.now_ms()) == SymbolFunding()
    await one.refresh()  # saves what it saw
    assert OBSERVED_META_KEY in await store.meta("funding")
    await two.refresh()
    assert two.upcoming("BTCUSDT", clock.now_ms()) == SymbolFunding(D("0.0007"), 1)
    assert two.index_price("ETHUSDT") == D("1999.5")
    assert two.upcoming("ETHUSDT", clock.now_ms()).rate == D("0.00015")
    await two.refresh()  # nothing new: nothing applied
    version = two.registry.meta_version
    await two.refresh()
    assert two.registry.meta_version == version


async def test_refresh_every_interval_until_stopped(store: SQLiteStore) -> None:
    clock = ManualClock(T0)
    one, two = await gateway(store, clock), await gateway(store, clock)
    slept: list[float] = []
    parked = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > 2:  # two refreshes done: park until stop cancels it
            parked.set()
            await asyncio.Event().wait()

    await one.set({"BTCUSDT": {"rate": "0.0005"}})
    two.start(0.5, sleep)
    await asyncio.wait_for(parked.wait(), 10)
    await two.stop()
    assert slept == [0.5, 0.5, 0.5]
    assert two.rate_at("BTCUSDT", T0) == D("0.0005")


async def test_a_funding_file_that_cannot_be_read_names_the_line(tmp_path: Path) -> None:
    assert funding_series(None) == []
    path = tmp_path / "rates.csv"
    path.write_text("time,symbol,rate\n1,BTCUSDT,0.0001\n2,BTCUSDT,lots\n")
    with pytest.raises(ServiceError, match=r"--funding: .*rates.csv:3: rate 'lots' is not"):
        funding_series(path)


times = st.integers(min_value=0, max_value=48 * H)
rates_ = st.decimals(min_value=-1, max_value=1, places=8, allow_nan=False)


@settings(deadline=None, max_examples=60)
@given(
    series=st.lists(st.tuples(times, rates_), max_size=8),
    rate_time=st.one_of(st.none(), times),
    at=times,
)
async def test_the_rate_in_force_is_the_newest_at_or_before(
    series: list[tuple[int, Decimal]], rate_time: int | None, at: int
) -> None:
    """Against a plain reading of the rule: the newest of the series' entries and the
    setting's rate at or before ``at`` (series first among equals); else the setting's."""
    registry = Registry(Market.default())
    if rate_time is not None:
        setting = FundingSetting(SymbolFunding(rate=D("0.0042")), rate_time)
        registry.apply_committed([setting.meta("BTCUSDT")])
    rates = FundingRates(registry, ManualClock(0), series=[(t, "BTCUSDT", r) for t, r in series])
    entries = sorted(series, key=lambda entry: entry[0])
    candidates = [entry for entry in entries if entry[0] <= at][-1:]
    if rate_time is not None and rate_time <= at:
        candidates.append((rate_time, D("0.0042")))
    expected = D("0.0042") if rate_time is not None else D("0.0001")
    if candidates:
        expected = max(candidates, key=lambda entry: entry[0])[1]
    assert rates.rate_at("BTCUSDT", at) == expected
