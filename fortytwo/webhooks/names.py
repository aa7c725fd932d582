"""Event names: ``booking_created`` on the REST API, ``booking.created`` on a delivery."""

from __future__ import annotations

# REST / subscription name -> the dotted name of the delivery, in the reference's order.
DOTTED: dict[str, str] = {
    "booking_created": "booking.created",
    "booking_updated": "booking.updated",
    "booking_canceled": "booking.canceled",
    "booking_rescheduled": "booking.rescheduled",
    "booking_no_show": "booking.no_show",
    "event_type_updated": "event_type.updated",
    "event_type_deleted": "event_type.deleted",
    "routing_form_submitted": "routing.form_submitted",
}
UNDERSCORE: dict[str, str] = {dotted: name for name, dotted in DOTTED.items()}
EVENT_NAMES: tuple[str, ...] = tuple(DOTTED)

API_VERSION = "2026-04-01"


def to_underscore(dotted: str) -> str:
    """The subscription name of a dotted event name (unknown names pass through)."""
    return UNDERSCORE.get(dotted, dotted.replace(".", "_"))
