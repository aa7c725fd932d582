"""plugins list, license show."""

from __future__ import annotations

import sys

import click

from fortytwo import licensing
from fortytwo.cli.context import CliState, emit_json, pass_state, run
from fortytwo.config import ConfigError, Settings
from fortytwo.db.database import Database
from fortytwo.plugins.manager import Plugins, build_plugins, is_frozen
from fortytwo.store import accounts as account_store
from fortytwo.timefmt import format_ts, system_clock


def load_plugins(settings: Settings) -> Plugins:
    """The plugin manager for one command; a broken plugin is a one-line error (exit 1)."""
    try:
        return build_plugins(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def token_prefix(settings: Settings) -> str:
    """The token prefix the plugins choose, for commands that mint tokens."""
    try:
        return load_plugins(settings).token_prefix()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("plugins")
def plugins_group() -> None:
    """See which plugins are loaded."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def plugins_list(state: CliState, as_json: bool) -> None:
    """List loaded plugins with where they came from and the hooks they implement."""
    settings = state.settings()
    plugins = load_plugins(settings)
    infos = plugins.describe()
    if as_json:
        emit_json([info.as_json() for info in infos])
        return
    width = max(len(info.name) for info in infos)
    for info in infos:
        click.echo(f"{info.name:<{width}}  {', '.join(info.hooks) or '-':<32}  {info.source}")
    click.echo("")
    for directory in plugins.searched:
        note = "" if directory.is_dir() else " (does not exist)"
        click.echo(f"plugin folder: {directory}{note}")
    if is_frozen():
        click.echo("entry points: not loaded by the one-file executable")
    elif not settings.plugins.entry_points:
        click.echo("entry points: off (plugins.entry_points = false)")
    click.echo(f"token prefix: {plugins.token_prefix()}")


@click.group("license")
def license_group() -> None:
    """See the license this server runs under."""


async def _count_users(settings: Settings) -> int | None:
    if not settings.database_path.exists():
        return None
    async with Database(settings.database_path, settings.database.busy_timeout_ms) as db:
        try:
            return len(await account_store.list_users(db.reader))
        except Exception:  # a database from before migrations: the count is optional
            return None


@license_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def license_show(state: CliState, as_json: bool) -> None:
    """Check the configured license key and show what it grants.

    Exits 1 (after printing the details) when the key is invalid or expired.
    """
    settings = state.settings()
    plugins = load_plugins(settings)
    result = licensing.evaluate(plugins, settings, system_clock())
    users = run(_count_users(settings))
    if as_json:
        emit_json(result.as_json(users))
    else:
        _print_state(result, users)
    if result.status in ("invalid", "expired"):
        click.echo(f"Error: {result.summary(users)}", err=True)
        sys.exit(1)


def _print_state(result: licensing.LicenseState, users: int | None) -> None:
    lic = result.license
    click.echo(f"edition:       {result.edition}")
    click.echo(f"status:        {result.status}")
    if result.source:
        click.echo(f"key from:      {result.source}")
    if result.error:
        click.echo(f"problem:       {result.error}")
    if lic is not None:
        click.echo(f"organization:  {lic.organization}")
        click.echo(f"plan:          {lic.plan}")
        limit = "unlimited" if lic.max_users is None else str(lic.max_users)
        used = "" if users is None else f" ({users} in use)"
        click.echo(f"max users:     {limit}{used}")
        click.echo(f"expires:       {format_ts(lic.expires_at) if lic.expires_at else 'never'}")
        click.echo(f"features:      {', '.join(lic.features) or '-'}")
    if result.over_user_limit(users):
        click.echo("warning:       more users than the license allows (nothing is blocked)")
