"""Operator actions on event types (command line): list all, enable, disable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fortytwo.db.database import Database, Row
from fortytwo.services import accounts as account_service
from fortytwo.services.errors import NotFound
from fortytwo.store import events as event_store
from fortytwo.store import scheduling


def _summary(row: Row) -> dict[str, Any]:
    owner = row["owner_username"] or f"team/{row['team_slug']}"
    return {
        "id": row["id"],
        "organization": row["org_name"],
        "path": f"{owner}/{row['slug']}",
        "slug": row["slug"],
        "title": row["title"],
        "scheduling_type": row["scheduling_type"],
        "active": bool(row["active"]),
    }


async def list_all(db: Database, org: str | None) -> list[dict[str, Any]]:
    org_id = await account_service.org_filter(db, org)
    return [_summary(r) for r in await scheduling.list_event_type_rows(db.reader, org_id)]


async def set_active(
    db: Database, ref: str, active: bool, now: datetime, booking_base_url: str
) -> dict[str, Any]:
    from fortytwo.services import event_types as event_type_service
    from fortytwo.store import event_types as event_type_store

    async with db.write() as conn:
        rows = await scheduling.list_event_type_rows(conn)
        match = [r for r in rows if ref in (r["id"], _summary(r)["path"])]
        if len(match) != 1:
            raise NotFound(f"no event type {ref!r}; give its id or username/slug")
        row = match[0]
        if bool(row["active"]) != active:
            await scheduling.update_event_type(conn, row["id"], {"active": int(active)}, now)
            fresh = await event_type_store.get_event_type(conn, row["organization_id"], row["id"])
            body = event_type_service.serialize(fresh, booking_base_url, detail=True)
            await event_store.append_event(
                conn, row["organization_id"], "event_type.updated", {"event_type": body}, now
            )
        return _summary(row)
