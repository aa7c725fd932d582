"""The booking rules: create, cancel, reschedule, update, and the operator's actions.

Every write is one unit of work on the database's writer thread (``Database.run_write``), in
one transaction that (1) re-checks availability with the slot engine on current data,
(2) writes the booking, (3) appends to its history, (4) records the domain event in the
outbox and (5) stores the idempotent response — all or nothing, and a single thread hand-off.
Requests for one slot first queue on a per-slot lock with a deadline (503
``slot_lock_timeout`` beyond it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fortytwo.db.database import Database, SyncConn
from fortytwo.http.errors import ApiError, ValidationErrors
from fortytwo.http.idempotency import Recorder
from fortytwo.services import availability
from fortytwo.services.authn import Principal
from fortytwo.services.booking_input import (
    CreateRequest,
    PatchRequest,
    RescheduleRequest,
    check_metadata,
    check_responses,
)
from fortytwo.services.booking_views import rest_booking, webhook_booking
from fortytwo.services.errors import Conflict, NotFound
from fortytwo.services.slot_locks import SlotLocks, SlotLockTimeout
from fortytwo.store import bookings as store
from fortytwo.store import event_types as event_type_store
from fortytwo.store import events as event_store
from fortytwo.store.bookings import BookingRow
from fortytwo.store.common import is_uuid
from fortytwo.store.event_types import EventTypeRow
from fortytwo.timefmt import format_ts

_CHECK_TO_ERROR = {
    "event_type_inactive": (409, "event_type_inactive", "The event type is not taking bookings."),
    "in_past": (409, "slot_in_past", "The requested start is in the past; pick a future slot."),
}


@dataclass(frozen=True)
class WriteContext:
    """What every booking write needs besides its own input."""

    db: Database
    locks: SlotLocks
    lock_timeout: float
    now: datetime
    actor: str


def actor_of(principal: Principal) -> str:
    if principal.auth_type == "oauth":
        return f"oauth:{principal.client_id}:{principal.user_id}"
    return f"pat:{principal.credential_id}"


def _lock_timeout_error() -> ApiError:
    return ApiError(
        503, "slot_lock_timeout",
        "Another request is booking this slot right now; retry with the same Idempotency-Key.",
        headers={"Retry-After": "1"},
    )


def _booking_not_found(uid: str) -> ApiError:
    return ApiError(404, "booking_not_found", f"No booking {uid} in your organization.")


def etag(version: int) -> str:
    return f'"{version}"'


def _event_type_for_create(conn: SyncConn, org_id: str, req: CreateRequest) -> EventTypeRow:
    if req.event_type_id is not None:
        row = event_type_store.load_event_type(conn, org_id, req.event_type_id)
    else:
        row = event_type_store.locate_by_owner_slug(
            conn, org_id, req.username or "", req.event_slug or ""
        )
    if row is None:
        raise ApiError(404, "event_type_not_found", "No such event type in your organization.")
    return row


def _unavailable(check: Any) -> ApiError:
    if check.reason in _CHECK_TO_ERROR:
        status, code, message = _CHECK_TO_ERROR[check.reason]
        return ApiError(status, code, message)
    details: dict[str, Any] = {"reason": check.reason}
    if check.reason_detail:
        details["reason_detail"] = check.reason_detail
    if check.next_available is not None:
        details["next_available"] = format_ts(check.next_available)
    return ApiError(
        409, "slot_unavailable",
        "That time is not available; call /v1/slots and offer one of the returned times.",
        details,
    )


def _emit(conn: SyncConn, row: BookingRow, event: str, now: datetime,
          questions: tuple[dict[str, Any], ...], **extra: Any) -> None:
    data: dict[str, Any] = {"booking": webhook_booking(row, list(questions), extra.pop("rescheduled_at", None))}
    data.update(extra)
    event_store.append_event_now(conn, row.organization_id, event, data, now)


def _reload(conn: SyncConn, row_org: str, uid: str) -> BookingRow:
    row = store.get_booking(conn, row_org, uid)
    assert row is not None
    return row


def _current_event_type(conn: SyncConn, org_id: str, event_type_id: str) -> EventTypeRow:
    row = event_type_store.load_event_type(conn, org_id, event_type_id)
    if row is None:
        raise ApiError(404, "event_type_not_found", "No such event type in your organization.")
    return row


def _insert_new(
    conn: SyncConn, *, event_type: EventTypeRow, host: str | None, status: str,
    start: datetime, timezone: str, people: dict[str, Any], stamp: datetime, **extra: Any,
) -> str:
    """Insert a booking of ``event_type`` at ``start``; ``people`` holds the attendee,
    guests, answers and metadata columns. Returns the new uid."""
    uid = str(uuid.uuid4())
    store.insert_booking(conn, {
        "uid": uid,
        "organization_id": event_type.organization_id,
        "event_type_id": event_type.id,
        "host_user_id": host,
        "status": status,
        "start_at": start,
        "end_at": start + timedelta(minutes=event_type.duration_minutes),
        "timezone": timezone,
        "buffer_before_minutes": event_type.buffer_before_minutes,
        "buffer_after_minutes": event_type.buffer_after_minutes,
        **people,
        **extra,
        "created_at": stamp,
        "updated_at": stamp,
    })
    return uid


def _people_of(row: BookingRow) -> dict[str, Any]:
    """The attendee-side columns of an existing booking (carried over by a reschedule)."""
    return {
        "title": row.title,
        "attendee_email": row.attendee_email,
        "attendee_name": row.attendee_name,
        "attendee_first_name": row.attendee_first_name,
        "attendee_last_name": row.attendee_last_name,
        "attendee_phone": row.attendee_phone,
        "attendee_timezone": row.attendee_timezone,
        "sms_opt_in": int(row.sms_opt_in),
        "guests": row.guests,
        "location": row.location,
        "metadata": row.metadata,
        "responses": row.responses,
        "utm": row.utm,
    }


async def create(
    ctx: WriteContext, principal: Principal, req: CreateRequest, recorder: Recorder
) -> None:
    org_id = principal.organization_id
    event_type = await ctx.db.run_read(_event_type_for_create, org_id, req)
    if not event_type.active:
        raise ApiError(409, "event_type_inactive", "The event type is not taking bookings.")
    if req.start < ctx.now:
        raise ApiError(409, "slot_in_past", "The requested start is in the past; pick a future slot.")
    responses = check_responses(list(event_type.questions), req.responses)
    location = None
    if event_type.locations:
        first = event_type.locations[0]
        location = {"type": first.get("type"), "value": first.get("value"), "url": None}
    people = {
        "title": event_type.title,
        "attendee_email": req.email,
        "attendee_name": req.name,
        "attendee_first_name": req.first_name,
        "attendee_last_name": req.last_name,
        "attendee_phone": req.phone,
        "attendee_timezone": req.attendee_timezone,
        "sms_opt_in": int(req.sms_opt_in),
        "guests": req.guests,
        "location": location,
        "metadata": req.metadata,
        "responses": responses,
        "utm": req.utm,
    }

    def write(conn: SyncConn) -> None:
        current = _current_event_type(conn, org_id, event_type.id)
        check = availability.check_in(conn, current, req.start, ctx.now)
        if not check.available:
            raise _unavailable(check)
        stamp = store.next_updated_at(conn, org_id, ctx.now)
        uid = _insert_new(
            conn, event_type=current, host=check.host_user_id,
            status="pending" if current.requires_confirmation else "confirmed",
            start=req.start,
            timezone=req.timezone or req.attendee_timezone or current.timezone or "UTC",
            people={**people, "title": current.title}, stamp=stamp,
        )
        row = _reload(conn, org_id, uid)
        store.append_history(conn, uid, stamp, ctx.actor, "created", {"status": row.status})
        _emit(conn, row, "booking.created", stamp, current.questions)
        recorder.finish(conn, 201, rest_booking(row), {"ETag": etag(row.version)}, stamp)

    try:
        async with ctx.locks.hold([(event_type.id, req.start)], ctx.lock_timeout):
            await ctx.db.run_write(write, max_wait=ctx.lock_timeout)
    except (SlotLockTimeout, TimeoutError):
        raise _lock_timeout_error() from None


def _load_for_change(conn: SyncConn, org_id: str, uid: str) -> tuple[BookingRow, EventTypeRow]:
    row = store.get_booking(conn, org_id, uid) if is_uuid(uid) else None
    if row is None:
        raise _booking_not_found(uid)
    return row, _current_event_type(conn, org_id, row.event_type_id)


def _refuse_replaced(row: BookingRow) -> None:
    if row.status == "rescheduled":
        raise ApiError(
            409, "booking_already_rescheduled",
            "This booking was moved; act on the booking it was rescheduled to.",
            {"rescheduled_to_uid": row.rescheduled_to_uid},
        )


async def require_booking(db: Database, org_id: str, uid: str) -> BookingRow:
    row = await db.run_read(store.get_booking, org_id, uid) if is_uuid(uid) else None
    if row is None:
        raise _booking_not_found(uid)
    return row


async def cancel(
    ctx: WriteContext, principal: Principal, uid: str, reason: str | None, recorder: Recorder
) -> None:
    org_id = principal.organization_id
    await require_booking(ctx.db, org_id, uid)

    def write(conn: SyncConn) -> None:
        row, event_type = _load_for_change(conn, org_id, uid)
        if row.status == "canceled":
            recorder.finish(conn, 200, rest_booking(row), {"ETag": etag(row.version)}, ctx.now)
            return
        _refuse_replaced(row)
        if not event_type.allow_cancel:
            raise ApiError(422, "event_type_disallows_cancel", "This event type does not allow cancellation.")
        if row.start_at <= ctx.now:
            raise ApiError(409, "booking_in_past", "The booking has already started; it can no longer be canceled.")
        stamp = store.next_updated_at(conn, org_id, ctx.now)
        store.update_booking(conn, uid, {
            "status": "canceled", "cancelled_at": stamp, "cancellation_reason": reason,
            "version": row.version + 1, "updated_at": stamp,
        })
        fresh = _reload(conn, org_id, uid)
        store.append_history(conn, uid, stamp, ctx.actor, "canceled", {"reason": reason})
        _emit(conn, fresh, "booking.canceled", stamp, event_type.questions)
        recorder.finish(conn, 200, rest_booking(fresh), {"ETag": etag(fresh.version)}, stamp)

    await ctx.db.run_write(write)


async def reschedule(
    ctx: WriteContext, principal: Principal, uid: str, req: RescheduleRequest, recorder: Recorder
) -> None:
    org_id = principal.organization_id
    found = await require_booking(ctx.db, org_id, uid)

    def write(conn: SyncConn) -> None:
        old, event_type = _load_for_change(conn, org_id, uid)
        if old.status == "canceled":
            raise ApiError(409, "booking_already_cancelled", "The booking is canceled; create a new one instead.")
        _refuse_replaced(old)
        if not event_type.allow_reschedule:
            raise ApiError(422, "event_type_disallows_reschedule", "This event type does not allow rescheduling.")
        if old.start_at <= ctx.now:
            raise ApiError(409, "booking_in_past", "The booking has already started; it can no longer be moved.")
        if req.start < ctx.now:
            raise ApiError(409, "slot_in_past", "The new start is in the past; pick a future slot.")
        if not event_type.active:
            raise ApiError(409, "event_type_inactive", "The event type is not taking bookings.")
        host = _host_for_reschedule(conn, event_type, old, req.start, ctx.now)
        stamp = store.next_updated_at(conn, org_id, ctx.now)
        new_uid = _insert_new(
            conn, event_type=event_type, host=host, status=old.status, start=req.start,
            timezone=req.timezone or old.timezone, people=_people_of(old), stamp=stamp,
            rescheduled_from_uid=old.uid, reschedule_generation=old.reschedule_generation + 1,
        )
        store.update_booking(conn, old.uid, {
            "status": "rescheduled", "rescheduled_to_uid": new_uid,
            "version": old.version + 1, "updated_at": stamp,
        })
        store.append_history(conn, old.uid, stamp, ctx.actor, "rescheduled",
                             {"to": new_uid, "reason": req.reason})
        store.append_history(conn, new_uid, stamp, ctx.actor, "created",
                             {"from": old.uid, "reason": req.reason})
        fresh = _reload(conn, org_id, new_uid)
        _emit(
            conn, fresh, "booking.rescheduled", stamp, event_type.questions,
            rescheduled_at=format_ts(stamp),
            previousBooking={
                "startTime": format_ts(old.start_at),
                "endTime": format_ts(old.end_at),
                "timezone": old.timezone,
            },
        )
        recorder.finish(conn, 200, rest_booking(fresh), {"ETag": etag(fresh.version)}, stamp)

    try:
        async with ctx.locks.hold([(found.event_type_id, req.start)], ctx.lock_timeout):
            await ctx.db.run_write(write, max_wait=ctx.lock_timeout)
    except (SlotLockTimeout, TimeoutError):
        raise _lock_timeout_error() from None


def _host_for_reschedule(
    conn: SyncConn, event_type: EventTypeRow, old: BookingRow, start: datetime, now: datetime
) -> str | None:
    """Keep the old host when they are free at the new time; otherwise assign again."""
    check = availability.check_in(conn, event_type, start, now, exclude_uid=old.uid)
    if not check.available:
        raise _unavailable(check)
    if event_type.scheduling_type == "collective" and old.host_user_id and check.host_user_id != old.host_user_id:
        keep = availability.check_in(
            conn, event_type, start, now, exclude_uid=old.uid, only_host=old.host_user_id
        )
        if keep.available:
            return old.host_user_id
    return check.host_user_id


async def update(
    ctx: WriteContext, principal: Principal, uid: str, patch: PatchRequest,
    expected_version: int, recorder: Recorder,
) -> None:
    org_id = principal.organization_id
    await require_booking(ctx.db, org_id, uid)

    def write(conn: SyncConn) -> None:
        row, event_type = _load_for_change(conn, org_id, uid)
        if row.status == "canceled":
            raise ApiError(409, "booking_already_cancelled", "The booking is canceled and can no longer be changed.")
        _refuse_replaced(row)
        if row.version != expected_version:
            raise ApiError(
                409, "version_conflict",
                f"The booking changed since version {expected_version} (now {row.version}); "
                "read it again and retry with the new ETag.",
                {"current_version": row.version},
            )
        changes: dict[str, Any] = {}
        if patch.metadata is not None:
            merged = {**row.metadata, **patch.metadata}
            errors = ValidationErrors()
            check_metadata(errors, merged)
            errors.raise_if_any()
            if merged != row.metadata:
                changes["metadata"] = merged
        if patch.responses is not None:
            responses = check_responses(list(event_type.questions), patch.responses)
            if responses != row.responses:
                changes["responses"] = responses
        if patch.attendee_name is not None and patch.attendee_name != row.attendee_name:
            changes["attendee_name"] = patch.attendee_name
        stamp = store.next_updated_at(conn, org_id, ctx.now)
        changed_fields = sorted(changes)
        changes.update({"version": row.version + 1, "updated_at": stamp})
        store.update_booking(conn, uid, changes)
        store.append_history(conn, uid, stamp, ctx.actor, "updated", {"fields": changed_fields})
        fresh = _reload(conn, org_id, uid)
        _emit(conn, fresh, "booking.updated", stamp, event_type.questions, changed_fields=changed_fields)
        recorder.finish(conn, 200, rest_booking(fresh), {"ETag": etag(fresh.version)}, stamp)

    await ctx.db.run_write(write)


# -- operator actions (command line) --------------------------------------------------------

def _admin_change(
    conn: SyncConn, uid: str, now: datetime, action: str, reason: str | None
) -> BookingRow:
    row = store.get_booking_any_org(conn, uid)
    if row is None:
        raise NotFound(f"no booking {uid}")
    event_type = _current_event_type(conn, row.organization_id, row.event_type_id)
    stamp = store.next_updated_at(conn, row.organization_id, now)
    if action in ("confirm", "decline"):
        if row.status != "pending":
            raise Conflict(f"booking {uid} is {row.status}, not pending")
        if action == "confirm":
            changes: dict[str, Any] = {"status": "confirmed"}
            event, extra = "booking.updated", {"changed_fields": ["status"]}
        else:
            changes = {"status": "canceled", "cancelled_at": stamp,
                       "cancellation_reason": reason or "Declined by the host"}
            event, extra = "booking.canceled", {}
    else:
        if row.status in ("canceled", "rescheduled"):
            raise Conflict(f"booking {uid} is {row.status}")
        if row.start_at > now:
            raise Conflict(f"booking {uid} has not started yet")
        changes = {"no_show_at": stamp, "no_show_reason": reason}
        event, extra = "booking.no_show", {}
    changes.update({"version": row.version + 1, "updated_at": stamp})
    store.update_booking(conn, uid, changes)
    store.append_history(conn, uid, stamp, "cli", action, {"reason": reason})
    fresh = _reload(conn, row.organization_id, uid)
    _emit(conn, fresh, event, stamp, event_type.questions, **extra)
    return fresh


async def confirm(db: Database, uid: str, now: datetime) -> BookingRow:
    return await db.run_write(_admin_change, uid, now, "confirm", None)


async def decline(db: Database, uid: str, now: datetime, reason: str | None = None) -> BookingRow:
    return await db.run_write(_admin_change, uid, now, "decline", reason)


async def no_show(db: Database, uid: str, now: datetime, reason: str | None = None) -> BookingRow:
    return await db.run_write(_admin_change, uid, now, "no_show", reason)
