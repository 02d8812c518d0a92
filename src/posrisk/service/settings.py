"""The account owner's settings over REST: leverage, margin type, position mode, multi-assets
mode, isolated position margin, and the reads beside them (SPEC §16).

Transport-free: each operation takes the authenticated account's name (writes) or entry
(reads) and the request's params as sent (REST strings), and returns the success body,
ready for a JSON encoder (``orjson``: ``amount`` is a ``Fragment``). A refusal raises
``WireError`` (params) or ``EngineError`` (the account's state), each with Binance's code
and text, in Binance's check order. Writes are ledger events through
``AdminService.apply_events``: checked against the state and at the current marks, durable
before the answer, told once to the streams (a leverage set sends
``ACCOUNT_CONFIG_UPDATE``, even to the same leverage, which changes nothing else).

Call them as ``await change_leverage(admin, account, params)`` (writes and the margin
history, which reads the store) or ``symbol_config(registry, entry, params)`` (reads).
``SERVICE_ROUTES`` and ``VIEW_ROUTES`` map each route to its operation, ``WEIGHTS`` to its
REQUEST_WEIGHT.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from ..engine import (
    AmountNotPositive,
    IsolatedMarginTransfer,
    MarginType,
    PositionMode,
    PositionSide,
    PositionSideMismatch,
    SetLeverage,
    SetMarginType,
    SetPositionMode,
    Symbol,
    rates_for,
    sides_for,
    symbol_config_row,
)
from ..engine import account_config as engine_account_config
from ..engine.numbers import fmt_double, fmt_integer, fmt_shortest
from ..protocol import WireError, read_bool, read_decimal, read_long
from .admin import AdminService
from .inputs import known_symbol
from .registry import AccountEntry, Registry

__all__ = [
    "DEFAULT_HISTORY_LIMIT",
    "SERVICE_ROUTES",
    "VIEW_ROUTES",
    "WEIGHTS",
    "account_config",
    "change_leverage",
    "change_margin_type",
    "change_multi_assets",
    "change_position_margin",
    "change_position_mode",
    "commission_rate",
    "multi_assets",
    "position_margin_history",
    "position_mode",
    "symbol_config",
]

Params = Mapping[str, str]
Body = dict[str, Any]

# (method, path) -> REQUEST_WEIGHT.
WEIGHTS: Mapping[tuple[str, str], int] = {
    ("POST", "/fapi/v1/leverage"): 1,
    ("POST", "/fapi/v1/marginType"): 1,
    ("POST", "/fapi/v1/positionSide/dual"): 1,
    ("GET", "/fapi/v1/positionSide/dual"): 30,
    ("POST", "/fapi/v1/multiAssetsMargin"): 1,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30,
    ("POST", "/fapi/v1/positionMargin"): 1,
    ("GET", "/fapi/v1/positionMargin/history"): 1,
    ("GET", "/fapi/v1/symbolConfig"): 5,
    ("GET", "/fapi/v1/accountConfig"): 5,
    ("GET", "/fapi/v1/commissionRate"): 20,
}

DEFAULT_HISTORY_LIMIT = 500
MAX_HISTORY_LIMIT = 500
# How many of an account's isolated margin transfers one history request reads at most.
HISTORY_SCAN = 5_000
_SUCCESS: Body = {"code": 200, "msg": "success"}
_MARGIN_TYPES = {"ISOLATED": MarginType.ISOLATED, "CROSSED": MarginType.CROSS}
_ADD, _REDUCE = 1, 2


def _symbol(params: Params, registry: Registry) -> Symbol:
    """The mandatory ``symbol``: -1100 malformed, -1102 when not sent, -1121 unknown."""
    return registry.market[known_symbol(params, registry.market, required=True)]


def _mandatory(params: Params, name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise WireError.mandatory_param(name)
    return value


# -- writes -----------------------------------------------------------------------------


async def change_leverage(admin: AdminService, account: str, params: Params) -> Body:
    """POST ``/fapi/v1/leverage``: -1121; -4028 outside 1..the symbol's maximum; -4161 lower,
    isolated, holding a position; -2027 a held side over the new cap; -2028 the lower
    leverage's extra initial margin over availableBalance."""
    symbol = _symbol(params, admin.registry)
    leverage = read_long(params, "leverage", required=True)
    assert leverage is not None
    await admin.apply_events(account, [SetLeverage(symbol.name, leverage)])
    return {
        "leverage": leverage,
        "maxNotionalValue": fmt_integer(symbol.max_notional(leverage)),
        "symbol": symbol.name,
    }


