"""The slot engine's rules, one at a time and combined.

Most tests use a host in the UTC zone so instants read as wall-clock times; June 1, 2026 is a
Monday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fortytwo.scheduling.engine import check_slot, compute_slots
from fortytwo.scheduling.model import (
    Busy,
    EventRules,
    Host,
    Limits,
    MinuteRange,
    Schedule,
    SlotCheck,
)

NOW = datetime(2026, 5, 31, 12, 0, tzinfo=UTC)  # Sunday noon, the day before the test week
NINE_TO_FIVE: tuple[MinuteRange, ...] = ((9 * 60, 17 * 60),)


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def hm(value: str) -> int:
    h, m = value.split(":")
    return int(h) * 60 + int(m)


def ranges(*spans: str) -> tuple[MinuteRange, ...]:
    """ranges("09:00-12:00", "13:00-24:00") -> minute ranges."""
    out = []
    for span in spans:
        a, b = span.split("-")
        out.append((hm(a), hm(b)))
    return tuple(out)


def schedule(
    weekly: dict[int, tuple[MinuteRange, ...]] | None = None,
    tz: str = "UTC",
    overrides: dict[date, tuple[MinuteRange, ...]] | None = None,
) -> Schedule:
    if weekly is None:
        weekly = {d: NINE_TO_FIVE for d in range(5)}
    return Schedule(timezone=tz, weekly=weekly, overrides=overrides or {})


def host(uid: str = "h1", **kw) -> Host:
    kw.setdefault("schedule", schedule())
    return Host(user_id=uid, **kw)


def rules(**kw) -> EventRules:
    kw.setdefault("event_type_id", "et")
    kw.setdefault("duration", 30)
    kw.setdefault("interval", kw["duration"])
    return EventRules(**kw)


def busy(start: datetime, minutes: int = 30, before: int = 0, after: int = 0, et="et") -> Busy:
    return Busy(start, start + timedelta(minutes=minutes), before, after, et)


def slots(r: EventRules, hosts, ws: datetime, we: datetime, now: datetime = NOW, cap=1000):
    return compute_slots(r, hosts, ws, we, now, cap=cap).slots


def day_starts(r: EventRules, hosts, day: int, now: datetime = NOW, month: int = 6) -> list[str]:
    """Offered start times (HH:MM, UTC) on one UTC day."""
    ws = at(day, 0, month=month)
    return [s.start.strftime("%H:%M") for s in slots(r, hosts, ws, ws + timedelta(days=1), now)]


def grid(first: str, last: str, step: int) -> list[str]:
    return [f"{m // 60:02d}:{m % 60:02d}" for m in range(hm(first), hm(last) + 1, step)]


def busy_check(detail: str, result: SlotCheck) -> None:
    assert not result.available
    assert result.reason == "slot_busy"
    assert result.reason_detail == detail


# --------------------------------------------------------------------------- working hours


def test_basic_week_and_slot_shape():
    r = rules()
    out = slots(r, [host()], at(1, 0), at(8, 0))
    assert len(out) == 5 * 16
    assert out[0].start == at(1, 9) and out[-1].start == at(5, 16, 30)
    for s in out:
        assert s.end - s.start == timedelta(minutes=30)
        assert s.host_user_id == "h1"
        assert s.seats_remaining is None
        assert s.start.tzinfo is not None and s.start.utcoffset() == timedelta(0)
    assert [s.start for s in out] == sorted({s.start for s in out})


def test_several_ranges_per_day():
    h = host(schedule=schedule({0: ranges("09:00-12:00", "13:00-17:00")}))
    assert day_starts(rules(duration=60), [h], 1) == [
        "09:00",
        "10:00",
        "11:00",
        "13:00",
        "14:00",
        "15:00",
        "16:00",
    ]


def test_slot_must_fit_the_range_end():
    h = host(schedule=schedule({0: ranges("09:00-10:45")}))
    assert day_starts(rules(), [h], 1) == ["09:00", "09:30", "10:00"]


def test_24_00_end_and_touching_ranges_stay_separate():
    h = host(schedule=schedule({0: ranges("22:00-24:00"), 1: ranges("00:00-02:00")}))
    r = rules(duration=90, interval=30)
    out = [s.start for s in slots(r, [h], at(1, 0), at(3, 0))]
    # 23:00 and 23:30 would need both ranges; they are not joined across midnight
    assert out == [at(1, 22), at(1, 22, 30), at(2, 0), at(2, 0, 30)]


def test_full_day_range_offers_the_last_slot_before_midnight():
    h = host(schedule=schedule({0: ranges("00:00-24:00")}))
    out = day_starts(rules(duration=60), [h], 1)
    assert out == grid("00:00", "23:00", 60)


def test_overrides_replace_weekly_hours():
    overrides = {
        date(2026, 6, 1): ranges("13:00-14:00"),  # Monday: different hours
        date(2026, 6, 2): (),  # Tuesday: unavailable
        date(2026, 6, 6): ranges("10:00-11:00"),  # Saturday: extra day
    }
    h = host(schedule=schedule(overrides=overrides))
    r = rules()
    assert day_starts(r, [h], 1) == ["13:00", "13:30"]
    assert day_starts(r, [h], 2) == []
    assert day_starts(r, [h], 3) == grid("09:00", "16:30", 30)
    assert day_starts(r, [h], 6) == ["10:00", "10:30"]
    busy_check("outside_working_hours", check_slot(r, [h], at(2, 10), NOW))


def test_out_of_office_is_inclusive():
    h = host(out_of_office=((date(2026, 6, 2), date(2026, 6, 3)),))
    r = rules()
    assert day_starts(r, [h], 1) != []
    assert day_starts(r, [h], 2) == []
    assert day_starts(r, [h], 3) == []
    assert day_starts(r, [h], 4) == grid("09:00", "16:30", 30)
    busy_check("out_of_office", check_slot(r, [h], at(3, 10), NOW))
    # out of office takes precedence over "outside working hours"
    busy_check("out_of_office", check_slot(r, [h], at(3, 20), NOW))


def test_out_of_office_beats_overrides():
    h = host(
        schedule=schedule(overrides={date(2026, 6, 2): ranges("10:00-11:00")}),
        out_of_office=((date(2026, 6, 2), date(2026, 6, 2)),),
    )
    assert day_starts(rules(), [h], 2) == []


def test_zone_shifts_working_hours():
    h = host(schedule=schedule(tz="Europe/Berlin"))  # UTC+2 in June
    out = day_starts(rules(duration=60), [h], 1)
    assert out == grid("07:00", "14:00", 60)


# --------------------------------------------------------------------------- bookings, buffers


def test_booking_removes_overlapping_starts():
    h = host(busy=(busy(at(1, 10), 60),))
    out = day_starts(rules(), [h], 1)
    assert "10:00" not in out and "10:30" not in out
    assert "09:30" in out and "11:00" in out  # touching is not overlapping


def test_grid_restarts_after_a_booking():
    h = host(busy=(busy(at(1, 10), 20),))  # 10:00-10:20
    out = day_starts(rules(), [h], 1)
    assert out[:4] == ["09:00", "09:30", "10:20", "10:50"]
    assert out[-1] == "16:20"


def test_canceled_is_callers_job_but_other_types_block():
    h = host(busy=(busy(at(1, 10), 30, et="other"), busy(at(1, 11), 30, et=None)))
    out = day_starts(rules(), [h], 1)
    assert "10:00" not in out and "11:00" not in out


def test_event_buffer_after_pushes_earlier_candidates():
    r = rules(interval=15, buffer_after=15)
    h = host(busy=(busy(at(1, 10), 30),))
    out = day_starts(r, [h], 1)
    # 09:30 would end 10:00 and its buffer runs into the booking
    assert "09:15" in out and "09:30" not in out
    busy_check("buffer", check_slot(r, [h], at(1, 9, 30), NOW))


def test_event_buffer_before_pushes_later_candidates():
    r = rules(interval=15, buffer_before=15)
    h = host(busy=(busy(at(1, 10), 30),))
    out = day_starts(r, [h], 1)
    assert "10:30" not in out and "10:45" in out
    busy_check("buffer", check_slot(r, [h], at(1, 10, 30), NOW))


def test_booking_buffers_protect_the_booking():
    r = rules(interval=15)
    h = host(busy=(busy(at(1, 10), 30, before=15, after=30),))
    out = day_starts(r, [h], 1)
    assert "09:15" in out and "09:30" not in out  # 09:30-10:00 hits its 09:45 buffer
    assert "10:45" not in out and "11:00" in out
    busy_check("buffer", check_slot(r, [h], at(1, 10, 45), NOW))
    busy_check("booked", check_slot(r, [h], at(1, 10, 15), NOW))


def test_larger_buffer_wins_and_buffers_may_overlap():
    # the booking's 10-minute tail and our 20-minute lead overlap; the larger decides
    r = rules(interval=5, buffer_before=20)
    h = host(busy=(busy(at(1, 10), 30, after=10),))
    out = day_starts(r, [h], 1)
    assert "10:45" not in out and "10:50" in out


def test_buffers_touching_each_other_are_fine():
    r = rules(buffer_before=30)
    h = host(busy=(busy(at(1, 10), 30, after=30),))
    # candidate 11:00: its lead 10:30-11:00 overlaps the booking's tail 10:30-11:00, but
    # neither buffer touches the other's core
    assert "11:00" in day_starts(r, [h], 1)


def test_touching_buffer_and_core():
    r = rules(buffer_after=30)
    h = host(busy=(busy(at(1, 10), 30),))
    out = day_starts(r, [h], 1)
    assert "09:00" in out  # padded 09:00-10:00 touches the booking at 10:00
    assert "09:30" not in out


def test_buffers_may_extend_outside_working_hours():
    r = rules(buffer_before=30, buffer_after=30)
    assert day_starts(r, [host()], 1) == grid("09:00", "16:30", 30)
    # a booking just before opening time: our lead would overlap it
    h = host(busy=(busy(at(1, 8, 30), 30, et="other"),))
    assert day_starts(r, [h], 1)[:2] == ["09:30", "10:00"]


# --------------------------------------------------------------------------- notice, future


def test_minimum_notice_filters_without_shifting_the_grid():
    now = at(1, 8, 50)
    r = rules(minimum_notice=120)  # earliest 10:50
    assert day_starts(r, [host()], 1, now=now)[0] == "11:00"
    result = check_slot(r, [host()], at(1, 10, 30), now)
    assert result.reason == "outside_minimum_notice" and result.reason_detail is None
    assert result.next_available is None
    assert check_slot(r, [host()], at(1, 11), now).available


def test_in_past():
    now = at(1, 12, 10)
    r = rules()
    assert day_starts(r, [host()], 1, now=now)[0] == "12:30"
    assert check_slot(r, [host()], at(1, 12), now).reason == "in_past"
    busy_check("off_increment", check_slot(r, [host()], at(1, 12, 10), now))  # == now: not past


def test_future_limit_is_inclusive():
    wed = date(2026, 6, 3)
    h = host(schedule=schedule(overrides={wed: ranges("00:00-01:00")}))
    r = rules(future_limit_days=2)
    now = at(1, 0)
    out = slots(r, [h], at(1, 0), at(10, 0), now=now)
    assert out[-1].start == at(3, 0)  # exactly now + 2 days
    assert {s.start.date() for s in out} == {date(2026, 6, 1), date(2026, 6, 2), wed}
    result = check_slot(r, [h], at(3, 0, 30), now)
    assert result.reason == "outside_future_limit" and result.next_available is None


def test_zero_future_limit_offers_nothing_after_now():
    r = rules(future_limit_days=0)
    out = slots(r, [host()], at(1, 0), at(8, 0), now=at(1, 9))
    assert [s.start for s in out] == [at(1, 9)]


# --------------------------------------------------------------------------- limits


def test_event_type_day_limit():
    r = rules(limits=Limits(per_day=2))
    h = host(busy=(busy(at(1, 9)), busy(at(1, 15)), busy(at(2, 9), et="other")))
    assert day_starts(r, [h], 1) == []
    assert day_starts(r, [h], 2) == grid("09:30", "16:30", 30)  # other type does not count
    busy_check("limit_reached", check_slot(r, [h], at(1, 10), NOW))
    # limit_reached comes before booked
    busy_check("limit_reached", check_slot(r, [h], at(1, 9), NOW))
    nxt = check_slot(r, [h], at(1, 10), NOW).next_available
    assert nxt == at(2, 9, 30)


def test_user_day_limit_counts_every_type():
    r = rules()
    h = host(busy=(busy(at(1, 9), et="other"),), user_limits=Limits(per_day=1))
    assert day_starts(r, [h], 1) == []
    assert day_starts(r, [h], 2) != []


def test_group_session_counts_once():
    r = rules(limits=Limits(per_day=2))
    session = tuple(busy(at(1, 9)) for _ in range(3))
    h = host(busy=session)
    assert day_starts(r, [h], 1) != []
    h2 = host(busy=session, user_limits=Limits(per_day=2))
    assert day_starts(rules(), [h2], 1) != []


def test_week_limit_starts_monday_local():
    # New York: Sunday June 7 23:30 local is Monday June 8 03:30 UTC
    ny = schedule(tz="America/New_York")
    late_sunday = datetime(2026, 6, 8, 3, 30, tzinfo=UTC)
    r = rules(limits=Limits(per_week=1))
    h = host(schedule=ny, busy=(busy(late_sunday),))
    week1 = slots(r, [h], at(1, 0), at(6, 0))
    week2 = slots(r, [h], at(8, 0), at(13, 0))
    assert week1 == ()  # the booking counts for the week of Monday June 1
    assert len(week2) == 5 * 16
    # the same instant in UTC falls into the second week
    h_utc = host(busy=(busy(late_sunday),))
    assert slots(r, [h_utc], at(1, 0), at(6, 0)) != ()
    assert slots(r, [h_utc], at(8, 0), at(13, 0)) == ()


def test_user_week_limit():
    h = host(busy=(busy(at(3, 9), et="x"), busy(at(4, 9), et="y")), user_limits=Limits(per_week=2))
    r = rules()
    assert slots(r, [h], at(1, 0), at(6, 0)) == ()
    assert day_starts(r, [h], 8) != []
    busy_check("limit_reached", check_slot(r, [h], at(5, 12), NOW))


def test_month_limit_uses_local_month():
    ny = schedule(tz="America/New_York")
    # June 30 22:00 New York is July 1 02:00 UTC: it counts for June there
    b = busy(datetime(2026, 7, 1, 2, 0, tzinfo=UTC))
    r = rules(limits=Limits(per_month=1))
    h = host(schedule=ny, busy=(b,))
    assert slots(r, [h], at(29, 0), at(30, 23)) == ()
    assert slots(r, [h], datetime(2026, 7, 1, 4, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC))
    h_utc = host(busy=(b,))
    assert slots(r, [h_utc], at(29, 0), at(30, 23)) != ()
    assert day_starts(r, [h_utc], 1, month=7) == []


def test_limits_are_per_host_in_round_robin():
    r = rules(scheduling_type="collective", limits=Limits(per_day=1))
    a = host("a", busy=(busy(at(1, 9)),))
    b = host("b", recent_bookings=5)
    out = slots(r, [a, b], at(1, 0), at(2, 0))
    assert out and {s.host_user_id for s in out} == {"b"}
    assert {s.host_user_id for s in slots(r, [a, b], at(2, 0), at(3, 0))} == {"a"}


# --------------------------------------------------------------------------- increments


def test_increment_differs_from_duration():
    r = rules(duration=60, interval=15)
    assert day_starts(r, [host()], 1) == grid("09:00", "16:00", 15)


def test_increment_larger_than_duration():
    r = rules(duration=30, interval=45)
    assert day_starts(r, [host()], 1) == grid("09:00", "16:30", 45)
    busy_check("off_increment", check_slot(r, [host()], at(1, 9, 30), NOW))


# --------------------------------------------------------------------------- round robin


def rr(**kw) -> EventRules:
    return rules(scheduling_type="collective", **kw)


def test_round_robin_prefers_fewest_recent_bookings():
    a = host("a", recent_bookings=3)
    b = host("b", recent_bookings=1)
    out = slots(rr(), [a, b], at(1, 0), at(2, 0))
    assert {s.host_user_id for s in out} == {"b"}


def test_round_robin_ties_go_to_host_order():
    a = host("a", recent_bookings=2)
    b = host("b", recent_bookings=2)
    assert {s.host_user_id for s in slots(rr(), [a, b], at(1, 0), at(2, 0))} == {"a"}
    assert {s.host_user_id for s in slots(rr(), [b, a], at(1, 0), at(2, 0))} == {"b"}


def test_round_robin_busy_host_falls_back_to_other():
    a = host("a", busy=(busy(at(1, 10)),))
    b = host("b", recent_bookings=9)
    out = {s.start: s.host_user_id for s in slots(rr(), [a, b], at(1, 0), at(2, 0))}
    assert out[at(1, 10)] == "b"
    assert out[at(1, 9, 30)] == "a" and out[at(1, 10, 30)] == "a"
    check = check_slot(rr(), [a, b], at(1, 10), NOW)
    assert check.available and check.host_user_id == "b"


def test_round_robin_union_of_different_grids():
    a = host("a", schedule=schedule({0: ranges("09:00-11:00")}))
    b = host("b", schedule=schedule({0: ranges("10:15-12:00")}), recent_bookings=1)
    out = [
        (s.start.strftime("%H:%M"), s.host_user_id) for s in slots(rr(), [a, b], at(1, 0), at(2, 0))
    ]
    assert out == [
        ("09:00", "a"),
        ("09:30", "a"),
        ("10:00", "a"),
        ("10:15", "b"),
        ("10:30", "a"),
        ("10:45", "b"),
        ("11:15", "b"),
    ]


def test_round_robin_nobody_free():
    a = host("a", busy=(busy(at(1, 10)),))
    b = host("b", busy=(busy(at(1, 9, 30), 30, after=15),))  # b's tail covers 10:00-10:15
    busy_check("booked", check_slot(rr(), [a, b], at(1, 10), NOW))
    # the detail is reported for the first host in order
    busy_check("buffer", check_slot(rr(), [b, a], at(1, 10), NOW))


def test_individual_uses_first_host_only():
    a = host("a", busy=(busy(at(1, 10)),))
    b = host("b")
    out = slots(rules(), [a, b], at(1, 0), at(2, 0))
    assert {s.host_user_id for s in out} == {"a"}
    assert at(1, 10) not in {s.start for s in out}


def test_no_hosts():
    assert slots(rules(), [], at(1, 0), at(8, 0)) == ()
    result = check_slot(rules(), [], at(1, 10), NOW)
    assert result.reason == "slot_busy" and result.next_available is None


# --------------------------------------------------------------------------- group


def group(seats: int = 3, **kw) -> EventRules:
    return rules(scheduling_type="group", seats_per_slot=seats, **kw)


def test_group_grid_offers_all_seats():
    out = slots(group(), [host()], at(1, 0), at(2, 0))
    assert len(out) == 16 and {s.seats_remaining for s in out} == {3}


def test_group_session_seats_remaining():
    h = host(busy=(busy(at(1, 10), 60), busy(at(1, 10), 60)))
    r = group(duration=60, interval=30)
    out = {s.start: s.seats_remaining for s in slots(r, [h], at(1, 0), at(2, 0))}
    assert out[at(1, 10)] == 1
    assert at(1, 10, 30) not in out and at(1, 9, 30) not in out  # the session blocks others
    assert out[at(1, 11)] == 3
    check = check_slot(r, [h], at(1, 10), NOW)
    assert check.available and check.seats_remaining == 1 and check.host_user_id == "h1"


def test_group_full_session():
    h = host(busy=tuple(busy(at(1, 10)) for _ in range(3)))
    r = group()
    out = {s.start for s in slots(r, [h], at(1, 0), at(2, 0))}
    assert at(1, 10) not in out
    check = check_slot(r, [h], at(1, 10), NOW)
    busy_check("seats_full", check)
    assert check.next_available == at(1, 10, 30)


def test_group_session_off_grid_and_limits():
    # a session at 10:10 (e.g. created before the hours changed) is still joinable, and
    # the day limit it reached does not stop people from joining it
    h = host(busy=(busy(at(1, 10, 10)),))
    r = group(limits=Limits(per_day=1))
    out = {s.start: s.seats_remaining for s in slots(r, [h], at(1, 0), at(2, 0))}
    assert out == {at(1, 10, 10): 2}
    busy_check("limit_reached", check_slot(r, [h], at(1, 14), NOW))


def test_group_session_must_still_fit_hours_and_avoid_other_bookings():
    outside = busy(at(1, 18))
    clash = busy(at(1, 12))
    other = busy(at(1, 12, 15), et="other")
    h = host(busy=(outside, clash, other))
    r = group()
    out = {s.start for s in slots(r, [h], at(1, 0), at(2, 0))}
    assert at(1, 18) not in out and at(1, 12) not in out
    busy_check("outside_working_hours", check_slot(r, [h], at(1, 18), NOW))
    busy_check("booked", check_slot(r, [h], at(1, 12), NOW))


def test_group_session_respects_notice():
    h = host(busy=(busy(at(1, 10)),))
    r = group(minimum_notice=60)
    assert check_slot(r, [h], at(1, 10), at(1, 9, 30)).reason == "outside_minimum_notice"
    assert check_slot(r, [h], at(1, 10), at(1, 9)).available


# --------------------------------------------------------------------------- misc


def test_inactive_event_type():
    r = rules(active=False)
    assert compute_slots(r, [host()], at(1, 0), at(8, 0), NOW).slots == ()
    result = check_slot(r, [host()], at(1, 10), NOW)
    assert result == SlotCheck(available=False, reason="event_type_inactive")
    # inactive is reported even for a time in the past
    assert check_slot(r, [host()], at(1, 10), at(2, 0)).reason == "event_type_inactive"


def test_window_bounds_on_start():
    out = slots(rules(), [host()], at(1, 10), at(1, 11))
    assert [s.start for s in out] == [at(1, 10), at(1, 10, 30)]
    # a slot starting before the window is not returned even though it ends inside it
    assert [s.start for s in slots(rules(), [host()], at(1, 10, 1), at(1, 11))] == [at(1, 10, 30)]
    assert slots(rules(), [host()], at(1, 11), at(1, 11)) == ()


@pytest.mark.parametrize("cap, truncated", [(5, True), (16, False), (17, False), (0, True)])
def test_cap_truncates(cap, truncated):
    result = compute_slots(rules(), [host()], at(1, 0), at(2, 0), NOW, cap=cap)
    assert result.truncated is truncated
    assert [s.start for s in result.slots] == [
        at(1, 9) + timedelta(minutes=30 * i) for i in range(min(cap, 16))
    ]


def test_check_slot_available():
    result = check_slot(rules(), [host()], at(1, 9), NOW)
    assert result == SlotCheck(available=True, host_user_id="h1")


def test_check_reason_order():
    r = rules(minimum_notice=60, future_limit_days=1)
    h = host()
    assert check_slot(r, [h], at(1, 9), at(1, 10)).reason == "in_past"
    assert check_slot(r, [h], at(1, 9), at(1, 8, 30)).reason == "outside_minimum_notice"
    assert check_slot(r, [h], at(3, 9), at(1, 8)).reason == "outside_future_limit"
    res = check_slot(r, [h], at(1, 9), at(1, 10))
    assert res.reason_detail is None and res.next_available is None


def test_check_detail_precedence_booked_over_buffer():
    r = rules(buffer_before=30)
    h = host(busy=(busy(at(1, 10), 30),))
    busy_check("booked", check_slot(r, [h], at(1, 10), NOW))
    busy_check("buffer", check_slot(r, [h], at(1, 10, 30), NOW))
    busy_check("off_increment", check_slot(r, [h], at(1, 11, 15), NOW))
    busy_check("outside_working_hours", check_slot(r, [h], at(1, 16, 45), NOW))
    busy_check("outside_working_hours", check_slot(r, [h], at(6, 10), NOW))


def test_next_available():
    h = host(busy=(busy(at(1, 10), 30),))
    r = rules()
    assert check_slot(r, [h], at(1, 10), NOW).next_available == at(1, 10, 30)
    assert check_slot(r, [h], at(1, 10, 5), NOW).next_available == at(1, 10, 30)
    # Friday evening: next is Monday morning
    assert check_slot(r, [h], at(5, 17), NOW).next_available == at(8, 9)


def test_next_available_searches_far_ahead_but_not_past_the_limit():
    weekly = {0: NINE_TO_FIVE}
    ooo = ((date(2026, 6, 1), date(2026, 7, 31)),)
    h = host(schedule=schedule(weekly), out_of_office=ooo)
    r = rules(future_limit_days=90)
    result = check_slot(r, [h], at(1, 10), NOW)
    busy_check("out_of_office", result)
    assert result.next_available == datetime(2026, 8, 3, 9, tzinfo=UTC)
    r2 = rules(future_limit_days=60)
    assert check_slot(r2, [h], at(1, 10), NOW).next_available is None


def test_next_available_is_within_future_limit_exactly():
    h = host(schedule=schedule(overrides={date(2026, 6, 3): ranges("00:00-01:00")}, weekly={}))
    now = at(1, 0)
    r = rules(future_limit_days=2)
    assert check_slot(r, [h], at(1, 10), now).next_available == at(3, 0)
    r1 = rules(future_limit_days=1)
    assert check_slot(r1, [h], at(1, 10), now).next_available is None
