"""Online backups through SQLite's backup API.

The copy is taken in one step of ``sqlite3.Connection.backup``, which reads the source inside
one read transaction: it is a consistent snapshot of the last committed state, while a
running server (WAL mode) keeps writing beside it. The copy goes to a temporary file in the
destination's folder, is switched to a self-contained rollback-journal file, passes
``PRAGMA integrity_check``, is flushed to disk and only then renamed onto the destination,
so a destination either holds a complete, checked backup or is untouched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    source: Path
    path: Path
    size: int
    schema_version: int

    def as_dict(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            "path": str(self.path),
            "size": self.size,
            "schema_version": self.schema_version,
            "integrity": "ok",
        }


def timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime(STAMP_FORMAT)


def resolve_destination(source: Path, dest: Path, now: datetime | None = None) -> Path:
    """A folder as destination gets a timestamped file named after the source inside it."""
    if dest.is_dir():
        return dest / f"{source.stem}-{timestamp(now)}{source.suffix or '.db'}"
    return dest


def pre_migration_path(database: Path, target_version: int, now: datetime | None = None) -> Path:
    """``<db>.pre-v<target>-<UTC timestamp>.bak`` next to the database, never an existing file."""
    base = f"{database.name}.pre-v{target_version}-{timestamp(now)}"
    candidate = database.with_name(f"{base}.bak")
    n = 1
    while candidate.exists():
        candidate = database.with_name(f"{base}-{n}.bak")
        n += 1
    return candidate


def schema_version(path: Path) -> int:
    """``PRAGMA user_version`` of an existing database file, opened read-only."""
    if not path.is_file():
        raise BackupError(f"no database at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """What ``PRAGMA integrity_check`` finds wrong; an empty list for a sound database."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def backup_database(
    source: Path, dest: Path, *, force: bool = False, busy_timeout_ms: int = 5000
) -> BackupResult:
    """Copy the database at ``source`` to ``dest`` (a file path, or an existing folder for a
    timestamped name inside it). An existing file is replaced only with ``force``."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    target = resolve_destination(source, Path(dest))
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; pass --force to replace it")
    if target.exists() and not target.is_file():
        raise BackupError(f"{target} exists and is not a file")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    if target.resolve() == source.resolve():
        raise BackupError("the destination is the database itself; choose another path")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        # created 0600 first: the copy holds the same secrets as the database
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        version = _copy(source, tmp, busy_timeout_ms)
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return BackupResult(source, target.absolute(), target.stat().st_size, version)


def _copy(source: Path, tmp: Path, busy_timeout_ms: int) -> int:
    src = sqlite3.connect(source, timeout=busy_timeout_ms / 1000)
    try:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            try:
                src.backup(dst)  # one step: one read transaction, one snapshot
            except sqlite3.Error as exc:
                raise BackupError(f"copying {source} failed: {exc}") from exc
            # a plain single file, whatever the source's journal mode
            dst.execute("PRAGMA journal_mode = DELETE")
            problems = integrity_problems(dst)
            if problems:
                raise BackupError(
                    f"the copy failed its integrity check: {'; '.join(problems[:3])}"
                )
            return int(dst.execute("PRAGMA user_version").fetchone()[0])
        finally:
            dst.close()
    finally:
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
