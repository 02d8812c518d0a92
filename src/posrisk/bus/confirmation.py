"""A revocation confirmed by every gateway before the administrator hears it is done.

With one process, revoking a key ends its sessions and streams before ``revoke_key``
returns. With gateways sharing a database (``--redis``), the other gateways learn of it
from the bus; the admin API answers only once each live gateway has confirmed it applied
the revocation, or once ``timeout`` has passed — then the answer names the gateways that
did not confirm (see ``posrisk.bus.revocations``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import PosriskError

__all__ = ["BusError", "Confirmation", "RevocationWitnesses"]


class BusError(PosriskError):
    """The bus cannot be used (Redis unreachable): says where and why."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the other gateways said of one revocation."""

    # Other gateways that confirmed they no longer accept the key.
    confirmed: int
    # Those that did not within the wait (how the bus describes them: host and pid).
    unconfirmed: tuple[str, ...] = ()
    # For the administrator when not every gateway confirmed: what that means.
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "gateways": {"confirmed": self.confirmed, "unconfirmed": list(self.unconfirmed)}
        }
        if self.note is not None:
            body["note"] = self.note
        return body


class RevocationWitnesses(Protocol):
    """The other gateways, asked to confirm a revocation (the bus)."""

    async def confirm_revoked(self, api_key: str, revision: int) -> Confirmation | None:
        """Wait until every other live gateway applied the store up to ``revision`` and no
        longer accepts ``api_key`` (bounded); None when there are no other gateways."""
        ...
