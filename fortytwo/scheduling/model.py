"""Plain value types that the slot engine reads and returns.

The engine (``fortytwo.scheduling.engine``) is pure: the service layer loads these from the
database, passes them in together with the current time, and shapes the result for HTTP.
All datetimes here are timezone-aware UTC; local dates and wall-clock minutes are
interpreted in the schedule's IANA zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# A wall-clock range inside one local day, in minutes since local midnight: (start, end),
# 0 <= start < end <= 1440. 1440 is the "24:00" end of the day.
MinuteRange = tuple[int, int]

# The longest an event type (and so a booking) may last. Availability queries rely on it to
# look back only this far for bookings that may still be running at a window's start.
MAX_DURATION_MINUTES = 720


@dataclass(frozen=True, slots=True)
class Schedule:
    """Weekly working hours in one zone, with per-date overrides."""

    timezone: str
    # weekday (0 = Monday … 6 = Sunday) -> ranges, sorted, non-overlapping
    weekly: dict[int, tuple[MinuteRange, ...]]
    # local date -> ranges replacing that date's weekly hours; an empty tuple = unavailable
    overrides: dict[date, tuple[MinuteRange, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Limits:
    """Maximum meetings per local day / week (Monday start) / month; None = unlimited."""

    per_day: int | None = None
    per_week: int | None = None
    per_month: int | None = None


@dataclass(frozen=True, slots=True)
class Busy:
    """An existing non-canceled booking (pending or confirmed) of the host."""

    start: datetime
    end: datetime
    buffer_before: int = 0  # minutes, of the booking's own event type
    buffer_after: int = 0
    event_type_id: str | None = None


@dataclass(frozen=True, slots=True)
class Host:
    """One person who can be assigned to the event type, with everything about them."""

    user_id: str
    schedule: Schedule
    # inclusive local date ranges (first, last), in the schedule's zone
    out_of_office: tuple[tuple[date, date], ...] = ()
    busy: tuple[Busy, ...] = ()
    user_limits: Limits = Limits()
    # non-canceled bookings of this event type in the 30 days before now (round-robin choice)
    recent_bookings: int = 0


@dataclass(frozen=True, slots=True)
class EventRules:
    """The event type's scheduling rules."""

    event_type_id: str
    duration: int  # minutes
    interval: int  # slot increment in minutes
    scheduling_type: str = "individual"  # individual | collective (round robin) | group
    active: bool = True
    buffer_before: int = 0
    buffer_after: int = 0
    minimum_notice: int = 0  # minutes
    future_limit_days: int = 60
    limits: Limits = Limits()  # per event type, counted per host
    seats_per_slot: int | None = None  # group only


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime
    host_user_id: str
    seats_remaining: int | None = None  # group only


@dataclass(frozen=True, slots=True)
class SlotList:
    slots: tuple[Slot, ...]
    truncated: bool


@dataclass(frozen=True, slots=True)
class SlotCheck:
    available: bool
    # set when available
    host_user_id: str | None = None
    seats_remaining: int | None = None
    # set when not available
    reason: str | None = None  # event_type_inactive|in_past|outside_minimum_notice|outside_future_limit|slot_busy
    reason_detail: str | None = None  # outside_working_hours|off_increment|booked|buffer|limit_reached|seats_full|out_of_office
    next_available: datetime | None = None
