"""The caller's profile (/v1/me) and the database health probe."""

from __future__ import annotations

from typing import Any

from fortytwo.db.database import Database
from fortytwo.services.authn import Principal
from fortytwo.store import accounts


def display_name(first: str | None, last: str | None) -> str | None:
    name = f"{first or ''} {last or ''}".strip()
    return name or None


async def me(
    db: Database,
    principal: Principal,
    plan: str | None = None,
    cache: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The /v1/me body; ``cache`` (dropped on any user or organization change) saves reads.

    ``plan`` is the license's plan (None: community edition); it can change while a profile
    is cached (a license expiring), so a cached profile with another plan is rebuilt.
    """
    if cache is not None and principal.user_id in cache:
        cached = cache[principal.user_id]
        org = cached["organization"]
        if org is None or org["plan"] == plan:
            return cached
        cached = {**cached, "organization": {**org, "plan": plan}}
        cache[principal.user_id] = cached
        return cached
    profile = await _load_profile(db, principal, plan)
    if cache is not None and profile is not None:
        cache[principal.user_id] = profile
    return profile


async def _load_profile(db: Database, principal: Principal, plan: str | None) -> dict[str, Any] | None:
    user = await accounts.get_user(db.reader, principal.user_id)
    if user is None or user.removed_at is not None:
        return None
    org = await accounts.get_org(db.reader, user.organization_id)
    return {
        "user": {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "name": display_name(user.first_name, user.last_name),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "timezone": user.timezone,
            "locale": user.locale,
            "avatar_url": user.avatar_url,
        },
        "organization": None
        if org is None
        else {"id": org.id, "name": org.name, "plan": plan},
    }


async def database_answers(db: Database) -> bool:
    try:
        async with db.reader.execute("SELECT 1") as cur:
            await cur.fetchone()
    except Exception:
        return False
    return True
