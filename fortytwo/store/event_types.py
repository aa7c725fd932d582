"""Reading event types: one row type, every query scoped to an organization.

Each :class:`EventTypeRow` carries the event type's own columns plus what the API and the
scheduling code need next to them: the owner's username or the team's slug (for URLs and
``username/slug`` lookups), the schedule the event type effectively uses with its time zone,
and the hosts in ``position`` order. Hosts of a whole page are loaded with one query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from fortytwo.db.database import Conn, Row, SyncConn, fetch_all, fetch_one


class EventTypeHost(NamedTuple):
    user_id: str
    username: str
    first_name: str | None
    last_name: str | None


@dataclass(frozen=True, slots=True)
class EventTypeRow:
    id: str
    organization_id: str
    owner_user_id: str | None
    team_id: str | None
    slug: str
    title: str
    description: str | None
    duration_minutes: int
    active: bool
    scheduling_type: str
    color: str
    buffer_before_minutes: int
    buffer_after_minutes: int
    minimum_notice_minutes: int
    future_limit_days: int
    slot_interval_minutes: int
    max_bookings_per_day: int | None
    max_bookings_per_week: int | None
    max_bookings_per_month: int | None
    seats_per_slot: int | None
    requires_confirmation: bool
    allow_reschedule: bool
    allow_cancel: bool
    locations: tuple[dict[str, Any], ...]
    questions: tuple[dict[str, Any], ...]
    schedule_id: str | None
    created_at: str
    updated_at: str
    owner_username: str | None
    team_slug: str | None
    # The schedule in force: schedule_id, else the owner's default schedule, else (team
    # event types) the first host's default schedule; None when there is none.
    effective_schedule_id: str | None
    timezone: str | None
    hosts: tuple[EventTypeHost, ...]


# sort name -> (the key columns in order, ORDER BY direction); the last key is the unique
# tie-breaker. Keyset pagination continues strictly after the last row's keys.
SORTS: dict[str, tuple[tuple[str, ...], str]] = {
    "created_at_desc": (("created_at", "id"), "DESC"),
    "created_at_asc": (("created_at", "id"), "ASC"),
    "title_asc": (("title", "id"), "ASC"),
}
DEFAULT_SORT = "created_at_desc"

_SELECT = """
SELECT et.*,
       owner.username AS owner_username,
       team.slug AS team_slug,
       sch.id AS effective_schedule_id,
       sch.timezone AS schedule_timezone
FROM event_types AS et
LEFT JOIN users AS owner ON owner.id = et.owner_user_id
LEFT JOIN teams AS team ON team.id = et.team_id
LEFT JOIN schedules AS sch
       ON sch.organization_id = et.organization_id
      AND sch.id = COALESCE(
            et.schedule_id,
            CASE WHEN et.owner_user_id IS NOT NULL THEN
                (SELECT d.id FROM schedules AS d
                  WHERE d.user_id = et.owner_user_id AND d.is_default = 1)
            ELSE
                (SELECT d.id FROM schedules AS d
                  WHERE d.is_default = 1
                    AND d.user_id = (SELECT h.user_id FROM event_type_hosts AS h
                                      WHERE h.event_type_id = et.id
                                      ORDER BY h.position, h.user_id LIMIT 1))
            END)
