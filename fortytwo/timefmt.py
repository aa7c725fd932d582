"""Timestamps on the wire: UTC with milliseconds and ``Z`` out, explicit offsets in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]

# Instants the API accepts: far enough from datetime's limits that nothing computed from them
# (offsets, windows, buffers, meeting-limit periods) can overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def system_clock() -> datetime:
    return datetime.now(UTC)


def format_ts(value: datetime) -> str:
    """``2026-05-20T10:00:00.000Z`` for an aware datetime."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def format_optional(value: datetime | None) -> str | None:
    return None if value is None else format_ts(value)


def parse_ts(text: str) -> datetime:
    """Parse an ISO 8601 instant that carries an offset or ``Z``; naive input is refused."""
    if not isinstance(text, str) or not 10 <= len(text) <= 40 or not text[:4].isdigit():
        raise ValueError("expected an ISO 8601 timestamp such as 2026-05-20T10:00:00Z")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            "expected an ISO 8601 timestamp such as 2026-05-20T10:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise ValueError("the timestamp has no UTC offset; add Z or an offset such as +02:00")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # an offset pushed it past year 1 or 9999
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError("the timestamp must fall between 1900-01-01 and 9000-01-01")
    return utc


def parse_db_ts(text: str | None) -> datetime | None:
    """Timestamps as stored by the data layer (always our own format)."""
    if text is None:
        return None
    return datetime.fromisoformat(text)
