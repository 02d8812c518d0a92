"""The served funding rates and index prices: ``FundingRates``, their one owner.

Where a symbol's funding comes from:
- its setting (scenario ``"funding"``, the admin API's ``PUT funding``, ``posrisk funding
  set``): rate, interval, cap and floor, stored in the meta table (``funding_settings``)
  before it is acknowledged, served through ``Registry.apply_committed`` like every
  committed change; the defaults (0.0001 every 8 h, ±0.02) without one;
- a replayed series (``posrisk serve --funding FILE``): (time, rate) entries;
- what the mark source saw (a replay file's ``fundingRate`` column, Binance's ``r``),
  stamped with the server clock when seen.

The rate in force at a time ``t`` is the newest of: the last series entry with time ≤ t,
the last rate seen with time ≤ t, and the setting's rate (as of when it was stated); when
none of them is at or before ``t``, the setting's rate (the default without one).
``schedule(t)`` gives every symbol's funding at ``t``; a settlement asks it at its
funding time. premiumIndex's ``lastFundingRate`` is the rate the symbol's *next* funding
time will use (``upcoming``): what a settlement at that time would take, as things stand.

Index prices come only from the mark source (None otherwise: the mark is the index).

Other gateways sharing the database: ``refresh`` (every ``interval`` seconds once
``start``-ed) reads the stored settings and applies the ones that changed; the gateway
running the mark source also saves what it saw (latest index, recent rates) under
``funding.observed``, which the others read. So a rate set on one gateway is served by
all within that interval.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.funding import FundingSchedule, SymbolFunding, next_funding_time
from ..marks import CarriesExtras, FundingFileError, MarkExtras, MarkSource, read_funding_file
from ..store import SetMeta, StoreError
from .clock import Clock
from .errors import ServiceError
from .funding_settings import (
    FUNDING_META_PREFIX,
    FundingSetting,
    decode_setting,
    parse_funding,
    setting_json,
)
from .registry import Registry

if TYPE_CHECKING:
    from .admin import AdminService

__all__ = ["OBSERVED_META_KEY", "FundingRates", "Series", "funding_series"]

log = logging.getLogger("posrisk.funding")

OBSERVED_META_KEY = "funding.observed"
_HOUR_MS = 3_600_000
# Rates seen per symbol that are kept: the last one before each of the latest hours.
_SEEN_KEPT = 3
_DEFAULT = FundingSetting(SymbolFunding())

Sleep = Callable[[float], Awaitable[None]]
Entry = tuple[int, Decimal]
# A replayed series: (time ms, symbol, rate) rows.
Series = list[tuple[int, str, Decimal]]


def funding_series(path: Path | None) -> Series:
    """``--funding FILE``'s rows (none without a file); ``ServiceError`` naming the line."""
    if path is None:
        return []
    try:
        return read_funding_file(path)
    except FundingFileError as e:
        raise ServiceError(f"--funding: {e}") from None


def _last_at(entries: list[Entry], at: int) -> Entry | None:
    """The last of ``entries`` (in time order) with time ≤ ``at``."""
    found = bisect.bisect_right(entries, at, key=lambda entry: entry[0])
    return entries[found - 1] if found else None


