"""POST /v1/bookings and GET /v1/bookings/{uid}: shapes, headers, outbox, history, rules
(contract 2.1, 2.7, 6, 7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.booking_helpers import (
    TUESDAY,
    at,
    book,
    check_envelope,
    create_body,
    error_of,
    events_of,
    get_booking,
    history_of,
    iso,
    ok_body,
    post_booking,
    set_intro,
    table_counts,
)
from tests.scenario import Scenario, make_scenario


@pytest.fixture
async def sc(client, app) -> Scenario:
    return await make_scenario(app)


async def test_create_returns_the_booking_and_get_reads_it(client, app, sc):
    start = at(TUESDAY, 10)
    body = create_body(
        sc.intro, start, timezone="Europe/Lisbon",
        attendee={"email": "grace@example.com", "name": "Grace Hopper", "timezone": "America/New_York",
                  "phone": "+1 202 555 0100", "sms_opt_in": True},
        guests=["alan@example.com"], metadata={"crm_id": "C-7"}, responses={"company": "Navy"},
        utm_source="newsletter",
    )
    resp = await post_booking(client, sc.ada, body)
    data = await ok_body(resp, "createBooking", 201)
    assert data["version"] == 1
    assert data["status"] == "confirmed"
    assert data["event_type_id"] == sc.intro and data["event_type_slug"] == "intro-call"
    assert data["title"] == "Intro call"
    assert data["start_at"] == iso(start)
    assert data["end_at"] == iso(start + timedelta(minutes=30))
    assert data["timezone"] == "Europe/Lisbon"
    assert data["host"] == {"user_id": sc.ada.user_id, "username": "ada", "email": "ada@example.com"}
    assert data["attendees"] == [
        {"email": "grace@example.com", "name": "Grace Hopper", "timezone": "America/New_York"}
    ]
    assert [g["email"] for g in data["guests"]] == ["alan@example.com"]
    assert data["location"] == {"type": "google_meet", "url": None, "value": None}
    assert data["metadata"] == {"crm_id": "C-7"}
    assert data["responses"] == {"company": "Navy"}
    assert data["calendar_sync_status"] == "not_applicable"
    assert data["rescheduled_from_uid"] is None and data["cancelled_at"] is None
    assert data["created_at"] == data["updated_at"] == "2026-05-18T08:00:00.000Z"

    got = await get_booking(client, sc.ada, data["uid"])
    fetched = await ok_body(got, "getBooking", 200)
    assert fetched == data

    [created] = await events_of(app, data["uid"])
    check_envelope(created)
    assert created["event"] == "booking.created"
    booking = created["data"]["booking"]
    assert booking["id"] == data["uid"]
    assert booking["startTime"] == iso(start) and booking["status"] == "confirmed"
    assert booking["inviteeEmail"] == "grace@example.com" and booking["inviteePhone"] == "+1 202 555 0100"
    assert booking["answers"] == {"Company": "Navy"}
    assert booking["urlParams"] == {"utm_source": "newsletter"}
    assert booking["reschedule_generation"] == 0
    assert booking["hostUser"]["id"] == sc.ada.user_id
    assert booking["organizationId"] == sc.ada.org_id
    assert "previousBooking" not in created["data"] and "changed_fields" not in created["data"]

    [entry] = await history_of(app, data["uid"])
    assert entry["action"] == "created" and entry["actor"].startswith("pat:")


async def test_create_by_username_and_slug_with_defaults(client, sc):
    body = {
        "username": "ada", "event_slug": "intro-call", "start": "2026-05-19T11:00:00+01:00",
        "attendee": {"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"},
    }
    data = await ok_body(await post_booking(client, sc.ada, body), "createBooking", 201)
    assert data["event_type_id"] == sc.intro
    assert data["start_at"] == "2026-05-19T10:00:00.000Z"
    assert data["attendees"][0]["name"] == "Grace Hopper"
    assert data["timezone"] == "Europe/London"  # the schedule's zone when none was given
    assert data["guests"] == [] and data["metadata"] == {} and data["responses"] == {}


async def test_requires_confirmation_gives_pending(client, app, sc):
    await set_intro(app, requires_confirmation=True)
    data = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    assert data["status"] == "pending"
    [created] = await events_of(app, data["uid"])
    check_envelope(created)
    assert created["data"]["booking"]["status"] == "pending"
    # a pending booking holds its slot
    resp = await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY, 10)))
    await error_of(resp, 409, "slot_unavailable")


async def test_round_robin_assigns_free_host_with_fewest_recent_bookings(client, clock, sc):
    ten, eleven = at(TUESDAY, 10), at(TUESDAY, 11)
    first = await book(client, sc.ada, sc.demo, ten)
    assert first["host"]["user_id"] == sc.ada.user_id  # tie -> host order
    clock.advance(seconds=1)
    second = await book(client, sc.ada, sc.demo, ten)
    assert second["host"]["user_id"] == sc.bob_id  # ada is busy at 10:00
    resp = await post_booking(client, sc.ada, create_body(sc.demo, ten))
    await error_of(resp, 409, "slot_unavailable")
    # one recent booking each: tie again -> ada
    clock.advance(seconds=1)
    fourth = await book(client, sc.ada, sc.demo, eleven)
    assert fourth["host"]["user_id"] == sc.ada.user_id
    # ada now has more recent bookings of this event type than bob
    clock.advance(seconds=1)
    fifth = await book(client, sc.ada, sc.demo, at(TUESDAY, 13))
    assert fifth["host"]["user_id"] == sc.bob_id


async def test_group_event_takes_exactly_seats_per_slot(client, app, sc):
    start = at(TUESDAY, 10)
    uids = []
    for i in range(3):
        data = await book(client, sc.ada, sc.workshop, start, attendee={"email": f"p{i}@example.com"})
        assert data["start_at"] == iso(start) and data["host"]["user_id"] == sc.ada.user_id
        uids.append(data["uid"])
    before = await table_counts(app)
    resp = await post_booking(
        client, sc.ada, create_body(sc.workshop, start, attendee={"email": "late@example.com"})
    )
    err = await error_of(resp, 409, "slot_unavailable")
    assert err["details"]["reason"] == "slot_busy"
    assert err["details"]["reason_detail"] == "seats_full"
    assert await table_counts(app) == before
    # another session of the same group event type is unaffected
    await book(client, sc.ada, sc.workshop, at(TUESDAY, 12))


async def test_per_day_limit_of_the_event_type(client, app, sc):
    await set_intro(app, max_bookings_per_day=2)
    await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    await book(client, sc.ada, sc.intro, at(TUESDAY, 11))
    resp = await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY, 12)))
    err = await error_of(resp, 409, "slot_unavailable")
    assert err["details"]["reason_detail"] == "limit_reached"
    await book(client, sc.ada, sc.intro, at(TUESDAY + timedelta(days=1), 10))


async def test_per_day_limit_of_the_user_across_event_types(client, app, sc):
    from tests.scenario import DEMO, apply_text

    await apply_text(app, DEMO.read_text() + '\n[[user_limits]]\nuser = "ada"\nmax_bookings_per_day = 1\n')
    await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    resp = await post_booking(client, sc.ada, create_body(sc.workshop, at(TUESDAY, 13)))
    await error_of(resp, 409, "slot_unavailable")
    await book(client, sc.ada, sc.workshop, at(TUESDAY + timedelta(days=1), 13))


async def test_minimum_notice_and_future_limit(client, app, sc):
    await set_intro(app, minimum_notice_hours=4, future_limit_days=7)
    resp = await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY - timedelta(days=1), 10)))
    err = await error_of(resp, 409, "slot_unavailable")
    assert err["details"]["reason"] == "outside_minimum_notice"
    resp = await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY + timedelta(days=7), 10)))
    err = await error_of(resp, 409, "slot_unavailable")
    assert err["details"]["reason"] == "outside_future_limit"
    await book(client, sc.ada, sc.intro, at(TUESDAY - timedelta(days=1), 12))


async def test_get_unknown_malformed_and_foreign_uids_are_404(client, app, sc):
    from tests.conftest import make_account

    data = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    eve = await make_account(app, org="Other", username="eve", token_name="eve")
    for who, uid in ((sc.ada, "not-a-uuid"), (sc.ada, "00000000-0000-4000-8000-000000000000"),
                     (sc.ada, data["uid"].upper()), (eve, data["uid"])):
        await error_of(await get_booking(client, who, uid), 404, "booking_not_found")
