"""Cancel, reschedule and PATCH of bookings (contract 2.7, 7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.booking_helpers import (
    TUESDAY,
    at,
    book,
    cancel,
    check_envelope,
    create_body,
    error_of,
    events_of,
    get_booking,
    history_of,
    iso,
    ok_body,
    patch,
    post_booking,
    reschedule,
    set_intro,
    table_counts,
)
from tests.conftest import make_account
from tests.reference import validate_response
from tests.scenario import Scenario, apply_text, make_scenario

WEDNESDAY = TUESDAY + timedelta(days=1)


@pytest.fixture
async def sc(client, app) -> Scenario:
    return await make_scenario(app)


# -- cancel ---------------------------------------------------------------------------------

async def test_cancel_sets_fields_bumps_version_frees_slot(client, app, clock, sc):
    start = at(TUESDAY, 10)
    created = await book(client, sc.ada, sc.intro, start, responses={"company": "Navy"})
    clock.advance(minutes=5)
    resp = await cancel(client, sc.ada, created["uid"], {"reason": "Conflict with a launch"})
    data = await ok_body(resp, "cancelBooking", 200)
    assert data["status"] == "canceled"
    assert data["version"] == 2
    assert data["cancelled_at"] == "2026-05-18T08:05:00.000Z" == data["updated_at"]
    assert data["cancellation_reason"] == "Conflict with a launch"
    assert data["uid"] == created["uid"] and data["start_at"] == created["start_at"]

    got = await ok_body(await get_booking(client, sc.ada, created["uid"]), "getBooking", 200)
    assert got == data

    [_, canceled] = await events_of(app, created["uid"])
    check_envelope(canceled)
    assert canceled["event"] == "booking.canceled"
    booking = canceled["data"]["booking"]
    assert booking["status"] == "canceled"
    assert booking["cancelledAt"] == data["cancelled_at"]
    assert booking["cancelledReason"] == "Conflict with a launch"
    assert [h["action"] for h in await history_of(app, created["uid"])] == ["created", "canceled"]

    # the slot is free again
    again = await book(client, sc.ada, sc.intro, start)
    assert again["uid"] != created["uid"]


async def test_cancel_without_body_and_repeat_cancel_is_unchanged(client, app, clock, sc):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    first = await ok_body(await cancel(client, sc.ada, created["uid"]), "cancelBooking", 200)
    assert first["status"] == "canceled" and first["cancellation_reason"] is None
    counts = await table_counts(app)
    clock.advance(minutes=1)
    resp = await cancel(client, sc.ada, created["uid"], {"reason": "again"})
    second = await ok_body(resp, "cancelBooking", 200)
    assert second == first  # unchanged: same version, same stamps, reason kept
    after = await table_counts(app)
    # no new event or history row; only the idempotency record of the second key
    assert after["events"] == counts["events"]
    assert after["booking_history"] == counts["booking_history"]
    assert after["bookings"] == counts["bookings"]


async def test_cancel_frees_a_group_seat(client, sc):
    start = at(TUESDAY, 10)
    seats = [await book(client, sc.ada, sc.workshop, start, attendee={"email": f"p{i}@example.com"})
             for i in range(3)]
    await ok_body(await cancel(client, sc.ada, seats[1]["uid"]), "cancelBooking", 200)
    await book(client, sc.ada, sc.workshop, start, attendee={"email": "late@example.com"})
    # the other two seats are still held
    for s in (seats[0], seats[2]):
        got = await ok_body(await get_booking(client, sc.ada, s["uid"]), "getBooking", 200)
        assert got["status"] == "confirmed"
    resp = await post_booking(client, sc.ada, create_body(sc.workshop, start))
    await error_of(resp, 409, "slot_unavailable")


async def test_cancel_and_reschedule_refused_when_event_type_forbids(client, app, sc):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    await set_intro(app, allow_cancel=False, allow_reschedule=False)
    counts = await table_counts(app)
    await error_of(await cancel(client, sc.ada, created["uid"]), 422, "event_type_disallows_cancel")
    await error_of(await reschedule(client, sc.ada, created["uid"], at(TUESDAY, 11)),
                   422, "event_type_disallows_reschedule")
    assert await table_counts(app) == counts
    # PATCH is still allowed
    resp = await patch(client, sc.ada, created["uid"], {"metadata": {"a": "b"}}, '"1"')
    await ok_body(resp, "updateBooking", 200)


async def test_started_booking_cannot_be_canceled_or_moved(client, app, clock, sc):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    clock.advance(days=1, hours=2)  # Tuesday 10:00: the meeting starts now
    counts = await table_counts(app)
    err = await error_of(await cancel(client, sc.ada, created["uid"]), 409, "booking_in_past")
    assert err["details"] == {}
    await error_of(await reschedule(client, sc.ada, created["uid"], at(WEDNESDAY, 10)),
                   409, "booking_in_past")
    assert await table_counts(app) == counts
    # a PATCH is still fine after the start
    await ok_body(await patch(client, sc.ada, created["uid"], {"attendee_name": "G"}, '"1"'),
                  "updateBooking", 200)


# -- reschedule -----------------------------------------------------------------------------

async def test_reschedule_creates_a_new_booking_and_retires_the_old(client, app, clock, sc):
    old_start, new_start = at(TUESDAY, 10), at(WEDNESDAY, 14)
    created = await book(client, sc.ada, sc.intro, old_start, metadata={"crm": "1"},
                         responses={"company": "Navy"}, guests=["alan@example.com"])
    clock.advance(minutes=3)
    resp = await reschedule(client, sc.ada, created["uid"], new_start, reason="Travel",
                            timezone="America/New_York")
    new = await ok_body(resp, "rescheduleBooking", 200)
    assert new["uid"] != created["uid"]
    assert new["version"] == 1
    assert new["rescheduled_from_uid"] == created["uid"]
    assert new["status"] == "confirmed"
    assert new["start_at"] == iso(new_start)
    assert new["end_at"] == iso(new_start + timedelta(minutes=30))
    assert new["timezone"] == "America/New_York"
    for same in ("attendees", "guests", "metadata", "responses", "host", "location", "title",
                 "event_type_id"):
        assert new[same] == created[same], same
    assert new["created_at"] == new["updated_at"] == "2026-05-18T08:03:00.000Z"

    old = await ok_body(await get_booking(client, sc.ada, created["uid"]), "getBooking", 200)
    assert old["status"] == "rescheduled"
    assert old["version"] == 2
    assert old["start_at"] == iso(old_start)
    assert old["updated_at"] == new["updated_at"]
    fresh = await ok_body(await get_booking(client, sc.ada, new["uid"]), "getBooking", 200)
    assert fresh == new

    [moved] = await events_of(app, new["uid"])
    check_envelope(moved)
    assert moved["event"] == "booking.rescheduled"
    assert moved["data"]["previousBooking"] == {
        "startTime": iso(old_start), "endTime": iso(old_start + timedelta(minutes=30)),
        "timezone": created["timezone"],
    }
    assert moved["data"]["booking"]["reschedule_generation"] == 1
    assert moved["data"]["booking"]["rescheduledAt"] == new["updated_at"]
    assert [h["action"] for h in await history_of(app, created["uid"])] == ["created", "rescheduled"]
    [entry] = await history_of(app, new["uid"])
    assert entry["action"] == "created" and entry["changes"]["from"] == created["uid"]

    # the old time is free, the new one is taken
    await book(client, sc.ada, sc.intro, old_start)
    await error_of(await post_booking(client, sc.ada, create_body(sc.intro, new_start)),
                   409, "slot_unavailable")

    # a second move counts up the generation
    again = await ok_body(await reschedule(client, sc.ada, new["uid"], at(WEDNESDAY, 15)),
                          "rescheduleBooking", 200)
    [moved_again] = await events_of(app, again["uid"])
    assert moved_again["data"]["booking"]["reschedule_generation"] == 2
    assert again["timezone"] == "America/New_York"


async def test_reschedule_may_overlap_its_own_old_slot(client, app, sc):
    await set_intro(app, slot_interval_minutes=15)
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    resp = await reschedule(client, sc.ada, created["uid"], at(TUESDAY, 10, 15))
    new = await ok_body(resp, "rescheduleBooking", 200)
    assert new["start_at"] == iso(at(TUESDAY, 10, 15))
    # other bookings still block: 10:45 is free, 10:30 overlaps the moved booking
    await error_of(await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY, 10, 30))),
                   409, "slot_unavailable")
    await book(client, sc.ada, sc.intro, at(TUESDAY, 10, 45))


async def test_reschedule_thirty_minutes_later_overlapping_itself(client, app, sc):
    from tests.scenario import DEMO

    text = DEMO.read_text().replace("duration_minutes = 30", "duration_minutes = 60\nslot_interval_minutes = 30")
    await apply_text(app, text)
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    assert created["end_at"] == iso(at(TUESDAY, 11))
    new = await ok_body(await reschedule(client, sc.ada, created["uid"], at(TUESDAY, 10, 30)),
                        "rescheduleBooking", 200)
    assert (new["start_at"], new["end_at"]) == (iso(at(TUESDAY, 10, 30)), iso(at(TUESDAY, 11, 30)))
    # and back again onto its former start
    back = await ok_body(await reschedule(client, sc.ada, new["uid"], at(TUESDAY, 10)),
                         "rescheduleBooking", 200)
    assert back["start_at"] == iso(at(TUESDAY, 10))


async def test_reschedule_within_a_full_day_under_a_daily_limit(client, app, sc):
    await set_intro(app, max_bookings_per_day=1)
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    await error_of(await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY, 14))),
                   409, "slot_unavailable")
    # the moved booking does not count against its own day
    await ok_body(await reschedule(client, sc.ada, created["uid"], at(TUESDAY, 14)),
                  "rescheduleBooking", 200)


async def test_reschedule_of_a_group_seat_to_its_own_session_start_later(client, sc):
    start = at(TUESDAY, 10)
    seats = [await book(client, sc.ada, sc.workshop, start, attendee={"email": f"p{i}@example.com"})
             for i in range(3)]
    # the full 10:00 session blocks 10:00 for others, but a seat may move to 12:00
    new = await ok_body(await reschedule(client, sc.ada, seats[0]["uid"], at(TUESDAY, 12)),
                        "rescheduleBooking", 200)
    assert new["start_at"] == iso(at(TUESDAY, 12))
    # its seat at 10:00 is free again
    await book(client, sc.ada, sc.workshop, start, attendee={"email": "late@example.com"})


async def test_reschedule_into_taken_or_past_slot(client, app, sc):
    a = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    await book(client, sc.ada, sc.intro, at(TUESDAY, 11))
    counts = await table_counts(app)
    err = await error_of(await reschedule(client, sc.ada, a["uid"], at(TUESDAY, 11)),
                         409, "slot_unavailable")
    assert err["details"]["reason_detail"] == "booked"
    await error_of(await reschedule(client, sc.ada, a["uid"], at(TUESDAY, 11, 7)),
                   409, "slot_unavailable")
    await error_of(await reschedule(client, sc.ada, a["uid"], at(TUESDAY, 20)),
                   409, "slot_unavailable")
    await error_of(await reschedule(client, sc.ada, a["uid"], "2026-05-18T07:00:00Z"),
                   409, "slot_in_past")
    assert await table_counts(app) == counts
    got = await ok_body(await get_booking(client, sc.ada, a["uid"]), "getBooking", 200)
    assert got["status"] == "confirmed" and got["version"] == 1


async def test_reschedule_of_inactive_event_type(client, app, sc):
    a = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    await set_intro(app, active=False)
    await error_of(await reschedule(client, sc.ada, a["uid"], at(TUESDAY, 11)),
                   409, "event_type_inactive")


async def test_round_robin_reschedule_keeps_the_old_host_when_free(client, app, clock, sc):
    ten = at(TUESDAY, 10)
    first = await book(client, sc.ada, sc.demo, ten)
    clock.advance(seconds=1)
    second = await book(client, sc.ada, sc.demo, ten)
    assert (first["host"]["user_id"], second["host"]["user_id"]) == (sc.ada.user_id, sc.bob_id)
    clock.advance(seconds=1)
    # a fresh assignment at 12:00 would pick ada (tie, host order); bob keeps it
    moved = await ok_body(await reschedule(client, sc.ada, second["uid"], at(TUESDAY, 12)),
                          "rescheduleBooking", 200)
    assert moved["host"]["user_id"] == sc.bob_id
    # ada is busy at 13:00 with an intro call: her demo moves to bob
    await book(client, sc.ada, sc.intro, at(TUESDAY, 13))
    clock.advance(seconds=1)
    moved = await ok_body(await reschedule(client, sc.ada, first["uid"], at(TUESDAY, 13)),
                          "rescheduleBooking", 200)
    assert moved["host"]["user_id"] == sc.bob_id
    [event] = await events_of(app, moved["uid"])
    check_envelope(event)
    assert event["data"]["booking"]["hostUser"]["id"] == sc.bob_id


async def test_pending_booking_stays_pending_when_moved(client, app, sc):
    await set_intro(app, requires_confirmation=True)
    a = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    new = await ok_body(await reschedule(client, sc.ada, a["uid"], at(TUESDAY, 11)),
                        "rescheduleBooking", 200)
    assert new["status"] == "pending"


async def test_writes_on_canceled_and_rescheduled_bookings(client, app, sc):
    a = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    b = await book(client, sc.ada, sc.intro, at(TUESDAY, 11))
    await ok_body(await cancel(client, sc.ada, a["uid"]), "cancelBooking", 200)
    moved = await ok_body(await reschedule(client, sc.ada, b["uid"], at(TUESDAY, 12)),
                          "rescheduleBooking", 200)
    counts = await table_counts(app)

    await error_of(await reschedule(client, sc.ada, a["uid"], at(TUESDAY, 13)),
                   409, "booking_already_cancelled")
    await error_of(await patch(client, sc.ada, a["uid"], {"metadata": {"x": "y"}}, '"2"'),
                   409, "booking_already_cancelled")
    for resp in (
        await reschedule(client, sc.ada, b["uid"], at(TUESDAY, 13)),
        await cancel(client, sc.ada, b["uid"]),
        await patch(client, sc.ada, b["uid"], {"metadata": {"x": "y"}}, '"2"'),
    ):
        err = await error_of(resp, 409, "booking_already_rescheduled")
        assert err["details"] == {"rescheduled_to_uid": moved["uid"]}
    assert await table_counts(app) == counts


async def test_unknown_malformed_and_foreign_uids_are_404_on_every_write(client, app, sc):
    a = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    eve = await make_account(app, org="Other", username="eve", token_name="eve")
    counts = await table_counts(app)
    for who, uid in ((sc.ada, "nope"), (sc.ada, "00000000-0000-4000-8000-000000000000"),
                     (eve, a["uid"])):
        await error_of(await cancel(client, who, uid), 404, "booking_not_found")
        await error_of(await reschedule(client, who, uid, at(TUESDAY, 11)), 404, "booking_not_found")
        await error_of(await patch(client, who, uid, {"attendee_name": "x"}, '"1"'),
                       404, "booking_not_found")
    assert await table_counts(app) == counts


# -- PATCH ------------------------------------------------------------------------------------

async def test_patch_merges_metadata_replaces_responses_truncates_name(client, app, clock, sc):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10),
                         metadata={"a": "1", "b": "2"}, responses={"company": "Navy"})
    clock.advance(minutes=1)
    resp = await patch(client, sc.ada, created["uid"],
                       {"metadata": {"b": "3", "c": "4"}, "responses": {},
                        "attendee_name": "G" * 250}, '"1"')
    data = await ok_body(resp, "updateBooking", 200)
    assert data["version"] == 2
    assert data["metadata"] == {"a": "1", "b": "3", "c": "4"}
    assert data["responses"] == {}
    assert data["attendees"][0]["name"] == "G" * 200
    assert data["updated_at"] == "2026-05-18T08:01:00.000Z"
    assert data["created_at"] == created["created_at"]

    got = await get_booking(client, sc.ada, created["uid"])
    assert (await ok_body(got, "getBooking", 200)) == data

    [_, updated] = await events_of(app, created["uid"])
    check_envelope(updated)
    assert updated["event"] == "booking.updated"
    assert updated["data"]["changed_fields"] == ["attendee_name", "metadata", "responses"]
    assert updated["data"]["booking"]["inviteeName"] == "G" * 200
    [_, entry] = await history_of(app, created["uid"])
    assert entry["action"] == "updated"
    assert entry["changes"]["fields"] == ["attendee_name", "metadata", "responses"]

    # weak ETags are accepted; a stale one is a conflict
    resp = await patch(client, sc.ada, created["uid"], {"responses": {"company": "IBM"}}, 'W/"2"')
    data = await ok_body(resp, "updateBooking", 200)
    assert data["version"] == 3 and data["responses"] == {"company": "IBM"}
    counts = await table_counts(app)
    err = await error_of(await patch(client, sc.ada, created["uid"], {"attendee_name": "x"}, '"2"'),
                         409, "version_conflict")
    validate_response("updateBooking", 409, {"error": err})
    assert await table_counts(app) == counts


async def test_patch_if_match_rules(client, app, sc):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    counts = await table_counts(app)
    err = await error_of(await patch(client, sc.ada, created["uid"], {"attendee_name": "x"}, None),
                         428, "missing_if_match")
    validate_response("updateBooking", 428, {"error": err})
    for bad in ("1", '"abc"', "*", '"1", "2"', 'w/"1"', '""'):
        await error_of(await patch(client, sc.ada, created["uid"], {"attendee_name": "x"}, bad),
                       400, "invalid_if_match")
    assert await table_counts(app) == counts


async def test_patch_immutable_fields(client, app, sc):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    counts = await table_counts(app)
    resp = await patch(client, sc.ada, created["uid"],
                       {"start": "2026-05-19T11:00:00Z", "status": "canceled", "metadata": {"a": "b"}},
                       '"1"')
    err = await error_of(resp, 422, "field_immutable")
    assert err["details"]["fields"] == ["start", "status"]
    validate_response("updateBooking", 422, {"error": err})
    assert await table_counts(app) == counts


async def test_patch_after_cancel_of_another_booking_and_after_reschedule_uses_new_etag(client, sc):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    moved = await ok_body(await reschedule(client, sc.ada, created["uid"], at(TUESDAY, 11)),
                          "rescheduleBooking", 200)
    resp = await patch(client, sc.ada, moved["uid"], {"metadata": {"k": "v"}}, '"1"')
    data = await ok_body(resp, "updateBooking", 200)
    assert data["version"] == 2


async def test_patch_responses_are_checked_against_questions(client, app, sc):
    text = (await _demo_with_required_question())
    await apply_text(app, text)
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10), responses={"company": "Navy"})
    resp = await patch(client, sc.ada, created["uid"], {"responses": {"unknown": "x"}}, '"1"')
    err = await error_of(resp, 400, "validation_error")
    fields = {e["field"] for e in err["details"]["errors"]}
    assert fields == {"responses.unknown", "responses.company"}


async def _demo_with_required_question() -> str:
    from tests.scenario import DEMO

    text = DEMO.read_text()
    return text.replace('type = "text", required = false', 'type = "text", required = true')


async def test_patch_metadata_limits_apply_to_the_merged_result(client, app, sc):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10),
                         metadata={f"k{i}": "v" for i in range(40)})
    counts = await table_counts(app)
    resp = await patch(client, sc.ada, created["uid"],
                       {"metadata": {f"n{i}": "v" for i in range(11)}}, '"1"')
    err = await error_of(resp, 400, "validation_error")
    assert [e["field"] for e in err["details"]["errors"]] == ["metadata"]
    assert await table_counts(app) == counts
    # overwriting existing keys keeps the count
    resp = await patch(client, sc.ada, created["uid"],
                       {"metadata": {f"k{i}": "w" for i in range(40)} | {"n0": "v"}}, '"1"')
    data = await ok_body(resp, "updateBooking", 200)
    assert len(data["metadata"]) == 41 and data["metadata"]["k0"] == "w"