async def change_margin_type(admin: AdminService, account: str, params: Params) -> Body:
    """POST ``/fapi/v1/marginType`` (``ISOLATED``/``CROSSED``, any case): -1130; -4046 the
    same; -4047 open orders; -4048 an open position."""
    symbol = _symbol(params, admin.registry)
    margin_type = _MARGIN_TYPES.get(_mandatory(params, "marginType").upper())
    if margin_type is None:
        raise WireError.invalid_value("marginType")
    await admin.apply_events(account, [SetMarginType(symbol.name, margin_type)])
    return dict(_SUCCESS)


async def change_position_mode(admin: AdminService, account: str, params: Params) -> Body:
    """POST ``/fapi/v1/positionSide/dual``: -4059 the same; -4067 open orders; -4068 an open
    position. Sends no stream event."""
    hedge = read_bool(params, "dualSidePosition", None)
    mode = PositionMode.HEDGE if hedge else PositionMode.ONE_WAY
    await admin.apply_events(account, [SetPositionMode(mode)])
    return dict(_SUCCESS)


async def change_multi_assets(admin: AdminService, account: str, params: Params) -> Body:
    """POST ``/fapi/v1/multiAssetsMargin``: never changes anything. ``true`` is -1020 (posrisk
    never converts between margin assets); ``false`` -4171, as it already is."""
    admin.registry.account(account)
    enable = read_bool(params, "multiAssetsMargin", None)
    if enable:
        raise WireError.unsupported_operation()
    raise WireError.multi_assets_unchanged()


async def change_position_margin(admin: AdminService, account: str, params: Params) -> Body:
    """POST ``/fapi/v1/positionMargin`` (``type`` 1 add, 2 reduce): -4061 the side is not of
    the position mode; -1130 type; -4055 amount 0; -4049 cross; -4054 flat; -4050 add over
    availableBalance; -4051 reduce over the removable margin."""
    entry = admin.registry.account(account)
    symbol = _symbol(params, admin.registry)
    side_text = params.get("positionSide") or PositionSide.BOTH.value
    side = PositionSide.__members__.get(side_text)
    if side is None:
        raise WireError.invalid_value("positionSide")
    kind = read_long(params, "type", required=True)
    amount = read_decimal(params, "amount", required=True)
    assert amount is not None
    if side not in sides_for(entry.account.position_mode):
        raise PositionSideMismatch(f"positionSide {side.value} in the account's position mode")
    if kind not in (_ADD, _REDUCE):
        raise WireError.invalid_value("type")
    if not amount:
        raise AmountNotPositive(f"amount {amount}")
    moved = amount if kind == _ADD else -amount
    await admin.apply_events(account, [IsolatedMarginTransfer(symbol.name, moved, side)])
    return {
        "amount": orjson.Fragment(fmt_double(amount).encode()),
        "code": 200,
        "msg": "Successfully modify position margin.",
        "type": kind,
    }


# -- reads ------------------------------------------------------------------------------


