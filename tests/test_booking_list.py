"""GET /v1/bookings: filters, sorts, keyset pages, the catch-up feed (contract 2.4, 7)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fortytwo import keys
from fortytwo.http.cursor import encode_cursor
from fortytwo.services import bookings as booking_service
from fortytwo.services.booking_list import parse_list_query
from fortytwo.store import event_types as event_type_store
from fortytwo.store.booking_queries import BookingFilters
from tests.conftest import Account, add_token, make_account
from tests.factories import add_event_type, add_schedule
from tests.reference import validate_response
from tests.scenario import DEMO, make_scenario

SORTS = (
    "start_at_desc", "start_at_asc", "created_at_desc", "created_at_asc",
    "updated_at_asc", "updated_at_desc",
)
SORT_FIELD = {s: s.rsplit("_", 1)[0] for s in SORTS}

EXTRA = """
[[event_types]]
slug = "chat"
title = "Chat with Bob"
owner = "bob"
duration_minutes = 30

[[event_types]]
slug = "approval"
title = "Needs approval"
owner = "ada"
duration_minutes = 30
requires_confirmation = true
"""

MONDAY = datetime(2026, 5, 18, tzinfo=UTC)  # working hours 08:00-16:00 UTC (London, BST)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def at(day: int, hour: int, minute: int = 0) -> str:
    """Day ``day`` after Monday 2026-05-18, at hour:minute UTC."""
    return iso(MONDAY + timedelta(days=day, hours=hour, minutes=minute))


def _writes(account: Account) -> dict[str, str]:
    return {**account.auth, "Idempotency-Key": uuid.uuid4().hex}


async def book(client, account: Account, event_type_id: str, start: str,
               email: str = "a@example.com", **extra: Any) -> dict:
    body = {"event_type_id": event_type_id, "start": start,
            "attendee": {"email": email, "name": email.split("@")[0]}, **extra}
    resp = await client.post("/v1/bookings", json=body, headers=_writes(account))
    payload = await resp.json()
    assert resp.status == 201, payload
    return payload["data"]


async def cancel(client, account: Account, uid: str) -> dict:
    resp = await client.post(f"/v1/bookings/{uid}/cancel", json={"reason": "x"},
                             headers=_writes(account))
    payload = await resp.json()
    assert resp.status == 200, payload
    return payload["data"]


async def reschedule(client, account: Account, uid: str, start: str) -> dict:
    resp = await client.post(f"/v1/bookings/{uid}/reschedule", json={"start": start},
                             headers=_writes(account))
    payload = await resp.json()
    assert resp.status == 200, payload
    return payload["data"]


async def patch(client, account: Account, uid: str, version: int, body: dict) -> dict:
    resp = await client.patch(f"/v1/bookings/{uid}", json=body,
                              headers={**_writes(account), "If-Match": f'"{version}"'})
    payload = await resp.json()
    assert resp.status == 200, payload
    return payload["data"]


async def get_list(client, account: Account, params: Any = None, status: int = 200) -> dict:
    resp = await client.get("/v1/bookings", params=params or {}, headers=account.auth)
    body = await resp.json()
    assert resp.status == status, body
    return body


async def uids(client, account: Account, params: Any = None) -> list[str]:
    return [b["uid"] for b in (await get_list(client, account, params))["data"]]


async def walk(client, account: Account, params: dict[str, str], between=None) -> list[dict]:
    """Every page of a list; ``between`` (async) runs after each page."""
    seen: list[dict] = []
    cursor = None
    while True:
        query = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        body = await get_list(client, account, query)
        seen += body["data"]
        assert body["meta"]["has_more"] == (body["meta"]["next_cursor"] is not None)
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return seen
        if between is not None:
            await between()


def expected_order(items: list[dict], sort: str) -> list[str]:
    field = SORT_FIELD[sort]
    ordered = sorted(items, key=lambda b: (b[field], b["uid"]), reverse=sort.endswith("_desc"))
    return [b["uid"] for b in ordered]


@dataclass
class World:
    ada: Account
    intro: str
    chat: str
    approval: str
    bob_id: str
    b: dict[str, dict]  # name -> booking as last returned by a write


@pytest.fixture
async def world(client, app, clock) -> World:
    scenario = await make_scenario(app, DEMO.read_text() + EXTRA)
    ada = scenario.ada
    conn = app[keys.DATABASE].reader
    chat = (await event_type_store.find_by_slug(conn, ada.org_id, "chat"))[0].id
    approval = (await event_type_store.find_by_slug(conn, ada.org_id, "approval"))[0].id
    intro = scenario.intro
    b: dict[str, dict] = {}

    async def step() -> None:
        clock.advance(minutes=1)

    b["mon9"] = await book(client, ada, intro, at(0, 9), "a@example.com")
    await step()
    b["mon10"] = await book(client, ada, intro, at(0, 10), "B@example.com")
    await step()
    b["tue9"] = await book(client, ada, chat, at(1, 9), "c@example.com")
    await step()
    b["pending"] = await book(client, ada, approval, at(0, 11), "d@example.com")
    await step()
    b["canceled"] = await book(client, ada, intro, at(2, 9), "e@example.com")
    await step()
    b["moved"] = await book(client, ada, intro, at(3, 9), "f@example.com")
    await step()
    b["canceled"] = await cancel(client, ada, b["canceled"]["uid"])
    await step()
    b["new"] = await reschedule(client, ada, b["moved"]["uid"], at(4, 9))
    b["moved"] = (await (await client.get(f"/v1/bookings/{b['moved']['uid']}",
                                          headers=ada.auth)).json())["data"]
    await step()
    return World(ada, intro, chat, approval, scenario.bob_id, b)


# -- shape and order ------------------------------------------------------------------------


async def test_list_matches_reference_and_defaults(client, world):
    body = await get_list(client, world.ada)
    validate_response("listBookings", 200, body)
    assert body["meta"]["next_cursor"] is None and body["meta"]["has_more"] is False
    assert body["meta"]["request_id"].startswith("req_")
    items = body["data"]
    assert len(items) == 7
    # default sort: newest start first; every status is included by default
    assert [b["uid"] for b in items] == expected_order(items, "start_at_desc")
    assert {b["status"] for b in items} == {"pending", "confirmed", "canceled", "rescheduled"}
    assert all(b["responses"] is None for b in items)


async def test_items_equal_single_reads_without_responses(client, world):
    ada = world.ada
    made = await book(client, ada, world.intro, at(7, 9), "r@example.com",
                      responses={"company": "Analytical Engines"})
    listed = {b["uid"]: b for b in (await get_list(client, ada))["data"]}
    single = (await (await client.get(f"/v1/bookings/{made['uid']}", headers=ada.auth)).json())
    assert single["data"]["responses"] == {"company": "Analytical Engines"}
    assert listed[made["uid"]] == {**single["data"], "responses": None}
    assert listed[world.b["new"]["uid"]]["rescheduled_from_uid"] == world.b["moved"]["uid"]


@pytest.mark.parametrize("sort", SORTS)
async def test_sorts(client, world, sort):
    items = (await get_list(client, world.ada, {"sort": sort}))["data"]
    assert len(items) == 7
    assert [b["uid"] for b in items] == expected_order(items, sort)


async def test_sorts_are_distinct_orders(client, world):
    ada, b = world.ada, world.b
    by_start = await uids(client, ada, {"sort": "start_at_asc"})
    by_created = await uids(client, ada, {"sort": "created_at_asc"})
    by_updated = await uids(client, ada, {"sort": "updated_at_asc"})
    assert by_start[0] == b["mon9"]["uid"] and by_start[-1] == b["new"]["uid"]
    assert by_created[:2] == [b["mon9"]["uid"], b["mon10"]["uid"]]
    # the cancel and the reschedule touched older bookings last
    assert by_updated[-3] == b["canceled"]["uid"]
    assert set(by_updated[-2:]) == {b["moved"]["uid"], b["new"]["uid"]}
    assert await uids(client, ada, {"sort": "start_at_desc"}) == by_start[::-1]


async def test_start_ties_are_broken_by_uid(client, app, world):
    # a group event type: three bookings with one start time
    conn = app[keys.DATABASE].reader
    workshop = (await event_type_store.find_by_slug(conn, world.ada.org_id, "workshop"))[0].id
    made = [await book(client, world.ada, workshop, at(7, 12), f"g{i}@example.com")
            for i in range(3)]
    ids = sorted(m["uid"] for m in made)
    query = {"event_type_id": workshop}
    assert await uids(client, world.ada, {**query, "sort": "start_at_asc"}) == ids
    assert await uids(client, world.ada, {**query, "sort": "start_at_desc"}) == ids[::-1]
    walked = await walk(client, world.ada, {**query, "sort": "start_at_asc", "limit": "1"})
    assert [b["uid"] for b in walked] == ids


# -- filters ---------------------------------------------------------------------------------


async def test_filter_event_type(client, world):
    b = world.b
    assert await uids(client, world.ada, {"event_type_id": world.chat}) == [b["tue9"]["uid"]]
    assert await uids(client, world.ada, {"event_type_id": world.approval.upper()}) == [
        b["pending"]["uid"]
    ]
    assert await uids(client, world.ada, {"event_type_id": str(uuid.uuid4())}) == []


async def test_filter_hosts(client, world):
    ada, b = world.ada, world.b
    assert await uids(client, ada, {"host_user_id": world.bob_id}) == [b["tue9"]["uid"]]
    mine = await uids(client, ada, {"host_user_id": ada.user_id})
    assert len(mine) == 6 and b["tue9"]["uid"] not in mine
    both = [("host_user_ids", f"{ada.user_id},{world.bob_id}")]
    assert len(await uids(client, ada, both)) == 7
    repeated = [("host_user_ids", ada.user_id), ("host_user_ids", world.bob_id)]
    assert len(await uids(client, ada, repeated)) == 7
    # host_user_ids supersedes host_user_id
    superseding = [("host_user_id", ada.user_id), ("host_user_ids", world.bob_id)]
    assert await uids(client, ada, superseding) == [b["tue9"]["uid"]]
    assert await uids(client, ada, {"host_user_ids": str(uuid.uuid4())}) == []


async def test_filter_attendee_email_is_exact_and_case_sensitive(client, world):
    ada, b = world.ada, world.b
    assert await uids(client, ada, {"attendee_email": "B@example.com"}) == [b["mon10"]["uid"]]
    assert await uids(client, ada, {"attendee_email": "b@example.com"}) == []
    assert await uids(client, ada, {"attendee_email": "example.com"}) == []
    # a rescheduled booking keeps its attendee: the old and the new one both match
    assert set(await uids(client, ada, {"attendee_email": "f@example.com"})) == {
        b["moved"]["uid"], b["new"]["uid"]
    }


async def test_filter_status_and_include_cancelled(client, world):
    ada, b = world.ada, world.b
    assert await uids(client, ada, {"status": "pending"}) == [b["pending"]["uid"]]
    assert await uids(client, ada, {"status": "canceled"}) == [b["canceled"]["uid"]]
    assert await uids(client, ada, {"status": "rescheduled"}) == [b["moved"]["uid"]]
    both = set(await uids(client, ada, {"status": "pending, canceled,pending"}))
    assert both == {b["pending"]["uid"], b["canceled"]["uid"]}
    assert len(await uids(client, ada, {"status": "confirmed"})) == 4

    without = await uids(client, ada, {"include_cancelled": "false"})
    assert len(without) == 6 and b["canceled"]["uid"] not in without
    assert b["moved"]["uid"] in without  # only canceled is left out
    assert len(await uids(client, ada, {"include_cancelled": "true"})) == 7
    # ignored when status is given
    assert await uids(client, ada, {"status": "canceled", "include_cancelled": "false"}) == [
        b["canceled"]["uid"]
    ]


async def test_filter_start_dates_are_inclusive(client, world):
    ada, b = world.ada, world.b
    exact = {"start_date": at(0, 10), "end_date": at(0, 11)}
    assert set(await uids(client, ada, exact)) == {b["mon10"]["uid"], b["pending"]["uid"]}
    # the same instants written with an offset
    offset = {"start_date": "2026-05-18T11:00:00+01:00", "end_date": "2026-05-18T12:00:00+01:00"}
    assert set(await uids(client, ada, offset)) == {b["mon10"]["uid"], b["pending"]["uid"]}
    # one millisecond (or less) past a start excludes it
    later = {"start_date": "2026-05-18T10:00:00.0005Z", "end_date": at(0, 11)}
    assert await uids(client, ada, later) == [b["pending"]["uid"]]
    earlier = {"start_date": at(0, 10), "end_date": "2026-05-18T10:59:59.999Z"}
    assert await uids(client, ada, earlier) == [b["mon10"]["uid"]]
    # open-ended
    assert await uids(client, ada, {"start_date": at(4, 0)}) == [b["new"]["uid"]]
    assert set(await uids(client, ada, {"end_date": at(0, 9)})) == {b["mon9"]["uid"]}


async def test_filter_plain_dates_cover_whole_utc_days(client, world):
    ada, b = world.ada, world.b
    monday = {b["mon9"]["uid"], b["mon10"]["uid"], b["pending"]["uid"]}
    day = {"start_date": "2026-05-18", "end_date": "2026-05-18"}
    assert set(await uids(client, ada, day)) == monday
    assert len(await uids(client, ada, {"start_date": "2026-05-19"})) == 4
    assert set(await uids(client, ada, {"end_date": "2026-05-19"})) == monday | {b["tue9"]["uid"]}
    # a plain end date reaches the last millisecond of that UTC day
    q = parse_list_query(_multi({"end_date": "2026-05-22"}))
    assert q.filters.start_to == datetime(
        2026, 5, 22, 23, 59, 59, 999000, tzinfo=UTC
    )
    q = parse_list_query(_multi({"start_date": "2026-05-22"}))
    assert q.filters.start_from == datetime(2026, 5, 22, tzinfo=UTC)


async def test_filter_updated_since(client, world):
    ada, b = world.ada, world.b
    since = b["canceled"]["updated_at"]
    got = await uids(client, ada, {"updated_since": since, "sort": "updated_at_asc"})
    assert got[0] == b["canceled"]["uid"]
    assert set(got) == {b["canceled"]["uid"], b["moved"]["uid"], b["new"]["uid"]}
    assert len(await uids(client, ada, {"updated_since": "2026-05-18T00:00:00Z"})) == 7
    assert await uids(client, ada, {"updated_since": "2027-01-01T00:00:00+02:00"}) == []


async def test_filters_combine(client, world):
    ada, b = world.ada, world.b
    params = {"host_user_id": ada.user_id, "start_date": "2026-05-18", "end_date": "2026-05-18",
              "status": "confirmed", "event_type_id": world.intro}
    assert set(await uids(client, ada, params)) == {b["mon9"]["uid"], b["mon10"]["uid"]}


NOW_UUID = "3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"sort": "start_at"}, "sort"),
        ({"sort": "title_asc"}, "sort"),
        ({"event_type_id": "intro-call"}, "event_type_id"),
        ({"host_user_id": "ada"}, "host_user_id"),
        ({"host_user_ids": f"{NOW_UUID},ada"}, "host_user_ids"),
        ({"host_user_ids": f"{NOW_UUID},"}, "host_user_ids"),
        ([("host_user_ids", NOW_UUID), ("host_user_ids", "x")], "host_user_ids"),
        ({"status": "open"}, "status"),
        ({"status": "Pending"}, "status"),
        ({"status": "pending,"}, "status"),
        ({"status": ""}, "status"),
        ({"status": "cancelled"}, "status"),
        ({"start_date": "2026-05-18T09:00:00"}, "start_date"),
        ({"start_date": "2026-05-18T09:00:00 01:00"}, "start_date"),
        ({"end_date": "2026-02-30"}, "end_date"),
        ({"end_date": "tomorrow"}, "end_date"),
        ({"start_date": "2026-05-19", "end_date": "2026-05-18"}, "end_date"),
        ({"updated_since": "2026-05-18T09:00:00"}, "updated_since"),
        ({"updated_since": "2026-05-18"}, "updated_since"),
        ({"include_cancelled": "no"}, "include_cancelled"),
        ({"include_cancelled": "False"}, "include_cancelled"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-3"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "2.5"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
    ],
)
async def test_bad_params_are_400(client, world, params, param):
    body = await get_list(client, world.ada, params, status=400)
    assert body["error"]["code"] == "invalid_query_param"
    assert body["error"]["details"] == {"param": param}
    assert body["error"]["message"]


async def test_naive_timestamp_message_says_what_to_do(client, world):
    body = await get_list(client, world.ada, {"start_date": "2026-05-18T09:00:00"}, status=400)
    assert "offset" in body["error"]["message"]
    body = await get_list(client, world.ada, {"end_date": "2026-05-18T09:00:00 01:00"}, status=400)
    assert "%2B" in body["error"]["message"]


async def test_unknown_params_are_ignored(client, world):
    assert len(await uids(client, world.ada, {"colour": "blue", "offset": "3"})) == 7


# -- limits and pages ------------------------------------------------------------------------


async def test_limit_default_and_clamp(client, app, clock):
    scenario = await make_scenario(app)
    ada = scenario.ada
    for i in range(101):
        day, slot = divmod(i, 16)  # 16 half-hour slots a working day
        start = MONDAY + timedelta(days=day + (day // 5) * 2, hours=8, minutes=30 * slot)
        await book(client, ada, scenario.intro, iso(start), f"p{i}@example.com")
    body = await get_list(client, ada)
    assert len(body["data"]) == 20 and body["meta"]["has_more"] is True
    body = await get_list(client, ada, {"limit": "1000"})
    assert len(body["data"]) == 100 and body["meta"]["has_more"] is True
    body = await get_list(client, ada, {"limit": "99999999999999999999"})
    assert len(body["data"]) == 100
    rest = await get_list(client, ada, {"limit": "100", "cursor": body["meta"]["next_cursor"]})
    assert len(rest["data"]) == 1
    assert rest["meta"]["has_more"] is False and rest["meta"]["next_cursor"] is None
    assert len(await uids(client, ada, {"limit": "1"})) == 1


async def test_exact_page_boundary_has_no_dangling_cursor(client, world):
    body = await get_list(client, world.ada, {"limit": "7"})
    assert len(body["data"]) == 7
    assert body["meta"]["has_more"] is False and body["meta"]["next_cursor"] is None
    body = await get_list(client, world.ada, {"limit": "6"})
    assert body["meta"]["has_more"] is True
    last = await get_list(client, world.ada, {"limit": "6", "cursor": body["meta"]["next_cursor"]})
    assert len(last["data"]) == 1 and last["meta"]["next_cursor"] is None


@pytest.mark.parametrize("sort", SORTS)
async def test_walk_all_pages(client, world, sort):
    everything = await uids(client, world.ada, {"sort": sort})
    walked = await walk(client, world.ada, {"sort": sort, "limit": "2"})
    assert [b["uid"] for b in walked] == everything
    for item in walked:
        validate_response("listBookings", 200, {"data": [item], "meta": {"request_id": "req_x"}})


async def test_walk_with_filters(client, world):
    params = {"host_user_id": world.ada.user_id, "include_cancelled": "false", "limit": "1"}
    walked = await walk(client, world.ada, {**params, "sort": "start_at_asc"})
    expected = await uids(client, world.ada, {**params, "limit": "100", "sort": "start_at_asc"})
    assert [b["uid"] for b in walked] == expected and len(expected) == 5


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_stable_under_inserts(client, world, clock, sort):
    ada = world.ada
    before = await uids(client, ada, {"sort": sort})
    added: list[str] = []
    # new rows land before, among and after the rows already listed
    starts = iter([at(0, 8, 30), at(8, 15), at(0, 12), at(2, 12), at(1, 8), at(7, 12)])

    async def insert() -> None:
        for start in [next(starts, None), next(starts, None)]:
            if start is not None:  # three rounds, so that every walk ends
                clock.advance(seconds=1)
                added.append((await book(client, ada, world.intro, start))["uid"])

    walked = [b["uid"] for b in await walk(client, ada, {"sort": sort, "limit": "2"}, insert)]
    assert len(walked) == len(set(walked)), "a row was repeated"
    assert [u for u in walked if u in before] == before, "a row was skipped or moved"
    assert set(walked) - set(before) <= set(added)
    if sort in ("created_at_asc", "updated_at_asc"):
        assert set(added) <= set(walked)  # newer rows sort after every page read so far
    if sort in ("created_at_desc", "updated_at_desc"):
        assert not set(added) & set(walked)


async def test_tampered_and_foreign_cursors_are_400(client, app, world):
    ada = world.ada
    first = await get_list(client, ada, {"limit": "2"})
    cursor = first["meta"]["next_cursor"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    secret = app[keys.SECRET_KEY]
    uid = world.b["mon9"]["uid"]
    foreign = [
        tampered,
        cursor[:-1],
        cursor + "A",
        "not a cursor",
        encode_cursor(b"another server" * 3, "bookings", "start_at_desc", ["x", uid]),
        encode_cursor(secret, "event_types", "start_at_desc", ["2026-05-18T09:00:00.000Z", uid]),
        encode_cursor(secret, "bookings", "start_at_desc", [1, uid]),
        encode_cursor(secret, "bookings", "start_at_desc", ["2026-05-18T09:00:00.000Z"]),
    ]
    for bad in foreign:
        body = await get_list(client, ada, {"limit": "2", "cursor": bad}, status=400)
        assert body["error"]["code"] == "invalid_query_param"
        assert body["error"]["details"] == {"param": "cursor"}, bad
    # a cursor is bound to its sort, not to the filters
    body = await get_list(client, ada, {"cursor": cursor, "sort": "start_at_asc"}, status=400)
    assert body["error"]["details"] == {"param": "cursor"}
    assert "sort=start_at_desc" in body["error"]["message"]
    ok = await get_list(client, ada, {"cursor": cursor, "sort": "start_at_desc",
                                      "status": "confirmed"})
    assert ok["data"]


# -- the catch-up feed -----------------------------------------------------------------------


class FeedClient:
    """A sync client as the contract describes it: remember the last updated_at seen, poll
    with updated_since=<it>&sort=updated_at_asc, dedupe by uid + version."""

    def __init__(self, client, account: Account, limit: int = 3) -> None:
        self.client, self.account, self.limit = client, account, limit
        self.since: str | None = None
        self.copy: dict[str, dict] = {}
        self.repeats = 0

    async def poll(self, between=None) -> None:
        params = {"sort": "updated_at_asc", "limit": str(self.limit)}
        if self.since is not None:
            params["updated_since"] = self.since
        for item in await walk(self.client, self.account, params, between):
            known = self.copy.get(item["uid"])
            if known is not None and known["version"] == item["version"]:
                self.repeats += 1
                assert known == item
            else:
                assert known is None or known["version"] < item["version"]
            self.copy[item["uid"]] = item
            assert self.since is None or item["updated_at"] >= self.since
            self.since = item["updated_at"]


async def truth(client, account: Account) -> dict[str, dict]:
    return {b["uid"]: b for b in await walk(client, account, {"limit": "100"})}


async def test_catch_up_feed_misses_nothing(client, app, world, clock):
    ada, b = world.ada, world.b
    feed = FeedClient(client, ada)
    await feed.poll()
    assert feed.copy == await truth(client, ada)

    # changes to old bookings, new bookings, some in the same (fake) millisecond
    made = await book(client, ada, world.intro, at(7, 9), "h@example.com")
    await cancel(client, ada, b["mon10"]["uid"])
    await patch(client, ada, b["mon9"]["uid"], b["mon9"]["version"], {"metadata": {"k": "v"}})
    await feed.poll()
    assert feed.copy == await truth(client, ada)
    assert feed.repeats >= 1  # the last row of the previous poll came back

    clock.advance(minutes=5)
    await reschedule(client, ada, b["tue9"]["uid"], at(8, 10))
    await patch(client, ada, made["uid"], 1, {"attendee_name": "H. Renamed"})
    await booking_service.confirm(app[keys.DATABASE], b["pending"]["uid"], clock())
    await feed.poll()
    assert feed.copy == await truth(client, ada)

    # nothing new: the poll returns only the last row again
    before = dict(feed.copy)
    await feed.poll()
    assert feed.copy == before


async def test_catch_up_feed_with_writes_between_pages(client, app, world, clock):
    ada, b = world.ada, world.b
    feed = FeedClient(client, ada, limit=2)
    # after each of the first pages: a change to a booking already listed, and a new one
    rounds = iter([(b["mon9"], at(7, 9)), (b["pending"], at(7, 10)), (b["tue9"], at(8, 9)),
                   (b["mon10"], at(8, 10))])

    async def churn() -> None:
        step = next(rounds, None)
        if step is None:
            return
        row, start = step
        await patch(client, ada, row["uid"], row["version"],
                    {"metadata": {"touched": clock().isoformat()}})
        await book(client, ada, world.intro, start)

    await feed.poll(churn)
    await feed.poll()
    assert feed.copy == await truth(client, ada)


async def test_updated_at_is_strictly_increasing_per_organization(client, world):
    items = await walk(client, world.ada, {"sort": "updated_at_asc", "limit": "100"})
    stamps = [b["updated_at"] for b in items]
    # the two rows of one reschedule share their commit's stamp; nothing else does
    pair = {world.b["moved"]["uid"], world.b["new"]["uid"]}
    distinct = [b["updated_at"] for b in items if b["uid"] not in pair]
    assert len(set(distinct)) == len(distinct) and stamps == sorted(stamps)


# -- isolation and access --------------------------------------------------------------------


async def test_other_organizations_bookings_never_appear(client, app, world, clock):
    zed = await make_account(app, org="Other", username="zed", token_name="z")
    await add_schedule(app, zed.user_id, zed.org_id)
    zed_type = await add_event_type(app, zed.org_id, owner_user_id=zed.user_id, slug="zed-call")
    theirs = await book(client, zed, zed_type, at(0, 9), "a@example.com")

    ada = world.ada
    mine = set(await uids(client, ada, {"limit": "100"}))
    assert theirs["uid"] not in mine and len(mine) == 7
    for params in (
        {"event_type_id": zed_type},
        {"host_user_id": zed.user_id},
        {"host_user_ids": f"{zed.user_id},{zed.user_id}"},
        {"attendee_email": "a@example.com", "start_date": "2026-05-18", "end_date": "2026-05-18"},
        {"updated_since": theirs["updated_at"]},
    ):
        assert theirs["uid"] not in await uids(client, ada, params), params
    assert await uids(client, zed) == [theirs["uid"]]
    # a cursor names a position, not rows: ada's cursor cannot reveal zed's bookings
    page = await get_list(client, ada, {"limit": "1"})
    body = await get_list(client, zed, {"limit": "1", "cursor": page["meta"]["next_cursor"]})
    assert all(i["uid"] == theirs["uid"] for i in body["data"])


async def test_missing_scope_is_403(client, app, world):
    issued = await add_token(app, world.ada, name="writer", scopes="bookings:write")
    resp = await client.get("/v1/bookings", headers={"Authorization": f"Bearer {issued.token}"})
    body = await resp.json()
    assert resp.status == 403
    assert body["error"]["code"] == "insufficient_scope"
    assert body["error"]["details"]["required_scope"] == "bookings:read"
    assert 'scope="bookings:read"' in resp.headers["WWW-Authenticate"]
    # scope is checked before the query string
    resp = await client.get("/v1/bookings?sort=nope",
                            headers={"Authorization": f"Bearer {issued.token}"})
    assert resp.status == 403


async def test_no_token_is_401(client, world):
    resp = await client.get("/v1/bookings")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_token"


async def test_other_methods_still_route(client, world):
    # adding GET /v1/bookings must not disturb POST /v1/bookings or the single-booking GET
    resp = await client.delete("/v1/bookings", headers=world.ada.auth)
    assert resp.status == 405
    allow = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allow
    resp = await client.get(f"/v1/bookings/{world.b['mon9']['uid']}", headers=world.ada.auth)
    assert resp.status == 200


# -- units -----------------------------------------------------------------------------------


def _multi(params: Any):
    from multidict import MultiDict

    return MultiDict(params)


def test_parse_list_query_defaults():
    q = parse_list_query(_multi({}))
    assert (q.limit, q.sort, q.cursor) == (20, "start_at_desc", None)
    assert q.filters == BookingFilters()


def test_parse_list_query_everything():
    q = parse_list_query(_multi([
        ("limit", "5"), ("sort", "updated_at_asc"), ("cursor", "c"),
        ("event_type_id", NOW_UUID.upper()), ("host_user_id", NOW_UUID),
        ("host_user_ids", f"{NOW_UUID}, {NOW_UUID.upper()}"), ("attendee_email", "X@y.z"),
        ("status", "confirmed"), ("include_cancelled", "false"),
        ("start_date", "2026-05-18T10:00:00+02:00"), ("end_date", "2026-05-20"),
        ("updated_since", "2026-05-01T00:00:00Z"),
    ]))
    assert (q.limit, q.sort, q.cursor) == (5, "updated_at_asc", "c")
    f = q.filters
    assert f.event_type_id == NOW_UUID and f.host_user_ids == (NOW_UUID,)
    assert f.attendee_email == "X@y.z" and f.statuses == ("confirmed",) and f.exclude_canceled
    assert f.start_from == datetime(2026, 5, 18, 8, tzinfo=UTC)
    assert f.start_to == datetime(2026, 5, 20, 23, 59, 59, 999000, tzinfo=UTC)
    assert f.updated_since == datetime(2026, 5, 1, tzinfo=UTC)
