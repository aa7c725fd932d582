"""bookings: list bookings, confirm or decline pending ones, mark no-shows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click

from fortytwo.cli.context import CliState, emit_json, pass_state, with_db
from fortytwo.db.database import Database
from fortytwo.services import accounts as account_service
from fortytwo.services import bookings as booking_service
from fortytwo.services.booking_views import rest_booking
from fortytwo.store import booking_queries
from fortytwo.store.bookings import BookingRow
from fortytwo.timefmt import format_ts, system_clock


def booking_json(row: BookingRow) -> dict[str, Any]:
    """What ``--json`` prints for a booking: the API's ``Booking`` (with ``responses``) plus
    ``organization_id``."""
    return {**rest_booking(row), "organization_id": row.organization_id}


def _statuses(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    found: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if item not in booking_queries.STATUSES:
            raise click.BadParameter(
                f"{item!r} is not a status; use a comma-separated list of "
                f"{', '.join(booking_queries.STATUSES)}",
                param_hint="--status",
            )
        if item not in found:
            found.append(item)
    return tuple(found)


def _line(row: BookingRow) -> str:
    host = row.host_username or "-"
    return (
        f"{row.uid}  {format_ts(row.start_at)}  {row.status:<11} "
        f"{row.event_type_slug or '-':<20} {row.attendee_email}  host={host}"
    )


@click.group()
def bookings() -> None:
    """List bookings; confirm, decline or mark them as no-shows."""


@bookings.command("list")
@click.option("--org", help="Only this organization (name or id).")
@click.option("--status", help="Comma-separated: pending,confirmed,canceled,rescheduled.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def bookings_list(state: CliState, org: str | None, status: str | None, as_json: bool) -> None:
    """List bookings, latest start first."""
    statuses = _statuses(status)

    async def go(db: Database) -> list[BookingRow]:
        org_id = await account_service.org_filter(db, org)
        return await booking_queries.list_for_operator(db.reader, org_id, statuses)

    rows = with_db(state.settings(), go)
    if as_json:
        emit_json([booking_json(r) for r in rows])
        return
    for row in rows:
        click.echo(_line(row))


def _act(
    state: CliState,
    change: Callable[[Database], Awaitable[BookingRow]],
    verb: str,
    as_json: bool,
) -> None:
    row = with_db(state.settings(), change)
    if as_json:
        emit_json(booking_json(row))
    else:
        click.echo(f"{verb} booking {row.uid} (status {row.status}, version {row.version})")


@bookings.command("confirm")
@click.argument("uid")
@click.option("--json", "as_json", is_flag=True, help="Print the booking as JSON.")
@pass_state
def bookings_confirm(state: CliState, uid: str, as_json: bool) -> None:
    """Confirm a pending booking."""
    _act(state, lambda db: booking_service.confirm(db, uid, system_clock()), "confirmed", as_json)


@bookings.command("decline")
@click.argument("uid")
@click.option("--reason", help="Stored as the cancellation reason.")
@click.option("--json", "as_json", is_flag=True, help="Print the booking as JSON.")
@pass_state
def bookings_decline(state: CliState, uid: str, reason: str | None, as_json: bool) -> None:
    """Decline a pending booking (it becomes canceled)."""
    _act(
        state,
        lambda db: booking_service.decline(db, uid, system_clock(), reason),
        "declined",
        as_json,
    )


@bookings.command("no-show")
@click.argument("uid")
@click.option("--reason", help="Why, for the record.")
@click.option("--json", "as_json", is_flag=True, help="Print the booking as JSON.")
@pass_state
def bookings_no_show(state: CliState, uid: str, reason: str | None, as_json: bool) -> None:
    """Mark a booking that has started as a no-show (emits booking.no_show)."""
    _act(
        state,
        lambda db: booking_service.no_show(db, uid, system_clock(), reason),
        "no-show recorded for",
        as_json,
    )
