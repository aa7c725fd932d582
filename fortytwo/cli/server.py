"""init, serve, migrate, version."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
import sys
from dataclasses import replace
from pathlib import Path

import click
from aiohttp import web

from fortytwo import __version__
from fortytwo.cli.context import CliState, pass_state, run
from fortytwo.config import Settings
from fortytwo.db.database import Database
from fortytwo.db.migrate import current_version, latest_version, migrate
from fortytwo.security.keys import create_secret_file

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
    data_dir = Path(state.data_dir or "data")
    data_dir.mkdir(parents=True, exist_ok=True)
    config_path = Path(state.config_file) if state.config_file else data_dir / "config.toml"
    if not config_path.exists():
        config_path.write_text(CONFIG_TEMPLATE)
        click.echo(f"wrote {config_path}")
    settings = state.settings()
    for path in (settings.pepper_path, settings.secret_key_path):
        if create_secret_file(path):
            click.echo(f"created secret {path} (mode 0600)")
    applied = _migrate(settings)
    click.echo(f"database {settings.database_path} is at schema version {applied}")


def _migrate(settings: Settings) -> int:
    async def go() -> int:
        async with Database(settings.database_path, settings.database.busy_timeout_ms) as db:
            await migrate(db.writer)
            return await current_version(db.writer)

    return run(go())


@click.command("migrate")
@pass_state
def migrate_cmd(state: CliState) -> None:
    """Apply pending database migrations."""
    settings = state.settings()
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


async def serve_app(settings: Settings, app: web.Application, sock: socket.socket) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully."""
    from fortytwo.http.accesslog import AccessLogger

    runner = web.AppRunner(
        app,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("fortytwo.access") if settings.server.access_log else None,
        access_log_format="-",
        shutdown_timeout=settings.server.shutdown_timeout,
        handle_signals=False,
    )
    await runner.setup()
    site = web.SockSite(runner, sock, ssl_context=_ssl_context(settings))
    await site.start()
    click.echo(f"fortytwo {__version__} listening on {settings.effective_public_url}")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


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
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        sock, settings = bind_socket(settings)
        app = create_app(settings)
        asyncio.run(serve_app(settings, app, sock))
    except EXPECTED_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {settings.server.host}:{settings.server.port}: {exc.strerror or exc}") from None
