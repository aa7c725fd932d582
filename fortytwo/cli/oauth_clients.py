"""oauth-clients: applications that sign users in with OAuth 2.1."""

from __future__ import annotations

import click

from fortytwo.cli.context import CliState, emit_json, pass_state, pepper, with_db
from fortytwo.cli.plugins import token_prefix
from fortytwo.oauth import clients as client_service
from fortytwo.services import accounts as account_service
from fortytwo.store import oauth as oauth_store
from fortytwo.store.oauth import ClientRow
from fortytwo.timefmt import system_clock


def _client_json(client: ClientRow) -> dict:
    return {
        "client_id": client.id,
        "name": client.name,
        "type": client.client_type,
        "organization_id": client.organization_id,
        "organization": client.organization_name,
        "redirect_uris": list(client.redirect_uris),
        "scopes": list(client.scopes),
        "secret_last_four": client.secret_last_four,
        "registered_by": client.registered_by,
        "created_at": client.created_at,
    }


def _print_created(registered: client_service.RegisteredClient, verb: str) -> None:
    click.echo(f"{verb} {registered.client_type} client {registered.name}")
    click.echo(f"client_id:     {registered.client_id}")
    if registered.client_secret is not None:
        click.echo(f"client_secret: {registered.client_secret}")
        click.echo("copy the secret now; it is shown only once")


@click.group("oauth-clients")
def oauth_clients() -> None:
    """Manage OAuth clients (applications acting for signed-in users)."""


@oauth_clients.command("create")
@click.option("--org", required=True, help="The organization registering it (name or id).")
@click.option("--name", required=True, help="Shown to people on the consent page.")
@click.option(
    "--redirect-uri", "redirect_uris", required=True, multiple=True,
    help="Where codes are sent; repeat for several. Matched exactly (loopback ports may vary).",
)
@click.option(
    "--type", "client_type", required=True, type=click.Choice(client_service.CLIENT_TYPES),
    help="confidential: has a secret (a server-side app); public: no secret (native or browser app).",
)
@click.option(
    "--scopes",
    help="Comma-separated scopes it may ask for; add offline_access to allow refresh tokens. "
    "Default: every scope, offline_access included.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def clients_create(
    state: CliState,
    org: str,
    name: str,
    redirect_uris: tuple[str, ...],
    client_type: str,
    scopes: str | None,
    as_json: bool,
) -> None:
    """Register a client; a confidential client's secret is printed once."""
    settings = state.settings()
    secret_pepper = pepper(settings)
    prefix = token_prefix(settings)
    registered = with_db(
        settings,
        lambda db: client_service.create(
            db, org=org, name=name, redirect_uris=redirect_uris, client_type=client_type,
            scopes=scopes, prefix=prefix, pepper=secret_pepper, now=system_clock(),
        ),
    )
    if as_json:
        emit_json(registered.as_cli_json())
    else:
        _print_created(registered, "created")


@oauth_clients.command("list")
@click.option("--org", help="Only clients of this organization (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def clients_list(state: CliState, org: str | None, as_json: bool) -> None:
    """List clients (never their secrets)."""

    async def go(db):  # type: ignore[no-untyped-def]
        return await oauth_store.list_clients(db.reader, await account_service.org_filter(db, org))

    found = with_db(state.settings(), go)
    if as_json:
        emit_json([_client_json(c) for c in found])
        return
    for client in found:
        secret = f"…{client.secret_last_four}" if client.secret_last_four else "-"
        click.echo(
            f"{client.id}  {client.name:<24} {client.client_type:<12} {secret:<6} "
            f"{client.organization_name or '(self-registered)'}  {' '.join(client.redirect_uris)}"
        )


@oauth_clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def clients_rotate(state: CliState, client_id: str, as_json: bool) -> None:
    """Issue a new secret for a confidential client; the old one stops working at once."""
    settings = state.settings()
    secret_pepper = pepper(settings)
    prefix = token_prefix(settings)
    registered = with_db(
        settings,
        lambda db: client_service.rotate_secret(
            db, client_id, prefix=prefix, pepper=secret_pepper, now=system_clock()
        ),
    )
    if as_json:
        emit_json(registered.as_cli_json())
    else:
        _print_created(registered, "rotated the secret of")


@oauth_clients.command("delete")
@click.argument("client_id")
@pass_state
def clients_delete(state: CliState, client_id: str) -> None:
    """Delete a client; every token it holds stops working at once."""
    client = with_db(state.settings(), lambda db: client_service.delete(db, client_id, system_clock()))
    click.echo(f"deleted client {client.name} ({client.id}); its tokens are revoked")