def _hour_of(time: int) -> int:
    # The first whole hour at or after ``time``: every funding time is one.
    return -(-time // _HOUR_MS)


class FundingRates:
    """Every symbol's funding setting, replayed series and observed rate and index."""

    def __init__(
        self,
        registry: Registry,
        clock: Clock,
        *,
        admin: AdminService | None = None,
        series: Iterable[tuple[int, str, Decimal]] = (),
    ) -> None:
        self.registry = registry
        self.clock = clock
        # Writes settings (None: a read-only view, ``set`` refuses).
        self.admin = admin
        # The replayed series: symbol → (time, rate) in time order.
        self.series: dict[str, list[Entry]] = {}
        for time, symbol, rate in sorted(series, key=lambda row: row[0]):
            self.series.setdefault(symbol, []).append((time, rate))
        # Rates the mark source told, coalesced to the last one per hour, and its index.
        self.seen: dict[str, list[Entry]] = {}
        self.index: dict[str, Decimal] = {}
        # Whether this gateway runs a source that tells extras (it saves them, others read).
        self.observing = False
        self._unsaved = False
        self._settings: dict[str, FundingSetting] = {}
        self._settings_version = -1
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (
            f"<FundingRates {len(self.settings())} set, {len(self.series)} replayed, "
            f"{len(self.seen)} seen>"
        )

    # -- reading ----------------------------------------------------------------------

    def settings(self) -> dict[str, FundingSetting]:
        """The symbols' settings as the registry holds them (read again when it moved)."""
        registry = self.registry
        if self._settings_version != registry.meta_version:
            settings = {}
            for key, value in registry.meta.items():
                if key.startswith(FUNDING_META_PREFIX):
                    try:
                        settings[key[len(FUNDING_META_PREFIX) :]] = decode_setting(value)
                    except ValueError as e:
                        log.error("ignoring the funding setting %s: %s", key, e)
            self._settings = settings
            self._settings_version = registry.meta_version
        return self._settings

    def rate_at(self, symbol: str, at: int) -> Decimal:
        """The rate in force for ``symbol`` at ``at`` (before clamping; see the module)."""
        setting = self.settings().get(symbol, _DEFAULT)
        candidates = [
            _last_at(self.series.get(symbol, []), at),
            _last_at(self.seen.get(symbol, []), at),
        ]
        if setting.rate_time is not None and setting.rate_time <= at:
            candidates.append((setting.rate_time, setting.funding.rate))
        found = [entry for entry in candidates if entry is not None]
        if not found:
            return setting.funding.rate
        return max(found, key=lambda entry: entry[0])[1]  # the first of equals: series

    def funding_at(self, symbol: str, at: int) -> SymbolFunding:
        """``symbol``'s funding (rate, interval, cap, floor) in force at ``at``."""
        funding = self.settings().get(symbol, _DEFAULT).funding
        rate = self.rate_at(symbol, at)
        if rate == funding.rate:
            return funding
        return SymbolFunding(rate, funding.interval_hours, funding.cap, funding.floor)

    def upcoming(self, symbol: str, now: int) -> SymbolFunding:
        """The funding ``symbol``'s next funding time after ``now`` will use."""
        interval = self.settings().get(symbol, _DEFAULT).funding.interval_hours
        return self.funding_at(symbol, next_funding_time(now, interval))

    def schedule(self, at: int) -> FundingSchedule:
        """Every symbol's funding in force at ``at`` (ms; a settlement passes its funding
        time): the symbols with a setting, a series or a rate seen; the defaults else."""
        symbols = {*self.settings(), *self.series, *self.seen}
        return FundingSchedule({symbol: self.funding_at(symbol, at) for symbol in symbols})

    def index_price(self, symbol: str) -> Decimal | None:
        """The latest index price the mark source told (None: none, the mark stands in)."""
        return self.index.get(symbol)

    def as_json(self) -> dict[str, Any]:
        """``GET /admin/v1/funding``: every listed symbol that is not on the defaults,
        with its setting and the rate its next funding time will use."""
        now = self.clock.now_ms()
        settings = self.settings()
        answer: dict[str, Any] = {}
        for symbol in self.registry.market:
            name = symbol.name
            if name not in settings and name not in self.series and name not in self.seen:
                continue
            row = setting_json(settings.get(name, _DEFAULT))
            upcoming = self.upcoming(name, now)
            row["nextFundingTime"] = next_funding_time(now, upcoming.interval_hours)
            row["nextFundingRate"] = str(upcoming.clamped_rate)
            answer[name] = row
        return answer

    # -- writing ----------------------------------------------------------------------

    async def set(self, changes: Mapping[str, object]) -> dict[str, Any]:
        """Change symbols' settings (``{"BTCUSDT": {"rate": "0.0001", ...}}``): checked,
        durable in the store, then served; answers ``as_json``."""
        if self.admin is None:
            raise ServiceError("funding settings cannot be changed here (no database)")
        async with self._lock:  # one change at a time: each merges over the last
            settings = parse_funding(
                changes, self.registry.market, now=self.clock.now_ms(), current=self.settings()
            )
            await self.admin.commit([setting.meta(symbol) for symbol, setting in settings.items()])
        return self.as_json()

    def observe(self, extras: Mapping[str, MarkExtras]) -> None:
        """What the mark source told besides the marks (listed symbols only)."""
        now = self.clock.now_ms()
        for symbol, extra in extras.items():
            if symbol not in self.registry.market:
                continue
            if extra.index is not None:
                self.index[symbol] = extra.index
            if extra.funding_rate is not None:
                self._saw(symbol, now, extra.funding_rate)
            self._unsaved = True

    def _saw(self, symbol: str, now: int, rate: Decimal) -> None:
        entries = self.seen.setdefault(symbol, [])
        if entries and _hour_of(entries[-1][0]) == _hour_of(now):
            entries[-1] = (now, rate)  # no funding time between them: the newer stands
        else:
            entries.append((now, rate))
            del entries[:-_SEEN_KEPT]

    def follow(self, source: MarkSource | None) -> MarkSource | None:
        """Be told ``source``'s extras, if it tells any; returns it."""
        if isinstance(source, CarriesExtras):
            source.on_extras = self.observe
            self.observing = True
        return source

    # -- other gateways -----------------------------------------------------------------

    async def refresh(self) -> None:
        """Save what this gateway's source saw; read what the others set or saw."""
        if self.admin is None:
            return
        store = self.admin.store
        if self.observing and self._unsaved:
            self._unsaved = False
            try:
                await store.commit([SetMeta(OBSERVED_META_KEY, self._observed_json())])
            except BaseException:
                self._unsaved = True
                raise
        stored = await store.meta("funding")
        changed = [
            SetMeta(key, value)
            for key, value in stored.items()
            if key.startswith(FUNDING_META_PREFIX) and self.registry.meta.get(key) != value
        ]
        if changed:
            self.registry.apply_committed(changed, local=False)
        observed = stored.get(OBSERVED_META_KEY)
        if not self.observing and observed is not None:
            self._load_observed(observed)

    def _observed_json(self) -> str:
        symbols = {*self.index, *self.seen}
        return json.dumps(
            {
                symbol: {
                    "index": None if symbol not in self.index else str(self.index[symbol]),
                    "rates": [[time, str(rate)] for time, rate in self.seen.get(symbol, [])],
                }
                for symbol in sorted(symbols)
            }
        )

    def _load_observed(self, text: str) -> None:
        try:
            data = json.loads(text)
            index = {s: Decimal(v["index"]) for s, v in data.items() if v["index"] is not None}
            seen = {s: [(int(t), Decimal(r)) for t, r in v["rates"]] for s, v in data.items()}
        except (ArithmeticError, KeyError, TypeError, ValueError, AttributeError) as e:
            log.error("ignoring unreadable %s: %r", OBSERVED_META_KEY, e)
            return
        self.index, self.seen = index, {s: rates for s, rates in seen.items() if rates}

    def start(self, interval: float, sleep: Sleep = asyncio.sleep) -> None:
        """Refresh every ``interval`` seconds until ``stop``."""
        self._task = asyncio.get_running_loop().create_task(self._refresh_every(interval, sleep))

    async def _refresh_every(self, interval: float, sleep: Sleep) -> None:
        while True:
            await sleep(interval)
            try:
                await self.refresh()
            except (StoreError, OSError) as e:
                log.warning("funding rates not refreshed: %s", e)
            except Exception:
                log.exception("funding rates not refreshed")

    async def stop(self) -> None:
        """Stop refreshing; save what the source saw last."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.observing and self._unsaved and self.admin is not None:
            with contextlib.suppress(StoreError):
                self._unsaved = False
                await self.admin.store.commit([SetMeta(OBSERVED_META_KEY, self._observed_json())])
