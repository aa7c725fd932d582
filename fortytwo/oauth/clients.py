"""Registering OAuth clients (command line and RFC 7591), rotating secrets, deleting.

A client belongs to the organization that registered it (none for dynamic registration);
users of any organization on the server may authorize it, the way any 42min user can
connect a third-party app.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fortytwo.db.database import Database
from fortytwo.oauth import redirects
from fortytwo.oauth.credentials import new_client_id, new_client_secret
from fortytwo.security import scopes as scope_rules
from fortytwo.services.errors import Conflict, Invalid, NotFound
from fortytwo.store import accounts
from fortytwo.store import oauth as oauth_store
from fortytwo.store.oauth import ClientRow

CLIENT_TYPES = ("public", "confidential")
MAX_REDIRECT_URIS = 20
ALL_CLIENT_SCOPES = scope_rules.ALL_PAT_SCOPES + (scope_rules.OFFLINE_ACCESS,)


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str | None
    name: str
    client_type: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    created_at: datetime

    def as_cli_json(self) -> dict:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "type": self.client_type,
        }


def parse_client_scopes(scopes: str | Iterable[str] | None) -> tuple[str, ...]:
    """The scopes a client may ask for: aliases expanded, ``offline_access`` allowed (it
    lets the client get refresh tokens); nothing given = every scope."""
    if scopes is None:
        return ALL_CLIENT_SCOPES
    items = scopes.replace(",", " ").split() if isinstance(scopes, str) else list(scopes)
    try:
        expanded = scope_rules.expand(items, allow_offline=True)
    except scope_rules.UnknownScope as exc:
        raise Invalid(f"{exc}, or offline_access") from None
    if not expanded:
        raise Invalid("give at least one scope, e.g. --scopes user:read,offline_access")
    return expanded


def check_redirect_uris(uris: Iterable[str]) -> tuple[str, ...]:
    unique: list[str] = []
    for uri in uris:
        problem = redirects.registration_problem(uri)
        if problem:
            raise Invalid(problem)
        if uri not in unique:
            unique.append(uri)
    if not unique:
        raise Invalid("give at least one redirect URI")
    if len(unique) > MAX_REDIRECT_URIS:
        raise Invalid(f"at most {MAX_REDIRECT_URIS} redirect URIs per client")
    return tuple(unique)


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 100 or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise Invalid("the client name must be 1 to 100 printable characters")
    return name


async def create(
    db: Database,
    *,
    org: str | None,
    name: str,
    redirect_uris: Iterable[str],
    client_type: str,
    scopes: str | Iterable[str] | None,
    prefix: str,
    pepper: bytes,
    now: datetime,
    registered_by: str = "cli",
) -> RegisteredClient:
    name = check_name(name)
    if client_type not in CLIENT_TYPES:
        raise Invalid("the client type must be public or confidential")
    uris = check_redirect_uris(redirect_uris)
    allowed = parse_client_scopes(scopes)
    client_id = new_client_id(prefix)
    secret = new_client_secret(prefix, pepper) if client_type == "confidential" else None
    async with db.write() as conn:
        organization_id = None
        if org is not None:
            organization = await accounts.find_org(conn, org)
            if organization is None:
                raise NotFound(f"no organization {org!r}; see `fortytwo orgs list`")
            organization_id = organization.id
        await oauth_store.insert_client(
            conn,
            client_id=client_id,
            organization_id=organization_id,
            name=name,
            client_type=client_type,
            secret_hash=secret.secret_hash if secret else None,
            secret_last_four=secret.last_four if secret else None,
            redirect_uris=uris,
            scopes=allowed,
            registered_by=registered_by,
            now=now,
        )
    return RegisteredClient(
        client_id, secret.value if secret else None, name, client_type, uris, allowed, now
    )


async def require(db: Database, client_id: str) -> ClientRow:
    client = await oauth_store.get_client(db.reader, client_id)
    if client is None or client.deleted_at is not None:
        raise NotFound(f"no OAuth client {client_id!r}; see `fortytwo oauth-clients list`")
    return client


async def rotate_secret(
    db: Database, client_id: str, *, prefix: str, pepper: bytes, now: datetime
) -> RegisteredClient:
    """A new secret for a confidential client; the old one stops working at once. Tokens
    already issued stay valid (they are not tied to the secret)."""
    secret = new_client_secret(prefix, pepper)
    async with db.write() as conn:
        client = await oauth_store.get_client(conn, client_id)
        if client is None or client.deleted_at is not None:
            raise NotFound(f"no OAuth client {client_id!r}; see `fortytwo oauth-clients list`")
        if not client.confidential:
            raise Conflict("public clients have no secret to rotate")
        await oauth_store.set_client_secret(conn, client_id, secret.secret_hash, secret.last_four, now)
    created = datetime.fromisoformat(client.created_at)
    return RegisteredClient(
        client.id, secret.value, client.name, client.client_type, client.redirect_uris,
        client.scopes, created,
    )


async def delete(db: Database, client_id: str, now: datetime) -> ClientRow:
    """Delete a client: its tokens stop working at once and its consents are forgotten."""
    async with db.write() as conn:
        client = await oauth_store.get_client(conn, client_id)
        if client is None or client.deleted_at is not None:
            raise NotFound(f"no OAuth client {client_id!r}; see `fortytwo oauth-clients list`")
        await oauth_store.delete_client(conn, client_id, now)
    return client
