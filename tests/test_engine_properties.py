"""Invariants of the slot engine over random schedules, bookings and rules (hypothesis).

The checks here re-derive each rule independently of the engine's implementation: working
ranges by scanning the zone minute by minute, collisions with the two-sided buffer rule as
written (not the engine's merged form), limits by plain counting.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fortytwo.scheduling.engine import check_slot, compute_slots
from fortytwo.scheduling.model import (
    Busy,
    EventRules,
    Host,
    Limits,
    MinuteRange,
    Schedule,
    Slot,
)

ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"]
# days around the 2026 transitions of the zones above, and an ordinary one
BASE_DAYS = [
    date(2026, 3, 6),
    date(2026, 3, 27),
    date(2026, 4, 3),
    date(2026, 6, 1),
    date(2026, 10, 2),
    date(2026, 10, 23),
    date(2026, 10, 30),
]
TICK = timedelta(microseconds=1)
DETAILS = {
    "out_of_office",
    "outside_working_hours",
    "seats_full",
    "limit_reached",
    "booked",
    "buffer",
    "off_increment",
}
PROFILE = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------- strategies


COMMON_DAYS = [((9 * 60, 17 * 60),), ((0, 1440),), ((8 * 60, 12 * 60), (13 * 60, 18 * 60))]


@st.composite
def day_ranges(draw) -> tuple[MinuteRange, ...]:
    if draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(COMMON_DAYS))
    n = draw(st.sampled_from([1, 2, 1, 2, 3, 0]))
    points = sorted(draw(st.lists(st.integers(0, 288), min_size=2 * n, max_size=2 * n)))
    # pairs of sorted points: ranges may touch; empty ones are dropped
    return tuple(
        (points[2 * i] * 5, points[2 * i + 1] * 5)
        for i in range(n)
        if points[2 * i] < points[2 * i + 1]
    )


def limits_strategy():
    small = st.sampled_from([None, 2, None, 1, 3, 5, 0])
    some = st.builds(Limits, small, small, small)
    return st.integers(0, 3).flatmap(lambda k: some if k == 3 else st.just(Limits()))


@st.composite
def busy_items(draw, tz: str, base: date, event_type_id: str) -> tuple[Busy, ...]:
    origin = datetime.combine(base, time(), tzinfo=UTC)
    items = []
    for _ in range(draw(st.integers(0, 10))):
        if draw(st.booleans()):
            # during typical local working hours
            day = base + timedelta(days=draw(st.integers(-1, 6)))
            local = time(draw(st.integers(8, 16)), draw(st.sampled_from([0, 30, 15, 45, 10])))
            start = datetime.combine(day, local, tzinfo=ZoneInfo(tz)).astimezone(UTC)
        else:
            start = origin + timedelta(minutes=5 * draw(st.integers(-288, 7 * 288)))
        length = timedelta(minutes=5 * draw(st.integers(1, 36)))
        b = Busy(
            start=start,
            end=start + length,
            buffer_before=draw(st.sampled_from([0, 0, 5, 15, 30, 45])),
            buffer_after=draw(st.sampled_from([0, 0, 5, 15, 30, 45])),
            event_type_id=draw(st.sampled_from([event_type_id, event_type_id, "other", None])),
        )
        items.append(b)
        if b.event_type_id == event_type_id and draw(st.booleans()):
            # more seats of the same session (identical start)
            items.extend([b] * draw(st.integers(1, 3)))
    return tuple(items)


@st.composite
def hosts_strategy(draw, tz: str, base: date, count: int, event_type_id: str) -> list[Host]:
    hosts = []
    for i in range(count):
        weekly = {wd: draw(day_ranges()) for wd in range(7)}
        override_days = draw(st.lists(st.integers(-2, 7), max_size=3))
        overrides = {
            base + timedelta(days=k): draw(st.one_of(st.just(()), day_ranges()))
            for k in override_days
        }
        ooo = ()
        if draw(st.integers(0, 3)) == 0:
            first = base + timedelta(days=draw(st.integers(-2, 7)))
            ooo = ((first, first + timedelta(days=draw(st.integers(0, 2)))),)
        hosts.append(
            Host(
                user_id=f"h{i}",
                schedule=Schedule(timezone=tz, weekly=weekly, overrides=overrides),
                out_of_office=ooo,
                busy=draw(busy_items(tz, base, event_type_id)),
                user_limits=draw(limits_strategy()),
                recent_bookings=draw(st.integers(0, 3)),
            )
        )
    return hosts


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(BASE_DAYS))
    kind = draw(st.sampled_from(["individual", "collective", "group"]))
    rules = EventRules(
        event_type_id="et",
        duration=draw(st.sampled_from([30, 15, 20, 45, 60, 90])),
        interval=draw(st.sampled_from([30, 15, 10, 20, 45, 60])),
        scheduling_type=kind,
        buffer_before=draw(st.sampled_from([0, 0, 5, 10, 30])),
        buffer_after=draw(st.sampled_from([0, 0, 5, 10, 30])),
        minimum_notice=draw(st.sampled_from([0, 0, 30, 120, 600])),
        future_limit_days=draw(st.sampled_from([10, 7, 10, 3, 1, 0])),
        limits=draw(limits_strategy()),
        seats_per_slot=draw(st.integers(1, 4)) if kind == "group" else None,
    )
    count = draw(st.integers(1, 3)) if kind == "collective" else 1
    hosts = draw(hosts_strategy(tz, base, count, rules.event_type_id))
    origin = datetime.combine(base, time(), tzinfo=UTC)
    ws = origin + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
    hours = draw(st.sampled_from([48, 24, 72, 24, 6, 1]))
    we = ws + timedelta(hours=hours, minutes=draw(st.integers(-59, 59)))
    # now: mostly somewhat before the window, sometimes inside it
    now = ws - timedelta(minutes=draw(st.integers(-24 * 60, 2 * 24 * 60)))
    probes = draw(st.lists(st.integers(0, 3 * 24 * 12), max_size=12))
    return rules, hosts, ws, we, now, probes


# --------------------------------------------------------------------------- oracles


@lru_cache(maxsize=100_000)
def wall_boundary(tz: str, wall: datetime) -> datetime:
    """The earliest instant whose local wall time is at or after ``wall``.

    That is the first occurrence of an existing wall time, and the end of the gap for a wall
    time skipped by a spring-forward transition.
    """
    zone = ZoneInfo(tz)

    def local(t: datetime) -> datetime:
        return t.astimezone(zone).replace(tzinfo=None)

    t = wall.replace(tzinfo=UTC) - timedelta(hours=15)
    while local(t) < wall:
        t += timedelta(minutes=15)
    t -= timedelta(minutes=15)
    while local(t) < wall:
        t += timedelta(minutes=1)
    return t


def is_ooo(h: Host, d: date) -> bool:
    return any(a <= d <= b for a, b in h.out_of_office)


def spec_for(h: Host, d: date) -> tuple[MinuteRange, ...]:
    if is_ooo(h, d):
        return ()
    if d in h.schedule.overrides:
        return h.schedule.overrides[d]
    return h.schedule.weekly.get(d.weekday(), ())


def fits_working_range(h: Host, start: datetime, end: datetime) -> bool:
    tz = h.schedule.timezone
    local_start = start.astimezone(ZoneInfo(tz))
    minute = local_start.hour * 60 + local_start.minute
    d = local_start.date()
    for day in (d - timedelta(days=1), d):
        midnight = datetime.combine(day, time())
        for a, b in spec_for(h, day):
            lo = wall_boundary(tz, midnight + timedelta(minutes=a))
            hi = wall_boundary(tz, midnight + timedelta(minutes=b))
            if lo <= start and end <= hi:
                if day == d:
                    assert minute >= a  # wall-clock view agrees
                return True
    return False


def overlaps(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> bool:
    return a0 < b1 and b0 < a1


def collides(r: EventRules, b: Busy, start: datetime) -> bool:
    """Rule 3 exactly as written: two one-sided checks."""
    end = start + timedelta(minutes=r.duration)
    padded_booking = (
        b.start - timedelta(minutes=b.buffer_before),
        b.end + timedelta(minutes=b.buffer_after),
    )
    padded_candidate = (
        start - timedelta(minutes=r.buffer_before),
        end + timedelta(minutes=r.buffer_after),
    )
    return overlaps(start, end, *padded_booking) or overlaps(*padded_candidate, b.start, b.end)


def seats_taken(r: EventRules, h: Host, start: datetime) -> int:
    return sum(1 for b in h.busy if b.event_type_id == r.event_type_id and b.start == start)


def limit_reached(r: EventRules, h: Host, start: datetime) -> bool:
    """Whether a new meeting at ``start`` would break an event-type or user limit."""
    zone = ZoneInfo(h.schedule.timezone)
    d = start.astimezone(zone).date()
    target = (d, d - timedelta(days=d.weekday()), (d.year, d.month))
    event_starts = list({b.start for b in h.busy if b.event_type_id == r.event_type_id})
    typed = {(b.event_type_id, b.start) for b in h.busy if b.event_type_id is not None}
    user_starts = [s for _, s in typed] + [b.start for b in h.busy if b.event_type_id is None]
    return over(r.limits, event_starts, zone, target) or over(
        h.user_limits, user_starts, zone, target
    )


def over(limits: Limits, starts: list[datetime], zone: ZoneInfo, target: tuple) -> bool:
    days = [s.astimezone(zone).date() for s in starts]
    keys = [(x, x - timedelta(days=x.weekday()), (x.year, x.month)) for x in days]
    caps = [limits.per_day, limits.per_week, limits.per_month]
    for i, cap in enumerate(caps):
        if cap is not None and sum(1 for k in keys if k[i] == target[i]) >= cap:
            return True
    return False


# --------------------------------------------------------------------------- properties


def check_slot_invariants(r: EventRules, hosts: list[Host], s: Slot, now: datetime) -> None:
    by_id = {h.user_id: h for h in hosts}
    h = by_id[s.host_user_id]
    duration = timedelta(minutes=r.duration)
    assert s.end - s.start == duration
    assert s.start.utcoffset() == timedelta(0)
    assert fits_working_range(h, s.start, s.end)
    assert s.start >= now
    assert s.start >= now + timedelta(minutes=r.minimum_notice)
    assert s.start <= now + timedelta(days=r.future_limit_days)
    taken = seats_taken(r, h, s.start) if r.scheduling_type == "group" else 0
    for b in h.busy:
        if taken and b.event_type_id == r.event_type_id and b.start == s.start:
            continue  # joining an existing session
        assert not collides(r, b, s.start), (s, b)
    if r.scheduling_type == "group":
        seats = r.seats_per_slot or 1
        assert s.seats_remaining == seats - taken
        assert s.seats_remaining > 0
    else:
        assert s.seats_remaining is None
    if not taken:
        assert not limit_reached(r, h, s.start)


@PROFILE
@given(scenarios())
def test_slots_obey_every_rule(case):
    r, hosts, ws, we, now, _ = case
    result = compute_slots(r, hosts, ws, we, now)
    assert not result.truncated
    starts = [s.start for s in result.slots]
    assert starts == sorted(set(starts))
    for s in result.slots:
        assert ws <= s.start < we
        check_slot_invariants(r, hosts, s, now)


@PROFILE
@given(scenarios())
def test_round_robin_is_the_union_of_host_grids(case):
    r, hosts, ws, we, now, _ = case
    if r.scheduling_type != "collective":
        return
    solo = dataclasses.replace(r, scheduling_type="individual")
    offered: dict[datetime, list[tuple[int, int, str]]] = {}
    for i, h in enumerate(hosts):
        for s in compute_slots(solo, [h], ws, we, now).slots:
            offered.setdefault(s.start, []).append((h.recent_bookings, i, h.user_id))
    result = compute_slots(r, hosts, ws, we, now).slots
    assert [s.start for s in result] == sorted(offered)
    for s in result:
        assert s.host_user_id == min(offered[s.start])[2]


@PROFILE
@given(scenarios())
def test_grid_does_not_depend_on_the_window(case):
    r, hosts, ws, we, now, _ = case
    narrow = compute_slots(r, hosts, ws, we, now).slots
    wide = compute_slots(r, hosts, ws - timedelta(days=2), we + timedelta(days=2), now).slots
    assert narrow == tuple(s for s in wide if ws <= s.start < we)
    # splitting the window changes nothing either
    mid = ws + (we - ws) / 2
    left = compute_slots(r, hosts, ws, mid, now).slots
    right = compute_slots(r, hosts, mid, we, now).slots
    assert left + right == narrow


@PROFILE
@given(scenarios())
def test_check_slot_agrees_with_compute_slots(case):
    r, hosts, ws, we, now, probes = case
    result = compute_slots(r, hosts, ws, we, now).slots
    by_start = {s.start: s for s in result}
    sample = list(result[:: max(1, len(result) // 8)])
    for s in sample:
        check = check_slot(r, hosts, s.start, now)
        assert check.available, (s, check)
        assert check.host_user_id == s.host_user_id
        assert check.seats_remaining == s.seats_remaining
        assert check.reason is None and check.reason_detail is None
    # other instants: on a 5-minute grid, and just next to offered starts
    others = [ws + timedelta(minutes=5 * p) for p in probes]
    others += [s.start + timedelta(minutes=5) for s in sample]
    others += [s.start - timedelta(seconds=30) for s in sample]
    for b in hosts[0].busy[:6]:
        others += [b.start, b.end, b.start - timedelta(minutes=r.duration)]
    horizon = now + timedelta(days=r.future_limit_days)
    for start in others:
        if not ws <= start < we or start in by_start:
            continue
        check = check_slot(r, hosts, start, now)
        assert not check.available, (start, check)
        assert check.host_user_id is None
        if start < now:
            assert check.reason == "in_past"
        elif start < now + timedelta(minutes=r.minimum_notice):
            assert check.reason == "outside_minimum_notice"
        elif start > horizon:
            assert check.reason == "outside_future_limit"
        else:
            assert check.reason == "slot_busy"
            assert check.reason_detail in DETAILS
        if check.reason != "slot_busy":
            assert check.reason_detail is None and check.next_available is None
            continue
        later = compute_slots(r, hosts, start + TICK, horizon + TICK, now, cap=1).slots
        assert check.next_available == (later[0].start if later else None)
        host0 = hosts[0]
        if check.reason_detail == "out_of_office":
            assert is_ooo(host0, start.astimezone(ZoneInfo(host0.schedule.timezone)).date())
        if check.reason_detail == "off_increment":
            # free, inside working hours, no limit: only the grid says no
            end = start + timedelta(minutes=r.duration)
            assert fits_working_range(host0, start, end)
            assert not any(collides(r, b, start) for b in host0.busy)
        if check.reason_detail in ("booked", "buffer"):
            assert any(collides(r, b, start) for b in host0.busy)


@PROFILE
@given(scenarios(), st.integers(0, 6))
def test_cap_returns_a_prefix(case, cap):
    r, hosts, ws, we, now, _ = case
    full = compute_slots(r, hosts, ws, we, now).slots
    capped = compute_slots(r, hosts, ws, we, now, cap=cap)
    assert capped.slots == full[:cap]
    assert capped.truncated == (len(full) > cap)
