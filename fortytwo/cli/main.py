"""The command group and its global options."""

from __future__ import annotations

import sys

import click

from fortytwo import __version__
from fortytwo.cli.accounts import orgs, users
from fortytwo.cli.backup import backup_cmd
from fortytwo.cli.bookings import bookings
from fortytwo.cli.context import CliState
from fortytwo.cli.oauth_clients import oauth_clients
from fortytwo.cli.openapi import openapi_cmd
from fortytwo.cli.plugins import license_group, plugins_group
from fortytwo.cli.sandbox import sandbox
from fortytwo.cli.scheduling import apply_cmd, event_types
from fortytwo.cli.server import init, migrate_cmd, serve, version
from fortytwo.cli.tokens import tokens
from fortytwo.cli.webhooks import webhooks


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", metavar="FILE", help="Path of config.toml.")
@click.option("--data-dir", metavar="DIR", help="Data directory (default ./data).")
@click.version_option(__version__, prog_name="fortytwo")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, data_dir: str | None) -> None:
    """fortytwo: the 42min API in one process and one SQLite file."""
    ctx.obj = CliState(config_file, data_dir)


for command in (
    init, serve, migrate_cmd, version, orgs, users, tokens, apply_cmd, event_types, bookings,
):
    cli.add_command(command)
for command in (sandbox, plugins_group, license_group):
    cli.add_command(command)
cli.add_command(webhooks)
cli.add_command(openapi_cmd)
cli.add_command(oauth_clients)
cli.add_command(backup_cmd)


def main() -> None:
    try:
        cli.main(prog_name="fortytwo", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
