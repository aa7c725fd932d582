"""Reads that feed the slot engine: schedules, time off, limits and busy bookings of hosts.

These run on a plain ``sqlite3`` connection inside ``Database.run_read`` / ``run_write``, so
one slot computation (or one booking transaction) costs a single thread hand-off.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fortytwo.db.database import Row, SyncConn
from fortytwo.scheduling.model import MAX_DURATION_MINUTES
from fortytwo.store.common import ts


def _placeholders(items: list[str]) -> str:
    return ", ".join("?" for _ in items)


def schedules_for(conn: SyncConn, user_ids: list[str], schedule_id: str | None) -> list[Row]:
    """Default schedules of the users, plus the named schedule (if any)."""
    return conn.execute(
        f"SELECT * FROM schedules WHERE (user_id IN ({_placeholders(user_ids)}) AND is_default = 1)"
        " OR id = ?",
        (*user_ids, schedule_id or ""),
    ).fetchall()


def out_of_office_for(conn: SyncConn, user_ids: list[str]) -> list[Row]:
    return conn.execute(
        f"SELECT user_id, start_date, end_date FROM out_of_office"
        f" WHERE user_id IN ({_placeholders(user_ids)})",
        tuple(user_ids),
    ).fetchall()


def limits_for(conn: SyncConn, user_ids: list[str]) -> list[Row]:
    return conn.execute(
        f"SELECT * FROM user_limits WHERE user_id IN ({_placeholders(user_ids)})",
        tuple(user_ids),
    ).fetchall()


def busy_for(
    conn: SyncConn, user_ids: list[str], start: datetime, end: datetime, exclude_uid: str | None = None
) -> list[Row]:
    """Pending and confirmed bookings of the users that touch [start, end), but one.

    No booking lasts longer than ``MAX_DURATION_MINUTES``, so a lower bound on ``start_at``
    turns the index scan into a narrow range instead of everything before ``end``."""
    earliest = start - timedelta(minutes=MAX_DURATION_MINUTES)
    return conn.execute(
        f"""SELECT host_user_id, start_at, end_at, buffer_before_minutes, buffer_after_minutes,
                   event_type_id
            FROM bookings
            WHERE host_user_id IN ({_placeholders(user_ids)})
              AND status IN ('pending', 'confirmed')
              AND start_at < ? AND start_at >= ? AND end_at > ? AND uid <> ?
            ORDER BY start_at""",
        (*user_ids, ts(end), ts(earliest), ts(start), exclude_uid or ""),
    ).fetchall()


def recent_counts(
    conn: SyncConn, event_type_id: str, user_ids: list[str], since: datetime
) -> dict[str, int]:
    """Pending and confirmed bookings of the event type made since ``since``, per host."""
    rows = conn.execute(
        f"""SELECT host_user_id, COUNT(*) AS n FROM bookings
            WHERE event_type_id = ? AND host_user_id IN ({_placeholders(user_ids)})
              AND status IN ('pending', 'confirmed') AND created_at >= ?
            GROUP BY host_user_id""",
        (event_type_id, *user_ids, ts(since)),
    ).fetchall()
    return {r["host_user_id"]: r["n"] for r in rows}
