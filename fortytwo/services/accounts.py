"""Creating organizations and users, with the rules the command line enforces."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fortytwo.db.database import Database
from fortytwo.security.passwords import hash_password
from fortytwo.services.errors import Conflict, Invalid, NotFound

__all__ = ["Conflict", "Invalid", "NotFound"]
from fortytwo.store import accounts
from fortytwo.store.accounts import Organization, User

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
ROLES = ("owner", "admin", "user")


def valid_email(email: str) -> bool:
    return len(email) <= 254 and email.isascii() and EMAIL_RE.match(email) is not None


def valid_timezone(name: str) -> bool:
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def create_org(db: Database, name: str, now: datetime) -> Organization:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("organization name must be 1 to 200 characters")
    async with db.write() as conn:
        if await accounts.find_org(conn, name):
            raise Conflict(f"an organization named {name!r} already exists")
        return await accounts.create_org(conn, name, now)


async def add_user(
    db: Database,
    *,
    org: str,
    username: str,
    email: str,
    now: datetime,
    first_name: str | None = None,
    last_name: str | None = None,
    timezone: str | None = None,
    role: str = "user",
    password: str | None = None,
) -> User:
    if not USERNAME_RE.match(username):
        raise Invalid("username must be 1-63 lowercase letters, digits, '.', '_' or '-'")
    if not valid_email(email):
        raise Invalid(f"{email!r} is not a valid ASCII email address")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    if timezone is not None and not valid_timezone(timezone):
        raise Invalid(f"{timezone!r} is not an IANA time zone such as Europe/London")
    for label, value in (("first name", first_name), ("last name", last_name)):
        if value is not None and len(value) > 127:
            raise Invalid(f"{label} must be at most 127 characters")
    password_hash = hash_password(password) if password else None
    async with db.write() as conn:
        organization = await accounts.find_org(conn, org)
        if organization is None:
            raise NotFound(f"no organization {org!r}; create it with `fortytwo orgs create`")
        if await accounts.username_taken(conn, username):
            raise Conflict(f"username {username!r} is already taken")
        if await accounts.email_taken(conn, organization.id, email):
            raise Conflict(f"{email} already belongs to a user of {organization.name}")
        return await accounts.create_user(
            conn,
            organization_id=organization.id,
            username=username,
            email=email,
            role=role,
            now=now,
            first_name=first_name,
            last_name=last_name,
            timezone=timezone,
            password_hash=password_hash,
        )


async def org_filter(db: Database, org: str | None) -> str | None:
    """The id of the organization named ``org`` (name or id), None for no filter."""
    if not org:
        return None
    found = await accounts.find_org(db.reader, org)
    if found is None:
        raise NotFound(f"no organization {org!r}; see `fortytwo orgs list`")
    return found.id


async def require_user(db: Database, username_or_id: str) -> User:
    user = await accounts.find_user(db.reader, username_or_id)
    if user is None:
        raise NotFound(f"no user {username_or_id!r}")
    return user


async def set_password(db: Database, username_or_id: str, password: str, now: datetime) -> User:
    if len(password) < 8:
        raise Invalid("the password must be at least 8 characters")
    user = await require_user(db, username_or_id)
    async with db.write() as conn:
        await accounts.set_password(conn, user.id, hash_password(password), now)
    return user


async def remove_user(db: Database, username_or_id: str, now: datetime) -> User:
    user = await require_user(db, username_or_id)
    async with db.write() as conn:
        await accounts.remove_user(conn, user.id, now)
    return user