async def position_margin_history(admin: AdminService, account: str, params: Params) -> list[Body]:
    """GET ``/fapi/v1/positionMargin/history``: the isolated margin moved on ``symbol``
    (``type`` 1 added, 2 removed), read from the ledger, oldest first: from ``startTime``
    the first ``limit`` (default 500), else the last ``limit`` up to ``endTime`` (now)."""
    admin.registry.account(account)
    symbol = _symbol(params, admin.registry)
    kind = read_long(params, "type", required=False)
    if kind not in (None, _ADD, _REDUCE):
        raise WireError.invalid_value("type")
    start = read_long(params, "startTime", required=False)
    end = read_long(params, "endTime", required=False)
    end = admin.clock.now_ms() if end is None else end
    limit = read_long(params, "limit", required=False)
    limit = DEFAULT_HISTORY_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise WireError.invalid_value("limit")
    if start is not None and start > end:
        raise WireError.invalid_value("startTime")
    # The work is bounded: at most HISTORY_SCAN transfers of the account are read (the
    # oldest from startTime, else the newest up to endTime), then filtered.
    records = await admin.store.account_events(
        account,
        IsolatedMarginTransfer,
        0 if start is None else start,
        end,
        limit=HISTORY_SCAN,
        newest_first=start is None,
    )
    rows = []
    for record in records:
        event = record.event
        assert isinstance(event, IsolatedMarginTransfer)
        added = event.amount > 0
        if event.symbol != symbol.name or (kind is not None and added != (kind == _ADD)):
            continue
        rows.append(
            {
                "symbol": symbol.name,
                "type": _ADD if added else _REDUCE,
                "deltaType": "USER_ADJUST",
                "amount": fmt_shortest(abs(event.amount)),
                "asset": symbol.margin_asset,
                "time": record.time,
                "positionSide": event.position_side.value,
            }
        )
    return rows[:limit] if start is not None else rows[-limit:]


def position_mode(registry: Registry, entry: AccountEntry, params: Params) -> Body:
    """GET ``/fapi/v1/positionSide/dual``."""
    return {"dualSidePosition": entry.account.position_mode is PositionMode.HEDGE}


def multi_assets(registry: Registry, entry: AccountEntry, params: Params) -> Body:
    """GET ``/fapi/v1/multiAssetsMargin``: always single-asset mode."""
    return {"multiAssetsMargin": False}


def symbol_config(registry: Registry, entry: AccountEntry, params: Params) -> list[Body]:
    """GET ``/fapi/v1/symbolConfig``: the symbol's settings, or every symbol's (-1121)."""
    name = known_symbol(params, registry.market)
    symbols = list(registry.market) if name is None else [registry.market[name]]
    return [symbol_config_row(entry.account, symbol) for symbol in symbols]


def account_config(registry: Registry, entry: AccountEntry, params: Params) -> Body:
    """GET ``/fapi/v1/accountConfig``."""
    return engine_account_config(entry.account)


def commission_rate(registry: Registry, entry: AccountEntry, params: Params) -> Body:
    """GET ``/fapi/v1/commissionRate``: -1102 without ``symbol``, -1121 unknown."""
    symbol = _symbol(params, registry)
    rates = rates_for(entry.account.commission, symbol.name)
    return {
        "symbol": symbol.name,
        "makerCommissionRate": fmt_shortest(rates.maker),
        "takerCommissionRate": fmt_shortest(rates.taker),
    }


# (method, path) -> ``await op(admin, account, params)``: the writes, and the margin history
# (it reads the store).
ServiceOperation = Callable[[AdminService, str, Params], Awaitable[Any]]
SERVICE_ROUTES: Mapping[tuple[str, str], ServiceOperation] = {
    ("POST", "/fapi/v1/leverage"): change_leverage,
    ("POST", "/fapi/v1/marginType"): change_margin_type,
    ("POST", "/fapi/v1/positionSide/dual"): change_position_mode,
    ("POST", "/fapi/v1/multiAssetsMargin"): change_multi_assets,
    ("POST", "/fapi/v1/positionMargin"): change_position_margin,
    ("GET", "/fapi/v1/positionMargin/history"): position_margin_history,
}
# (method, path) -> ``op(registry, entry, params)``: reads of the served state.
ViewOperation = Callable[[Registry, AccountEntry, Params], Any]
VIEW_ROUTES: Mapping[tuple[str, str], ViewOperation] = {
    ("GET", "/fapi/v1/positionSide/dual"): position_mode,
    ("GET", "/fapi/v1/multiAssetsMargin"): multi_assets,
    ("GET", "/fapi/v1/symbolConfig"): symbol_config,
    ("GET", "/fapi/v1/accountConfig"): account_config,
    ("GET", "/fapi/v1/commissionRate"): commission_rate,
}
