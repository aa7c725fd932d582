"""Idempotency-Key on the four booking writes (contract 2.6)."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.db.database import fetch_all
from fortytwo.services import housekeeping
from tests.booking_helpers import (
    TUESDAY,
    at,
    book,
    cancel,
    create_body,
    error_of,
    iso,
    ok_body,
    patch,
    post_booking,
    reschedule,
    table_counts,
    write_headers,
)
from tests.conftest import make_account, make_settings
from tests.scenario import Scenario, make_scenario


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, bookings={"slot_lock_timeout_seconds": 0.3})


@pytest.fixture
async def sc(client, app) -> Scenario:
    return await make_scenario(app)


async def _replayed(first, second) -> None:
    """``second`` replays ``first``: same status, bytes and ETag, marked, fresh request id."""
    assert second.status == first.status
    assert await second.read() == await first.read()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["X-Request-Id"].startswith("req_")
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert second.headers["Content-Type"].startswith("application/json")
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert name in second.headers


async def test_replay_after_success_on_every_write(client, app, sc):
    key = str(uuid.uuid4())
    body = create_body(sc.intro, at(TUESDAY, 10), metadata={"b": "2", "a": "1"})
    first = await post_booking(client, sc.ada, body, key)
    created = await ok_body(first, "createBooking", 201)
    counts = await table_counts(app)
    # the same request, keys reordered and spaced differently: a replay
    text = json.dumps(dict(reversed(list(body.items()))), indent=2)
    second = await client.post("/v1/bookings", data=text,
                               headers=write_headers(sc.ada, key, **{"Content-Type": "application/json"}))
    await _replayed(first, second)
    assert (await second.json())["meta"]["request_id"] == first.headers["X-Request-Id"]
    assert await table_counts(app) == counts
    uid = created["uid"]

    key = str(uuid.uuid4())
    first = await patch(client, sc.ada, uid, {"metadata": {"c": "3"}}, '"1"', key)
    await ok_body(first, "updateBooking", 200)
    # the If-Match is not part of the fingerprint: the replay is answered before it matters
    second = await patch(client, sc.ada, uid, {"metadata": {"c": "3"}}, '"1"', key)
    await _replayed(first, second)
    assert second.headers["ETag"] == '"2"'

    key = str(uuid.uuid4())
    first = await reschedule(client, sc.ada, uid, at(TUESDAY, 11), key)
    moved = await ok_body(first, "rescheduleBooking", 200)
    second = await reschedule(client, sc.ada, uid, at(TUESDAY, 11), key)
    await _replayed(first, second)

    key = str(uuid.uuid4())
    first = await cancel(client, sc.ada, moved["uid"], {"reason": "r"}, key)
    await ok_body(first, "cancelBooking", 200)
    counts = await table_counts(app)
    second = await cancel(client, sc.ada, moved["uid"], {"reason": "r"}, key)
    await _replayed(first, second)
    assert await table_counts(app) == counts

    rows = await fetch_all(app[keys.DATABASE].reader,
                           "SELECT status, headers FROM idempotency_records ORDER BY created_at")
    assert [r["status"] for r in rows] == [201, 200, 200, 200]
    assert all("ETag" in json.loads(r["headers"]) for r in rows)


async def test_replay_after_restart(aiohttp_client, client, app, settings, clock, sc):
    key = str(uuid.uuid4())
    body = create_body(sc.intro, at(TUESDAY, 10))
    first = await post_booking(client, sc.ada, body, key)
    await ok_body(first, "createBooking", 201)
    first_bytes = await first.read()
    await client.close()

    again = await aiohttp_client(create_app(settings, clock=clock))
    second = await post_booking(again, sc.ada, body, key)
    assert second.status == 201
    assert await second.read() == first_bytes
    assert second.headers["ETag"] == first.headers["ETag"] == '"1"'
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    conflict = await post_booking(again, sc.ada, create_body(sc.intro, at(TUESDAY, 11)), key)
    await error_of(conflict, 409, "idempotency_key_conflict")


async def test_same_key_different_request_is_a_conflict(client, app, sc):
    key = str(uuid.uuid4())
    created = await ok_body(await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY, 10)), key),
                            "createBooking", 201)
    counts = await table_counts(app)
    other_body = create_body(sc.intro, at(TUESDAY, 10), metadata={"x": "y"})
    await error_of(await post_booking(client, sc.ada, other_body, key), 409, "idempotency_key_conflict")
    # the same key on another route is another request too
    await error_of(await cancel(client, sc.ada, created["uid"], None, key), 409, "idempotency_key_conflict")
    await error_of(await patch(client, sc.ada, created["uid"], {"attendee_name": "x"}, '"1"', key),
                   409, "idempotency_key_conflict")
    assert await table_counts(app) == counts


async def test_keys_are_scoped_to_the_organization(client, app, sc):
    from tests.factories import add_event_type, add_schedule

    eve = await make_account(app, org="Other", username="eve", token_name="eve")
    await add_schedule(app, eve.user_id, eve.org_id)
    eve_intro = await add_event_type(app, eve.org_id, owner_user_id=eve.user_id, slug="intro",
                                     title="Eve intro")
    key = "shared-key"
    a = await ok_body(await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY, 10)), key),
                      "createBooking", 201)
    b = await post_booking(client, eve, create_body(eve_intro, at(TUESDAY, 10)), key)
    data = await ok_body(b, "createBooking", 201)
    assert "Idempotent-Replayed" not in b.headers and data["uid"] != a["uid"]


class Gate:
    """Holds every slot-lock acquisition of the app until released (monkeypatched in)."""

    def __init__(self, monkeypatch, app) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        locks = app[keys.SLOT_LOCKS]
        original = locks.hold

        @asynccontextmanager
        async def held(slot_keys, max_wait):
            self.entered.set()
            await self.release.wait()
            async with original(slot_keys, max_wait):
                yield

        monkeypatch.setattr(locks, "hold", held)


async def test_in_progress_while_the_first_request_runs(client, app, sc, monkeypatch):
    gate = Gate(monkeypatch, app)
    key = str(uuid.uuid4())
    body = create_body(sc.intro, at(TUESDAY, 10))
    first = asyncio.create_task(post_booking(client, sc.ada, body, key))
    await asyncio.wait_for(gate.entered.wait(), 5)
    for same_key_body in (body, create_body(sc.intro, at(TUESDAY, 11))):
        resp = await post_booking(client, sc.ada, same_key_body, key)
        await error_of(resp, 409, "idempotency_in_progress")
        assert resp.headers["Retry-After"] == "1"
    assert (await table_counts(app))["bookings"] == 0
    gate.release.set()
    done = await first
    created = await ok_body(done, "createBooking", 201)
    replay = await post_booking(client, sc.ada, body, key)
    assert replay.status == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert (await replay.json())["data"]["uid"] == created["uid"]


async def test_in_progress_on_patch_and_cancel(client, app, sc, monkeypatch):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    uid = created["uid"]
    gate = app[keys.IDEMPOTENCY]
    reserved = asyncio.Event()
    original = gate.begin

    async def begin(*args, **kwargs):
        outcome = await original(*args, **kwargs)
        reserved.set()
        return outcome

    monkeypatch.setattr(gate, "begin", begin)
    # hold the single database writer: PATCH and cancel wait for it after reserving their key
    db = app[keys.DATABASE]
    for send, operation in (
        (lambda key: patch(client, sc.ada, uid, {"attendee_name": "x"}, '"1"', key), "updateBooking"),
        (lambda key: cancel(client, sc.ada, uid, None, key), "cancelBooking"),
    ):
        key = str(uuid.uuid4())
        reserved.clear()
        async with db.write():
            running = asyncio.create_task(send(key))
            await asyncio.wait_for(reserved.wait(), 10)
            resp = await asyncio.wait_for(send(key), 10)
            await error_of(resp, 409, "idempotency_in_progress")
            assert resp.headers["Retry-After"] == "1"
        await ok_body(await asyncio.wait_for(running, 10), operation, 200)


async def test_slot_lock_timeout_then_same_key_succeeds(client, app, sc):
    start = at(TUESDAY, 10)
    key = str(uuid.uuid4())
    body = create_body(sc.intro, start)
    async with app[keys.SLOT_LOCKS].hold([(sc.intro, start)], 1):
        resp = await post_booking(client, sc.ada, body, key)
        await error_of(resp, 503, "slot_lock_timeout")
        assert resp.headers["Retry-After"] == "1"
        assert await table_counts(app) == {"bookings": 0, "events": 0, "idempotency_records": 0,
                                           "booking_history": 0}
    retry = await post_booking(client, sc.ada, body, key)
    await ok_body(retry, "createBooking", 201)
    assert "Idempotent-Replayed" not in retry.headers


async def test_failed_first_attempt_releases_the_key(client, app, sc):
    taken = at(TUESDAY, 10)
    blocker = await book(client, sc.ada, sc.intro, taken)
    key = str(uuid.uuid4())
    body = create_body(sc.intro, taken)
    await error_of(await post_booking(client, sc.ada, body, key), 409, "slot_unavailable")
    await error_of(await post_booking(client, sc.ada, body, key), 409, "slot_unavailable")
    # nothing was stored: the same key may now carry a different request
    moved = create_body(sc.intro, at(TUESDAY, 11))
    await ok_body(await post_booking(client, sc.ada, moved, key), "createBooking", 201)
    # ... and after that it is bound to it
    await ok_body(await cancel(client, sc.ada, blocker["uid"]), "cancelBooking", 200)
    await error_of(await post_booking(client, sc.ada, body, key), 409, "idempotency_key_conflict")
    # a validation failure releases too
    key = str(uuid.uuid4())
    await error_of(await post_booking(client, sc.ada, create_body(sc.intro, "soon"), key),
                   400, "validation_error")
    await ok_body(await post_booking(client, sc.ada, body, key), "createBooking", 201)


@pytest.mark.parametrize("value", ["", "k" * 256, "clé", "tab\there", "a b"])
async def test_invalid_keys_on_every_write(client, app, sc, value):
    created = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    uid = created["uid"]
    counts = await table_counts(app)
    requests = [
        ("POST", "/v1/bookings", create_body(sc.intro, at(TUESDAY, 11)), {}),
        ("POST", f"/v1/bookings/{uid}/cancel", {}, {}),
        ("POST", f"/v1/bookings/{uid}/reschedule", {"start": iso(at(TUESDAY, 12))}, {}),
        ("PATCH", f"/v1/bookings/{uid}", {"attendee_name": "x"}, {"If-Match": '"1"'}),
    ]
    for method, path, body, extra in requests:
        resp = await client.request(method, path, json=body,
                                    headers={**sc.ada.auth, "Idempotency-Key": value, **extra})
        err = await error_of(resp, 400, "invalid_request")
        assert err["details"] == {"header": "Idempotency-Key"}
        resp = await client.request(method, path, json=body, headers={**sc.ada.auth, **extra})
        await error_of(resp, 400, "missing_idempotency_key")
    assert await table_counts(app) == counts


async def test_longest_key_is_accepted(client, sc):
    key = "~" + "k" * 253 + "!"
    resp = await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY, 10)), key)
    await ok_body(resp, "createBooking", 201)
    again = await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY, 10)), key)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"


async def test_records_expire_after_24_hours_and_are_purged(client, app, clock, sc):
    key = str(uuid.uuid4())
    body = create_body(sc.intro, at(TUESDAY + timedelta(days=2), 10))
    first = await ok_body(await post_booking(client, sc.ada, body, key), "createBooking", 201)
    db = app[keys.DATABASE]
    clock.advance(hours=23, minutes=59)
    assert await housekeeping.purge_once(db, clock) == 0
    replay = await post_booking(client, sc.ada, body, key)
    assert replay.status == 201 and replay.headers["Idempotent-Replayed"] == "true"
    clock.advance(minutes=1)
    assert await housekeeping.purge_once(db, clock) == 1
    assert (await table_counts(app))["idempotency_records"] == 0
    # the key is free again: the same body is a new request (and its slot is now taken)
    resp = await post_booking(client, sc.ada, body, key)
    await error_of(resp, 409, "slot_unavailable")
    fresh = await ok_body(
        await post_booking(client, sc.ada, create_body(sc.intro, at(TUESDAY + timedelta(days=2), 11)), key),
        "createBooking", 201,
    )
    assert fresh["uid"] != first["uid"]
