"""Numbered ``.sql`` migrations shipped as package data, tracked by ``PRAGMA user_version``.

Each file ``NNNN_name.sql`` runs in one transaction together with its version bump, so a
crash leaves the database either before or after the file, never half-way. Before the first
pending migration touches a database that already has a schema, :func:`migrate` can write a
backup of it next to the file (see :mod:`fortytwo.db.backup`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fortytwo.db.backup import BackupError, BackupResult, backup_database, pre_migration_path
from fortytwo.db.backup import schema_version as file_schema_version
from fortytwo.db.database import Conn, fetch_one

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    """The database cannot be brought to the schema this code expects."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("fortytwo.db.migrations").iterdir():
        match = NAME_RE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"migration numbering has a gap or duplicate at {migration.name}")
    return found


def latest_version() -> int:
    migrations = available_migrations()
    return migrations[-1].version if migrations else 0


async def current_version(conn: Conn) -> int:
    row = await fetch_one(conn, "PRAGMA user_version")
    return int(row[0]) if row else 0


async def pending(conn: Conn) -> list[Migration]:
    version = await current_version(conn)
    latest = latest_version()
    if version > latest:
        raise MigrationError(
            f"the database is at schema version {version}, newer than this fortytwo "
            f"(which knows up to {latest}); upgrade fortytwo or restore a backup"
        )
    return [m for m in available_migrations() if m.version > version]


def _log_backup(result: BackupResult) -> None:
    log.info("backed up %s (schema version %d) to %s before migrating",
             result.source, result.schema_version, result.path)


async def migrate(
    conn: Conn,
    *,
    database_path: Path | None = None,
    on_backup: Callable[[BackupResult], None] = _log_backup,
) -> list[Migration]:
    """Apply every pending migration in order; return the ones applied.

    With ``database_path`` (the file ``conn`` is open on), a database that already has a
    schema (``user_version`` > 0) is first backed up next to itself as
    ``<db>.pre-v<latest>-<timestamp>.bak``; ``on_backup`` is told where. A failed backup
    stops the migration. A fresh database needs no backup."""
    todo = await pending(conn)
    version = await current_version(conn)
    if todo and version > 0 and database_path is not None:
        dest = pre_migration_path(Path(database_path), todo[-1].version)
        try:
            result = await asyncio.to_thread(backup_database, Path(database_path), dest)
        except (BackupError, OSError, sqlite3.Error) as exc:
            raise MigrationError(
                f"not migrating: the backup before the migration failed: {exc}"
            ) from exc
        on_backup(result)
    for migration in todo:
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\nPRAGMA user_version = {migration.version};\nCOMMIT;"
        try:
            await conn.executescript(script)
        except Exception as exc:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
    return todo


async def ensure_current(conn: Conn) -> None:
    """Refuse to serve a database that is older or newer than the code."""
    todo = await pending(conn)
    if todo:
        raise MigrationError(
            f"the database needs {len(todo)} migration(s) (next: {todo[0].name}); "
            "run `fortytwo migrate` first"
        )


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database file stands against the migrations this build carries."""

    path: Path
    current: int
    latest: int
    pending: tuple[Migration, ...]

    @property
    def newer_than_code(self) -> bool:
        return self.current > self.latest

    @property
    def up_to_date(self) -> bool:
        return self.current == self.latest

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "current_version": self.current,
            "latest_version": self.latest,
            "pending": [m.name for m in self.pending],
            "up_to_date": self.up_to_date,
            "newer_than_code": self.newer_than_code,
        }


def schema_status(path: Path) -> SchemaStatus:
    """Read the version of the database at ``path`` without changing anything (a missing
    file counts as version 0: every migration is pending)."""
    path = Path(path)
    current = file_schema_version(path) if path.exists() else 0
    todo = tuple(m for m in available_migrations() if m.version > current)
    return SchemaStatus(path, current, latest_version(), todo)
