"""The event outbox: rows written in the same transaction as the change they describe."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fortytwo.db.database import Conn, execute, fetch_all
from fortytwo.store.common import ts


async def append_event(
    conn: Conn, organization_id: str, event: str, data: dict[str, Any], now: datetime
) -> str:
    """Record ``event`` (dotted name) with its payload ``data``; returns the ``evt_`` id."""
    event_id = f"evt_{uuid.uuid4()}"
    await execute(
        conn,
        "INSERT INTO events (id, seq, organization_id, event, payload, created_at)"
        " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM events",
        (event_id, organization_id, event, json.dumps(data, separators=(",", ":")), ts(now)),
    )
    return event_id


async def list_events(conn: Conn, organization_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    rows = await fetch_all(
        conn,
        "SELECT * FROM events WHERE organization_id = ? AND seq > ? ORDER BY seq",
        (organization_id, after_seq),
    )
    return [
        {
            "id": r["id"],
            "seq": r["seq"],
            "event": r["event"],
            "data": json.loads(r["payload"]),
            "created_at": r["created_at"],
        }
        for r in rows
    ]
