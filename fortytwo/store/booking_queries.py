"""Reading many bookings at once: filtered, keyset-paginated lists.

Every API query is scoped to one organization. Pages continue strictly after the last row's
sort keys — the sort column plus ``uid`` as the unique tie-breaker — so rows inserted or
modified between page fetches never make a row of the original order skip or repeat (a row
whose sort key changes simply moves to its new place). Timestamps are stored in the wire form
(``2026-05-20T10:00:00.000Z``), which sorts as text, so bounds and cursor keys are compared as
text in that same form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fortytwo.db.database import Conn, fetch_all
from fortytwo.store.bookings import BookingRow, row_to_booking
from fortytwo.timefmt import format_ts

STATUSES: tuple[str, ...] = ("pending", "confirmed", "canceled", "rescheduled")

# sort name -> (sort column, direction). Each sort has an index
# (organization_id, <column>, uid) in 0004_bookings.sql.
SORTS: dict[str, tuple[str, str]] = {
    "start_at_desc": ("start_at", "DESC"),
    "start_at_asc": ("start_at", "ASC"),
    "created_at_desc": ("created_at", "DESC"),
    "created_at_asc": ("created_at", "ASC"),
    "updated_at_asc": ("updated_at", "ASC"),
    "updated_at_desc": ("updated_at", "DESC"),
}
DEFAULT_SORT = "start_at_desc"

_SELECT = """SELECT b.*, e.slug AS event_type_slug, e.title AS event_type_title,
                    u.username AS host_username, u.email AS host_email,
                    u.first_name AS host_first_name, u.last_name AS host_last_name
             FROM bookings AS b
             JOIN event_types AS e ON e.id = b.event_type_id
             LEFT JOIN users AS u ON u.id = b.host_user_id"""


@dataclass(frozen=True, slots=True)
class BookingFilters:
    """What ``GET /v1/bookings`` can narrow a list by; None / empty means "no filter".

    ``start_from`` / ``start_to`` are inclusive bounds on ``start_at``; ``updated_since`` is
    an inclusive lower bound on ``updated_at``. ``statuses`` wins over ``exclude_canceled``.
    """

    event_type_id: str | None = None
    host_user_ids: tuple[str, ...] = ()
    attendee_email: str | None = None
    statuses: tuple[str, ...] = ()
    exclude_canceled: bool = False
    start_from: datetime | None = None
    start_to: datetime | None = None
    updated_since: datetime | None = None


def _floor_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _lower_bound(value: datetime) -> str:
    """``column >= value`` for millisecond-precision columns: round a finer value up."""
    floored = _floor_ms(value)
    if floored != value:
        floored += timedelta(milliseconds=1)
    return format_ts(floored)


def _upper_bound(value: datetime) -> str:
    """``column <= value`` for millisecond-precision columns: round a finer value down."""
    return format_ts(_floor_ms(value))


def _where(filters: BookingFilters) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.event_type_id is not None:
        clauses.append("b.event_type_id = ?")
        params.append(filters.event_type_id)
    if filters.host_user_ids:
        marks = ", ".join("?" for _ in filters.host_user_ids)
        clauses.append(f"b.host_user_id IN ({marks})")
        params += filters.host_user_ids
    if filters.attendee_email is not None:
        # the column has the default BINARY collation: exact, case-sensitive
        clauses.append("b.attendee_email = ?")
        params.append(filters.attendee_email)
    if filters.statuses:
        marks = ", ".join("?" for _ in filters.statuses)
        clauses.append(f"b.status IN ({marks})")
        params += filters.statuses
    elif filters.exclude_canceled:
        clauses.append("b.status <> 'canceled'")
    if filters.start_from is not None:
        clauses.append("b.start_at >= ?")
        params.append(_lower_bound(filters.start_from))
    if filters.start_to is not None:
        clauses.append("b.start_at <= ?")
        params.append(_upper_bound(filters.start_to))
    if filters.updated_since is not None:
        clauses.append("b.updated_at >= ?")
        params.append(_lower_bound(filters.updated_since))
    return clauses, params


def sort_keys(row: BookingRow, sort: str) -> list[str]:
    """The keys of ``row`` under ``sort`` as a cursor stores them: the stored text of the sort
    column, then the uid."""
    column, _ = SORTS[sort]
    return [format_ts(getattr(row, column)), row.uid]


def valid_keys(keys: Any, sort: str) -> bool:
    """Whether ``keys`` has the shape :func:`sort_keys` produces for ``sort``."""
    return (
        sort in SORTS
        and isinstance(keys, list)
        and len(keys) == 2
        and all(isinstance(k, str) for k in keys)
    )


async def list_bookings(
    conn: Conn,
    org_id: str,
    filters: BookingFilters,
    *,
    sort: str = DEFAULT_SORT,
    after_keys: Sequence[str] | None = None,
    limit: int = 20,
) -> tuple[list[BookingRow], bool]:
    """One page of organization ``org_id``'s bookings: up to ``limit`` rows strictly after
    ``after_keys`` in ``sort`` order, and whether more rows follow."""
    column, direction = SORTS[sort]
    clauses, params = _where(filters)
    clauses.insert(0, "b.organization_id = ?")
    params.insert(0, org_id)
    if after_keys is not None:
        op = "<" if direction == "DESC" else ">"
        clauses.append(f"(b.{column}, b.uid) {op} (?, ?)")
        params += list(after_keys)
    rows = await fetch_all(
        conn,
        f"{_SELECT} WHERE {' AND '.join(clauses)}"
        f" ORDER BY b.{column} {direction}, b.uid {direction} LIMIT ?",
        (*params, limit + 1),
    )
    has_more = len(rows) > limit
    return [row_to_booking(r) for r in rows[:limit]], has_more


async def list_for_operator(
    conn: Conn, org_id: str | None, statuses: Sequence[str] = ()
) -> list[BookingRow]:
    """Every booking of organization ``org_id`` — of every organization when None — newest
    start first (the command line's ``bookings list``; not for the API)."""
    clauses, params = _where(BookingFilters(statuses=tuple(statuses)))
    if org_id is not None:
        clauses.insert(0, "b.organization_id = ?")
        params.insert(0, org_id)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await fetch_all(
        conn, f"{_SELECT}{where} ORDER BY b.start_at DESC, b.uid DESC", params
    )
    return [row_to_booking(r) for r in rows]