"""


def _json_list(text: str | None) -> tuple[dict[str, Any], ...]:
    if not text:
        return ()
    value = json.loads(text)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, dict))


def _row(row: Row, hosts: Sequence[EventTypeHost]) -> EventTypeRow:
    return EventTypeRow(
        id=row["id"],
        organization_id=row["organization_id"],
        owner_user_id=row["owner_user_id"],
        team_id=row["team_id"],
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        duration_minutes=row["duration_minutes"],
        active=bool(row["active"]),
        scheduling_type=row["scheduling_type"],
        color=row["color"],
        buffer_before_minutes=row["buffer_before_minutes"],
        buffer_after_minutes=row["buffer_after_minutes"],
        minimum_notice_minutes=row["minimum_notice_minutes"],
        future_limit_days=row["future_limit_days"],
        slot_interval_minutes=row["slot_interval_minutes"],
        max_bookings_per_day=row["max_bookings_per_day"],
        max_bookings_per_week=row["max_bookings_per_week"],
        max_bookings_per_month=row["max_bookings_per_month"],
        seats_per_slot=row["seats_per_slot"],
        requires_confirmation=bool(row["requires_confirmation"]),
        allow_reschedule=bool(row["allow_reschedule"]),
        allow_cancel=bool(row["allow_cancel"]),
        locations=_json_list(row["locations"]),
        questions=_json_list(row["questions"]),
        schedule_id=row["schedule_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        owner_username=row["owner_username"],
        team_slug=row["team_slug"],
        effective_schedule_id=row["effective_schedule_id"],
        timezone=row["schedule_timezone"],
        hosts=tuple(hosts),
    )


async def _hosts_for(
    conn: Conn, org_id: str, event_type_ids: Sequence[str]
) -> dict[str, list[EventTypeHost]]:
    """The hosts of many event types in one query, each list in ``position`` order."""
    hosts: dict[str, list[EventTypeHost]] = {i: [] for i in event_type_ids}
    if not event_type_ids:
        return hosts
    marks = ", ".join("?" for _ in event_type_ids)
    rows = await fetch_all(
        conn,
        f"""SELECT h.event_type_id, u.id AS user_id, u.username, u.first_name, u.last_name
            FROM event_type_hosts AS h
            JOIN users AS u ON u.id = h.user_id
            WHERE h.event_type_id IN ({marks}) AND u.organization_id = ?
            ORDER BY h.event_type_id, h.position, h.user_id""",
        (*event_type_ids, org_id),
    )
    for r in rows:
        hosts[r["event_type_id"]].append(
            EventTypeHost(r["user_id"], r["username"], r["first_name"], r["last_name"])
        )
    return hosts


async def _with_hosts(conn: Conn, org_id: str, rows: Sequence[Row]) -> list[EventTypeRow]:
    hosts = await _hosts_for(conn, org_id, [r["id"] for r in rows])
    return [_row(r, hosts[r["id"]]) for r in rows]


async def get_event_type(conn: Conn, org_id: str, id: str) -> EventTypeRow | None:
    """The event type ``id`` of organization ``org_id``; None when absent or another org's."""
    row = await fetch_one(
        conn, _SELECT + " WHERE et.organization_id = ? AND et.id = ?", (org_id, id)
    )
    if row is None:
        return None
    return (await _with_hosts(conn, org_id, [row]))[0]


_HOSTS_SQL = """SELECT h.event_type_id, u.id AS user_id, u.username, u.first_name, u.last_name
    FROM event_type_hosts AS h JOIN users AS u ON u.id = h.user_id
    WHERE h.event_type_id = ? AND u.organization_id = ?
    ORDER BY h.position, h.user_id"""


def load_event_type(conn: SyncConn, org_id: str, id: str) -> EventTypeRow | None:
    """``get_event_type`` for code running inside a ``Database.run_read/run_write`` unit."""
    row = conn.execute(
        _SELECT + " WHERE et.organization_id = ? AND et.id = ?", (org_id, id)
    ).fetchone()
    return None if row is None else _with_hosts_now(conn, org_id, row)


def _with_hosts_now(conn: SyncConn, org_id: str, row: Row) -> EventTypeRow:
    hosts = [
        EventTypeHost(r["user_id"], r["username"], r["first_name"], r["last_name"])
        for r in conn.execute(_HOSTS_SQL, (row["id"], org_id)).fetchall()
    ]
    return _row(row, hosts)


# ``username/slug``: the user's event type (username case-insensitive); when no user of the
# organization has that username, the team event type ``team-slug/slug``.
_OWNER_SQL = "SELECT id FROM users WHERE organization_id = ? AND username = ? COLLATE NOCASE"
_OWNED_SQL = _SELECT + " WHERE et.organization_id = ? AND et.owner_user_id = ? AND et.slug = ?"
_TEAM_SQL = (
    _SELECT + " WHERE et.organization_id = ? AND et.slug = ?"
    " AND et.team_id = (SELECT t.id FROM teams AS t WHERE t.organization_id = ? AND t.slug = ?)"
)


