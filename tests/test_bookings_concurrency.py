"""Concurrent booking writes over real HTTP on loopback (contract 7, 12)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from fortytwo import keys
from fortytwo.db.database import fetch_all
from tests.booking_helpers import (
    TUESDAY,
    at,
    book,
    cancel,
    create_body,
    events_of,
    iso,
    patch,
    post_booking,
    reschedule,
    table_counts,
)
from tests.conftest import make_settings
from tests.scenario import Scenario, make_scenario

UNLIMITED = {"pat": 1_000_000, "anonymous": 1_000_000}


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, rate_limits=UNLIMITED)


@pytest.fixture
async def sc(client, app) -> Scenario:
    return await make_scenario(app)


async def _create_until_settled(client, sc, body, key) -> tuple[int, dict]:
    """POST, retrying a 503 slot_lock_timeout with the same key as the client is told to."""
    for _ in range(50):
        resp = await post_booking(client, sc.ada, body, key)
        payload = await resp.json()
        if resp.status != 503:
            return resp.status, payload
        assert payload["error"]["code"] == "slot_lock_timeout"
        assert resp.headers["Retry-After"] == "1"
        await asyncio.sleep(0.01)  # shorter than Retry-After to keep the test quick
    raise AssertionError("still timing out")


async def _active_at(app, event_type_id: str, start) -> list:
    return await fetch_all(
        app[keys.DATABASE].reader,
        "SELECT * FROM bookings WHERE event_type_id = ? AND start_at = ? AND status IN ('pending', 'confirmed')",
        (event_type_id, iso(start)),
    )


async def _first_answers(client, sc, body, n) -> list[tuple[int, dict, str]]:
    keys_ = [str(uuid.uuid4()) for _ in range(n)]
    resps = await asyncio.gather(*(post_booking(client, sc.ada, body, k) for k in keys_))
    return [(r.status, await r.json(), k) for r, k in zip(resps, keys_, strict=True)]


async def test_hundred_concurrent_posts_for_one_slot_make_one_booking(client, app, sc):
    start = at(TUESDAY, 10)
    body = create_body(sc.intro, start)
    answers = await _first_answers(client, sc, body, 100)
    statuses = Counter(s for s, _, _ in answers)
    assert statuses[201] == 1, statuses
    assert set(statuses) <= {201, 409, 503}
    for status, payload, key in answers:
        if status == 409:
            assert payload["error"]["code"] == "slot_unavailable"
        elif status == 503:
            settled, payload = await _create_until_settled(client, sc, body, key)
            assert settled == 409 and payload["error"]["code"] == "slot_unavailable"
    [winner] = [p["data"] for s, p, _ in answers if s == 201]
    rows = await _active_at(app, sc.intro, start)
    assert [r["uid"] for r in rows] == [winner["uid"]]
    assert await table_counts(app) == {"bookings": 1, "events": 1, "idempotency_records": 1,
                                       "booking_history": 1}


async def test_lock_timeouts_become_conflicts_on_retry(aiohttp_client, tmp_path, clock):
    """With a tiny lock timeout most racers get 503; retried with their keys they settle on
    409 and there is still exactly one booking."""
    from fortytwo.app import create_app

    app = create_app(make_settings(tmp_path, rate_limits=UNLIMITED,
                                   bookings={"slot_lock_timeout_seconds": 0.001}), clock=clock)
    client = await aiohttp_client(app)
    sc = await make_scenario(app)
    start = at(TUESDAY, 10)
    body = create_body(sc.intro, start)
    answers = await _first_answers(client, sc, body, 60)
    statuses = Counter(s for s, _, _ in answers)
    assert set(statuses) <= {201, 409, 503}
    assert statuses[503] > 0, statuses
    created = statuses[201]
    for status, _, key in answers:
        if status == 503:
            settled, payload = await _create_until_settled(client, sc, body, key)
            if settled == 201:
                created += 1
            else:
                assert settled == 409 and payload["error"]["code"] == "slot_unavailable"
    assert created == 1
    assert len(await _active_at(app, sc.intro, start)) == 1
    assert (await table_counts(app))["idempotency_records"] == 1


async def test_group_session_takes_exactly_its_seats_concurrently(client, app, sc):
    start = at(TUESDAY, 10)
    bodies = [create_body(sc.workshop, start, attendee={"email": f"p{i}@example.com"}) for i in range(30)]
    resps = await asyncio.gather(*(post_booking(client, sc.ada, b) for b in bodies))
    statuses = Counter(r.status for r in resps)
    assert statuses == {201: 3, 409: 27}, statuses
    for r in resps:
        if r.status == 409:
            assert (await r.json())["error"]["code"] == "slot_unavailable"
    assert len(await _active_at(app, sc.workshop, start)) == 3


async def test_two_concurrent_reschedules_into_one_slot(client, app, sc):
    for round_ in range(5):
        day = TUESDAY + timedelta(days=round_ % 3)
        a = await book(client, sc.ada, sc.intro, at(day, 9 + round_ // 3 * 3))
        b = await book(client, sc.ada, sc.intro, at(day, 10 + round_ // 3 * 3))
        target = at(day, 11 + round_ // 3 * 3)
        ra, rb = await asyncio.gather(reschedule(client, sc.ada, a["uid"], target),
                                      reschedule(client, sc.ada, b["uid"], target))
        assert sorted([ra.status, rb.status]) == [200, 409]
        loser_resp, loser = (ra, a) if ra.status == 409 else (rb, b)
        assert (await loser_resp.json())["error"]["code"] == "slot_unavailable"
        rows = await _active_at(app, sc.intro, target)
        assert len(rows) == 1
        state = await fetch_all(app[keys.DATABASE].reader,
                                "SELECT status, version FROM bookings WHERE uid = ?", (loser["uid"],))
        assert (state[0]["status"], state[0]["version"]) == ("confirmed", 1)


async def test_concurrent_bookings_of_one_host_across_event_types_never_overlap(client, app, sc):
    start = at(TUESDAY, 14)
    bodies = [create_body(sc.intro if i % 2 else sc.demo, start, attendee={"email": f"p{i}@example.com"})
              for i in range(40)]
    resps = await asyncio.gather(*(post_booking(client, sc.ada, b) for b in bodies))
    assert all(r.status in (201, 409) for r in resps)
    rows = await fetch_all(app[keys.DATABASE].reader,
                           "SELECT host_user_id, start_at, end_at FROM bookings ORDER BY start_at")
    by_host: dict[str, list] = {}
    for r in rows:
        by_host.setdefault(r["host_user_id"], []).append((r["start_at"], r["end_at"]))
    for spans in by_host.values():
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            assert e1 <= s2, spans
    # ada and bob are both free at 14:00, so exactly two meetings happen
    assert len(rows) == 2


async def test_concurrent_cancel_and_reschedule_of_one_booking(client, app, sc):
    a = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    rc, rr = await asyncio.gather(cancel(client, sc.ada, a["uid"]),
                                  reschedule(client, sc.ada, a["uid"], at(TUESDAY, 11)))
    assert sorted([rc.status, rr.status]) == [200, 409]
    loser = rr if rr.status == 409 else rc
    code = (await loser.json())["error"]["code"]
    assert code == ("booking_already_cancelled" if loser is rr else "booking_already_rescheduled")
    assert len(await events_of(app)) == 2


async def test_concurrent_patches_with_one_etag(client, app, sc):
    a = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    resps = await asyncio.gather(*(patch(client, sc.ada, a["uid"], {"metadata": {f"k{i}": "v"}}, '"1"')
                                   for i in range(10)))
    statuses = Counter(r.status for r in resps)
    assert statuses == {200: 1, 409: 9}
    for r in resps:
        if r.status == 409:
            assert (await r.json())["error"]["code"] == "version_conflict"
    assert len(await events_of(app, a["uid"], "booking.updated")) == 1


async def test_many_distinct_slots_concurrently_all_succeed(client, app, sc):
    starts = [at(TUESDAY + timedelta(days=d), h, m) for d in range(3) for h in range(8, 16) for m in (0, 30)]
    resps = await asyncio.gather(*(post_booking(client, sc.ada, create_body(sc.intro, s)) for s in starts))
    assert Counter(r.status for r in resps) == {201: len(starts)}
    counts = await table_counts(app)
    assert counts == {"bookings": len(starts), "events": len(starts),
                      "idempotency_records": len(starts), "booking_history": len(starts)}
