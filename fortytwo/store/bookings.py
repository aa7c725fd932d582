"""Booking rows: reads, writes, history, idempotency records.

Plain ``sqlite3`` functions: the booking service runs each write as one unit of work on the
database's writer thread (``Database.run_write``) and reads through ``run_read``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fortytwo.db.database import Row, SyncConn
from fortytwo.store.common import ts
from fortytwo.timefmt import parse_db_ts

_SELECT = """SELECT b.*, e.slug AS event_type_slug, e.title AS event_type_title,
                    u.username AS host_username, u.email AS host_email,
                    u.first_name AS host_first_name, u.last_name AS host_last_name
             FROM bookings b JOIN event_types e ON e.id = b.event_type_id
             LEFT JOIN users u ON u.id = b.host_user_id"""


@dataclass(frozen=True, slots=True)
class BookingRow:
    uid: str
    organization_id: str
    event_type_id: str
    event_type_slug: str | None
    event_type_title: str | None
    host_user_id: str | None
    host_username: str | None
    host_email: str | None
    host_first_name: str | None
    host_last_name: str | None
    status: str
    start_at: datetime
    end_at: datetime
    timezone: str
    buffer_before_minutes: int
    buffer_after_minutes: int
    title: str | None
    attendee_email: str
    attendee_name: str
    attendee_first_name: str | None
    attendee_last_name: str | None
    attendee_phone: str | None
    attendee_timezone: str | None
    sms_opt_in: bool
    guests: list[str]
    location: dict[str, Any] | None
    metadata: dict[str, Any]
    responses: dict[str, Any]
    utm: dict[str, Any]
    version: int
    rescheduled_from_uid: str | None
    rescheduled_to_uid: str | None
    reschedule_generation: int
    cancelled_at: datetime | None
    cancellation_reason: str | None
    no_show_at: datetime | None
    no_show_reason: str | None
    created_at: datetime
    updated_at: datetime


def row_to_booking(row: Row) -> BookingRow:
    return BookingRow(
        uid=row["uid"],
        organization_id=row["organization_id"],
        event_type_id=row["event_type_id"],
        event_type_slug=row["event_type_slug"],
        event_type_title=row["event_type_title"],
        host_user_id=row["host_user_id"],
        host_username=row["host_username"],
        host_email=row["host_email"],
        host_first_name=row["host_first_name"],
        host_last_name=row["host_last_name"],
        status=row["status"],
        start_at=parse_db_ts(row["start_at"]),
        end_at=parse_db_ts(row["end_at"]),
        timezone=row["timezone"],
        buffer_before_minutes=row["buffer_before_minutes"],
        buffer_after_minutes=row["buffer_after_minutes"],
        title=row["title"],
        attendee_email=row["attendee_email"],
        attendee_name=row["attendee_name"],
        attendee_first_name=row["attendee_first_name"],
        attendee_last_name=row["attendee_last_name"],
        attendee_phone=row["attendee_phone"],
        attendee_timezone=row["attendee_timezone"],
        sms_opt_in=bool(row["sms_opt_in"]),
        guests=json.loads(row["guests"]),
        location=json.loads(row["location"]) if row["location"] else None,
        metadata=json.loads(row["metadata"]),
        responses=json.loads(row["responses"]),
        utm=json.loads(row["utm"]),
        version=row["version"],
        rescheduled_from_uid=row["rescheduled_from_uid"],
        rescheduled_to_uid=row["rescheduled_to_uid"],
        reschedule_generation=row["reschedule_generation"],
        cancelled_at=parse_db_ts(row["cancelled_at"]),
        cancellation_reason=row["cancellation_reason"],
        no_show_at=parse_db_ts(row["no_show_at"]),
        no_show_reason=row["no_show_reason"],
        created_at=parse_db_ts(row["created_at"]),
        updated_at=parse_db_ts(row["updated_at"]),
    )


def get_booking(conn: SyncConn, organization_id: str, uid: str) -> BookingRow | None:
    row = conn.execute(_SELECT + " WHERE b.uid = ? AND b.organization_id = ?",
                       (uid, organization_id)).fetchone()
    return row_to_booking(row) if row else None


def get_booking_any_org(conn: SyncConn, uid: str) -> BookingRow | None:
    row = conn.execute(_SELECT + " WHERE b.uid = ?", (uid,)).fetchone()
    return row_to_booking(row) if row else None


def next_updated_at(conn: SyncConn, organization_id: str, now: datetime) -> datetime:
    """A stamp later than every stored ``updated_at`` of the organization (writes are
    serialized, so stamps are strictly increasing in commit order)."""
    row = conn.execute(
        "SELECT MAX(updated_at) FROM bookings WHERE organization_id = ?", (organization_id,)
    ).fetchone()
    last = parse_db_ts(row[0]) if row and row[0] else None
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    if last is not None and now <= last:
        return last + timedelta(milliseconds=1)
    return now


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def insert_booking(conn: SyncConn, values: dict[str, Any]) -> None:
    encoded = dict(values)
    for name in ("guests", "metadata", "responses", "utm"):
        encoded[name] = _dumps(encoded[name])
    encoded["location"] = _dumps(encoded["location"]) if encoded.get("location") else None
    for name in ("start_at", "end_at", "created_at", "updated_at"):
        encoded[name] = ts(encoded[name])
    names = list(encoded)
    conn.execute(
        f"INSERT INTO bookings ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        tuple(encoded.values()),
    )


UPDATABLE = {
    "status", "metadata", "responses", "attendee_name", "version", "rescheduled_to_uid",
    "cancelled_at", "cancellation_reason", "no_show_at", "no_show_reason", "updated_at",
}


def update_booking(conn: SyncConn, uid: str, changes: dict[str, Any]) -> None:
    assert set(changes) <= UPDATABLE
    encoded: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("metadata", "responses"):
            value = _dumps(value)
        elif isinstance(value, datetime):
            value = ts(value)
        encoded[name] = value
    assignments = ", ".join(f"{name} = ?" for name in encoded)
    conn.execute(f"UPDATE bookings SET {assignments} WHERE uid = ?", (*encoded.values(), uid))


def append_history(
    conn: SyncConn, uid: str, at: datetime, actor: str, action: str, changes: dict[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO booking_history (booking_uid, at, actor, action, changes) VALUES (?, ?, ?, ?, ?)",
        (uid, ts(at), actor, action, _dumps(changes)),
    )


def history(conn: SyncConn, uid: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM booking_history WHERE booking_uid = ? ORDER BY id", (uid,)
    ).fetchall()
    return [
        {"at": r["at"], "actor": r["actor"], "action": r["action"], "changes": json.loads(r["changes"])}
        for r in rows
    ]


# -- idempotency ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    status: int
    headers: dict[str, str]
    body: bytes


def get_idempotency(
    conn: SyncConn, organization_id: str, key: str, now: datetime
) -> StoredResponse | None:
    row = conn.execute(
        "SELECT * FROM idempotency_records WHERE organization_id = ? AND key = ? AND expires_at > ?",
        (organization_id, key, ts(now)),
    ).fetchone()
    if row is None:
        return None
    return StoredResponse(row["fingerprint"], row["status"], json.loads(row["headers"]), bytes(row["body"]))


def save_idempotency(
    conn: SyncConn, organization_id: str, key: str, response: StoredResponse, now: datetime,
    ttl: timedelta,
) -> None:
    conn.execute(
        """INSERT INTO idempotency_records (organization_id, key, fingerprint, status, headers,
               body, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (organization_id, key) DO UPDATE SET fingerprint = excluded.fingerprint,
               status = excluded.status, headers = excluded.headers, body = excluded.body,
               created_at = excluded.created_at, expires_at = excluded.expires_at""",
        (organization_id, key, response.fingerprint, response.status, _dumps(response.headers),
         response.body, ts(now), ts(now + ttl)),
    )


def purge_idempotency(conn: SyncConn, now: datetime) -> int:
    return conn.execute("DELETE FROM idempotency_records WHERE expires_at <= ?", (ts(now),)).rowcount
