"""``GET /v1/bookings``: reading the query string, and one page of the list (contract 2.4, 7).

Query parameters, each checked even when another one overrides it (a malformed value is a
client bug worth reporting):

- ``limit``, ``cursor``, ``sort`` (default ``start_at_desc``) — see :mod:`fortytwo.http.params`
  and :mod:`fortytwo.http.cursor`; a cursor is bound to the list ``bookings`` and its sort.
- ``event_type_id``, ``host_user_id`` — UUIDs. ``host_user_ids`` — UUIDs, comma-separated
  and/or repeated (``?host_user_ids=a,b&host_user_ids=c``); when present it replaces
  ``host_user_id``.
- ``attendee_email`` — exact, case-sensitive match.
- ``status`` — comma-separated ``pending``, ``confirmed``, ``canceled``, ``rescheduled``.
- ``start_date`` / ``end_date`` — inclusive bounds on ``start_at``: an instant with ``Z`` or an
  offset, or a plain ``YYYY-MM-DD`` meaning that UTC day from its first millisecond
  (``start_date``: ``00:00:00.000Z``) to its last (``end_date``: ``23:59:59.999Z``). An
  instant without an offset is refused. ``end_date`` before ``start_date`` is refused.
- ``updated_since`` — an instant (with offset); keeps ``updated_at >=`` it.
- ``include_cancelled`` — ``true`` (default) or ``false``; ``false`` leaves out ``canceled``
  bookings. It has no effect when ``status`` is given.

Catch-up feed: ``updated_at`` is strictly increasing per organization in commit order (the
write path stamps every change with :func:`fortytwo.store.bookings.next_updated_at` inside the
serialized write transaction; the two rows of one reschedule share a stamp and are committed
together). So ``sort=updated_at_asc&updated_since=<last updated_at seen>`` returns every change
made since the previous poll — plus that last row again, which clients dedupe by
``uid`` + ``version``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from multidict import MultiMapping

from fortytwo.db.database import Conn
from fortytwo.http.cursor import decode_cursor, encode_cursor
from fortytwo.http.errors import ApiError, bad_param
from fortytwo.http.params import parse_bool, parse_choice, parse_limit, parse_uuid
from fortytwo.services.booking_views import rest_booking
from fortytwo.store import booking_queries as store
from fortytwo.store.booking_queries import BookingFilters
from fortytwo.timefmt import parse_ts

CURSOR_KIND = "bookings"
SORTS = tuple(store.SORTS)
DEFAULT_SORT = store.DEFAULT_SORT
STATUSES = store.STATUSES

_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_END_OF_DAY = time(23, 59, 59, 999000, tzinfo=UTC)
_START_OF_DAY = time(0, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A checked ``GET /v1/bookings`` query string."""

    limit: int
    sort: str
    cursor: str | None
    filters: BookingFilters


def _instant(query: MultiMapping[str], name: str, *, day_edge: time | None) -> datetime | None:
    """An ISO 8601 instant with an offset; with ``day_edge``, a plain date at that time."""
    text = query.get(name)
    if text is None:
        return None
    if day_edge is not None and _PLAIN_DATE.fullmatch(text):
        try:
            return datetime.combine(date.fromisoformat(text), day_edge)
        except ValueError:
            raise bad_param(
                name, f"{name} {text!r} is not a calendar date; send YYYY-MM-DD or an instant."
            ) from None
    example = "2026-05-20T09:00:00Z"
    also = " or a plain date such as 2026-05-20" if day_edge is not None else ""
    if " " in text:
        raise bad_param(
            name,
            f"{name} contains a space: a '+' in a UTC offset must be sent as %2B in a query "
            f"string. Send an instant such as {example}{also}.",
        )
    try:
        return parse_ts(text)
    except ValueError as exc:
        raise bad_param(name, f"{name}: {exc}. Send an instant such as {example}{also}.") from None


def _statuses(query: MultiMapping[str]) -> tuple[str, ...]:
    text = query.get("status")
    if text is None:
        return ()
    listed = ", ".join(STATUSES)
    found: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if item not in STATUSES:
            shown = repr(item) if item else "an empty entry"
            raise bad_param(
                "status",
                f"status has {shown}; send a comma-separated list of {listed} "
                "(e.g. status=pending,confirmed), or leave status out.",
            )
        if item not in found:
            found.append(item)
    return tuple(found)


def _host_user_ids(query: MultiMapping[str]) -> tuple[str, ...]:
    """``host_user_ids`` (comma lists and repeats merged), else ``host_user_id``; both
    checked when given."""
    single = parse_uuid(query, "host_user_id")
    values = query.getall("host_user_ids", [])
    if not values:
        return (single,) if single is not None else ()
    found: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                raise bad_param(
                    "host_user_ids",
                    "host_user_ids has an empty entry; send user ids separated by commas "
                    "(or repeat host_user_ids), or leave it out.",
                )
            user_id = parse_uuid({"host_user_ids": item}, "host_user_ids")
            if user_id is not None and user_id not in found:
                found.append(user_id)
    return tuple(found)


def parse_list_query(query: MultiMapping[str]) -> ListQuery:
    """Check every parameter of ``GET /v1/bookings``; a bad one is a 400
    ``invalid_query_param`` naming it. The cursor is checked later, by :func:`list_page`."""
    limit = parse_limit(query)
    sort = parse_choice(query, "sort", SORTS, DEFAULT_SORT)
    event_type_id = parse_uuid(query, "event_type_id")
    host_user_ids = _host_user_ids(query)
    statuses = _statuses(query)
    include_cancelled = parse_bool(query, "include_cancelled")
    start_from = _instant(query, "start_date", day_edge=_START_OF_DAY)
    start_to = _instant(query, "end_date", day_edge=_END_OF_DAY)
    if start_from is not None and start_to is not None and start_to < start_from:
        raise bad_param(
            "end_date",
            "end_date is before start_date, so nothing could match; send an end_date at or "
            "after start_date.",
        )
    updated_since = _instant(query, "updated_since", day_edge=None)
    filters = BookingFilters(
        event_type_id=event_type_id,
        host_user_ids=host_user_ids,
        attendee_email=query.get("attendee_email"),
        statuses=statuses,
        exclude_canceled=include_cancelled is False,
        start_from=start_from,
        start_to=start_to,
        updated_since=updated_since,
    )
    return ListQuery(limit=limit, sort=sort, cursor=query.get("cursor"), filters=filters)


async def list_page(
    conn: Conn, org_id: str, *, secret: bytes, query: ListQuery
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """One page of organization ``org_id``'s bookings: the items (``responses`` null),
    ``next_cursor`` and ``has_more``. A bad cursor raises 400 before any query runs."""
    after = None
    if query.cursor is not None:
        after = decode_cursor(secret, query.cursor, kind=CURSOR_KIND, sort=query.sort)
        if not store.valid_keys(after, query.sort):
            raise ApiError(
                400,
                "invalid_query_param",
                "The cursor is not valid: pass meta.next_cursor from the previous page "
                "unchanged, or omit cursor to start again from the first page.",
                {"param": "cursor"},
            )
    rows, has_more = await store.list_bookings(
        conn, org_id, query.filters, sort=query.sort, after_keys=after, limit=query.limit
    )
    next_cursor = (
        encode_cursor(secret, CURSOR_KIND, query.sort, store.sort_keys(rows[-1], query.sort))
        if has_more and rows
        else None
    )
    return [rest_booking(r, with_responses=False) for r in rows], next_cursor, has_more
