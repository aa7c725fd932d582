"""Turning stored rows into slot-engine inputs, and the two slot queries.

One path builds the inputs for ``/v1/slots``, ``/v1/slots/check`` and booking creation, so
the three always agree.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from fortytwo.db.database import Database, SyncConn
from fortytwo.scheduling import engine
from fortytwo.scheduling.model import Busy, EventRules, Host, Limits, Schedule, SlotCheck, SlotList
from fortytwo.store import availability as store
from fortytwo.timefmt import parse_db_ts

# How far around a window existing bookings can matter: a month (month limits), a week
# (week limits), otherwise two days (a working range spans at most a local day, and buffers
# and durations are at most 12 hours each).
MONTH_MARGIN = timedelta(days=32)
WEEK_MARGIN = timedelta(days=8)
DAY_MARGIN = timedelta(days=2)
# round robin prefers the host with the fewest bookings made in this period
RECENT = timedelta(days=30)
UTC_SCHEDULE_NAME = "UTC"


def _ranges(items: list[list[int]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(s), int(e)) for s, e in items)


def schedule_from_row(row: Any) -> Schedule:
    weekly = json.loads(row["weekly"])
    overrides = json.loads(row["overrides"])
    return Schedule(
        timezone=row["timezone"],
        weekly={day: _ranges(ranges) for day, ranges in enumerate(weekly)},
        overrides={date.fromisoformat(d): _ranges(r) for d, r in overrides.items()},
    )


def rules_for(event_type: Any) -> EventRules:
    return EventRules(
        event_type_id=event_type.id,
        duration=event_type.duration_minutes,
        interval=event_type.slot_interval_minutes,
        scheduling_type=event_type.scheduling_type,
        active=bool(event_type.active),
        buffer_before=event_type.buffer_before_minutes,
        buffer_after=event_type.buffer_after_minutes,
        minimum_notice=event_type.minimum_notice_minutes,
        future_limit_days=event_type.future_limit_days,
        limits=Limits(
            event_type.max_bookings_per_day,
            event_type.max_bookings_per_week,
            event_type.max_bookings_per_month,
        ),
        seats_per_slot=event_type.seats_per_slot,
    )


def host_ids(event_type: Any) -> list[str]:
    return [host.user_id for host in event_type.hosts]


def load_hosts(
    conn: SyncConn,
    event_type: Any,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    exclude_uid: str | None = None,
) -> list[Host]:
    """Everything the engine needs about the event type's hosts for [start, end)."""
    ids = host_ids(event_type)
    if not ids:
        return []
    schedules = store.schedules_for(conn, ids, event_type.schedule_id)
    by_user: dict[str, Schedule] = {}
    named = next((r for r in schedules if r["id"] == event_type.schedule_id), None)
    for row in schedules:
        if row["is_default"] and row["user_id"] not in by_user:
            by_user[row["user_id"]] = schedule_from_row(row)
    if named is not None:
        by_user[named["user_id"]] = schedule_from_row(named)

    ooo: dict[str, list[tuple[date, date]]] = {}
    for row in store.out_of_office_for(conn, ids):
        ooo.setdefault(row["user_id"], []).append(
            (date.fromisoformat(row["start_date"]), date.fromisoformat(row["end_date"]))
        )
    limits = {
        row["user_id"]: Limits(row["per_day"], row["per_week"], row["per_month"])
        for row in store.limits_for(conn, ids)
    }
    margin = _margin([rules_for(event_type).limits, *limits.values()])
    busy: dict[str, list[Busy]] = {}
    for row in store.busy_for(conn, ids, start - margin, end + margin, exclude_uid):
        busy.setdefault(row["host_user_id"], []).append(
            Busy(
                start=parse_db_ts(row["start_at"]),
                end=parse_db_ts(row["end_at"]),
                buffer_before=row["buffer_before_minutes"],
                buffer_after=row["buffer_after_minutes"],
                event_type_id=row["event_type_id"],
            )
        )
    recent = (
        store.recent_counts(conn, event_type.id, ids, now - RECENT)
        if event_type.scheduling_type == "collective"
        else {}
    )
    empty = Schedule(timezone="UTC", weekly={})
    return [
        Host(
            user_id=uid,
            schedule=by_user.get(uid, empty),
            out_of_office=tuple(ooo.get(uid, ())),
            busy=tuple(busy.get(uid, ())),
            user_limits=limits.get(uid, Limits()),
            recent_bookings=recent.get(uid, 0),
        )
        for uid in ids
    ]


def _margin(all_limits: list[Limits]) -> timedelta:
    if any(limit.per_month is not None for limit in all_limits):
        return MONTH_MARGIN
    if any(limit.per_week is not None for limit in all_limits):
        return WEEK_MARGIN
    return DAY_MARGIN


def slots_in(
    conn: SyncConn, event_type: Any, start: datetime, end: datetime, now: datetime
) -> SlotList:
    """The offered slots in [start, end); runs on a database thread."""
    hosts = load_hosts(conn, event_type, start, end, now)
    return engine.compute_slots(rules_for(event_type), hosts, start, end, now)


async def list_slots(
    db: Database, event_type: Any, start: datetime, end: datetime, now: datetime
) -> SlotList:
    return await db.run_read(slots_in, event_type, start, end, now)


async def check(db: Database, event_type: Any, start: datetime, now: datetime) -> SlotCheck:
    return await db.run_read(check_in, event_type, start, now)


def check_in(
    conn: SyncConn,
    event_type: Any,
    start: datetime,
    now: datetime,
    *,
    exclude_uid: str | None = None,
    only_host: str | None = None,
) -> SlotCheck:
    """Is ``start`` offered? ``exclude_uid`` ignores one booking (the one being moved);
    ``only_host`` asks about one host of a round-robin event type."""
    rules = rules_for(event_type)

    def hosts_for(first: datetime, last: datetime) -> list[Host]:
        hosts = load_hosts(conn, event_type, first, last, now, exclude_uid=exclude_uid)
        return [h for h in hosts if only_host is None or h.user_id == only_host]

    # Bookings near the start decide the answer; only a busy slot's next_available needs
    # the whole way to the future limit, so that wider read happens only then.
    end = start + timedelta(minutes=event_type.duration_minutes)
    result = engine.check_slot(rules, hosts_for(start, end), start, now)
    if result.available or result.reason != "slot_busy":
        return result
    horizon = max(start, now + timedelta(days=event_type.future_limit_days))
    return engine.check_slot(rules, hosts_for(start, horizon + timedelta(days=1)), start, now)
