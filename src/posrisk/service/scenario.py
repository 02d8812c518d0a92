"""Scenario files (SPEC §10): accounts, keys, deposits, settings, commission, fills,
transfers, marks, funding (``funding_settings``: each symbol's stated fields over the
defaults).

``plan_scenario`` reads and validates a whole document against the engine before anything
is written; a problem raises ``ScenarioError`` naming the account, the entry and what is
wrong. ``AdminService.load_scenario`` then commits it in one transaction: a scenario is
loaded completely or not at all. Its fills are checked for margin as an operator's are
(at their entry prices), unless a fill says ``"force": true``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..engine import (
    Account,
    EngineError,
    Event,
    IdSource,
    Market,
    SetMarginType,
    SetPositionMode,
    WalletTransfer,
    apply,
    check_opening_margin,
)
from ..store import AppendEvent, Change, KeyRecord, NewAccount, NewKey, SetMarks
from .errors import ServiceError
from .funding_settings import FundingSetting, parse_funding
from .inputs import (
    check_fields,
    parse_account_name,
    parse_commission,
    parse_fill,
    parse_force,
    parse_isolated_transfer,
    parse_marks,
    parse_position_mode,
    parse_symbol_settings,
    parse_wallet_amount,
)
from .keys import make_key
from .registry import LedgerIds
from .scenario_orders import place_resting

__all__ = ["ScenarioError", "ScenarioPlan", "plan_scenario", "read_scenario_file"]

_ACCOUNT_FIELDS = {
    "name",
    "keys",
    "deposits",
    "positionMode",
    "symbols",
    "fills",
    "isolatedMarginTransfers",
    "commission",
    "orders",
}


class ScenarioError(ServiceError):
    """A scenario that cannot be loaded; nothing of it was written."""


@dataclass(slots=True)
class PlannedAccount:
    name: str
    account: Account
    keys: list[KeyRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


@dataclass(slots=True)
class ScenarioPlan:
    """A validated scenario: the accounts it creates and the store changes to commit."""

    accounts: list[PlannedAccount]
    marks: dict[str, Decimal]
    created_at: int
    # Funding settings by symbol (stored in the meta table with the rest).
    funding: dict[str, FundingSetting] = field(default_factory=dict)

    def changes(self) -> list[Change]:
        changes: list[Change] = []
        for planned in self.accounts:
            changes.append(NewAccount(planned.name, self.created_at))
            changes.extend(NewKey(key) for key in planned.keys)
            changes.extend(AppendEvent(planned.name, e, e.time) for e in planned.events)
        if self.marks:
            changes.append(SetMarks(self.marks, self.created_at))
        changes.extend(setting.meta(symbol) for symbol, setting in self.funding.items())
        return changes


def read_scenario_file(path: Path) -> object:
    """A scenario document from JSON (or YAML, when PyYAML is installed)."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ScenarioError(f"cannot read scenario {path}: {e.strerror}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise ScenarioError(
                f"{path}: YAML scenarios need PyYAML (pip install pyyaml)"
            ) from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ScenarioError(f"{path}: not YAML ({e})") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise ScenarioError(f"{path}: not JSON ({e})") from None


def _where(account: str, entry: str, problem: Exception) -> ScenarioError:
    """The error naming the account and the entry; an engine refusal keeps its code."""
    code = problem.code if isinstance(problem, EngineError) else -1130
    return ScenarioError(f"account {account!r}, {entry}: {problem}", code=code)


