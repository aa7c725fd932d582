"""Personal access tokens: minting, rotation, revocation and scope changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from fortytwo.db.database import Database
from fortytwo.security import scopes as scope_rules
from fortytwo.security.tokens import mint
from fortytwo.services.errors import Conflict, Invalid, NotFound

__all__ = ["Conflict", "Invalid", "NotFound"]
from fortytwo.store import accounts, tokens
from fortytwo.store.common import new_id
from fortytwo.store.tokens import PatRow

MAX_ACTIVE_PER_ORG = 42
_EXPIRY_RE = re.compile(r"^([1-9][0-9]{0,4})d$")


@dataclass(frozen=True)
class IssuedToken:
    id: str
    name: str
    token: str
    scopes: tuple[str, ...]
    expires_at: datetime | None


def parse_expiry(text: str | None, now: datetime) -> datetime | None:
    """``never`` (or nothing) or ``<N>d`` such as ``90d``."""
    if text is None or text == "never":
        return None
    match = _EXPIRY_RE.match(text)
    if not match:
        raise Invalid(f"expiry {text!r} must look like 42d, 90d, 180d, 365d (any Nd) or never")
    return now + timedelta(days=int(match.group(1)))


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        expanded = scope_rules.expand(items)
    except scope_rules.UnknownScope as exc:
        raise Invalid(str(exc)) from None
    if not expanded:
        raise Invalid("give at least one scope, e.g. --scopes user:read,bookings:read")
    return expanded


async def create(
    db: Database,
    *,
    user: str,
    name: str,
    scopes: str | list[str],
    expires_in: str | None,
    prefix: str,
    pepper: bytes,
    now: datetime,
) -> IssuedToken:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("token name must be 1 to 100 characters")
    expanded = parse_scopes(scopes)
    expires_at = parse_expiry(expires_in, now)
    minted = mint(prefix, "pat", pepper)
    token_id = new_id()
    async with db.write() as conn:
        owner = await accounts.find_user(conn, user)
        if owner is None:
            raise NotFound(f"no user {user!r}")
        if await tokens.name_in_use(conn, owner.organization_id, name):
            raise Conflict(f"a token named {name!r} already exists in this organization")
        if await tokens.count_active(conn, owner.organization_id, now) >= MAX_ACTIVE_PER_ORG:
            raise Conflict(
                f"the organization already has {MAX_ACTIVE_PER_ORG} active tokens; "
                "revoke one first"
            )
        await tokens.insert_pat(
            conn,
            token_id=token_id,
            organization_id=owner.organization_id,
            user_id=owner.id,
            name=name,
            lookup=minted.lookup,
            secret_hash=minted.secret_hash,
            last_four=minted.last_four,
            scopes=expanded,
            expires_at=expires_at,
            now=now,
        )
    return IssuedToken(token_id, name, minted.token, expanded, expires_at)


async def _require(db: Database, token_id: str) -> PatRow:
    pat = await tokens.get_pat(db.reader, token_id)
    if pat is None:
        raise NotFound(f"no token with id {token_id!r}; see `fortytwo tokens list`")
    return pat


async def rotate(db: Database, token_id: str, *, prefix: str, pepper: bytes, now: datetime) -> IssuedToken:
    minted = mint(prefix, "pat", pepper)
    async with db.write() as conn:
        pat = await tokens.get_pat(conn, token_id)
        if pat is None:
            raise NotFound(f"no token with id {token_id!r}; see `fortytwo tokens list`")
        if pat.revoked_at:
            raise Conflict("the token is revoked; create a new one instead")
        await tokens.rotate_pat(
            conn, pat, lookup=minted.lookup, secret_hash=minted.secret_hash,
            last_four=minted.last_four, now=now,
        )
    expires = datetime.fromisoformat(pat.expires_at) if pat.expires_at else None
    return IssuedToken(pat.id, pat.name, minted.token, pat.scopes, expires)


async def revoke(db: Database, token_id: str, now: datetime) -> PatRow:
    pat = await _require(db, token_id)
    async with db.write() as conn:
        await tokens.revoke_pat(conn, token_id, now)
    return pat


async def set_scopes(db: Database, token_id: str, scopes: str, now: datetime) -> tuple[str, ...]:
    expanded = parse_scopes(scopes)
    pat = await _require(db, token_id)
    if pat.revoked_at:
        raise Conflict("the token is revoked")
    async with db.write() as conn:
        await tokens.set_scopes(conn, token_id, expanded, now)
    return expanded
