"""Small helpers shared by the store modules."""

from __future__ import annotations

import uuid
from datetime import datetime

from fortytwo.timefmt import format_ts


def new_id() -> str:
    return str(uuid.uuid4())


def ts(value: datetime) -> str:
    """The stored form of a timestamp: the wire form, which sorts as text."""
    return format_ts(value)


def is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower() and len(text) == 36
    except (ValueError, AttributeError, TypeError):
        return False