def _owner_slug_query(org_id: str, owner_id: str | None, username: str, slug: str) -> tuple[str, tuple]:
    if owner_id is not None:
        return _OWNED_SQL, (org_id, owner_id, slug)
    return _TEAM_SQL, (org_id, slug, org_id, username)


def locate_by_owner_slug(conn: SyncConn, org_id: str, username: str, slug: str) -> EventTypeRow | None:
    """``find_by_owner_slug`` for code running inside a ``Database.run_read/run_write`` unit."""
    user = conn.execute(_OWNER_SQL, (org_id, username)).fetchone()
    row = conn.execute(
        *_owner_slug_query(org_id, user["id"] if user else None, username, slug)
    ).fetchone()
    return None if row is None else _with_hosts_now(conn, org_id, row)


async def find_by_owner_slug(
    conn: Conn, org_id: str, username: str, slug: str
) -> EventTypeRow | None:
    """The event type named ``username/slug`` (see ``_OWNER_SQL``), or None."""
    user = await fetch_one(conn, _OWNER_SQL, (org_id, username))
    row = await fetch_one(conn, *_owner_slug_query(org_id, user["id"] if user else None, username, slug))
    if row is None:
        return None
    return (await _with_hosts(conn, org_id, [row]))[0]


async def find_by_slug(conn: Conn, org_id: str, slug: str) -> list[EventTypeRow]:
    """Every event type of the organization with this slug (any owner or team), oldest first."""
    rows = await fetch_all(
        conn,
        _SELECT + " WHERE et.organization_id = ? AND et.slug = ? ORDER BY et.created_at, et.id",
        (org_id, slug),
    )
    return await _with_hosts(conn, org_id, rows)


def sort_keys(row: EventTypeRow, sort: str) -> list[Any]:
    """The keys of ``row`` under ``sort``, as a cursor stores them."""
    columns, _ = SORTS[sort]
    return [getattr(row, c) for c in columns]


def valid_keys(keys: Any, sort: str) -> bool:
    """Whether ``keys`` has the shape :func:`sort_keys` produces for ``sort``."""
    columns, _ = SORTS[sort]
    return (
        isinstance(keys, list)
        and len(keys) == len(columns)
        and all(isinstance(k, str) for k in keys)
    )


async def list_event_types(
    conn: Conn,
    org_id: str,
    *,
    sort: str = DEFAULT_SORT,
    after_keys: Sequence[Any] | None = None,
    limit: int = 20,
    user_id: str | None = None,
    slug: str | None = None,
    active: bool | None = None,
) -> tuple[list[EventTypeRow], bool]:
    """One page: up to ``limit`` rows strictly after ``after_keys`` in ``sort`` order, and
    whether more rows follow.

    Keyset pagination on the sort columns plus ``id``: rows inserted between page fetches
    never shift the rows that were already there. ``user_id`` keeps event types the user
    hosts (or owns).
    """
    columns, direction = SORTS[sort]
    where = ["et.organization_id = ?"]
    params: list[Any] = [org_id]
    if user_id is not None:
        where.append(
            "(et.owner_user_id = ? OR EXISTS (SELECT 1 FROM event_type_hosts AS h"
            " WHERE h.event_type_id = et.id AND h.user_id = ?))"
        )
        params += [user_id, user_id]
    if slug is not None:
        where.append("et.slug = ?")
        params.append(slug)
    if active is not None:
        where.append("et.active = ?")
        params.append(1 if active else 0)
    if after_keys is not None:
        op = "<" if direction == "DESC" else ">"
        cols = ", ".join(f"et.{c}" for c in columns)
        marks = ", ".join("?" for _ in columns)
        where.append(f"({cols}) {op} ({marks})")
        params += list(after_keys)
    order = ", ".join(f"et.{c} {direction}" for c in columns)
    # The sort's index supplies the order, so the joins run only for the rows returned.
    rows = await fetch_all(
        conn,
        _SELECT + " WHERE " + " AND ".join(where) + f" ORDER BY {order} LIMIT ?",
        (*params, limit + 1),
    )
    has_more = len(rows) > limit
    return await _with_hosts(conn, org_id, rows[:limit]), has_more
