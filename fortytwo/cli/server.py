"""init, serve, migrate, version."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sqlite3
import ssl
import sys
from dataclasses import replace
from pathlib import Path

import click
from aiohttp import web

from fortytwo import __version__, keys
from fortytwo.cli.context import CliState, emit_json, pass_state, run
from fortytwo.config import Settings
from fortytwo.db.backup import BackupError, BackupResult
from fortytwo.db.database import Database
from fortytwo.db.migrate import current_version, latest_version, migrate, schema_status
from fortytwo.security.keys import create_secret_file

log = logging.getLogger("fortytwo.server")
# After the grace period, requests still running are cancelled; aiohttp then gives them this
# long to unwind before it closes their connections.
UNWIND_SECONDS = 2.0

CONFIG_TEMPLATE = """\
# fortytwo configuration; every key is documented in config.example.toml.
data_dir = "."

[server]
host = "127.0.0.1"
port = 8042
"""


@click.command()
def version() -> None:
    """Print the version."""
    click.echo(f"fortytwo {__version__}")


@click.command()
@pass_state
def init(state: CliState) -> None:
    """Create the data directory, secrets, a config file and the database."""
    existing = Path(state.config_file) if state.config_file else None
    if existing is not None and existing.exists() and not state.data_dir:
        data_dir = Path(state.settings().data_dir)  # the folder the config file names
    else:
        data_dir = Path(state.data_dir or "data")
    data_dir.mkdir(parents=True, exist_ok=True)
    config_path = existing or data_dir / "config.toml"
    if not config_path.exists():
        config_path.write_text(CONFIG_TEMPLATE)
        click.echo(f"wrote {config_path}")
    settings = state.settings()
    if not settings.database_path.exists():
        # owner-only from the start: the database holds hashes and sealed secrets
        settings.database_path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(settings.database_path, os.O_CREAT | os.O_WRONLY, 0o600))
    for path in (settings.pepper_path, settings.secret_key_path):
        if create_secret_file(path):
            click.echo(f"created secret {path} (mode 0600)")
    applied = _migrate(settings)
    click.echo(f"database {settings.database_path} is at schema version {applied}")


def _report_backup(result: BackupResult) -> None:
    click.echo(f"backed up {result.source} (schema version {result.schema_version}) "
               f"to {result.path} before migrating")


def _migrate(settings: Settings) -> int:
    async def go() -> int:
        async with Database(settings.database_path, settings.database.busy_timeout_ms) as db:
            await migrate(db.writer, database_path=db.path, on_backup=_report_backup)
            return await current_version(db.writer)

    return run(go())


def _check(settings: Settings, as_json: bool) -> None:
    """Report the schema version and the pending migrations; exit 1 unless up to date."""
    try:
        status = schema_status(settings.database_path)
    except (BackupError, sqlite3.Error) as exc:
        raise click.ClickException(f"cannot read {settings.database_path}: {exc}") from None
    if as_json:
        emit_json(status.as_dict())
    else:
        click.echo(f"database:       {status.path}")
        click.echo(f"schema version: {status.current}")
        click.echo(f"latest version: {status.latest}")
        click.echo(f"pending:        {', '.join(m.name for m in status.pending) or '-'}")
    if status.newer_than_code:
        click.echo(
            f"Error: the database is at schema version {status.current}, newer than this "
            f"fortytwo (which knows up to {status.latest}); upgrade fortytwo or restore a backup",
            err=True,
        )
        sys.exit(1)
    if status.pending:
        click.echo(
            f"Error: {len(status.pending)} migration(s) pending "
            f"(version {status.current} -> {status.latest}); run `fortytwo migrate`",
            err=True,
        )
        sys.exit(1)


@click.command("migrate")
@click.option("--check", is_flag=True,
              help="Only report the schema version and pending migrations; exit 1 if any.")
@click.option("--json", "as_json", is_flag=True, help="With --check: print JSON.")
@pass_state
def migrate_cmd(state: CliState, check: bool, as_json: bool) -> None:
    """Apply pending database migrations (a database with data is backed up first)."""
    settings = state.settings()
    if check:
        _check(settings, as_json)
        return
    if as_json:
        raise click.UsageError("--json goes with --check")
    version = _migrate(settings)
    click.echo(f"database {settings.database_path} is at schema version {version} "
               f"(latest {latest_version()})")


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.tls_enabled:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.server.tls_cert, settings.server.tls_key)
    return context


def bind_socket(settings: Settings) -> tuple[socket.socket, Settings]:
    """Bind the listening socket first, so that port 0 becomes a real port in the settings."""
    host = settings.server.host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, settings.server.port))
    sock.listen(512)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    if port != settings.server.port:
        settings = replace(settings, server=replace(settings.server, port=port))
    return sock, settings


async def drain(
    runner: web.AppRunner, grace: float, hurry: asyncio.Event | None = None
) -> bool:
    """The first half of a graceful stop, before ``runner.cleanup()``.

    The app is marked as draining first, so any request that still reaches it (on a
    connection that was already open) is answered 503 ``service_unavailable`` with
    ``Connection: close``; then the listening sockets close, so new connections are refused.
    The requests in flight get up to ``grace`` seconds (less if ``hurry`` is set, by a second
    signal) to finish; those still running are then cancelled. Returns True when every
    request finished on its own.

    ``runner.cleanup()`` then does what aiohttp does on shutdown: it closes idle keep-alive
    connections, gives cancelled handlers ``UNWIND_SECONDS`` to unwind, and runs the app's
    cleanup contexts (webhook scheduler, housekeeping, auth maintenance, and last the
    database, whose WAL is checkpointed as it closes).
    """
    lifecycle = runner.app[keys.LIFECYCLE]
    lifecycle.begin_drain()
    for site in list(runner.sites):
        await site.stop()
    log.info("not accepting connections; waiting up to %gs for %d request(s) in flight",
             grace, lifecycle.in_flight)
    if await lifecycle.wait_idle(grace, hurry):
        return True
    cancelled = lifecycle.cancel_in_flight()
    if cancelled:
        log.warning("cancelled %d request(s) still running after the %gs grace period",
                    cancelled, grace)
    return cancelled == 0


async def serve_app(settings: Settings, app: web.Application, sock: socket.socket) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully (see :func:`drain`); a second
    signal cuts the grace period short."""
    from fortytwo.http.accesslog import AccessLogger
    from fortytwo.http.connections import guarded_runner

    # header deadline, connection caps, parser limits (fortytwo.http.connections)
    runner = guarded_runner(
        app,
        settings,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("fortytwo.access") if settings.server.access_log else None,
        access_log_format="-",
        shutdown_timeout=UNWIND_SECONDS,  # the grace period itself is drain()'s
        handle_signals=False,
    )
    await runner.setup()
    site = web.SockSite(runner, sock, ssl_context=_ssl_context(settings))
    await site.start()
    click.echo(f"fortytwo {__version__} listening on {settings.effective_public_url}")
    sys.stdout.flush()
    stop = asyncio.Event()
    hurry = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.warning("%s again: not waiting for requests in flight any longer", sig.name)
            hurry.set()
        else:
            log.info("%s received: shutting down", sig.name)
            stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await stop.wait()
        await drain(runner, settings.server.shutdown_timeout, hurry)
    finally:
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped")


