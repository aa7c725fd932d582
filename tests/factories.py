"""Test data written straight into the database with SQL.

Tests of event types, slots and bookings need schedules, teams and event types without going
through ``fortytwo apply``. Every helper takes the running app, writes in one transaction,
and returns the new row's id. Any column can be overridden by keyword.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from fortytwo import keys
from fortytwo.timefmt import format_ts

# Monday first; minutes from local midnight. Mon-Fri 09:00-17:00.
WORKING_WEEK: list[list[list[int]]] = [[[540, 1020]]] * 5 + [[], []]

_JSON_COLUMNS = {"locations", "questions", "weekly", "overrides"}


def _now(app: web.Application) -> str:
    return format_ts(app[keys.CLOCK]())


def _value(name: str, value: Any) -> Any:
    """A Python value in the form the schema stores it."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return format_ts(value)
    if name in _JSON_COLUMNS and not isinstance(value, str):
        return json.dumps(value, separators=(",", ":"))
    return value


async def _insert(conn: Any, table: str, columns: dict[str, Any]) -> None:
    names = list(columns)
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        tuple(_value(n, columns[n]) for n in names),
    )


async def add_schedule(
    app: web.Application,
    user_id: str,
    org_id: str,
    *,
    name: str = "Working hours",
    timezone: str = "Europe/London",
    weekly: list[list[list[int]]] | None = None,
    overrides: dict[str, list[list[int]]] | None = None,
    default: bool = True,
    **columns: Any,
) -> str:
    """A schedule for ``user_id``; ``default=True`` makes it the user's (only) default."""
    now = _now(app)
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "user_id": user_id,
        "name": name,
        "timezone": timezone,
        "is_default": default,
        "weekly": WORKING_WEEK if weekly is None else weekly,
        "overrides": {} if overrides is None else overrides,
        "created_at": now,
        "updated_at": now,
    }
    row.update(columns)
    async with app[keys.DATABASE].write() as conn:
        if row["is_default"]:
            await conn.execute(
                "UPDATE schedules SET is_default = 0 WHERE user_id = ? AND is_default = 1",
                (user_id,),
            )
        await _insert(conn, "schedules", row)
    return row["id"]


async def add_team(
    app: web.Application, org_id: str, slug: str, name: str, member_ids: list[str], **columns: Any
) -> str:
    """A team whose members are ``member_ids`` in that order."""
    now = _now(app)
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "slug": slug,
        "name": name,
        "created_at": now,
        "updated_at": now,
    }
    row.update(columns)
    async with app[keys.DATABASE].write() as conn:
        await _insert(conn, "teams", row)
        for position, user_id in enumerate(member_ids):
            await _insert(
                conn,
                "team_members",
                {"team_id": row["id"], "user_id": user_id, "position": position},
            )
    return row["id"]


async def add_event_type(
    app: web.Application,
    org_id: str,
    *,
    owner_user_id: str | None = None,
    team_id: str | None = None,
    slug: str,
    title: str = "Intro call",
    duration: int = 30,
    hosts: list[str] | None = None,
    **columns: Any,
) -> str:
    """An event type owned by a user or a team, with its hosts in order.

    Defaults: ``individual`` for a user (``collective`` for a team), slot interval = the
    duration, timestamps from the app clock. ``hosts`` defaults to ``[owner]``, or for a team
    to its members in order. Pass any column (``created_at``, ``active``, ``locations``,
    ``scheduling_type``, ``id``, ...) to override it; lists and dicts are stored as JSON,
    bools as 0/1, datetimes in the stored timestamp form.
    """
    if (owner_user_id is None) == (team_id is None):
        raise ValueError("give exactly one of owner_user_id and team_id")
    now = _now(app)
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "owner_user_id": owner_user_id,
        "team_id": team_id,
        "slug": slug,
        "title": title,
        "duration_minutes": duration,
        "scheduling_type": "individual" if owner_user_id else "collective",
        "color": "#7c3aed",
        "slot_interval_minutes": columns.get("slot_interval_minutes", duration),
        "created_at": now,
        "updated_at": columns.get("created_at", now),
    }
    row.update(columns)
    async with app[keys.DATABASE].write() as conn:
        if hosts is None:
            if owner_user_id is not None:
                hosts = [owner_user_id]
            else:
                cur = await conn.execute(
                    "SELECT user_id FROM team_members WHERE team_id = ? ORDER BY position",
                    (team_id,),
                )
                hosts = [r[0] for r in await cur.fetchall()]
                await cur.close()
        await _insert(conn, "event_types", row)
        for position, user_id in enumerate(hosts):
            await _insert(
                conn,
                "event_type_hosts",
                {"event_type_id": row["id"], "user_id": user_id, "position": position},
            )
    return row["id"]
