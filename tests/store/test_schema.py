"""The shipped migrations, shared by every backend."""

from __future__ import annotations

from posrisk.store.schema import migrations, statements


def test_the_shipped_migrations_start_at_version_one_and_are_ordered() -> None:
    versions = [version for version, _ in migrations()]
    assert versions[0] == 1
    assert versions == sorted(set(versions))
    assert "CREATE TABLE ledger" in migrations()[0][1]


def test_every_backend_ships_the_same_versions() -> None:
    assert [v for v, _ in migrations("postgres")] == [v for v, _ in migrations()]


def test_statements_drop_comments_and_split_at_semicolons() -> None:
    sql = (
        "-- a comment; not a statement\nCREATE TABLE t (a INTEGER); -- trailing\n\nDROP TABLE t;\n"
    )
    assert statements(sql) == ["CREATE TABLE t (a INTEGER)", "DROP TABLE t"]


def test_every_migration_splits_into_statements() -> None:
    for dialect in (None, "postgres"):
        for _, sql in migrations(dialect):
            found = statements(sql)
            assert found
            assert not any("--" in s or s.endswith(";") for s in found)
