"""How a booking looks on the REST surface (snake_case ``Booking``) and in webhook
payloads (camelCase ``WebhookBooking``)."""

from __future__ import annotations

from typing import Any

from fortytwo.store.bookings import BookingRow
from fortytwo.timefmt import format_optional, format_ts


def guest_entry(email: str) -> dict[str, str]:
    return {"email": email, "name": email.split("@", 1)[0]}


def rest_booking(row: BookingRow, *, with_responses: bool = True) -> dict[str, Any]:
    location = None
    if row.location is not None:
        location = {
            "type": row.location.get("type"),
            "url": row.location.get("url"),
            "value": row.location.get("value"),
        }
    return {
        "uid": row.uid,
        "version": row.version,
        "event_type_id": row.event_type_id,
        "event_type_slug": row.event_type_slug,
        "title": row.title,
        "status": row.status,
        "start_at": format_ts(row.start_at),
        "end_at": format_ts(row.end_at),
        "timezone": row.timezone,
        "host": None
        if row.host_user_id is None
        else {"user_id": row.host_user_id, "username": row.host_username, "email": row.host_email},
        "attendees": [
            {"email": row.attendee_email, "name": row.attendee_name, "timezone": row.attendee_timezone}
        ],
        "guests": [guest_entry(g) for g in row.guests],
        "location": location,
        "metadata": row.metadata,
        "responses": row.responses if with_responses else None,
        "calendar_sync_status": "not_applicable",
        "calendar_event_id": None,
        "rescheduled_from_uid": row.rescheduled_from_uid,
        "rescheduled_to_uid": row.rescheduled_to_uid,
        "cancelled_at": format_optional(row.cancelled_at),
        "cancellation_reason": row.cancellation_reason,
        "no_show_at": format_optional(row.no_show_at),
        "no_show_reason": row.no_show_reason,
        "created_at": format_ts(row.created_at),
        "updated_at": format_ts(row.updated_at),
    }


def webhook_booking(
    row: BookingRow, questions: list[dict[str, Any]], rescheduled_at: str | None = None
) -> dict[str, Any]:
    by_key = {q["key"]: q for q in questions}
    answers = {by_key[k]["label"] if k in by_key else k: v for k, v in row.responses.items()}
    answers_by_id = {by_key[k]["id"] if k in by_key else k: v for k, v in row.responses.items()}
    url_params = dict(row.utm)
    location = row.location or {}
    return {
        "id": row.uid,
        "eventTypeId": row.event_type_id,
        "eventTypeName": row.event_type_title,
        "startTime": format_ts(row.start_at),
        "endTime": format_ts(row.end_at),
        "timezone": row.timezone,
        "status": row.status,
        "inviteeName": row.attendee_name,
        "inviteeEmail": row.attendee_email,
        "inviteePhone": row.attendee_phone,
        "guests": [guest_entry(g) for g in row.guests],
        "answers": answers,
        "answersById": answers_by_id,
        "routingFormAnswers": None,
        "urlParams": {k: v for k, v in url_params.items() if isinstance(v, str)},
        "location": location.get("value") or location.get("type"),
        "meetLink": location.get("url"),
        "cancelledAt": format_optional(row.cancelled_at),
        "cancelledReason": row.cancellation_reason,
        "noShowAt": format_optional(row.no_show_at),
        "noShowReason": row.no_show_reason,
        "rescheduledAt": rescheduled_at,
        "reschedule_generation": row.reschedule_generation,
        "hostUser": None
        if row.host_user_id is None
        else {
            "id": row.host_user_id,
            "firstName": row.host_first_name,
            "lastName": row.host_last_name,
            "email": row.host_email,
        },
        "organizationId": row.organization_id,
    }
