"""webhooks: see every subscription and its deliveries, resume paused ones, add one.

The operator sees all sandboxes. ``create`` makes a webhook that belongs to no API
credential (it is invisible to /v1/webhooks but receives its organization's events like any
other). A running server picks the changes up at its next scheduler pass.
"""

from __future__ import annotations

from typing import Any

import click

from fortytwo.cli.context import CliState, emit_json, pass_state, with_db
from fortytwo.config import Settings
from fortytwo.db.database import Database
from fortytwo.http.errors import ApiError
from fortytwo.security.keys import read_secret_file
from fortytwo.services import accounts as account_service
from fortytwo.services.errors import NotFound
from fortytwo.store import webhooks as store
from fortytwo.store.common import is_uuid
from fortytwo.store.webhooks import DeliveryRow, Owner, WebhookRow
from fortytwo.timefmt import system_clock
from fortytwo.webhooks import service
from fortytwo.webhooks.targets import Targets, system_resolve


def webhook_json(row: WebhookRow) -> dict[str, Any]:
    """The API's ``Webhook`` plus the organization, the owning sandbox and the failure count."""
    return {
        **service.webhook_view(row),
        "organization_id": row.organization_id,
        "owner": {
            "kind": row.owner_kind,
            "id": row.owner_id or None,
            "generation": row.owner_generation if row.owner_kind == "pat" else None,
        },
        "consecutive_failures": row.consecutive_failures,
    }


def delivery_json(row: DeliveryRow) -> dict[str, Any]:
    """The API's ``WebhookDelivery`` plus the queue state."""
    return {
        **service.delivery_view(row),
        "event_id": row.event_id,
        "status": row.status,
        "next_attempt_at": row.next_attempt_at,
        "test": row.is_test,
    }


def _owner_text(row: WebhookRow) -> str:
    if row.owner_kind == "pat":
        return f"pat:{row.owner_id}#{row.owner_generation}"
    if row.owner_kind == "oauth":
        return f"oauth:{row.owner_id}"
    return "cli"


def _call(settings: Settings, fn: Any) -> Any:
    try:
        return with_db(settings, fn)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None


@click.group()
def webhooks() -> None:
    """List webhooks and their deliveries; resume paused webhooks."""


@webhooks.command("list")
@click.option("--org", help="Only this organization (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def webhooks_list(state: CliState, org: str | None, as_json: bool) -> None:
    """List every webhook, whichever credential created it."""

    async def go(db: Database) -> list[WebhookRow]:
        return await store.list_all(db.reader, await account_service.org_filter(db, org))

    rows = _call(state.settings(), go)
    if as_json:
        emit_json([webhook_json(r) for r in rows])
        return
    for row in rows:
        reason = f" ({row.paused_reason})" if row.paused_reason else ""
        click.echo(
            f"{row.id}  {row.status}{reason}  {row.url}  events={','.join(row.events)}  "
            f"owner={_owner_text(row)}"
        )


@webhooks.command("deliveries")
@click.argument("webhook_id", metavar="ID")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def webhooks_deliveries(state: CliState, webhook_id: str, limit: int, as_json: bool) -> None:
    """Show a webhook's latest deliveries, newest first (pending ones included)."""

    async def go(db: Database) -> list[DeliveryRow]:
        row = await store.get_webhook(db.reader, webhook_id.lower()) if is_uuid(webhook_id) else None
        if row is None:
            raise NotFound(f"no webhook {webhook_id!r}; see `fortytwo webhooks list`")
        return await store.recent_deliveries(db.reader, row.id, limit)

    rows = _call(state.settings(), go)
    if as_json:
        emit_json([delivery_json(r) for r in rows])
        return
    for row in rows:
        outcome = row.status_code if row.status_code is not None else (row.error or "-")
        due = f"  next={row.next_attempt_at}" if row.status == "pending" else ""
        click.echo(
            f"{row.id}  {row.created_at}  {row.event:<20} {row.status:<9} "
            f"attempt={row.attempt}  {outcome}{due}"
        )


@webhooks.command("resume")
@click.argument("webhook_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the webhook as JSON.")
@pass_state
def webhooks_resume(state: CliState, webhook_id: str, as_json: bool) -> None:
    """Make a paused webhook active again (its failure count starts over)."""
    row = _call(state.settings(), lambda db: service.resume(db, webhook_id, system_clock()))
    if as_json:
        emit_json(webhook_json(row))
    else:
        click.echo(f"webhook {row.id} is active")


@webhooks.command("create")
@click.option("--org", required=True, help="Organization (name or id).")
@click.option("--url", required=True, help="Receiver URL (https).")
@click.option("--events", required=True, help="Comma-separated, e.g. booking_created,booking_canceled.")
@click.option("--description", help="A note for people.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the signing secret).")
@pass_state
def webhooks_create(
    state: CliState, org: str, url: str, events: str, description: str | None, as_json: bool
) -> None:
    """Subscribe a URL to an organization's events; prints the signing secret once."""
    settings = state.settings()
    body: dict[str, Any] = {
        "url": url,
        "events": [e.strip() for e in events.split(",") if e.strip()],
        "description": description,
    }

    async def go(db: Database) -> dict[str, Any]:
        org_id = await account_service.org_filter(db, org)
        assert org_id is not None
        targets = Targets(system_resolve, allow_private=settings.webhooks.allow_private_targets)
        return await service.create(
            db, targets, read_secret_file(settings.secret_key_path), Owner(org_id, "cli"),
            body, system_clock(),
        )

    data = _call(settings, go)
    if as_json:
        emit_json(data)
        return
    click.echo(f"webhook {data['id']} created for {data['url']}")
    click.echo(f"signing secret (shown once): {data['signing_secret']}")
