"""sandbox: a ready local API with demo data, in one command.

The sandbox keeps everything in its own folder (default ``./fortytwo-sandbox``), marked by a
``.fortytwo-sandbox`` file so that ``--reset`` can never wipe a real data directory. It
always serves plain HTTP on 127.0.0.1, whatever the configuration says about addresses, TLS
and storage; settings such as plugins, license and rate limits still come from ``--config``
when one is given explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, get_origin, get_type_hints

import click

from fortytwo.apply.plan import parse_plan
from fortytwo.cli.context import EXPECTED_ERRORS, CliState, pass_state, run
from fortytwo.cli.plugins import load_plugins
from fortytwo.cli.server import bind_socket, configure_logging, serve_app
from fortytwo.config import SECTIONS, ConfigError, Settings, load_settings
from fortytwo.db.database import Database
from fortytwo.db.migrate import migrate
from fortytwo.security.keys import create_secret_file, read_secret_file
from fortytwo.security.scopes import ALL_PAT_SCOPES
from fortytwo.services import apply as apply_service
from fortytwo.services import pats
from fortytwo.store import accounts as account_store
from fortytwo.store import scheduling as scheduling_store
from fortytwo.store import tokens as token_store
from fortytwo.timefmt import format_ts, system_clock

DEFAULT_DIR = "fortytwo-sandbox"
MARKER = ".fortytwo-sandbox"
DEMO_USER = "alice"
TOKEN_NAME = "sandbox"
HOST = "127.0.0.1"

# Settings the sandbox turns on when this build has them (they arrive with the webhooks and
# OAuth features); checked against fortytwo.config.SECTIONS at run time.
OPTIONAL_OVERRIDES: dict[tuple[str, tuple[str, ...]], Any] = {
    ("webhooks", ("allow_private_targets",)): True,
    ("webhooks", ("retry_delays_seconds",)): (1, 2, 4, 8, 16),
    ("oauth", ("dcr_enabled",)): True,
}


@dataclasses.dataclass
class Credentials:
    base_url: str
    token: str
    organization_id: str
    user_id: str
    event_types: list[dict[str, str]]
    scheduling_types: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "token": self.token,
            "organization_id": self.organization_id,
            "user_id": self.user_id,
            "event_types": self.event_types,
        }


def optional_overrides() -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The sandbox settings this build knows, and the names of those it does not (yet)."""
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for (section, candidates), value in OPTIONAL_OVERRIDES.items():
        cls = SECTIONS.get(section)
        hints = get_type_hints(cls) if cls is not None else {}
        name = next((c for c in candidates if c in hints), None)
        if name is None:
            missing.append(f"{section}.{candidates[0]}")
            continue
        target = hints[name]
        if isinstance(value, tuple) and target is str:
            value = ",".join(str(v) for v in value)
        elif isinstance(value, tuple) and get_origin(target) not in (tuple, list):
            missing.append(f"{section}.{name}")
            continue
        found.setdefault(section, {})[name] = list(value) if isinstance(value, tuple) else value
    return found, missing


def prepare_directory(directory: Path, reset: bool) -> None:
    """Create (or, with ``reset``, empty) the sandbox folder; refuse folders that are not ours."""
    marker = directory / MARKER
    if directory.exists():
        if not directory.is_dir():
            raise click.ClickException(f"{directory} is not a directory")
        if any(directory.iterdir()) and not marker.exists():
            raise click.ClickException(
                f"{directory} is not empty and is not a sandbox folder (no {MARKER} file); "
                "choose another --data-dir"
            )
        if reset:
            shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text("This folder belongs to `fortytwo sandbox`; --reset deletes it.\n")


