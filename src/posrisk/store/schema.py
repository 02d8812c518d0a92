"""The schema's migrations, shared by every backend.

SQLite's live in ``migrations/``; another database's (``"postgres"``) in a subfolder of
that name, with the same version numbers, so a version means the same tables everywhere.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["TABLES", "migrations", "statements"]

# Every table of the data (what ``reset`` empties), each before the tables it refers to.
TABLES = (
    "income",
    "trades",
    "orders",
    "algo_orders",
    "ledger",
    "api_keys",
    "accounts",
    "marks",
    "meta",
    "funding_settlements",
)


def migrations(dialect: str | None = None) -> list[tuple[int, str]]:
    """(version, SQL) of every migration shipped, in order.

    SQLite's live in ``migrations/``; another database's (``"postgres"``) in a
    subfolder of that name.
    """
    folder = resources.files(__package__) / "migrations"
    if dialect is not None:
        folder = folder / dialect
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


def statements(sql: str) -> list[str]:
    """The statements of a migration file: comments dropped, split at semicolons.

    Each runs on its own inside the migration's transaction (SQLite's ``executescript``
    would commit first).
    """
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
