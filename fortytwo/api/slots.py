"""GET /v1/slots and GET /v1/slots/check."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from fortytwo import keys
from fortytwo.http.errors import bad_param
from fortytwo.http.policy import requires_scope
from fortytwo.http.responses import PRINCIPAL, ok
from fortytwo.services import availability
from fortytwo.services.accounts import valid_timezone
from fortytwo.services.event_types import find_for_query
from fortytwo.timefmt import format_ts, parse_ts

routes = web.RouteTableDef()
MAX_WINDOW = timedelta(days=31)


def _timestamp(query, name: str, *, required: bool = True) -> datetime | None:  # type: ignore[no-untyped-def]
    raw = query.get(name)
    if raw is None or raw == "":
        if required:
            raise bad_param(name, f"`{name}` is required: an ISO 8601 instant such as 2026-05-20T09:00:00Z.")
        return None
    # an unencoded '+' in a query string arrives as a space
    try:
        return parse_ts(raw.replace(" ", "+"))
    except ValueError as exc:
        raise bad_param(name, f"`{name}`: {exc}.") from None


def _timezone(query) -> str | None:  # type: ignore[no-untyped-def]
    raw = query.get("timezone")
    if raw is None:
        return None
    if not valid_timezone(raw):
        raise bad_param("timezone", "`timezone` must be an IANA time zone such as Europe/Lisbon.")
    return raw


def _check_query_shape(query) -> None:  # type: ignore[no-untyped-def]
    if not query.get("event_type_id") and not (query.get("username") or query.get("event_slug")):
        raise bad_param(
            "event_type_id", "Name the event type with `event_type_id`, or `username` and `event_slug`."
        )


@routes.get("/v1/slots")
@requires_scope("slots:read")
async def list_slots(request: web.Request) -> web.Response:
    query = request.query
    _check_query_shape(query)
    start = _timestamp(query, "start")
    end = _timestamp(query, "end")
    assert start is not None and end is not None
    if end <= start:
        raise bad_param("end", "`end` must be later than `start`.")
    if end - start > MAX_WINDOW:
        raise bad_param("end", "The window may span at most 31 days; narrow `start`..`end`.")
    timezone = _timezone(query)
    db = request.app[keys.DATABASE]
    event_type = await find_for_query(db.reader, request[PRINCIPAL].organization_id, query)
    now = request.app[keys.CLOCK]()
    result = await availability.list_slots(db, event_type, start, end, now)
    collective = event_type.scheduling_type == "collective"
    group = event_type.scheduling_type == "group"
    slots = []
    for slot in result.slots:
        item: dict = {"start": format_ts(slot.start), "end": format_ts(slot.end), "available": True}
        if collective:
            item["host_user_id"] = slot.host_user_id
        if group:
            item["seats_remaining"] = slot.seats_remaining
        slots.append(item)
    return ok(
        request,
        {
            "event_type_id": event_type.id,
            "timezone": timezone or event_type.timezone or "UTC",
            "computed_at": format_ts(now),
            "slots": slots,
            "truncated": result.truncated,
        },
    )


@routes.get("/v1/slots/check")
@requires_scope("slots:read")
async def check_slot(request: web.Request) -> web.Response:
    query = request.query
    _check_query_shape(query)
    start = _timestamp(query, "start")
    end = _timestamp(query, "end", required=False)
    _timezone(query)
    assert start is not None
    db = request.app[keys.DATABASE]
    event_type = await find_for_query(db.reader, request[PRINCIPAL].organization_id, query)
    if end is not None and end != start + timedelta(minutes=event_type.duration_minutes):
        raise bad_param(
            "end",
            f"`end` must be `start` plus the event type's {event_type.duration_minutes} minutes, "
            "or left out.",
        )
    now = request.app[keys.CLOCK]()
    result = await availability.check(db, event_type, start, now)
    if result.available:
        data: dict = {"available": True, "duration_minutes": event_type.duration_minutes}
        if event_type.scheduling_type == "collective":
            data["host_user_id"] = result.host_user_id
        if event_type.scheduling_type == "group":
            data["seats_remaining"] = result.seats_remaining
    else:
        data = {
            "available": False,
            "reason": result.reason,
            "reason_detail": result.reason_detail,
            "next_available": format_ts(result.next_available) if result.next_available else None,
        }
    return ok(request, data)
