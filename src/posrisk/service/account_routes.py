"""The account owner's REST routes: the account and its balance (``accounts``), the
settings (``settings``), each signed (USER_DATA / TRADE) and answered from the same
builders and operations as the WS API and the admin API.

A read authenticates and answers from the served state at once; a write authenticates,
then goes through the one write path (``AdminService``) and answers once the store holds
it. ``rest.py`` adds ``ACCOUNT_ROUTES`` to its table.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from .accounts import account_balance, account_status
from .settings import SERVICE_ROUTES, VIEW_ROUTES, WEIGHTS, ServiceOperation, ViewOperation

if TYPE_CHECKING:
    from .rest import RestRequest, RestService, Route

__all__ = ["ACCOUNT_ROUTES"]


def _status(*, v2: bool) -> Route:
    def route(rest: RestService, request: RestRequest, now: int) -> Any:
        entry = rest.authenticate(request, now)
        return account_status(rest.api.registry, entry, v2=v2, rest=True)

    return route


def _balance(rest: RestService, request: RestRequest, now: int) -> Any:
    return account_balance(rest.api.registry, rest.authenticate(request, now))


def _view(operation: ViewOperation) -> Route:
    def route(rest: RestService, request: RestRequest, now: int) -> Any:
        entry = rest.authenticate(request, now)
        return operation(rest.api.registry, entry, request.params)

    return route


def _write(operation: ServiceOperation) -> Route:
    def route(rest: RestService, request: RestRequest, now: int) -> Awaitable[Any]:
        entry = rest.authenticate(request, now)  # refused before anything is planned
        return operation(rest.writer(), entry.name, request.params)

    return route


# (method, path) → (handler, REQUEST_WEIGHT)
ACCOUNT_ROUTES: dict[tuple[str, str], tuple[Route, int]] = {
    ("GET", "/fapi/v2/account"): (_status(v2=False), 5),
    ("GET", "/fapi/v3/account"): (_status(v2=True), 5),
    ("GET", "/fapi/v2/balance"): (_balance, 5),
    ("GET", "/fapi/v3/balance"): (_balance, 5),
    **{route: (_view(op), WEIGHTS[route]) for route, op in VIEW_ROUTES.items()},
    **{route: (_write(op), WEIGHTS[route]) for route, op in SERVICE_ROUTES.items()},
}