def configure_logging(level: str) -> None:
    """Log lines on stderr at ``level`` for fortytwo's own loggers; libraries never below
    info (the database driver's debug lines would print every statement's parameters)."""
    logging.basicConfig(
        level=max(logging.INFO, logging.getLevelName(level.upper())),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("fortytwo").setLevel(level.upper())


@click.command()
@click.option("--host", help="Address to bind (overrides server.host).")
@click.option("--port", type=int, help="Port to bind, 0 for any free port (overrides server.port).")
@pass_state
def serve(state: CliState, host: str | None, port: int | None) -> None:
    """Run the API server."""
    from fortytwo.app import create_app
    from fortytwo.cli.context import EXPECTED_ERRORS

    server: dict[str, object] = {}
    if host is not None:
        server["host"] = host
    if port is not None:
        server["port"] = port
    settings = state.settings(server=server or None)
    if not settings.loopback_only and not settings.tls_enabled and not settings.server.trusted_proxies:
        raise click.ClickException(
            f"refusing to serve plain HTTP on {settings.server.host}: set server.tls_cert and "
            "server.tls_key, or list your reverse proxy in server.trusted_proxies "
            "(or bind to 127.0.0.1)"
        )
    if not settings.database_path.exists():
        raise click.ClickException(
            f"no database at {settings.database_path}; run `fortytwo init` first"
        )
    configure_logging(settings.server.log_level)
    try:
        sock, settings = bind_socket(settings)
        app = create_app(settings)
        asyncio.run(serve_app(settings, app, sock))
    except EXPECTED_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {settings.server.host}:{settings.server.port}: {exc.strerror or exc}") from None
