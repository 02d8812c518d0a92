"""The rows an account serves, serialised once and reused until something changes.

A row depends on the account (its ledger version) and on the marks; both carry a version
number, so the JSON of each answer (position rows per method and symbol; the account and
balance answers of ``service.accounts``) is kept on the ``AccountEntry`` and rebuilt only
when either moves. The WS API and the REST GETs serve from here; which rows
an answer holds is the engine's rule (``engine.account_rows``), this module only caches.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from ..engine import AccountRisk, account_rows
from .registry import AccountEntry, Registry

__all__ = ["cached", "position_rows"]


def cached(
    registry: Registry,
    entry: AccountEntry,
    key: tuple[object, ...],
    build: Callable[[AccountRisk], object],
) -> orjson.Fragment:
    """The JSON of ``build(risk)`` for ``entry``, kept under ``key`` until the account's
    version or the marks move; every answer of one state shares one ``AccountRisk``."""
    state = (entry.version, registry.marks_version)
    if entry.rows_key != state:
        entry.rows.clear()
        entry.risk = None
        entry.rows_key = state
    found = entry.rows.get(key)
    if found is None:
        risk = entry.risk
        if risk is None:
            risk = entry.risk = AccountRisk(entry.account, registry.market, registry.marks)
        found = entry.rows[key] = orjson.Fragment(orjson.dumps(build(risk)))
    return found


def position_rows(
    registry: Registry, entry: AccountEntry, v2: bool, symbol: str | None
) -> orjson.Fragment:
    """The JSON of ``account.position`` (or ``v2/...`` when ``v2``) for ``entry``.

    ``symbol`` must already be known to the market (the caller answers -1121).
    """
    return cached(
        registry, entry, (v2, symbol), lambda risk: account_rows(risk, v2=v2, symbol=symbol)
    )
