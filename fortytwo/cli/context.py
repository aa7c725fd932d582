"""What every command shares: locating the configuration, opening the database, output."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from fortytwo.config import ConfigError, Settings, load_settings
from fortytwo.db.database import Database
from fortytwo.db.migrate import MigrationError, ensure_current
from fortytwo.security.keys import SecretFileError, read_secret_file
from fortytwo.services.errors import ServiceError

T = TypeVar("T")
EXPECTED_ERRORS = (ConfigError, SecretFileError, MigrationError, ServiceError)


class CliState:
    def __init__(self, config_file: str | None, data_dir: str | None) -> None:
        self.config_file = config_file or os.environ.get("FORTYTWO_CONFIG") or None
        self.data_dir = data_dir or os.environ.get("FORTYTWO_DATA_DIR") or None

    def resolved_config_file(self) -> Path | None:
        if self.config_file:
            return Path(self.config_file)
        candidate = Path(self.data_dir or "data") / "config.toml"
        return candidate if candidate.exists() else None

    def settings(self, **overrides: Any) -> Settings:
        extra: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        if self.data_dir:
            extra["data_dir"] = str(Path(self.data_dir).resolve())
        try:
            return load_settings(self.resolved_config_file(), overrides=extra)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine, turning expected failures into one-line errors (exit 1)."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except EXPECTED_ERRORS as exc:
        raise click.ClickException(str(exc)) from None


def pepper(settings: Settings) -> bytes:
    """The server pepper, for commands that mint secrets (one-line error when missing)."""
    try:
        return read_secret_file(settings.pepper_path)
    except SecretFileError as exc:
        raise click.ClickException(str(exc)) from None


def with_db(settings: Settings, fn: Callable[[Database], Awaitable[T]], *, check: bool = True) -> T:
    async def go() -> T:
        if check and not settings.database_path.exists():
            raise MigrationError(
                f"no database at {settings.database_path}; run `fortytwo init` first"
            )
        async with Database(settings.database_path, settings.database.busy_timeout_ms) as db:
            if check:
                await ensure_current(db.writer)
            return await fn(db)

    return run(go())


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


pass_state = click.make_pass_decorator(CliState)
