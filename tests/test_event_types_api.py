"""GET /v1/event-types and GET /v1/event-types/{idOrSlug} (contract 2.4, 5)."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiohttp.test_utils import make_mocked_request

from fortytwo import keys
from fortytwo.http.cursor import encode_cursor
from fortytwo.http.errors import ApiError
from fortytwo.http.params import parse_bool, parse_choice, parse_limit, parse_uuid
from tests.conftest import START, Account, add_token, make_account
from tests.factories import add_event_type, add_schedule, add_team
from tests.reference import validate_response

LOW_ID = "00000000-0000-4000-8000-000000000000"
HIGH_ID = "ffffffff-ffff-4fff-bfff-ffffffffffff"
SORTS = ("created_at_desc", "created_at_asc", "title_asc")


@dataclass
class World:
    ada: Account
    bob: Account
    eve: Account  # another organization
    ada_intro: str
    ada_deep: str
    ada_old: str
    bob_intro: str
    team_demo: str
    group_class: str
    eve_intro: str
    team_id: str


@pytest.fixture
async def world(client, app, clock) -> World:
    ada = await make_account(app)
    bob = await make_account(app, username="bob", token_name="bob", first_name="Bob", last_name=None)
    eve = await make_account(app, org="Other", username="eve", token_name="eve")
    org = ada.org_id
    await add_schedule(app, ada.user_id, org, timezone="Europe/London")
    ny = await add_schedule(
        app, ada.user_id, org, name="Evenings", timezone="America/New_York", default=False
    )
    await add_schedule(app, bob.user_id, org, timezone="Asia/Tokyo")

    ada_intro = await add_event_type(
        app, org, owner_user_id=ada.user_id, slug="intro-call", title="Intro call",
        minimum_notice_minutes=150,
        locations=[
            {"type": "google_meet", "label": "Google Meet"},
            {"type": "phone", "label": "Phone", "value": "+441234567890"},
        ],
        questions=[
            {"id": "q1", "key": "company", "label": "Company", "type": "text", "required": True},
            {"id": "q2", "key": "size", "label": "Team size", "type": "select",
             "required": False, "options": ["1-10", "11+"]},
        ],
        max_bookings_per_day=4,
    )
    clock.advance(seconds=1)
    ada_deep = await add_event_type(
        app, org, owner_user_id=ada.user_id, slug="deep-dive", title="Deep dive", duration=60,
        schedule_id=ny, active=False, requires_confirmation=True, allow_cancel=False,
    )
    clock.advance(seconds=1)
    ada_old = await add_event_type(
        app, org, owner_user_id=ada.user_id, slug="legacy", title="archived call",
        created_at=START - timedelta(days=30),
    )
    clock.advance(seconds=1)
    bob_intro = await add_event_type(
        app, org, owner_user_id=bob.user_id, slug="intro-call", title="Bob's intro"
    )
    clock.advance(seconds=1)
    team_id = await add_team(app, org, "sales", "Sales", [bob.user_id, ada.user_id])
    team_demo = await add_event_type(app, org, team_id=team_id, slug="demo", title="Demo")
    clock.advance(seconds=1)
    group_class = await add_event_type(
        app, org, owner_user_id=bob.user_id, slug="class", title="Class",
        scheduling_type="group", seats_per_slot=8,
    )
    clock.advance(seconds=1)
    eve_intro = await add_event_type(app, eve.org_id, owner_user_id=eve.user_id, slug="solo")
    return World(ada, bob, eve, ada_intro, ada_deep, ada_old, bob_intro, team_demo,
                 group_class, eve_intro, team_id)


async def get(client, path: str, account: Account, **params):
    resp = await client.get(path, headers=account.auth, params=params)
    return resp, await resp.json()


def ids(body) -> list[str]:
    return [item["id"] for item in body["data"]]


def assert_error(resp, body, status: int, code: str) -> None:
    assert resp.status == status, body
    assert body["error"]["code"] == code, body
    assert body["error"]["request_id"] == resp.headers["X-Request-Id"]


# -- list ----------------------------------------------------------------------------------


async def test_list_matches_reference_and_default_order(client, world):
    resp, body = await get(client, "/v1/event-types", world.ada)
    assert resp.status == 200, body
    validate_response("listEventTypes", 200, body)
    assert ids(body) == [world.group_class, world.team_demo, world.bob_intro, world.ada_deep,
                         world.ada_intro, world.ada_old]
    assert body["meta"]["next_cursor"] is None
    assert body["meta"]["has_more"] is False
    assert body["meta"]["request_id"] == resp.headers["X-Request-Id"]
    assert world.eve_intro not in ids(body)


async def test_list_item_shape(client, world, settings):
    _, body = await get(client, "/v1/event-types", world.ada)
    items = {item["id"]: item for item in body["data"]}
    intro = items[world.ada_intro]
    base = settings.effective_booking_base_url
    assert intro == {
        "id": world.ada_intro,
        "slug": "intro-call",
        "title": "Intro call",
        "description": None,
        "duration_minutes": 30,
        "active": True,
        "scheduling_type": "individual",
        "hosts": [{"user_id": world.ada.user_id, "username": "ada", "name": "Ada Lovelace"}],
        "url": f"{base}/ada/intro-call",
        "color": "#7c3aed",
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "minimum_notice_hours": 2,
        "minimum_notice_minutes": 150,
        "future_limit_days": 60,
        "slot_interval_minutes": 30,
        "timezone": "Europe/London",
        "created_at": "2026-05-18T08:00:00.000Z",
        "updated_at": "2026-05-18T08:00:00.000Z",
    }
    assert "locations" not in intro and "questions" not in intro
    assert items[world.ada_deep]["timezone"] == "America/New_York"  # its own schedule
    assert items[world.ada_deep]["active"] is False
    assert items[world.bob_intro]["timezone"] == "Asia/Tokyo"
    assert items[world.bob_intro]["hosts"][0]["name"] == "Bob"


async def test_team_event_type_url_hosts_and_timezone(client, world, settings):
    resp, body = await get(client, f"/v1/event-types/{world.team_demo}", world.ada)
    assert resp.status == 200, body
    validate_response("getEventType", 200, body)
    data = body["data"]
    assert data["url"] == f"{settings.effective_booking_base_url}/team/sales/demo"
    assert data["scheduling_type"] == "collective"
    assert [h["username"] for h in data["hosts"]] == ["bob", "ada"]
    assert data["timezone"] == "Asia/Tokyo"  # the first host's default schedule


async def test_booking_base_url_is_configurable(aiohttp_client, tmp_path, clock):
    from fortytwo.app import create_app
    from tests.conftest import make_settings

    app = create_app(
        make_settings(tmp_path, booking_base_url="https://book.example.com/"), clock=clock
    )
    client = await aiohttp_client(app)
    ada = await make_account(app)
    await add_event_type(app, ada.org_id, owner_user_id=ada.user_id, slug="intro-call")
    _, body = await get(client, "/v1/event-types", ada)
    assert body["data"][0]["url"] == "https://book.example.com/ada/intro-call"
    assert body["data"][0]["timezone"] is None  # no schedule at all


async def test_filter_user_id_includes_round_robin_hosting(client, world):
    _, body = await get(client, "/v1/event-types", world.ada, user_id=world.ada.user_id)
    assert set(ids(body)) == {world.ada_intro, world.ada_deep, world.ada_old, world.team_demo}
    _, body = await get(client, "/v1/event-types", world.ada, user_id=world.bob.user_id.upper())
    assert set(ids(body)) == {world.bob_intro, world.team_demo, world.group_class}
    _, body = await get(client, "/v1/event-types", world.ada, user_id=world.eve.user_id)
    assert ids(body) == []


async def test_filter_slug_and_active(client, world):
    _, body = await get(client, "/v1/event-types", world.ada, slug="intro-call")
    assert ids(body) == [world.bob_intro, world.ada_intro]
    _, body = await get(client, "/v1/event-types", world.ada, slug="nope")
    assert ids(body) == [] and body["meta"] == {**body["meta"], "next_cursor": None,
                                                 "has_more": False}
    _, body = await get(client, "/v1/event-types", world.ada, active="false")
    assert ids(body) == [world.ada_deep]
    _, body = await get(client, "/v1/event-types", world.ada, active="true")
    assert world.ada_deep not in ids(body) and len(ids(body)) == 5
    _, body = await get(
        client, "/v1/event-types", world.ada, active="true", user_id=world.ada.user_id,
        slug="intro-call",
    )
    assert ids(body) == [world.ada_intro]


@pytest.mark.parametrize(
    "params,param",
    [
        ({"active": "yes"}, "active"),
        ({"active": "True"}, "active"),
        ({"user_id": "ada"}, "user_id"),
        ({"user_id": "3f2c1a9e8b7d4c6e9f102a3b4c5d6e7f"}, "user_id"),
        ({"sort": "created_at"}, "sort"),
        ({"sort": "title_desc"}, "sort"),
    ],
)
async def test_bad_filters_are_400(client, world, params, param):
    resp, body = await get(client, "/v1/event-types", world.ada, **params)
    assert_error(resp, body, 400, "invalid_query_param")
    assert body["error"]["details"] == {"param": param}
    validate_response("listEventTypes", 400, body)


async def test_sorts(client, world):
    _, body = await get(client, "/v1/event-types", world.ada, sort="created_at_asc")
    assert ids(body) == [world.ada_old, world.ada_intro, world.ada_deep, world.bob_intro,
                         world.team_demo, world.group_class]
    _, body = await get(client, "/v1/event-types", world.ada, sort="title_asc")
    titles = [item["title"] for item in body["data"]]
    assert titles == sorted(titles)
    assert titles == ["Bob's intro", "Class", "Deep dive", "Demo", "Intro call", "archived call"]


# -- limit -----------------------------------------------------------------------------------


async def _many(app, account: Account, n: int, clock) -> list[str]:
    made = []
    for i in range(n):
        made.append(
            await add_event_type(
                app, account.org_id, owner_user_id=account.user_id, slug=f"e{i:03d}",
                title=f"Event {i:03d}",
            )
        )
        clock.advance(milliseconds=1)
    return made


async def test_limit_default_and_clamp(client, app, account, clock):
    await _many(app, account, 105, clock)
    _, body = await get(client, "/v1/event-types", account)
    assert len(body["data"]) == 20 and body["meta"]["has_more"] is True
    assert isinstance(body["meta"]["next_cursor"], str)
    for big in ("101", "1000", "99999999999999999999999999"):
        _, body = await get(client, "/v1/event-types", account, limit=big)
        assert len(body["data"]) == 100, big
        assert body["meta"]["has_more"] is True
    _, body = await get(client, "/v1/event-types", account, limit="1")
    assert len(body["data"]) == 1
    _, body = await get(client, "/v1/event-types", account, limit="100", cursor=body["meta"]["next_cursor"])
    assert len(body["data"]) == 100 and body["meta"]["has_more"] is True
    _, body = await get(client, "/v1/event-types", account, limit="100", cursor=body["meta"]["next_cursor"])
    assert len(body["data"]) == 4
    assert body["meta"]["has_more"] is False and body["meta"]["next_cursor"] is None


@pytest.mark.parametrize("value", ["0", "-1", "-0", "abc", "", "1.5", "1e2", " 5", "0x10"])
async def test_bad_limit_is_400(client, account, value):
    resp, body = await get(client, "/v1/event-types", account, limit=value)
    assert_error(resp, body, 400, "invalid_query_param")
    assert body["error"]["details"] == {"param": "limit"}
    assert "1 to 100" in body["error"]["message"]


async def test_exact_page_boundary_has_no_dangling_cursor(client, app, account, clock):
    await _many(app, account, 4, clock)
    _, body = await get(client, "/v1/event-types", account, limit="2")
    assert body["meta"]["has_more"] is True
    _, body = await get(client, "/v1/event-types", account, limit="2",
                        cursor=body["meta"]["next_cursor"])
    assert len(body["data"]) == 2
    assert body["meta"] == {**body["meta"], "has_more": False, "next_cursor": None}


# -- pagination ------------------------------------------------------------------------------


async def walk(client, account: Account, *, limit: int = 2, **params) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        query = dict(params, limit=str(limit))
        if cursor is not None:
            query["cursor"] = cursor
        resp, body = await get(client, "/v1/event-types", account, **query)
        assert resp.status == 200, body
        validate_response("listEventTypes", 200, body)
        assert len(body["data"]) <= limit
        seen += ids(body)
        cursor = body["meta"]["next_cursor"]
        assert body["meta"]["has_more"] is (cursor is not None)
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("sort", SORTS)
async def test_walk_all_pages(client, world, sort):
    _, full = await get(client, "/v1/event-types", world.ada, sort=sort)
    assert await walk(client, world.ada, sort=sort) == ids(full)
    assert len(ids(full)) == 6


async def test_walk_with_filter(client, world):
    assert await walk(client, world.ada, limit=1, user_id=world.ada.user_id) == [
        world.team_demo, world.ada_deep, world.ada_intro, world.ada_old
    ]


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_stable_under_concurrent_inserts(client, app, account, clock, sort):
    org, owner = account.org_id, account.user_id
    same = START + timedelta(hours=1)
    # Ten rows; several share created_at / title so the id tie-breaker is exercised.
    for i in range(10):
        await add_event_type(
            app, org, owner_user_id=owner, slug=f"orig-{i}", title=f"T{i // 3}",
            created_at=same + timedelta(seconds=i // 3),
        )
    _, first = await get(client, "/v1/event-types", account, sort=sort, limit="4")
    original = await walk(client, account, limit=100, sort=sort)
    assert len(original) == 10
    boundary = first["data"][-1]
    seen = ids(first)

    # Rows arriving between page fetches: newer, older, and tied with the boundary row on
    # its sort key with ids on both sides of its id.
    n = 0

    async def insert(**columns) -> None:
        nonlocal n
        n += 1
        await add_event_type(app, org, owner_user_id=owner, slug=f"new-{n}", **columns)

    await insert(title="A first", created_at=same + timedelta(days=1))
    await insert(title="zz last", created_at=same - timedelta(days=1))
    await insert(title=boundary["title"], created_at=boundary["created_at"], id=LOW_ID)
    await insert(title=boundary["title"], created_at=boundary["created_at"], id=HIGH_ID)
    await insert(title="T0", created_at=first["data"][0]["created_at"])

    cursor = first["meta"]["next_cursor"]
    while cursor is not None:
        _, body = await get(client, "/v1/event-types", account, sort=sort, limit="3",
                            cursor=cursor)
        seen += ids(body)
        cursor = body["meta"]["next_cursor"]
    assert len(seen) == len(set(seen)), "a row was repeated"
    # the tied row on the far side of the boundary is new and shows up on a later page
    assert (LOW_ID if sort == "created_at_desc" else HIGH_ID) in seen
    assert [i for i in seen if i in original] == original, "a row was skipped or moved"


# -- cursor errors ---------------------------------------------------------------------------


async def test_tampered_cursors_are_400(client, app, world):
    _, body = await get(client, "/v1/event-types", world.ada, limit="2")
    cursor = body["meta"]["next_cursor"]
    flipped = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    last = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    _, other_sort = await get(client, "/v1/event-types", world.ada, limit="2", sort="title_asc")
    bookings_cursor = encode_cursor(
        app[keys.SECRET_KEY], "bookings", "created_at_desc", ["2026-05-18T08:00:00.000Z", LOW_ID]
    )
    bad = {
        "flipped": flipped,
        "flipped-last": last,
        "truncated": cursor[:-4],
        "random": base64.urlsafe_b64encode(os.urandom(60)).decode().rstrip("="),
        "other-sort": other_sort["meta"]["next_cursor"],
        "other-kind": bookings_cursor,
        "not-base64": "%%%",
    }
    for name, value in bad.items():
        resp, body = await get(client, "/v1/event-types", world.ada, limit="2", cursor=value)
        assert resp.status == 400, name
        assert body["error"]["code"] == "invalid_query_param", name
        assert body["error"]["details"] == {"param": "cursor"}, name


async def test_cursor_is_not_bound_to_filters_but_to_sort(client, world):
    _, body = await get(client, "/v1/event-types", world.ada, limit="2", sort="created_at_asc")
    cursor = body["meta"]["next_cursor"]
    resp, body = await get(client, "/v1/event-types", world.ada, cursor=cursor)
    assert_error(resp, body, 400, "invalid_query_param")
    assert "sort=created_at_asc" in body["error"]["message"]
    resp, body = await get(client, "/v1/event-types", world.ada, cursor=cursor,
                           sort="created_at_asc")
    assert resp.status == 200
    assert ids(body) == [world.ada_deep, world.bob_intro, world.team_demo, world.group_class]


# -- get one ---------------------------------------------------------------------------------


async def test_get_by_uuid_detail(client, world, settings):
    resp, body = await get(client, f"/v1/event-types/{world.ada_intro}", world.ada)
    assert resp.status == 200, body
    validate_response("getEventType", 200, body)
    data = body["data"]
    assert data["url"] == f"{settings.effective_booking_base_url}/ada/intro-call"
    assert data["locations"] == [
        {"type": "google_meet", "label": "Google Meet", "value": None},
        {"type": "phone", "label": "Phone", "value": "+441234567890"},
    ]
    assert data["questions"] == [
        {"id": "q1", "key": "company", "label": "Company", "type": "text", "required": True},
        {"id": "q2", "key": "size", "label": "Team size", "type": "select", "required": False,
         "options": ["1-10", "11+"]},
    ]
    assert data["max_bookings_per_day"] == 4
    assert data["max_bookings_per_week"] is None and data["max_bookings_per_month"] is None
    assert data["requires_confirmation"] is False
    assert data["allow_reschedule"] is True and data["allow_cancel"] is True
    assert data["seats_per_slot"] is None
    assert data["minimum_notice_hours"] == 2 and data["minimum_notice_minutes"] == 150

    _, body = await get(client, f"/v1/event-types/{world.ada_intro.upper()}", world.ada)
    assert body["data"]["id"] == world.ada_intro


async def test_detail_flags_and_group_seats(client, world):
    _, body = await get(client, f"/v1/event-types/{world.ada_deep}", world.ada)
    data = body["data"]
    assert data["active"] is False and data["requires_confirmation"] is True
    assert data["allow_cancel"] is False
    assert data["locations"] == [] and data["questions"] == []
    _, body = await get(client, f"/v1/event-types/{world.group_class}", world.ada)
    validate_response("getEventType", 200, body)
    assert body["data"]["scheduling_type"] == "group"
    assert body["data"]["seats_per_slot"] == 8


@pytest.mark.parametrize(
    "path",
    [
        "/v1/event-types/ada%2Fintro-call",
        "/v1/event-types/ada%2fintro-call",
        "/v1/event-types/ada/intro-call",
        "/v1/event-types/ADA/intro-call",
        "/v1/event-types/Ada%2Fintro-call",
    ],
)
async def test_get_by_username_slug(client, world, path):
    resp, body = await get(client, path, world.ada)
    assert resp.status == 200, body
    validate_response("getEventType", 200, body)
    assert body["data"]["id"] == world.ada_intro


async def test_encoded_slash_reaches_the_single_segment_route(client, world):
    resp = await client.get("/v1/event-types/ada%2Fintro-call", headers=world.ada.auth)
    assert resp.status == 200
    assert resp.request_info.url.raw_path == "/v1/event-types/ada%2Fintro-call"  # sent encoded
    # The router keeps %2F inside the segment while matching and hands the handler the
    # decoded value, so this is the one-segment route, not the two-segment one.
    request = make_mocked_request("GET", "/v1/event-types/ada%2Fintro-call")
    match = await client.server.app.router.resolve(request)
    assert match.handler.__name__ == "get_event_type"
    assert dict(match) == {"id_or_slug": "ada/intro-call"}


async def test_get_by_other_users_slug_and_team_slug(client, world):
    _, body = await get(client, "/v1/event-types/bob/intro-call", world.ada)
    assert body["data"]["id"] == world.bob_intro
    _, body = await get(client, "/v1/event-types/sales/demo", world.ada)
    assert body["data"]["id"] == world.team_demo
    _, body = await get(client, "/v1/event-types/sales%2Fdemo", world.ada)
    assert body["data"]["id"] == world.team_demo


async def test_get_by_unique_bare_slug(client, world):
    resp, body = await get(client, "/v1/event-types/deep-dive", world.ada)
    assert resp.status == 200
    assert body["data"]["id"] == world.ada_deep
    _, body = await get(client, "/v1/event-types/demo", world.ada)
    assert body["data"]["id"] == world.team_demo


async def test_ambiguous_bare_slug_is_404_with_hint(client, world):
    resp, body = await get(client, "/v1/event-types/intro-call", world.ada)
    assert_error(resp, body, 404, "event_type_not_found")
    validate_response("getEventType", 404, body)
    hint = body["error"]["details"]["hint"]
    assert "username/slug" in hint and "id" in hint


@pytest.mark.parametrize(
    "path",
    [
        "/v1/event-types/nope",
        "/v1/event-types/3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f",
        "/v1/event-types/ada/nope",
        "/v1/event-types/nobody/intro-call",
        "/v1/event-types/bob/deep-dive",
        "/v1/event-types/eve/solo",
        "/v1/event-types/solo",
        "/v1/event-types/ada%2Fintro-call%2Fx",
        "/v1/event-types/%2Fintro-call",
        "/v1/event-types/ada%2F",
    ],
)
async def test_unknown_is_404(client, world, path):
    resp, body = await get(client, path, world.ada)
    assert_error(resp, body, 404, "event_type_not_found")
    validate_response("getEventType", 404, body)


async def test_other_organizations_event_type_is_404_both_ways(client, world):
    resp, body = await get(client, f"/v1/event-types/{world.eve_intro}", world.ada)
    assert_error(resp, body, 404, "event_type_not_found")
    resp, body = await get(client, f"/v1/event-types/{world.ada_intro}", world.eve)
    assert_error(resp, body, 404, "event_type_not_found")
    _, body = await get(client, "/v1/event-types", world.eve)
    assert ids(body) == [world.eve_intro]
    _, body = await get(client, "/v1/event-types", world.eve, user_id=world.ada.user_id)
    assert ids(body) == []


async def test_missing_scope_is_403(client, app, world):
    issued = await add_token(app, world.ada, name="meonly", scopes="user:read")
    headers = {"Authorization": f"Bearer {issued.token}"}
    for path in (
        "/v1/event-types",
        f"/v1/event-types/{world.ada_intro}",
        "/v1/event-types/ada/intro-call",
        "/v1/event-types/ada%2Fintro-call",
    ):
        resp = await client.get(path, headers=headers)
        body = await resp.json()
        assert_error(resp, body, 403, "insufficient_scope")
        assert body["error"]["details"] == {"required_scope": "event_types:read"}
        assert 'scope="event_types:read"' in resp.headers["WWW-Authenticate"]


async def test_no_token_is_401(client, world):
    resp = await client.get("/v1/event-types")
    assert resp.status == 401


# -- params units ----------------------------------------------------------------------------


def test_params_units():
    assert parse_limit({}) == 20
    assert parse_limit({"limit": "007"}) == 7
    assert parse_limit({"limit": "100"}) == 100
    assert parse_limit({"limit": "101"}) == 100
    assert parse_bool({}, "active") is None
    assert parse_bool({"active": "true"}, "active") is True
    assert parse_bool({"active": "false"}, "active") is False
    assert parse_choice({}, "sort", SORTS, "created_at_desc") == "created_at_desc"
    assert parse_choice({"sort": "title_asc"}, "sort", SORTS, "x") == "title_asc"
    assert parse_uuid({}, "user_id") is None
    assert parse_uuid({"user_id": HIGH_ID.upper()}, "user_id") == HIGH_ID
    for call in (
        lambda: parse_bool({"active": "1"}, "active"),
        lambda: parse_choice({"sort": ""}, "sort", SORTS, "x"),
        lambda: parse_uuid({"user_id": ""}, "user_id"),
        lambda: parse_uuid({"user_id": "{" + HIGH_ID + "}"}, "user_id"),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.status == 400 and caught.value.code == "invalid_query_param"
    with pytest.raises(ApiError) as caught:
        parse_choice({"sort": "x"}, "sort", SORTS, "created_at_desc")
    assert "created_at_desc, created_at_asc, title_asc" in caught.value.message


# -- find_for_query (the slots endpoints' way of naming an event type) -------------------------


async def test_find_for_query(app, world):
    from fortytwo.services.event_types import find_for_query

    conn, org = app[keys.DATABASE].reader, world.ada.org_id
    row = await find_for_query(conn, org, {"event_type_id": world.ada_intro.upper()})
    assert row.id == world.ada_intro
    row = await find_for_query(conn, org, {"username": "Ada", "event_slug": "intro-call"})
    assert row.id == world.ada_intro
    row = await find_for_query(conn, org, {"username": "sales", "event_slug": "demo"})
    assert row.id == world.team_demo and row.timezone == "Asia/Tokyo"
    for query, status, detail in [
        ({}, 400, {"param": "event_type_id"}),
        ({"event_type_id": ""}, 400, {"param": "event_type_id"}),
        ({"username": "ada"}, 400, {"param": "event_slug"}),
        ({"event_slug": "intro-call"}, 400, {"param": "username"}),
        ({"event_type_id": "nope"}, 400, {"param": "event_type_id"}),
        ({"event_type_id": world.eve_intro}, 404, None),
        ({"username": "eve", "event_slug": "solo"}, 404, None),
    ]:
        with pytest.raises(ApiError) as caught:
            await find_for_query(conn, org, query)
        assert caught.value.status == status, query
        if detail is not None:
            assert caught.value.details == detail
        else:
            assert caught.value.code == "event_type_not_found"
