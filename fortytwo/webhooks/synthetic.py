"""The made-up event that ``POST /v1/webhooks/{id}/test`` sends.

It has the exact shape of a real delivery of the webhook's first subscribed event, so a
receiver can exercise its parsing as well as its signature check; the request also carries
``X-42min-Webhook-Test: true``. Ids in it are fresh UUIDs that name nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fortytwo.timefmt import format_ts


def _booking(event: str, organization_id: str, now: datetime) -> dict[str, Any]:
    start = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(minutes=30)
    booking: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "eventTypeId": str(uuid.uuid4()),
        "eventTypeName": "Test event",
        "startTime": format_ts(start),
        "endTime": format_ts(end),
        "timezone": "UTC",
        "status": "confirmed",
        "inviteeName": "Test Invitee",
        "inviteeEmail": "invitee@example.com",
        "inviteePhone": None,
        "guests": [],
        "answers": {},
        "answersById": {},
        "routingFormAnswers": None,
        "urlParams": {},
        "location": None,
        "meetLink": None,
        "cancelledAt": None,
        "cancelledReason": None,
        "noShowAt": None,
        "noShowReason": None,
        "rescheduledAt": None,
        "reschedule_generation": 0,
        "hostUser": None,
        "organizationId": organization_id,
    }
    data: dict[str, Any] = {"booking": booking}
    if event == "booking.canceled":
        booking.update(status="canceled", cancelledAt=format_ts(now), cancelledReason="Test")
    elif event == "booking.no_show":
        booking.update(noShowAt=format_ts(now), noShowReason="Test")
    elif event == "booking.rescheduled":
        booking.update(rescheduledAt=format_ts(now), reschedule_generation=1)
        data["previousBooking"] = {
            "startTime": format_ts(start - timedelta(hours=1)),
            "endTime": format_ts(end - timedelta(hours=1)),
            "timezone": "UTC",
        }
    elif event == "booking.updated":
        data["changed_fields"] = ["metadata"]
    return data


def _event_type(now: datetime) -> dict[str, Any]:
    stamp = format_ts(now)
    return {
        "event_type": {
            "id": str(uuid.uuid4()),
            "slug": "test-event",
            "title": "Test event",
            "description": None,
            "duration_minutes": 30,
            "active": True,
            "scheduling_type": "individual",
            "hosts": [],
            "url": None,
            "color": "#3b82f6",
            "buffer_before_minutes": 0,
            "buffer_after_minutes": 0,
            "minimum_notice_hours": 0,
            "minimum_notice_minutes": 0,
            "future_limit_days": 60,
            "slot_interval_minutes": 30,
            "timezone": "UTC",
            "created_at": stamp,
            "updated_at": stamp,
            "locations": [],
            "questions": [],
            "max_bookings_per_day": None,
            "max_bookings_per_week": None,
            "max_bookings_per_month": None,
            "seats_per_slot": None,
            "requires_confirmation": False,
            "allow_reschedule": True,
            "allow_cancel": True,
        }
    }


def _routing(organization_id: str) -> dict[str, Any]:
    return {
        "response": {
            "id": str(uuid.uuid4()),
            "routingFormId": str(uuid.uuid4()),
            "formName": "Test form",
            "answers": {},
            "destinationType": "event_type",
            "destinationValue": None,
            "organizationId": organization_id,
        }
    }


def synthetic_data(event: str, organization_id: str, now: datetime) -> dict[str, Any]:
    """The envelope ``data`` of a test delivery of ``event`` (dotted name)."""
    if event.startswith("booking."):
        return _booking(event, organization_id, now)
    if event.startswith("event_type."):
        return _event_type(now)
    return _routing(organization_id)
