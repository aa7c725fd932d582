"""The scope vocabulary: active and reserved scopes, aliases, expansion."""

from __future__ import annotations

from collections.abc import Iterable

ACTIVE = (
    "user:read",
    "event_types:read",
    "slots:read",
    "bookings:read",
    "bookings:create",
    "bookings:cancel",
    "bookings:reschedule",
    "bookings:update",
    "webhooks:read",
    "webhooks:write",
)
RESERVED = (
    "event_types:create",
    "event_types:update",
    "event_types:delete",
    "availability:read",
    "availability:write",
)
ALIASES = {
    "bookings:write": (
        "bookings:create",
        "bookings:cancel",
        "bookings:reschedule",
        "bookings:update",
    ),
    "event_types:write": ("event_types:create", "event_types:update", "event_types:delete"),
}
OFFLINE_ACCESS = "offline_access"
GRANTABLE = frozenset(ACTIVE) | frozenset(RESERVED)
ALL_PAT_SCOPES = tuple(ACTIVE) + tuple(RESERVED)
_ORDER = {scope: i for i, scope in enumerate(ALL_PAT_SCOPES)}

DESCRIPTIONS = {
    "user:read": "See your name, email and organization",
    "event_types:read": "See your event types",
    "slots:read": "See when you are available",
    "bookings:read": "See your bookings",
    "bookings:create": "Create bookings",
    "bookings:cancel": "Cancel bookings",
    "bookings:reschedule": "Move bookings to another time",
    "bookings:update": "Change booking notes, answers and attendee names",
    "webhooks:read": "See the webhooks this app created",
    "webhooks:write": "Create, change and delete webhooks for this app",
    "event_types:create": "Create event types",
    "event_types:update": "Change event types",
    "event_types:delete": "Delete event types",
    "availability:read": "See your schedules",
    "availability:write": "Change your schedules",
    OFFLINE_ACCESS: "Stay connected when you are not using the app",
}


class UnknownScope(ValueError):
    def __init__(self, scope: str) -> None:
        super().__init__(
            f"unknown scope {scope!r}; known scopes: {', '.join(ALL_PAT_SCOPES)}, "
            f"and the aliases {', '.join(ALIASES)}"
        )
        self.scope = scope


def expand(scopes: Iterable[str], *, allow_offline: bool = False) -> tuple[str, ...]:
    """Unroll aliases and check every name; return a sorted, de-duplicated tuple."""
    out: set[str] = set()
    for raw in scopes:
        scope = raw.strip()
        if not scope:
            continue
        if scope in ALIASES:
            out.update(ALIASES[scope])
        elif scope in GRANTABLE or (allow_offline and scope == OFFLINE_ACCESS):
            out.add(scope)
        else:
            raise UnknownScope(scope)
    return tuple(sorted(out, key=lambda s: _ORDER.get(s, len(_ORDER))))
