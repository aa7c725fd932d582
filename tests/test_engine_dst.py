"""Working hours are wall-clock hours: the engine across the 2026 DST transitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fortytwo.scheduling.engine import check_slot, compute_slots
from fortytwo.scheduling.model import Busy, EventRules, Host, MinuteRange, Schedule

NOW = datetime(2025, 12, 1, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"]
EXPECTED_TRANSITIONS = {
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Europe/London": [date(2026, 3, 29), date(2026, 10, 25)],
    "Australia/Sydney": [date(2026, 4, 5), date(2026, 10, 4)],
    "Asia/Kolkata": [],
}


def transitions_2026(tz: str) -> list[date]:
    """Local dates of 2026 on which the zone's UTC offset changes."""
    zone = ZoneInfo(tz)
    found = []
    day = date(2026, 1, 1)
    while day.year == 2026:
        start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
        if (
            start.astimezone(zone).utcoffset()
            != (end - timedelta(seconds=1)).astimezone(zone).utcoffset()
        ):
            found.append(day)
        day += timedelta(days=1)
    return found


def days_to_test(tz: str) -> list[date]:
    """Both transition days of 2026 and the days around them (US dates for fixed zones)."""
    marks = transitions_2026(tz) or EXPECTED_TRANSITIONS["America/New_York"]
    return sorted({m + timedelta(days=k) for m in marks for k in (-1, 0, 1)})


def every_day(tz: str, spec: tuple[MinuteRange, ...]) -> Host:
    return Host(user_id="h", schedule=Schedule(timezone=tz, weekly={d: spec for d in range(7)}))


def rules(duration: int, interval: int | None = None) -> EventRules:
    return EventRules(
        event_type_id="et",
        duration=duration,
        interval=interval or duration,
        future_limit_days=800,
    )


