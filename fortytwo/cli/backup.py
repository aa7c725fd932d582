"""backup DEST: a consistent online copy of the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from fortytwo.cli.context import CliState, emit_json, pass_state
from fortytwo.db.backup import BackupError, backup_database


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def backup_cmd(state: CliState, dest: Path, force: bool, as_json: bool) -> None:
    """Copy the database to DEST (a file, or a folder for a timestamped file in it).

    Safe while the server runs: the copy is one consistent snapshot. It is written beside
    DEST first, checked with PRAGMA integrity_check, then renamed into place.
    """
    settings = state.settings()
    try:
        result = backup_database(
            settings.database_path, dest, force=force,
            busy_timeout_ms=settings.database.busy_timeout_ms,
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:
        raise click.ClickException(f"backup to {dest} failed: {exc}") from None
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(
            f"backed up {result.source} to {result.path} ({result.size} bytes, "
            f"schema version {result.schema_version}, integrity ok)"
        )
