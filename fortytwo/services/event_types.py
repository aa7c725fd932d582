"""Event types on the API: the reference shapes, listing pages, and finding one by id or slug.

:func:`resolve` is the single way an ``idOrSlug`` (or ``username`` + ``slug``) becomes an
event type; slots and bookings use it too, so every endpoint answers an unknown, foreign or
ambiguous reference with the same 404 ``event_type_not_found``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fortytwo.db.database import Conn
from fortytwo.http.cursor import decode_cursor, encode_cursor
from fortytwo.http.errors import ApiError, bad_param
from fortytwo.services.identity import display_name
from fortytwo.store import event_types as store
from fortytwo.store.common import is_uuid
from fortytwo.store.event_types import EventTypeRow

CURSOR_KIND = "event_types"
SORTS = tuple(store.SORTS)
DEFAULT_SORT = store.DEFAULT_SORT

_HINT = (
    "Use the event type's id, or username/slug (team event types: team-slug/slug); "
    "GET /v1/event-types lists them."
)


def event_type_url(row: EventTypeRow, booking_base_url: str) -> str | None:
    """The public booking page: ``<base>/<username>/<slug>`` or ``<base>/team/<team>/<slug>``."""
    base = booking_base_url.rstrip("/")
    if row.team_id is not None:
        return f"{base}/team/{row.team_slug}/{row.slug}" if row.team_slug else None
    return f"{base}/{row.owner_username}/{row.slug}" if row.owner_username else None


def _location(item: dict[str, Any]) -> dict[str, Any]:
    kind = str(item.get("type") or "")
    label = item.get("label")
    value = item.get("value")
    return {
        "type": kind,
        "label": str(label) if label else kind,
        "value": None if value is None or value == "" else str(value),
    }


def _question(item: dict[str, Any]) -> dict[str, Any]:
    key = str(item.get("key") or "")
    out: dict[str, Any] = {
        "id": str(item.get("id") or key),
        "key": key,
        "label": str(item.get("label") or key),
        "type": str(item.get("type") or "text"),
        "required": bool(item.get("required", False)),
    }
    if item.get("options") is not None:
        out["options"] = list(item["options"])
    return out


def serialize(row: EventTypeRow, booking_base_url: str, *, detail: bool) -> dict[str, Any]:
    """The reference ``EventType`` (``detail=False``) or ``EventTypeDetail``, with our additive
    fields ``minimum_notice_minutes``, ``slot_interval_minutes`` (and, in detail,
    ``seats_per_slot``)."""
    data: dict[str, Any] = {
        "id": row.id,
        "slug": row.slug,
        "title": row.title,
        "description": row.description,
        "duration_minutes": row.duration_minutes,
        "active": row.active,
        "scheduling_type": row.scheduling_type,
        "hosts": [
            {
                "user_id": h.user_id,
                "username": h.username,
                "name": display_name(h.first_name, h.last_name),
            }
            for h in row.hosts
        ],
        "url": event_type_url(row, booking_base_url),
        "color": row.color,
        "buffer_before_minutes": row.buffer_before_minutes,
        "buffer_after_minutes": row.buffer_after_minutes,
        "minimum_notice_hours": row.minimum_notice_minutes // 60,
        "minimum_notice_minutes": row.minimum_notice_minutes,
        "future_limit_days": row.future_limit_days,
        "slot_interval_minutes": row.slot_interval_minutes,
        "timezone": row.timezone,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if detail:
        data.update(
            {
                "locations": [_location(item) for item in row.locations],
                "questions": [_question(item) for item in row.questions],
                "max_bookings_per_day": row.max_bookings_per_day,
                "max_bookings_per_week": row.max_bookings_per_week,
                "max_bookings_per_month": row.max_bookings_per_month,
                "seats_per_slot": row.seats_per_slot if row.scheduling_type == "group" else None,
                "requires_confirmation": row.requires_confirmation,
                "allow_reschedule": row.allow_reschedule,
                "allow_cancel": row.allow_cancel,
            }
        )
    return data


def _not_found(message: str, *, hint: bool = True) -> ApiError:
    return ApiError(404, "event_type_not_found", message, {"hint": _HINT} if hint else {})


async def resolve(conn: Conn, org_id: str, id_or_slug: str) -> EventTypeRow:
    """The organization's event type named by ``id_or_slug`` (contract 5).

    Accepted: a UUID; ``username/slug`` (a team event type as ``team-slug/slug``); a bare
    slug when exactly one event type of the organization has it. Anything else, including
    another organization's event type, raises 404 ``event_type_not_found``.
    """
    text = id_or_slug.strip() if isinstance(id_or_slug, str) else ""
    if not text:
        raise _not_found("No event type was named; send its id or username/slug.")
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 2 or not all(parts):
            raise _not_found(
                f"No event type matches {text!r}; a path names an event type as "
                "username/slug, with exactly one '/'."
            )
        row = await store.find_by_owner_slug(conn, org_id, parts[0], parts[1])
        if row is None:
            raise _not_found(f"No event type {text!r} exists in this organization.")
        return row
    if is_uuid(text):
        row = await store.get_event_type(conn, org_id, text.lower())
        if row is not None:
            return row
        # A UUID-shaped slug is unlikely but legal; fall through to the slug lookup.
    matches = await store.find_by_slug(conn, org_id, text)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise _not_found(f"No event type with id or slug {text!r} exists in this organization.")
    raise _not_found(
        f"The slug {text!r} is used by {len(matches)} event types in this organization, so it "
        "does not name one; ask for username/slug or the id instead."
    )


async def find_for_query(conn: Conn, org_id: str, query: Mapping[str, str]) -> EventTypeRow:
    """The event type a query string names (slots, contract 6): ``event_type_id``, or
    ``username`` + ``event_slug`` (a team event type: the team's slug as ``username``).

    Neither given, half of the pair, or an id that is not a UUID → 400
    ``invalid_query_param``; an unknown id or another organization's → 404
    ``event_type_not_found``.
    """
    event_type_id = query.get("event_type_id") or None
    username = query.get("username") or None
    event_slug = query.get("event_slug") or None
    if event_type_id is not None:
        if not is_uuid(event_type_id):
            raise bad_param("event_type_id", "event_type_id must be a UUID such as the id of an event type.")
        row = await store.get_event_type(conn, org_id, event_type_id.lower())
        if row is None:
            raise _not_found(f"No event type with id {event_type_id!r} exists in this organization.")
        return row
    if username is None and event_slug is None:
        raise bad_param(
            "event_type_id",
            "Name the event type: send event_type_id, or username and event_slug.",
        )
    if username is None:
        raise bad_param("username", "event_slug needs username too (or send event_type_id).")
    if event_slug is None:
        raise bad_param("event_slug", "username needs event_slug too (or send event_type_id).")
    row = await store.find_by_owner_slug(conn, org_id, username, event_slug)
    if row is None:
        raise _not_found(f"No event type {username}/{event_slug} exists in this organization.")
    return row


async def list_page(
    conn: Conn,
    org_id: str,
    *,
    secret: bytes,
    booking_base_url: str,
    sort: str = DEFAULT_SORT,
    cursor: str | None = None,
    limit: int = 20,
    user_id: str | None = None,
    slug: str | None = None,
    active: bool | None = None,
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """One page of ``GET /v1/event-types``: the items, ``next_cursor`` and ``has_more``.

    A bad ``cursor`` (tampered, foreign, another sort) raises 400 before any query runs.
    """
    after = None
    if cursor is not None:
        after = decode_cursor(secret, cursor, kind=CURSOR_KIND, sort=sort)
        if not store.valid_keys(after, sort):
            raise ApiError(
                400,
                "invalid_query_param",
                "The cursor is not valid: pass meta.next_cursor from the previous page "
                "unchanged, or omit cursor to start again from the first page.",
                {"param": "cursor"},
            )
    rows, has_more = await store.list_event_types(
        conn,
        org_id,
        sort=sort,
        after_keys=after,
        limit=limit,
        user_id=user_id,
        slug=slug,
        active=active,
    )
    next_cursor = (
        encode_cursor(secret, CURSOR_KIND, sort, store.sort_keys(rows[-1], sort))
        if has_more and rows
        else None
    )
    return [serialize(r, booking_base_url, detail=False) for r in rows], next_cursor, has_more
