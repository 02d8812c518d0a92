"""The administration operations as JSON in, JSON out: what the admin API serves and what
the CLI runs (locally on the database, or remotely through the admin API).

Bodies use the scenario file's field names (SPEC §10, §13). Every operation parses its
body with ``inputs``, applies it through ``AdminService`` (validate, commit, swap) and
answers the resulting state. Refusals raise ``EngineError``/``ServiceError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..bus.confirmation import RevocationWitnesses
from ..engine import InvalidValue
from ..engine.numbers import fmt_marks
from .admin import AdminService
from .admin_orders import cancel_open_orders, open_orders_json
from .clock_control import ClockControl
from .errors import ServiceError
from .funding_rates import FundingRates
from .inputs import (
    check_fields,
    commission_json,
    parse_commission,
    parse_fill,
    parse_force,
    parse_isolated_transfer,
    parse_marks,
    parse_position_mode,
    parse_symbol_settings,
    parse_wallet_amount,
)
from .orders import OrderService

__all__ = ["AdminOperations", "Operations"]

Json = dict[str, Any]


class Operations(Protocol):
    """What an administrator can do: ``AdminOperations`` here, or the admin API remotely."""

    async def list_accounts(self) -> list[Json]: ...
    async def describe(self, name: str) -> Json: ...
    async def create_account(self, body: Json) -> Json: ...
    async def create_key(self, name: str, body: Json) -> Json: ...
    async def revoke_key(self, name: str, api_key: str) -> Json: ...
    async def wallet(self, name: str, body: Json) -> Json: ...
    async def settings(self, name: str, body: Json) -> Json: ...
    async def fill(self, name: str, body: Json) -> Json: ...
    async def isolated_margin(self, name: str, body: Json) -> Json: ...
    async def commission(self, name: str, body: Json) -> Json: ...
    async def orders(self, name: str, symbol: str | None = None) -> Json: ...
    async def cancel_orders(
        self, name: str, symbol: str | None = None, order_id: int | None = None
    ) -> Json: ...
    async def marks(self) -> Json: ...
    async def set_marks(self, body: Json) -> Json: ...
    async def funding(self) -> Json: ...
    async def set_funding(self, body: Json) -> Json: ...
    async def load_scenario(self, document: object) -> Json: ...
    async def clock(self) -> Json: ...
    async def advance_clock(self, body: Json) -> Json: ...


class AdminOperations:
    """``Operations`` on an ``AdminService`` in this process."""

    def __init__(
        self,
        admin: AdminService,
        witnesses: RevocationWitnesses | None = None,
        *,
        orders: OrderService | None = None,
        clock: ClockControl | None = None,
        rates: FundingRates | None = None,
    ) -> None:
        self.admin = admin
        # How the serving process's clock moves; None: a command on the database alone.
        self.clock_control = clock
        # The other gateways on the bus, which confirm a revocation before it is answered.
        self.witnesses = witnesses
        # The server's order service (its index and counters); a command on the database
        # alone gets one of its own.
        self._orders = orders
        # The served funding rates (a command on the database alone gets its own).
        self.rates = rates or FundingRates(admin.registry, admin.clock, admin=admin)

    @property
    def order_service(self) -> OrderService:
        if self._orders is None:
            self._orders = OrderService(self.admin)
        return self._orders

    def __repr__(self) -> str:
        return f"<AdminOperations {self.admin!r}>"

    async def list_accounts(self) -> list[Json]:
        return self.admin.list_accounts()

    async def describe(self, name: str) -> Json:
        return self.admin.describe(name)

    async def create_account(self, body: Json) -> Json:
        check_fields(body, "account", {"name", "positionMode"}, {"name"})
        mode = parse_position_mode(body["positionMode"]) if "positionMode" in body else None
        entry = await self.admin.create_account(body["name"], mode)
        return self.admin.describe(entry.name)

    async def create_key(self, name: str, body: Json) -> Json:
        check_fields(body, "key", {"type", "apiKey", "secret", "publicKey"}, {"type"})
        kind = body["type"]
        if not isinstance(kind, str):
            raise InvalidValue("type", "key type must be hmac, ed25519 or rsa")
        created = await self.admin.create_key(
            name,
            kind,
            api_key=body.get("apiKey"),
            secret=body.get("secret"),
            public_key=body.get("publicKey"),
        )
        return created.as_json()

    async def revoke_key(self, name: str, api_key: str) -> Json:
        """Revoke, then (gateways on a bus) wait until every other gateway refuses the key
        too: asked again for a key already revoked, that check is all it does."""
        await self.admin.revoke_key(name, api_key)
        answer: Json = {"apiKey": api_key, "revoked": True}
        if self.witnesses is not None:
            revision = self.admin.registry.revision  # the revocation's, or a later one
            confirmation = await self.witnesses.confirm_revoked(api_key, revision)
            if confirmation is not None:
                answer.update(confirmation.as_json())
        return answer

    async def wallet(self, name: str, body: Json) -> Json:
        check_fields(body, "wallet", {"asset", "amount"}, {"amount"})
        asset, amount = parse_wallet_amount(body.get("asset", "USDT"), body["amount"])
        await self.admin.wallet(name, asset, amount)
        return self.admin.describe(name)

    async def settings(self, name: str, body: Json) -> Json:
        check_fields(body, "settings", {"positionMode", "symbols"}, set())
        mode = parse_position_mode(body["positionMode"]) if "positionMode" in body else None
        events = parse_symbol_settings(body.get("symbols", {}), time=0)
        await self.admin.settings(name, mode, events)
        return self.admin.describe(name)

    async def fill(self, name: str, body: Json) -> Json:
        fill = parse_fill(body, default_time=0)
        await self.admin.fill(name, fill, force=parse_force(body))
        return self.admin.describe(name)

    async def isolated_margin(self, name: str, body: Json) -> Json:
        await self.admin.isolated_margin(name, parse_isolated_transfer(body, default_time=0))
        return self.admin.describe(name)

    async def commission(self, name: str, body: Json) -> Json:
        """Replace the account's commission rates (what the body leaves out: the defaults)."""
        await self.admin.apply_events(name, [parse_commission(body, time=0)])
        commission = self.admin.registry.account(name).account.commission
        return {"name": name, "commission": commission_json(commission)}

    async def orders(self, name: str, symbol: str | None = None) -> Json:
        """The account's open orders and open algo orders, as Binance answers them."""
        return open_orders_json(self.order_service, name, symbol)

    async def cancel_orders(
        self, name: str, symbol: str | None = None, order_id: int | None = None
    ) -> Json:
        """Cancel the account's open orders (all, ``symbol``'s, or ``order_id``), durably
        and told to its user streams as the owner's cancels are."""
        return await cancel_open_orders(self.order_service, name, symbol=symbol, order_id=order_id)

    async def marks(self) -> Json:
        return fmt_marks(self.admin.registry.marks)

    async def set_marks(self, body: Json) -> Json:
        await self.admin.set_marks(parse_marks(body))
        return await self.marks()

    async def funding(self) -> Json:
        """The symbols not on the default funding: setting and next rate."""
        return self.rates.as_json()

    async def set_funding(self, body: Json) -> Json:
        """Change symbols' funding settings (durable when answered)."""
        return await self.rates.set(body)

    async def load_scenario(self, document: object) -> Json:
        plan = await self.admin.load_scenario(document)
        return {"accounts": [account.name for account in plan.accounts]}

    async def clock(self) -> Json:
        control = self.clock_control
        if control is None:
            return {"time": self.admin.clock.now_ms(), "advancedMs": 0}
        return control.describe()

    async def advance_clock(self, body: Json) -> Json:
        """Move the serving process's clock forward by ``{"advanceMs": N}``."""
        check_fields(body, "clock", {"advanceMs"}, {"advanceMs"})
        if self.clock_control is None:
            raise ServiceError("Only a running server's clock can be moved.", code=-1000)
        return dict(await self.clock_control.advance(body["advanceMs"]))


def as_body(value: object, what: str) -> Json:
    """A request body that must be a JSON object."""
    if not isinstance(value, Mapping):
        raise InvalidValue(what, f"{what} must be a JSON object")
    return dict(value)
