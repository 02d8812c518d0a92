"""The account and balance answers: ``account.status``, ``v2/account.status``,
``account.balance`` and ``v2/account.balance`` over the WS API, and the builders REST
serves ``GET /fapi/v2/account``, ``/fapi/v3/account``, ``/fapi/v2/balance`` and
``/fapi/v3/balance`` from.

Each answer is the engine's view (``engine.account_information``,
``engine.account_balances``) of the account at the current marks, serialised once per
(account version, marks version) as the position rows are (``service.views.cached``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ..engine import account_balances, account_information
from .registry import AccountEntry, Registry
from .views import cached

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .api import ApiService, Connection

__all__ = [
    "ACCOUNT_METHODS",
    "account_balance",
    "account_status",
]


def account_status(
    registry: Registry, entry: AccountEntry, *, v2: bool, rest: bool
) -> orjson.Fragment:
    """The JSON of ``account.status`` for ``entry`` (``v2``: ``v2/account.status``).

    ``rest`` gives the REST twin: ``GET /fapi/v2/account`` (v1, adds ``feeBurn``) or
    ``GET /fapi/v3/account`` (v2, no ``marginAvailable`` in ``assets``).
    """
    return cached(
        registry,
        entry,
        ("account.status", v2, rest),
        lambda risk: account_information(risk, v2=v2, rest=rest),
    )


def account_balance(registry: Registry, entry: AccountEntry) -> orjson.Fragment:
    """The JSON of the balance array for ``entry``: the one answer of ``account.balance``,
    ``v2/account.balance``, ``GET /fapi/v2/balance`` and ``GET /fapi/v3/balance``."""
    return cached(
        registry, entry, ("account.balance",), lambda risk: account_balances(risk, entry.name)
    )


# The WS API handlers (registered in ``service.api.METHODS``). Params: ``recvWindow``,
# ``timestamp`` and the signature, or a logged-on session; others are ignored.


def _status(*, v2: bool) -> Callable[[ApiService, Connection, Mapping[str, object], int], Any]:
    def method(
        service: ApiService, conn: Connection, params: Mapping[str, object], now: int
    ) -> Any:
        entry = service.authenticate(conn, params, now)
        return account_status(service.registry, entry, v2=v2, rest=False)

    return method


def _balance(service: ApiService, conn: Connection, params: Mapping[str, object], now: int) -> Any:
    entry = service.authenticate(conn, params, now)
    return account_balance(service.registry, entry)


ACCOUNT_METHODS = {
    "account.status": _status(v2=False),
    "v2/account.status": _status(v2=True),
    "account.balance": _balance,
    "v2/account.balance": _balance,
}