def local_day_window(tz: str, day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def day_slots(tz: str, day: date, spec: tuple[MinuteRange, ...], r: EventRules):
    ws, we = local_day_window(tz, day)
    return compute_slots(r, [every_day(tz, spec)], ws, we, NOW).slots


@pytest.mark.parametrize("tz", ZONES)
def test_transition_dates_2026(tz):
    assert transitions_2026(tz) == EXPECTED_TRANSITIONS[tz]


@pytest.mark.parametrize("tz, day", [(tz, d) for tz in ZONES for d in days_to_test(tz)])
def test_nine_to_five_hourly_is_the_same_wall_clock_every_day(tz, day):
    zone = ZoneInfo(tz)
    out = day_slots(tz, day, ((9 * 60, 17 * 60),), rules(60))
    walls = [s.start.astimezone(zone).replace(tzinfo=None) for s in out]
    assert walls == [datetime.combine(day, time(h)) for h in range(9, 17)]
    expected_utc = [
        datetime.combine(day, time(h), tzinfo=zone).astimezone(UTC) for h in range(9, 17)
    ]
    assert [s.start for s in out] == expected_utc
    for s in out:
        assert s.start.tzinfo is UTC or s.start.utcoffset() == timedelta(0)
        assert s.end - s.start == timedelta(hours=1)


def _exists(zone: ZoneInfo, wall: datetime) -> bool:
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


@pytest.mark.parametrize("tz, day", [(tz, d) for tz in ZONES for d in days_to_test(tz)])
def test_whole_day_half_hours(tz, day):
    """00:00-24:00 in 30-minute steps: each existing wall time once, first occurrence."""
    zone = ZoneInfo(tz)
    out = day_slots(tz, day, ((0, 1440),), rules(30))
    walls = [datetime.combine(day, time()) + timedelta(minutes=30 * k) for k in range(48)]
    existing = [w for w in walls if _exists(zone, w)]
    expected = [w.replace(tzinfo=zone, fold=0).astimezone(UTC) for w in existing]
    assert [s.start for s in out] == expected
    # seen from the zone: each wall time once, never the second occurrence
    local = [s.start.astimezone(zone) for s in out]
    assert [t.replace(tzinfo=None) for t in local] == existing
    assert all(t.fold == 0 for t in local)
    # the last slot ends exactly at the next local midnight
    _, midnight = local_day_window(tz, day)
    assert out[-1].end <= midnight
    offsets_differ = (
        local[0].utcoffset() != (midnight - timedelta(seconds=1)).astimezone(zone).utcoffset()
    )
    if day in EXPECTED_TRANSITIONS[tz]:
        assert offsets_differ
        spring = local[-1].utcoffset() > local[0].utcoffset()
        # a one-hour gap loses two half hours; a repeated hour adds none
        assert len(out) == (46 if spring else 48)
    else:
        assert not offsets_differ
        assert len(out) == 48


SPECIFIC = [
    # zone, day, wall times that must be absent, (wall, utc) pairs that must be present
    (
        "America/New_York",
        date(2026, 3, 8),
        ["02:00", "02:30"],
        [("01:30", datetime(2026, 3, 8, 6, 30)), ("03:00", datetime(2026, 3, 8, 7, 0))],
    ),
    (
        "America/New_York",
        date(2026, 11, 1),
        [],
        [("01:00", datetime(2026, 11, 1, 5, 0)), ("01:30", datetime(2026, 11, 1, 5, 30))],
    ),
    (
        "Europe/London",
        date(2026, 3, 29),
        ["01:00", "01:30"],
        [("00:30", datetime(2026, 3, 29, 0, 30)), ("02:00", datetime(2026, 3, 29, 1, 0))],
    ),
    (
        "Europe/London",
        date(2026, 10, 25),
        [],
        [("01:00", datetime(2026, 10, 25, 0, 0)), ("01:30", datetime(2026, 10, 25, 0, 30))],
    ),
    (
        "Australia/Sydney",
        date(2026, 4, 5),
        [],
        [("02:00", datetime(2026, 4, 4, 15, 0)), ("02:30", datetime(2026, 4, 4, 15, 30))],
    ),
    (
        "Australia/Sydney",
        date(2026, 10, 4),
        ["02:00", "02:30"],
        [("01:30", datetime(2026, 10, 3, 15, 30)), ("03:00", datetime(2026, 10, 3, 16, 0))],
    ),
]


@pytest.mark.parametrize("tz, day, absent, present", SPECIFIC)
def test_transition_specifics(tz, day, absent, present):
    zone = ZoneInfo(tz)
    out = day_slots(tz, day, ((0, 1440),), rules(30))
    by_wall: dict[str, list[datetime]] = {}
    for s in out:
        by_wall.setdefault(s.start.astimezone(zone).strftime("%H:%M"), []).append(s.start)
    for wall in absent:
        assert wall not in by_wall
    for wall, utc in present:
        assert by_wall[wall] == [utc.replace(tzinfo=UTC)]  # exactly once, this instant
    # an ambiguous hour's second occurrence is refused as off the grid
    for wall, utc in present:
        second = utc.replace(tzinfo=UTC) + timedelta(hours=1)
        if second.astimezone(zone).strftime("%H:%M") == wall:
            result = check_slot(rules(30), [every_day(tz, ((0, 1440),))], second, NOW)
            assert result.reason_detail == "off_increment"
            assert result.next_available is not None


def test_slot_spanning_the_gap_is_measured_in_absolute_time():
    # New York, March 8: a 60-minute slot starting 01:30 EST ends 03:30 EDT
    out = day_slots("America/New_York", date(2026, 3, 8), ((60, 240),), rules(60, 30))
    starts = [s.start.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") for s in out]
    assert starts == ["01:00", "01:30", "03:00"]
    assert out[1].end == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_range_boundaries_inside_the_gap():
    tz = "America/New_York"
    day = date(2026, 3, 8)
    # a range starting at a missing 02:30 starts when the gap ends (03:00 EDT)
    out = day_slots(tz, day, ((150, 300),), rules(60))
    assert [s.start for s in out] == [
        datetime(2026, 3, 8, 7, tzinfo=UTC),
        datetime(2026, 3, 8, 8, tzinfo=UTC),
    ]
    # a range ending at a missing 02:30 ends at that same instant
    out = day_slots(tz, day, ((0, 150),), rules(60))
    assert [s.start for s in out] == [
        datetime(2026, 3, 8, 5, tzinfo=UTC),  # 00:00 EST
        datetime(2026, 3, 8, 6, tzinfo=UTC),  # 01:00 EST, ends 03:00 EDT
    ]
    # a range entirely inside the gap has no time at all
    assert day_slots(tz, day, ((120, 180),), rules(15)) == ()


def test_range_boundaries_in_the_repeated_hour_use_the_first_occurrence():
    tz = "America/New_York"
    day = date(2026, 11, 1)
    out = day_slots(tz, day, ((0, 90),), rules(30))  # ends at the first 01:30 (05:30Z)
    assert out[-1].end == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert len(out) == 3
    out = day_slots(tz, day, ((90, 180),), rules(30))  # starts at the first 01:30 (05:30Z)
    assert out[0].start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # 01:30 EDT to 03:00 EST is 2.5 hours; wall-clock steps: 01:30, 02:00, 02:30
    assert [s.start.astimezone(ZoneInfo(tz)).strftime("%H:%M") for s in out] == [
        "01:30",
        "02:00",
        "02:30",
    ]


def test_free_range_starting_in_the_second_occurrence():
    # A booking ends at 01:30 EST (the second 01:30). Stepping restarts at wall 01:30, whose
    # first occurrence lies before the free range, so the next offered start is 02:00 EST.
    tz = "America/New_York"
    day = date(2026, 11, 1)
    end_second_130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    b = Busy(end_second_130 - timedelta(minutes=30), end_second_130, event_type_id="x")
    h = Host(
        user_id="h",
        schedule=Schedule(timezone=tz, weekly={d: ((0, 1440),) for d in range(7)}),
        busy=(b,),
    )
    ws, we = local_day_window(tz, day)
    out = [s.start for s in compute_slots(rules(30), [h], ws, we, NOW).slots]
    assert datetime(2026, 11, 1, 5, 30, tzinfo=UTC) in out  # 01:30 EDT, before the booking
    assert end_second_130 not in out
    assert datetime(2026, 11, 1, 7, 0, tzinfo=UTC) in out  # 02:00 EST
    result = check_slot(rules(30), [h], end_second_130, NOW)
    assert result.reason_detail == "off_increment"
    assert result.next_available == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)


def test_week_and_limits_follow_local_time_across_transition():
    # Sydney: Sunday April 5 is the fall-back day; hours stay 09:00-17:00 local on Monday
    tz = "Australia/Sydney"
    out = day_slots(tz, date(2026, 4, 6), ((9 * 60, 17 * 60),), rules(60))
    assert out[0].start == datetime(2026, 4, 5, 23, 0, tzinfo=UTC)  # 09:00 AEST
    out = day_slots(tz, date(2026, 4, 4), ((9 * 60, 17 * 60),), rules(60))
    assert out[0].start == datetime(2026, 4, 3, 22, 0, tzinfo=UTC)  # 09:00 AEDT
