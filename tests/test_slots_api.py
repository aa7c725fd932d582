"""GET /v1/slots and /v1/slots/check over HTTP, against the reference schemas."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from fortytwo.timefmt import format_ts, parse_ts
from tests.conftest import make_account
from tests.reference import validate_response
from tests.scenario import apply_text, make_scenario

DAY = {"start": "2026-05-18T00:00:00Z", "end": "2026-05-19T00:00:00Z"}


@pytest.fixture
async def world(client, app):
    return await make_scenario(app)


async def slots(client, world, **params):
    resp = await client.get("/v1/slots", params=params, headers=world.ada.auth)
    return resp.status, await resp.json()


async def check(client, world, **params):
    resp = await client.get("/v1/slots/check", params=params, headers=world.ada.auth)
    return resp.status, await resp.json()


async def book(client, world, event_type_id, start, key, email="guest@example.com"):
    resp = await client.post(
        "/v1/bookings",
        json={"event_type_id": event_type_id, "start": start, "attendee": {"email": email, "name": "G"}},
        headers={**world.ada.auth, "Idempotency-Key": key},
    )
    return resp.status, await resp.json()


async def test_individual_day(client, world):
    status, body = await slots(client, world, event_type_id=world.intro, **DAY)
    assert status == 200
    validate_response("listSlots", 200, body)
    data = body["data"]
    assert data["event_type_id"] == world.intro and data["timezone"] == "Europe/London"
    assert data["truncated"] is False and data["computed_at"] == "2026-05-18T08:00:00.000Z"
    starts = [s["start"] for s in data["slots"]]
    # 09:00-17:00 London (BST) = 08:00-16:00 UTC, 30-minute steps, now = 08:00 UTC
    assert starts[0] == "2026-05-18T08:00:00.000Z" and starts[-1] == "2026-05-18T15:30:00.000Z"
    assert len(starts) == 16
    assert all("host_user_id" not in s and "seats_remaining" not in s for s in data["slots"])


async def test_by_username_and_slug_and_timezone_echo(client, world):
    status, body = await slots(client, world, username="ada", event_slug="intro-call",
                               timezone="America/New_York", **DAY)
    assert status == 200 and body["data"]["timezone"] == "America/New_York"
    assert len(body["data"]["slots"]) == 16


async def test_booked_slot_disappears_and_check_explains(client, world):
    status, _ = await book(client, world, world.intro, "2026-05-18T09:00:00Z", "k1")
    assert status == 201
    _, body = await slots(client, world, event_type_id=world.intro, **DAY)
    starts = [s["start"] for s in body["data"]["slots"]]
    assert "2026-05-18T09:00:00.000Z" not in starts and "2026-05-18T09:30:00.000Z" in starts
    status, body = await check(client, world, event_type_id=world.intro, start="2026-05-18T09:00:00Z")
    assert status == 200
    validate_response("checkSlot", 200, body)
    assert body["data"] == {
        "available": False, "reason": "slot_busy", "reason_detail": "booked",
        "next_available": "2026-05-18T09:30:00.000Z",
    }


async def test_check_reasons(client, world, clock):
    cases = [
        ("2026-05-18T07:00:00Z", "in_past", None),
        ("2026-05-18T17:00:00Z", "slot_busy", "outside_working_hours"),
        ("2026-05-18T08:10:00Z", "slot_busy", "off_increment"),
        ("2026-08-18T09:00:00Z", "outside_future_limit", None),
    ]
    for start, reason, detail in cases:
        status, body = await check(client, world, event_type_id=world.intro, start=start)
        assert status == 200, body
        validate_response("checkSlot", 200, body)
        assert body["data"]["available"] is False
        assert (body["data"]["reason"], body["data"]["reason_detail"]) == (reason, detail), start
    status, body = await check(client, world, event_type_id=world.intro, start="2026-05-18T09:00:00Z",
                               end="2026-05-18T09:30:00Z")
    assert body["data"] == {"available": True, "duration_minutes": 30}


async def test_minimum_notice_and_inactive(client, app, world):
    text = (await _demo_text()).replace(
        'duration_minutes = 30\n', 'duration_minutes = 30\nminimum_notice_hours = 2\n', 1
    )
    await apply_text(app, text)
    _, body = await check(client, world, event_type_id=world.intro, start="2026-05-18T09:00:00Z")
    assert body["data"]["reason"] == "outside_minimum_notice"
    _, body = await slots(client, world, event_type_id=world.intro, **DAY)
    assert body["data"]["slots"][0]["start"] == "2026-05-18T10:00:00.000Z"
    await apply_text(app, text.replace('slug = "intro-call"\n', 'slug = "intro-call"\nactive = false\n'))
    _, body = await slots(client, world, event_type_id=world.intro, **DAY)
    assert body["data"]["slots"] == []
    _, body = await check(client, world, event_type_id=world.intro, start="2026-05-18T12:00:00Z")
    assert body["data"]["reason"] == "event_type_inactive"


async def _demo_text() -> str:
    from tests.scenario import DEMO

    return DEMO.read_text()


async def test_round_robin_names_the_host(client, world):
    _, body = await slots(client, world, event_type_id=world.demo, **DAY)
    validate_response("listSlots", 200, body)
    hosts = {s["host_user_id"] for s in body["data"]["slots"]}
    assert hosts == {world.ada.user_id}  # ties go to the first host
    status, booked = await book(client, world, world.demo, "2026-05-18T09:00:00Z", "rr1")
    assert status == 201 and booked["data"]["host"]["user_id"] == world.ada.user_id
    _, body = await slots(client, world, event_type_id=world.demo, **DAY)
    by_start = {s["start"]: s["host_user_id"] for s in body["data"]["slots"]}
    # ada now has a recent booking, so bob is preferred; at 09:00 only bob is free
    assert by_start["2026-05-18T09:00:00.000Z"] == world.bob_id
    assert by_start["2026-05-18T12:00:00.000Z"] == world.bob_id


async def test_group_seats_remaining(client, world):
    _, body = await slots(client, world, event_type_id=world.workshop, **DAY)
    assert body["data"]["slots"][0]["seats_remaining"] == 3
    for i in range(3):
        status, _ = await book(client, world, world.workshop, "2026-05-18T09:00:00Z", f"g{i}", f"g{i}@example.com")
        if i < 2:
            _, body = await slots(client, world, event_type_id=world.workshop, **DAY)
            seats = {s["start"]: s["seats_remaining"] for s in body["data"]["slots"]}
            assert seats["2026-05-18T09:00:00.000Z"] == 2 - i
    _, body = await slots(client, world, event_type_id=world.workshop, **DAY)
    assert "2026-05-18T09:00:00.000Z" not in {s["start"] for s in body["data"]["slots"]}
    _, body = await check(client, world, event_type_id=world.workshop, start="2026-05-18T09:00:00Z")
    assert body["data"]["reason_detail"] == "seats_full"


async def test_truncation_at_1000(client, app, world):
    text = (await _demo_text()).replace(
        'duration_minutes = 30\n', 'duration_minutes = 5\n', 1
    ).replace('mon = ["09:00-17:00"]', 'mon = ["00:00-24:00"]').replace(
        'tue = ["09:00-17:00"]', 'tue = ["00:00-24:00"]'
    ).replace('wed = ["09:00-17:00"]', 'wed = ["00:00-24:00"]').replace(
        'thu = ["09:00-17:00"]', 'thu = ["00:00-24:00"]'
    ).replace('fri = ["09:00-17:00"]', 'fri = ["00:00-24:00"]')
    await apply_text(app, text)
    status, body = await slots(client, world, event_type_id=world.intro,
                               start="2026-05-18T00:00:00Z", end="2026-05-25T00:00:00Z")
    assert status == 200 and body["data"]["truncated"] is True
    assert len(body["data"]["slots"]) == 1000
    validate_response("listSlots", 200, body)


@pytest.mark.parametrize(
    "params, param",
    [
        ({"start": DAY["start"], "end": DAY["end"]}, "event_type_id"),
        ({"username": "ada", **DAY}, "event_slug"),
        ({"event_slug": "intro-call", **DAY}, "username"),
        ({"event_type_id": "not-a-uuid", **DAY}, "event_type_id"),
        ({"end": DAY["end"]}, "start"),
        ({"start": DAY["start"]}, "end"),
        ({"start": "yesterday", "end": DAY["end"]}, "start"),
        ({"start": "2026-05-18T00:00:00", "end": DAY["end"]}, "start"),
        ({"start": DAY["start"], "end": "2026-05-19T00:00:00"}, "end"),
        ({"start": DAY["end"], "end": DAY["start"]}, "end"),
        ({"start": DAY["start"], "end": DAY["start"]}, "end"),
        ({"start": "2026-05-01T00:00:00Z", "end": "2026-06-01T00:00:01Z"}, "end"),
        ({**DAY, "timezone": "Mars/Olympus"}, "timezone"),
        ({**DAY, "timezone": "../etc/passwd"}, "timezone"),
    ],
)
async def test_bad_queries(client, world, params, param):
    params = dict(params)
    if "event_type_id" not in params and "username" not in params and "event_slug" not in params and param != "event_type_id":
        params["event_type_id"] = world.intro
    status, body = await slots(client, world, **params)
    assert status == 400, body
    assert body["error"]["code"] == "invalid_query_param"
    assert body["error"]["details"]["param"] == param
    validate_response("listSlots", 400, body)


async def test_window_of_exactly_31_days_is_fine(client, world):
    status, _ = await slots(client, world, event_type_id=world.intro,
                            start="2026-05-01T00:00:00Z", end="2026-06-01T00:00:00Z")
    assert status == 200


async def test_offsets_in_query_strings(client, world):
    status, body = await slots(client, world, event_type_id=world.intro,
                               start="2026-05-18T01:00:00+01:00", end="2026-05-19T01:00:00+01:00")
    assert status == 200 and len(body["data"]["slots"]) == 16
    # an unencoded '+' arrives as a space; it is still understood
    resp = await client.get(
        f"/v1/slots?event_type_id={world.intro}&start=2026-05-18T01:00:00+01:00&end=2026-05-19T01:00:00+01:00",
        headers=world.ada.auth,
    )
    assert resp.status == 200


async def test_unknown_and_foreign_event_types(client, app, world):
    status, body = await slots(client, world, event_type_id="00000000-0000-4000-8000-000000000000", **DAY)
    assert status == 404 and body["error"]["code"] == "event_type_not_found"
    other = await make_account(app, org="Other", username="zed", token_name="z")
    resp = await client.get("/v1/slots", params={"event_type_id": world.intro, **DAY}, headers=other.auth)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "event_type_not_found"
    resp = await client.get("/v1/slots/check", params={"event_type_id": world.intro, "start": DAY["start"]},
                            headers=other.auth)
    assert resp.status == 404


async def test_check_end_must_match_duration(client, world):
    status, body = await check(client, world, event_type_id=world.intro, start="2026-05-18T09:00:00Z",
                               end="2026-05-18T09:45:00Z")
    assert status == 400 and body["error"]["details"]["param"] == "end"


async def test_scope_required(client, app, world):
    from tests.conftest import add_token

    issued = await add_token(app, world.ada, name="no-slots", scopes="bookings:read")
    resp = await client.get("/v1/slots", params={"event_type_id": world.intro, **DAY},
                            headers={"Authorization": f"Bearer {issued.token}"})
    assert resp.status == 403 and (await resp.json())["error"]["details"]["required_scope"] == "slots:read"


async def test_list_and_check_agree_over_http(client, world):
    """Every listed slot checks available; random other starts in the window do not."""
    for i, start in enumerate(["2026-05-18T10:00:00Z", "2026-05-19T13:30:00Z", "2026-05-20T08:00:00Z"]):
        assert (await book(client, world, world.intro, start, f"agree{i}"))[0] == 201
    window = {"start": "2026-05-18T00:00:00Z", "end": "2026-05-21T00:00:00Z"}
    _, body = await slots(client, world, event_type_id=world.intro, **window)
    listed = {s["start"] for s in body["data"]["slots"]}
    for start in sorted(listed)[::5]:
        _, result = await check(client, world, event_type_id=world.intro, start=start)
        assert result["data"]["available"] is True, start
    rng = random.Random(7)
    base = parse_ts(window["start"])
    for _ in range(40):
        candidate = format_ts(base + timedelta(minutes=5 * rng.randrange(0, 3 * 24 * 12)))
        _, result = await check(client, world, event_type_id=world.intro, start=candidate)
        assert result["data"]["available"] is (candidate in listed), candidate


def test_dates_helper_sanity():
    assert format_ts(datetime.fromisoformat("2026-05-18T08:00:00+00:00")) == "2026-05-18T08:00:00.000Z"