def sandbox_settings(state: CliState, directory: Path, port: int) -> Settings:
    """Settings for a loopback, plain-HTTP server whose data all lives in ``directory``."""
    extra, _ = optional_overrides()
    overrides: dict[str, Any] = {
        "data_dir": str(directory),
        "public_url": "",
        "booking_base_url": "",
        "server": {"host": HOST, "port": port, "tls_cert": "", "tls_key": "",
                   "trusted_proxies": []},
        "database": {"path": ""},
        "security": {"pepper_file": "", "secret_key_file": ""},
        **extra,
    }
    # Only an explicit --config is read: the default <data-dir>/config.toml belongs to a real
    # instance.
    config_file = state.config_file
    try:
        return load_settings(config_file, overrides=overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def demo_plan_text() -> str:
    return resources.files("fortytwo.cli").joinpath("sandbox.toml").read_text("utf-8")


async def seed(settings: Settings, prefix: str, now: datetime) -> Credentials:
    """Migrate, apply the demo organization, and issue a fresh full-scope token."""
    pepper = read_secret_file(settings.pepper_path)
    text = demo_plan_text()
    plan = parse_plan(text)
    async with Database(settings.database_path, settings.database.busy_timeout_ms) as db:
        await migrate(db.writer)
        await apply_service.apply_plan(db, plan, text, now, settings.effective_booking_base_url)
        org = await account_store.find_org(db.reader, plan.organization.name)
        user = await account_store.find_user(db.reader, DEMO_USER)
        assert org is not None and user is not None
        # A fresh token on every start; the previous one stops working.
        for pat in await token_store.list_pats(db.reader, org.id):
            if pat.name.lower() == TOKEN_NAME and pat.revoked_at is None:
                await pats.revoke(db, pat.id, now)
        issued = await pats.create(
            db, user=user.id, name=TOKEN_NAME, scopes=list(ALL_PAT_SCOPES), expires_in=None,
            prefix=prefix, pepper=pepper, now=now,
        )
        rows = await scheduling_store.list_event_type_rows(db.reader, org.id)
    slugs = [spec.slug for spec in plan.event_types]
    rows = sorted((r for r in rows if r["slug"] in slugs), key=lambda r: slugs.index(r["slug"]))
    return Credentials(
        base_url=settings.effective_public_url,
        token=issued.token,
        organization_id=org.id,
        user_id=user.id,
        event_types=[
            {"id": r["id"], "slug": r["slug"], "username": r["owner_username"] or r["team_slug"]}
            for r in rows
        ],
        scheduling_types={r["id"]: r["scheduling_type"] for r in rows},
    )


def write_credentials(path: Path, creds: Credentials) -> None:
    """Write the credentials file with mode 0600 (it holds a live token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(creds.as_json(), fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


KIND_WORDS = {"individual": "individual", "collective": "round robin", "group": "group"}


def announce(directory: Path, creds: Credentials) -> None:
    click.echo(f"fortytwo sandbox: demo data in {directory}")
    click.echo(f"  base URL:     {creds.base_url}")
    click.echo(f"  token:        {creds.token}")
    click.echo(f"  acts as:      {DEMO_USER} (organization {creds.organization_id}), every scope")
    click.echo("  event types:")
    for et in creds.event_types:
        kind = KIND_WORDS.get(creds.scheduling_types.get(et["id"], ""), "")
        click.echo(f"    {et['username'] + '/' + et['slug']:<28} {kind:<12} {et['id']}")
    sys.stdout.flush()


async def _first_slot(creds: Credentials, event_type_id: str) -> str | None:
    """Ask the running sandbox (over HTTP, as a client would) for the first free start."""
    import aiohttp

    now = datetime.now(UTC)
    params = {
        "event_type_id": event_type_id,
        "start": format_ts(now),
        "end": format_ts(now + timedelta(days=7)),
    }
    headers = {"Authorization": f"Bearer {creds.token}"}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(f"{creds.base_url}/v1/slots", params=params, headers=headers) as resp:
            if resp.status != 200:
                return None
            body = await resp.json()
    slots = body.get("data", {}).get("slots") or []
    return slots[0]["start"] if slots else None


async def _print_examples(creds: Credentials) -> None:
    auth = f'-H "Authorization: Bearer {creds.token}"'
    first = creds.event_types[0] if creds.event_types else None
    start = None
    if first is not None:
        try:
            start = await _first_slot(creds, first["id"])
        except Exception:  # examples are a courtesy; the server runs regardless
            start = None
    click.echo("try it:")
    click.echo(f"  curl {auth} {creds.base_url}/v1/me")
    if first is None or start is None:
        sys.stdout.flush()
        return
    body = json.dumps({
        "event_type_id": first["id"],
        "start": start,
        "attendee": {"name": "Sam Sample", "email": "sam@example.com"},
    })
    click.echo(f"book the first free {first['slug']} slot ({start}):")
    click.echo(
        f"  curl -X POST {creds.base_url}/v1/bookings {auth} "
        f"-H 'Idempotency-Key: sandbox-{start}' -H 'Content-Type: application/json' "
        f"-d '{body}'"
    )
    sys.stdout.flush()


async def _serve(settings: Settings, app: Any, sock: Any, creds: Credentials) -> None:
    server = asyncio.create_task(serve_app(settings, app, sock))
    # The socket already listens, so these requests wait in its backlog until the site runs.
    examples = asyncio.create_task(_print_examples(creds))
    try:
        await server
    finally:
        examples.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await examples


@click.command()
@click.option("--port", type=int, default=8042, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--data-dir", "sandbox_dir", metavar="DIR",
              help=f"Sandbox folder (default: the global --data-dir, else ./{DEFAULT_DIR}).")
@click.option("--reset", is_flag=True, help="Delete the sandbox folder and start afresh.")
@click.option("--credentials-out", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write base URL, token and ids to FILE as JSON.")
@pass_state
def sandbox(
    state: CliState, port: int, sandbox_dir: str | None, reset: bool,
    credentials_out: Path | None,
) -> None:
    """Run a local API with a demo organization and print a token for it."""
    from fortytwo.app import create_app

    if not 0 <= port <= 65535:
        raise click.BadParameter("must be between 0 and 65535", param_hint="--port")
    directory = Path(sandbox_dir or state.data_dir or DEFAULT_DIR).resolve()
    prepare_directory(directory, reset)
    settings = sandbox_settings(state, directory, port)
    for path in (settings.pepper_path, settings.secret_key_path):
        create_secret_file(path)
    configure_logging(settings.server.log_level)
    _, missing = optional_overrides()
    if missing:
        logging.getLogger("fortytwo.sandbox").info(
            "not in this build yet, so not set: %s", ", ".join(missing)
        )
    try:
        sock, settings = bind_socket(settings)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {HOST}:{port}: {exc.strerror or exc} (try --port 0)"
        ) from None
    plugins = load_plugins(settings)
    try:
        prefix = plugins.token_prefix()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    creds = run(seed(settings, prefix, system_clock()))
    if credentials_out is not None:
        write_credentials(credentials_out, creds)
    announce(directory, creds)
    try:
        app = create_app(settings, plugins=plugins)
        asyncio.run(_serve(settings, app, sock, creds))
    except EXPECTED_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
