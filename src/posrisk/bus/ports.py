"""What the bus needs of the gateway it connects, as protocols.

The service implements them (``Registry``, ``AdminService``, ``UserStreams``) without
knowing the bus; the bus imports nothing of the service. Every other gateway's change
comes in through ``SharedState.apply_committed`` (marks) or ``Writer.catch_up`` (what
was committed to the database), the one door of the served state.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from ..store import Change

__all__ = ["Changed", "KeyState", "ListenKeyState", "SharedState", "Streams", "Writer"]


class Changed(Protocol):
    """One change of the served state (``service.registry.StateChanged``)."""

    @property
    def local(self) -> bool: ...
    @property
    def revision(self) -> int | None: ...
    @property
    def marks(self) -> Mapping[str, Decimal]: ...


class KeyState(Protocol):
    @property
    def revoked_at(self) -> int | None: ...


class SharedState(Protocol):
    """The served state (``service.registry.Registry``)."""

    @property
    def revision(self) -> int: ...
    @property
    def marks(self) -> Mapping[str, Decimal]: ...
    @property
    def keys(self) -> Mapping[str, KeyState]: ...
    @property
    def market(self) -> Container[str]: ...

    def subscribe(self, listener: Callable[[Changed], None]) -> None: ...

    def apply_committed(
        self, changes: Sequence[Change], revision: int | None = None, *, local: bool = True
    ) -> object: ...


class Writer(Protocol):
    """What writes the shared database (``service.admin.AdminService``)."""

    @property
    def registry(self) -> SharedState: ...

    async def catch_up(self) -> int | None:
        """Apply what the others committed; the ledger entries applied (None: nothing)."""
        ...


class ListenKeyState(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def expires_at(self) -> int: ...


class Streams(Protocol):
    """This gateway's listenKeys (``service.streams.UserStreams``)."""

    def on_listen_key(self, listener: Callable[[ListenKeyState | None, str], None]) -> None:
        """Tell ``listener`` of a listenKey started or kept alive here, or stopped (None)."""
        ...

    def listen_keys(self) -> Iterable[ListenKeyState]: ...
    def mirror(self, key: str, api_key: str, account: str, expires_at: int) -> None: ...
    def forget(self, key: str) -> bool: ...