def plan_scenario(
    document: object,
    market: Market,
    *,
    now: int,
    taken_names: set[str] | frozenset[str] = frozenset(),
    taken_keys: set[str] | frozenset[str] = frozenset(),
    marks: Mapping[str, Decimal] | None = None,
    ids: IdSource | None = None,
) -> ScenarioPlan:
    """Validate ``document`` completely; raise ``ScenarioError`` on the first problem.
    Its accounts' orders are placed at its marks over ``marks`` (the server's), with ids
    from ``ids`` (after the ledger's; a new ledger's first ones when None)."""
    if not isinstance(document, Mapping):
        raise ScenarioError(
            "a scenario is a JSON object with 'accounts' and optional 'marks' and 'funding'"
        )
    unknown = sorted(set(document) - {"accounts", "marks", "funding"})
    if unknown:
        raise ScenarioError(
            f"unknown top-level field {unknown[0]!r} (expected accounts, marks, funding)"
        )
    accounts = document.get("accounts", [])
    if not isinstance(accounts, list):
        raise ScenarioError("'accounts' must be a list")

    new_marks = _plan_marks(document, market)
    context = _Context(market, {**(marks or {}), **new_marks}, ids or _first_ids(), now)
    names: set[str] = set()
    api_keys: set[str] = set()
    planned: list[PlannedAccount] = []
    for index, raw in enumerate(accounts):
        label = f"accounts[{index}]"
        try:
            check_fields(raw, label, _ACCOUNT_FIELDS, {"name"})
            assert isinstance(raw, Mapping)
            name = parse_account_name(raw["name"])
        except EngineError as e:
            raise ScenarioError(f"{label}: {e}") from None
        if name in names or name in taken_names:
            raise ScenarioError(f"{label}: account {name!r} is defined twice or already exists")
        names.add(name)
        planned.append(_plan_account(name, raw, context, api_keys, taken_keys))

    return ScenarioPlan(planned, new_marks, now, _plan_funding(document, market, now))


def _plan_funding(
    document: Mapping[str, Any], market: Market, now: int
) -> dict[str, FundingSetting]:
    if "funding" not in document:
        return {}
    try:
        return parse_funding(document["funding"], market, now=now)
    except EngineError as e:
        raise ScenarioError(f"{e}", code=e.code) from None


def _plan_marks(document: Mapping[str, Any], market: Market) -> dict[str, Decimal]:
    raw_marks = document.get("marks", {})
    if raw_marks == {}:
        return {}
    try:
        marks = parse_marks(raw_marks)
        for symbol in marks:
            market[symbol]
    except EngineError as e:
        raise ScenarioError(f"marks: {e}", code=e.code) from None
    return marks


@dataclass(frozen=True, slots=True)
class _Context:
    """What every account of a scenario is planned with."""

    market: Market
    marks: Mapping[str, Decimal]
    ids: IdSource
    now: int


def _first_ids() -> IdSource:
    return LedgerIds().next_ids()  # a new ledger's


def _plan_account(
    name: str,
    raw: Mapping[str, Any],
    context: _Context,
    api_keys: set[str],
    taken_keys: set[str] | frozenset[str],
) -> PlannedAccount:
    market, now = context.market, context.now
    plan = PlannedAccount(name, Account())
    plan.keys.extend(_plan_keys(name, raw, now, api_keys, taken_keys))

    def add(event: Event, entry: str, *, force: bool = False) -> None:
        # A fill needs its opening margin, as when it was made: positions marked at their
        # entry prices (the scenario's marks are the state after its fills); unless forced.
        try:
            applied = apply(plan.account, event, market)
            if not force:
                check_opening_margin(plan.account, event, market, {})
            plan.account = applied.account
        except EngineError as e:
            raise _where(name, entry, e) from None
        plan.events.append(event)

    _plan_settings(name, raw, market, now, plan, add)
    _plan_money(name, raw, now, add)
    _plan_orders(name, raw, context, plan, add)
    return plan


Add = Callable[..., None]


