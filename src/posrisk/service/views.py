"""The rows an account serves, serialised once and reused until something changes.

A row depends on the account (its ledger version) and on the marks; both carry a version
number, so the JSON of each (method, symbol) answer is kept on the ``AccountEntry`` and
rebuilt only when either moves. The WS API and the REST GETs serve from here; which rows
an answer holds is the engine's rule (``engine.account_rows``), this module only caches.
"""

from __future__ import annotations

import orjson

from ..engine import AccountRisk, account_rows
from .registry import AccountEntry, Registry

__all__ = ["position_rows"]


def position_rows(
    registry: Registry, entry: AccountEntry, v2: bool, symbol: str | None
) -> orjson.Fragment:
    """The JSON of ``account.position`` (or ``v2/...`` when ``v2``) for ``entry``.

    ``symbol`` must already be known to the market (the caller answers -1121).
    """
    key = (entry.version, registry.marks_version)
    if entry.rows_key != key:
        entry.rows.clear()
        entry.risk = None
        entry.rows_key = key
    found = entry.rows.get((v2, symbol))
    if found is None:
        risk = entry.risk
        if risk is None:
            risk = entry.risk = AccountRisk(entry.account, registry.market, registry.marks)
        rows = account_rows(risk, v2=v2, symbol=symbol)
        found = entry.rows[(v2, symbol)] = orjson.Fragment(orjson.dumps(rows))
    return found
