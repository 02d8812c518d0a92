"""Where a SQLite database lives, checked before anything is written next to it.

Opening a SQLite file creates it, and the server's lock, token and key files go beside
it: a ``--db`` in a folder that does not exist, or a typo naming a database that does
not exist, is refused first, saying so, instead of failing half-way or quietly starting
an empty database.
"""

from __future__ import annotations

from pathlib import Path

from .sqlite import StoreError

__all__ = ["DatabaseMissing", "check_database_file"]


class DatabaseMissing(StoreError):
    """No database at the path given (and this command does not create one)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path.absolute()}")
        self.path = path


def check_database_file(path: Path, *, create: bool) -> None:
    """Refuse a path that is a folder or lies in a folder that does not exist, and a
    database that does not exist unless ``create``."""
    if path.is_dir():
        raise StoreError(f"{path.absolute()} is a folder, not a database file")
    if path.exists():
        return
    folder = path.absolute().parent
    if not folder.is_dir():
        raise StoreError(f"no such folder: {folder} (for the database {path.name})")
    if not create:
        raise DatabaseMissing(path)
