"""Numbered ``.sql`` migrations shipped as package data, tracked by ``PRAGMA user_version``.

Each file ``NNNN_name.sql`` runs in one transaction together with its version bump, so a
crash leaves the database either before or after the file, never half-way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from fortytwo.db.database import Conn, fetch_one

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


async def migrate(conn: Conn) -> list[Migration]:
    """Apply every pending migration in order; return the ones applied."""
    todo = await pending(conn)
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
