"""tokens: personal access tokens."""

from __future__ import annotations

from datetime import datetime

import click

from fortytwo.cli.context import CliState, emit_json, pass_state, pepper, with_db
from fortytwo.cli.plugins import token_prefix
from fortytwo.services import accounts as account_service
from fortytwo.services import pats
from fortytwo.store import tokens as token_store
from fortytwo.store.tokens import PatRow
from fortytwo.timefmt import format_optional, system_clock


def _issued_json(issued: pats.IssuedToken) -> dict:
    return {
        "id": issued.id,
        "name": issued.name,
        "token": issued.token,
        "scopes": list(issued.scopes),
        "expires_at": format_optional(issued.expires_at),
    }


def _status(pat: PatRow, now: datetime) -> str:
    if pat.revoked_at:
        return "revoked"
    if pat.user_removed_at:
        return "user_removed"
    if pat.expires_at and datetime.fromisoformat(pat.expires_at) <= now:
        return "expired"
    return "active"


def _pat_json(pat: PatRow, now: datetime) -> dict:
    return {
        "id": pat.id,
        "name": pat.name,
        "user": pat.username,
        "user_id": pat.user_id,
        "organization_id": pat.organization_id,
        "scopes": list(pat.scopes),
        "last_four": pat.last_four,
        "status": _status(pat, now),
        "expires_at": pat.expires_at,
        "revoked_at": pat.revoked_at,
        "last_used_at": pat.last_used_at,
        "created_at": pat.created_at,
    }


def _print_secret(issued: pats.IssuedToken, verb: str) -> None:
    click.echo(f"{verb} token {issued.name} ({issued.id}); copy it now, it is shown only once:")
    click.echo(issued.token)


@click.group()
def tokens() -> None:
    """Manage personal access tokens."""


@tokens.command("create")
@click.option("--user", required=True, help="Username or id the token acts as.")
@click.option("--name", required=True, help="Unique per organization (case-insensitive).")
@click.option("--scopes", required=True, help="Comma-separated, e.g. user:read,bookings:write.")
@click.option("--expires-in", default="never", show_default=True, help="Nd (e.g. 90d) or never.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def tokens_create(
    state: CliState, user: str, name: str, scopes: str, expires_in: str, as_json: bool
) -> None:
    """Create a token; its secret is printed once."""
    settings = state.settings()
    secret_pepper = pepper(settings)
    prefix = token_prefix(settings)
    issued = with_db(
        settings,
        lambda db: pats.create(
            db, user=user, name=name, scopes=scopes, expires_in=expires_in,
            prefix=prefix, pepper=secret_pepper, now=system_clock(),
        ),
    )
    if as_json:
        emit_json(_issued_json(issued))
    else:
        _print_secret(issued, "created")


@tokens.command("list")
@click.option("--org", help="Only this organization (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def tokens_list(state: CliState, org: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""

    async def go(db):  # type: ignore[no-untyped-def]
        return await token_store.list_pats(db.reader, await account_service.org_filter(db, org))

    found = with_db(state.settings(), go)
    now = system_clock()
    if as_json:
        emit_json([_pat_json(p, now) for p in found])
        return
    for pat in found:
        click.echo(
            f"{pat.id}  {pat.name:<24} {_status(pat, now):<8} …{pat.last_four}  "
            f"{pat.username}  {','.join(pat.scopes)}"
        )


@tokens.command("rotate")
@click.argument("token_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def tokens_rotate(state: CliState, token_id: str, as_json: bool) -> None:
    """Issue a new secret for a token; the old one stops working at once."""
    settings = state.settings()
    secret_pepper = pepper(settings)
    prefix = token_prefix(settings)
    issued = with_db(
        settings,
        lambda db: pats.rotate(
            db, token_id, prefix=prefix, pepper=secret_pepper, now=system_clock()
        ),
    )
    if as_json:
        emit_json(_issued_json(issued))
    else:
        _print_secret(issued, "rotated")


@tokens.command("revoke")
@click.argument("token_id")
@pass_state
def tokens_revoke(state: CliState, token_id: str) -> None:
    """Revoke a token."""
    pat = with_db(state.settings(), lambda db: pats.revoke(db, token_id, system_clock()))
    click.echo(f"revoked token {pat.name} ({pat.id})")


@tokens.command("set-scopes")
@click.argument("token_id")
@click.argument("scopes")
@pass_state
def tokens_set_scopes(state: CliState, token_id: str, scopes: str) -> None:
    """Replace a token's scopes (comma-separated)."""
    expanded = with_db(
        state.settings(), lambda db: pats.set_scopes(db, token_id, scopes, system_clock())
    )
    click.echo(f"token {token_id} now has: {','.join(expanded)}")
