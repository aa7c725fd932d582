"""The event outbox: rows written in the same transaction as the change they describe."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fortytwo.db.database import Conn, SyncConn, execute
from fortytwo.store.common import ts

_INSERT = (
    "INSERT INTO events (id, seq, organization_id, event, payload, created_at)"
    " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM events"
)


def _values(organization_id: str, event: str, data: dict[str, Any], now: datetime) -> tuple:
    event_id = f"evt_{uuid.uuid4()}"
    return (event_id, organization_id, event, json.dumps(data, separators=(",", ":")), ts(now))


async def append_event(
    conn: Conn, organization_id: str, event: str, data: dict[str, Any], now: datetime
) -> str:
    """Record ``event`` (dotted name) with its payload ``data``; returns the ``evt_`` id."""
    values = _values(organization_id, event, data, now)
    await execute(conn, _INSERT, values)
    return values[0]


def append_event_now(
    conn: SyncConn, organization_id: str, event: str, data: dict[str, Any], now: datetime
) -> str:
    """``append_event`` for code running inside ``Database.run_write``."""
    values = _values(organization_id, event, data, now)
    conn.execute(_INSERT, values)
    return values[0]
