"""What a store raises: one root, ``StoreError``, that says which database and why."""

from __future__ import annotations

from ..errors import PosriskError

__all__ = ["DatabaseBusy", "StaleRevision", "StoreError"]


class StoreError(PosriskError, RuntimeError):
    """The database cannot be used: says which file and why."""

    code = -1001
    status = 503


class StaleRevision(StoreError):
    """A commit expected the store at a revision another process has moved past."""

    def __init__(self, where: str, expected: int | None) -> None:
        super().__init__(
            f"{where}: the store has moved past revision {expected} (another gateway wrote); "
            "catch up and try again"
        )
        self.expected = expected


class DatabaseBusy(StoreError):
    """Another posrisk process holds the database."""