def _plan_keys(
    name: str,
    raw: Mapping[str, Any],
    now: int,
    api_keys: set[str],
    taken_keys: set[str] | frozenset[str],
) -> list[KeyRecord]:
    keys = raw.get("keys", [])
    if not isinstance(keys, list):
        raise _where(name, "keys", ValueError("'keys' must be a list"))
    records = []
    for index, spec in enumerate(keys):
        entry = f"keys[{index}]"
        try:
            check_fields(spec, entry, {"type", "apiKey", "secret", "publicKey"}, {"type", "apiKey"})
            record, _ = make_key(
                name,
                spec["type"],
                now,
                api_key=spec["apiKey"],
                secret=spec.get("secret"),
                public_key=spec.get("publicKey"),
            )
        except EngineError as e:
            raise _where(name, entry, e) from None
        if record.kind == "hmac" and spec.get("secret") is None:
            raise _where(name, entry, ValueError("an HMAC key needs its 'secret'"))
        if record.kind != "hmac" and spec.get("publicKey") is None:
            raise _where(name, entry, ValueError(f"an {record.kind} key needs its 'publicKey'"))
        if record.api_key in api_keys or record.api_key in taken_keys:
            raise _where(name, entry, ValueError(f"duplicate apiKey {record.api_key!r}"))
        api_keys.add(record.api_key)
        records.append(record)
    return records


def _plan_settings(
    name: str, raw: Mapping[str, Any], market: Market, now: int, plan: PlannedAccount, add: Add
) -> None:
    # Settings first. A scenario states what the account is, so stating a default
    # (oneway, cross) is not a change and is skipped rather than refused.
    if "positionMode" in raw:
        try:
            mode = parse_position_mode(raw["positionMode"])
        except EngineError as e:
            raise _where(name, "positionMode", e) from None
        if mode is not plan.account.position_mode:
            add(SetPositionMode(mode, now), "positionMode")
    symbols = raw.get("symbols", {})
    if not isinstance(symbols, Mapping):
        raise _where(name, "symbols", ValueError("'symbols' must map a symbol to its settings"))
    for symbol, settings in symbols.items():
        entry = f"symbols.{symbol}"
        try:
            events = parse_symbol_settings({symbol: settings}, time=now)
        except EngineError as e:
            raise _where(name, entry, e) from None
        for event in events:
            if isinstance(event, SetMarginType) and market.get(event.symbol) is not None:
                current = plan.account.settings_for(market[event.symbol]).margin_type
                if current is event.margin_type:
                    continue
            add(event, entry)
    if "commission" in raw:
        try:
            commission = parse_commission(raw["commission"], time=now)
        except EngineError as e:
            raise _where(name, "commission", e) from None
        add(commission, "commission")


def _plan_money(name: str, raw: Mapping[str, Any], now: int, add: Add) -> None:
    """Deposits, then fills and isolated margin transfers, in the document's order."""
    deposits = raw.get("deposits", {})
    if not isinstance(deposits, Mapping):
        raise _where(name, "deposits", ValueError("'deposits' must map an asset to an amount"))
    for asset, amount in deposits.items():
        entry = f"deposits.{asset}"
        try:
            asset, value = parse_wallet_amount(asset, amount)
        except EngineError as e:
            raise _where(name, entry, e) from None
        add(WalletTransfer(asset, value, now), entry)

    for field_name, parser in (
        ("fills", parse_fill),
        ("isolatedMarginTransfers", parse_isolated_transfer),
    ):
        items = raw.get(field_name, [])
        if not isinstance(items, list):
            raise _where(name, field_name, ValueError(f"'{field_name}' must be a list"))
        for index, item in enumerate(items):
            entry = f"{field_name}[{index}]"
            try:
                event = parser(item, default_time=now)
                force = field_name == "fills" and parse_force(item)
            except EngineError as e:
                raise _where(name, entry, e) from None
            add(event, entry, force=force)


def _plan_orders(
    name: str, raw: Mapping[str, Any], context: _Context, plan: PlannedAccount, add: Add
) -> None:
    """Resting orders last, on the account as its fills left it (``scenario_orders``)."""
    items = raw.get("orders", [])
    if not isinstance(items, list):
        raise _where(name, "orders", ValueError("'orders' must be a list"))
    for index, spec in enumerate(items):
        entry = f"orders[{index}]"
        try:
            event = place_resting(
                spec, entry, plan.account, context.market, context.marks,
                ids=context.ids, now=context.now,
            )  # fmt: skip
        except EngineError as e:
            raise _where(name, entry, e) from None
        add(event, entry, force=True)  # placement checked its margin
