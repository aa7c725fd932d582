"""Writes (and the reads they compare against) for teams, schedules, out-of-office, user
limits and event types — the data ``fortytwo apply`` manages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fortytwo.db.database import Conn, Row, execute, fetch_all, fetch_one
from fortytwo.store.common import new_id, ts

EVENT_TYPE_COLUMNS = (
    "slug", "title", "description", "duration_minutes", "active", "scheduling_type", "color",
    "buffer_before_minutes", "buffer_after_minutes", "minimum_notice_minutes",
    "future_limit_days", "slot_interval_minutes", "max_bookings_per_day",
    "max_bookings_per_week", "max_bookings_per_month", "seats_per_slot",
    "requires_confirmation", "allow_reschedule", "allow_cancel", "locations", "questions",
    "schedule_id",
)


# -- users ---------------------------------------------------------------------------------

USER_COLUMNS = ("email", "first_name", "last_name", "timezone", "locale", "role")


async def update_user(conn: Conn, user_id: str, fields: dict[str, Any], now: datetime) -> None:
    assert set(fields) <= set(USER_COLUMNS)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    await execute(
        conn,
        f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",
        (*fields.values(), ts(now), user_id),
    )


# -- teams ---------------------------------------------------------------------------------

async def get_team(conn: Conn, organization_id: str, slug: str) -> Row | None:
    return await fetch_one(
        conn, "SELECT * FROM teams WHERE organization_id = ? AND slug = ?", (organization_id, slug)
    )


async def team_member_ids(conn: Conn, team_id: str) -> list[str]:
    rows = await fetch_all(
        conn, "SELECT user_id FROM team_members WHERE team_id = ? ORDER BY position", (team_id,)
    )
    return [r["user_id"] for r in rows]


async def insert_team(conn: Conn, organization_id: str, slug: str, name: str, now: datetime) -> str:
    team_id = new_id()
    await execute(
        conn,
        "INSERT INTO teams (id, organization_id, slug, name, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (team_id, organization_id, slug, name, ts(now), ts(now)),
    )
    return team_id


async def update_team_name(conn: Conn, team_id: str, name: str, now: datetime) -> None:
    await execute(
        conn, "UPDATE teams SET name = ?, updated_at = ? WHERE id = ?", (name, ts(now), team_id)
    )


async def set_team_members(conn: Conn, team_id: str, user_ids: list[str]) -> None:
    await execute(conn, "DELETE FROM team_members WHERE team_id = ?", (team_id,))
    await conn.executemany(
        "INSERT INTO team_members (team_id, user_id, position) VALUES (?, ?, ?)",
        [(team_id, uid, i) for i, uid in enumerate(user_ids)],
    )


# -- schedules -----------------------------------------------------------------------------

async def get_schedule(conn: Conn, user_id: str, name: str) -> Row | None:
    return await fetch_one(
        conn, "SELECT * FROM schedules WHERE user_id = ? AND name = ?", (user_id, name)
    )


async def default_schedule_id(conn: Conn, user_id: str) -> str | None:
    row = await fetch_one(
        conn, "SELECT id FROM schedules WHERE user_id = ? AND is_default = 1", (user_id,)
    )
    return row["id"] if row else None


async def insert_schedule(
    conn: Conn, *, organization_id: str, user_id: str, name: str, timezone: str,
    weekly: str, overrides: str, now: datetime,
) -> str:
    schedule_id = new_id()
    await execute(
        conn,
        """INSERT INTO schedules (id, organization_id, user_id, name, timezone, is_default,
               weekly, overrides, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)""",
        (schedule_id, organization_id, user_id, name, timezone, weekly, overrides, ts(now), ts(now)),
    )
    return schedule_id


async def update_schedule(
    conn: Conn, schedule_id: str, *, timezone: str, weekly: str, overrides: str, now: datetime
) -> None:
    await execute(
        conn,
        "UPDATE schedules SET timezone = ?, weekly = ?, overrides = ?, updated_at = ? WHERE id = ?",
        (timezone, weekly, overrides, ts(now), schedule_id),
    )


async def make_default(conn: Conn, user_id: str, schedule_id: str) -> None:
    await execute(
        conn,
        "UPDATE schedules SET is_default = 0 WHERE user_id = ? AND id <> ? AND is_default = 1",
        (user_id, schedule_id),
    )
    await execute(conn, "UPDATE schedules SET is_default = 1 WHERE id = ?", (schedule_id,))


# -- out of office and limits --------------------------------------------------------------

async def out_of_office(conn: Conn, user_id: str) -> list[tuple[str, str, str | None]]:
    rows = await fetch_all(
        conn,
        "SELECT start_date, end_date, reason FROM out_of_office WHERE user_id = ?"
        " ORDER BY start_date, end_date",
        (user_id,),
    )
    return [(r["start_date"], r["end_date"], r["reason"]) for r in rows]


async def replace_out_of_office(
    conn: Conn, organization_id: str, user_id: str,
    entries: list[tuple[str, str, str | None]], now: datetime,
) -> None:
    await execute(conn, "DELETE FROM out_of_office WHERE user_id = ?", (user_id,))
    await conn.executemany(
        "INSERT INTO out_of_office (id, organization_id, user_id, start_date, end_date, reason,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(new_id(), organization_id, user_id, s, e, r, ts(now)) for s, e, r in entries],
    )


async def user_limits(conn: Conn, user_id: str) -> tuple[int | None, int | None, int | None]:
    row = await fetch_one(
        conn, "SELECT per_day, per_week, per_month FROM user_limits WHERE user_id = ?", (user_id,)
    )
    return (row["per_day"], row["per_week"], row["per_month"]) if row else (None, None, None)


async def set_user_limits(
    conn: Conn, user_id: str, limits: tuple[int | None, int | None, int | None]
) -> None:
    if limits == (None, None, None):
        await execute(conn, "DELETE FROM user_limits WHERE user_id = ?", (user_id,))
        return
    await execute(
        conn,
        "INSERT INTO user_limits (user_id, per_day, per_week, per_month) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET per_day = excluded.per_day,"
        " per_week = excluded.per_week, per_month = excluded.per_month",
        (user_id, *limits),
    )


# -- event types ---------------------------------------------------------------------------

async def find_event_type_row(
    conn: Conn, *, owner_user_id: str | None, team_id: str | None, slug: str
) -> Row | None:
    if owner_user_id is not None:
        return await fetch_one(
            conn, "SELECT * FROM event_types WHERE owner_user_id = ? AND slug = ?",
            (owner_user_id, slug),
        )
    return await fetch_one(
        conn, "SELECT * FROM event_types WHERE team_id = ? AND slug = ?", (team_id, slug)
    )


async def event_type_host_ids(conn: Conn, event_type_id: str) -> list[str]:
    rows = await fetch_all(
        conn,
        "SELECT user_id FROM event_type_hosts WHERE event_type_id = ? ORDER BY position",
        (event_type_id,),
    )
    return [r["user_id"] for r in rows]


async def insert_event_type(
    conn: Conn, *, organization_id: str, owner_user_id: str | None, team_id: str | None,
    columns: dict[str, Any], now: datetime,
) -> str:
    event_type_id = new_id()
    names = list(columns)
    await execute(
        conn,
        f"INSERT INTO event_types (id, organization_id, owner_user_id, team_id, {', '.join(names)},"
        f" created_at, updated_at) VALUES (?, ?, ?, ?, {', '.join('?' for _ in names)}, ?, ?)",
        (event_type_id, organization_id, owner_user_id, team_id, *columns.values(), ts(now), ts(now)),
    )
    return event_type_id


async def update_event_type(
    conn: Conn, event_type_id: str, columns: dict[str, Any], now: datetime
) -> None:
    """Write ``columns`` (names from EVENT_TYPE_COLUMNS only) and bump ``updated_at``."""
    assert set(columns) <= set(EVENT_TYPE_COLUMNS)
    assignments = "".join(f"{name} = ?, " for name in columns)
    await execute(
        conn,
        f"UPDATE event_types SET {assignments}updated_at = ? WHERE id = ?",
        (*columns.values(), ts(now), event_type_id),
    )


async def set_event_type_hosts(conn: Conn, event_type_id: str, user_ids: list[str]) -> None:
    await execute(conn, "DELETE FROM event_type_hosts WHERE event_type_id = ?", (event_type_id,))
    await conn.executemany(
        "INSERT INTO event_type_hosts (event_type_id, user_id, position) VALUES (?, ?, ?)",
        [(event_type_id, uid, i) for i, uid in enumerate(user_ids)],
    )


async def list_event_type_rows(conn: Conn, organization_id: str | None = None) -> list[Row]:
    sql = """SELECT e.*, u.username AS owner_username, t.slug AS team_slug, o.name AS org_name
             FROM event_types e JOIN organizations o ON o.id = e.organization_id
             LEFT JOIN users u ON u.id = e.owner_user_id LEFT JOIN teams t ON t.id = e.team_id"""
    if organization_id:
        return await fetch_all(conn, sql + " WHERE e.organization_id = ? ORDER BY e.created_at, e.id",
                               (organization_id,))
    return await fetch_all(conn, sql + " ORDER BY e.created_at, e.id")


def encode_ranges(ranges: tuple[tuple[int, int], ...]) -> list[list[int]]:
    return [[s, e] for s, e in ranges]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
