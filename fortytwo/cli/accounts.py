"""orgs and users."""

from __future__ import annotations

import sys

import click

from fortytwo.cli.context import CliState, emit_json, pass_state, with_db
from fortytwo.services import accounts as service
from fortytwo.store import accounts as store
from fortytwo.store.accounts import Organization, User
from fortytwo.timefmt import system_clock


def _org_json(org: Organization) -> dict:
    return {"id": org.id, "name": org.name, "created_at": org.created_at}


def _user_json(user: User) -> dict:
    return {
        "id": user.id,
        "organization_id": user.organization_id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": user.timezone,
        "role": user.role,
        "has_password": user.has_password,
        "created_at": user.created_at,
    }


@click.group()
def orgs() -> None:
    """Manage organizations."""


@orgs.command("create")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def orgs_create(state: CliState, name: str, as_json: bool) -> None:
    """Create an organization."""
    org = with_db(state.settings(), lambda db: service.create_org(db, name, system_clock()))
    if as_json:
        emit_json(_org_json(org))
    else:
        click.echo(f"created organization {org.name} ({org.id})")


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def orgs_list(state: CliState, as_json: bool) -> None:
    """List organizations."""
    found = with_db(state.settings(), lambda db: store.list_orgs(db.reader))
    if as_json:
        emit_json([_org_json(o) for o in found])
        return
    for org in found:
        click.echo(f"{org.id}  {org.name}")


@click.group()
def users() -> None:
    """Manage users."""


@users.command("add")
@click.option("--org", required=True, help="Organization name or id.")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--first-name")
@click.option("--last-name")
@click.option("--timezone", help="IANA zone such as Europe/London.")
@click.option("--role", type=click.Choice(service.ROLES), default="user", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read a sign-in password from stdin.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def users_add(
    state: CliState,
    org: str,
    username: str,
    email: str,
    first_name: str | None,
    last_name: str | None,
    timezone: str | None,
    role: str,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Add a user to an organization."""
    password = _read_password() if password_stdin else None
    user = with_db(
        state.settings(),
        lambda db: service.add_user(
            db, org=org, username=username, email=email, now=system_clock(),
            first_name=first_name, last_name=last_name, timezone=timezone, role=role,
            password=password,
        ),
    )
    if as_json:
        emit_json(_user_json(user))
    else:
        click.echo(f"added user {user.username} ({user.id})")


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise click.ClickException("the password read from stdin must be at least 8 characters")
    return password


@users.command("list")
@click.option("--org", help="Only this organization (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def users_list(state: CliState, org: str | None, as_json: bool) -> None:
    """List users."""

    async def go(db):  # type: ignore[no-untyped-def]
        return await store.list_users(db.reader, await service.org_filter(db, org))

    found = with_db(state.settings(), go)
    if as_json:
        emit_json([_user_json(u) for u in found])
        return
    for user in found:
        click.echo(f"{user.id}  {user.username:<20} {user.role:<6} {user.email}")


@users.command("set-password")
@click.argument("user")
@pass_state
def users_set_password(state: CliState, user: str) -> None:
    """Set a user's sign-in password, read from stdin."""
    password = _read_password()
    found = with_db(
        state.settings(), lambda db: service.set_password(db, user, password, system_clock())
    )
    click.echo(f"password set for {found.username}")


@users.command("remove")
@click.argument("user")
@pass_state
def users_remove(state: CliState, user: str) -> None:
    """Remove a user; their tokens stop working at once."""
    found = with_db(state.settings(), lambda db: service.remove_user(db, user, system_clock()))
    click.echo(f"removed user {found.username}")
