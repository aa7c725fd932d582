"""Numbered migrations: naming, fresh install = step by step, idempotent, newer refused."""

from __future__ import annotations

import sqlite3
from importlib import resources

import pytest

from fortytwo.db.database import Database
from fortytwo.db.migrate import (
    NAME_RE,
    MigrationError,
    available_migrations,
    current_version,
    ensure_current,
    latest_version,
    migrate,
)


def schema(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())


def test_file_names_follow_the_rule():
    names = [e.name for e in resources.files("fortytwo.db.migrations").iterdir() if e.name.endswith(".sql")]
    assert names and all(NAME_RE.match(n) for n in names)
    assert [m.version for m in available_migrations()] == list(range(1, len(names) + 1))


async def test_fresh_install_equals_step_by_step(tmp_path):
    fresh = tmp_path / "fresh.db"
    async with Database(fresh) as db:
        applied = await migrate(db.writer)
        assert [m.version for m in applied] == list(range(1, latest_version() + 1))
    stepped = tmp_path / "stepped.db"
    for migration in available_migrations():
        # a separate process-like open per step, as an upgrade across releases would do
        with sqlite3.connect(stepped) as conn:
            conn.executescript(
                f"BEGIN;{migration.sql};PRAGMA user_version={migration.version};COMMIT;"
            )
        async with Database(stepped) as db:
            assert await current_version(db.writer) == migration.version
            assert await migrate(db.writer) == [] if migration.version == latest_version() else True
    assert schema(fresh) == schema(stepped)


async def test_rerun_is_a_noop(tmp_path):
    path = tmp_path / "db.sqlite"
    async with Database(path) as db:
        await migrate(db.writer)
    before = schema(path)
    async with Database(path) as db:
        assert await migrate(db.writer) == []
        await ensure_current(db.writer)
    assert schema(path) == before


async def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "db.sqlite"
    async with Database(path) as db:
        await migrate(db.writer)
        await db.writer.execute(f"PRAGMA user_version = {latest_version() + 1}")
        with pytest.raises(MigrationError, match="newer than this fortytwo"):
            await migrate(db.writer)
        with pytest.raises(MigrationError, match="newer"):
            await ensure_current(db.writer)


async def test_failed_migration_leaves_no_trace(tmp_path, monkeypatch):
    from fortytwo.db import migrate as module

    good = available_migrations()
    bad = module.Migration(len(good) + 1, "9999_bad.sql", "CREATE TABLE half (x);\nSELECT * FROM missing_table;")
    monkeypatch.setattr(module, "available_migrations", lambda: [*good, bad])
    monkeypatch.setattr(module, "latest_version", lambda: bad.version)
    path = tmp_path / "db.sqlite"
    async with Database(path) as db:
        with pytest.raises(MigrationError, match="9999_bad.sql"):
            await migrate(db.writer)
        assert await current_version(db.writer) == len(good)
    assert not any(row[1] == "half" for row in schema(path))


async def test_server_refuses_an_old_database_without_migrating_only_in_cli(tmp_path):
    path = tmp_path / "db.sqlite"
    async with Database(path) as db:
        with pytest.raises(MigrationError, match="fortytwo migrate"):
            await ensure_current(db.writer)
