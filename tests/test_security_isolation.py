"""Organization isolation on every route (contract 4: another organization's rows are a 404,
never a 403; 8.1: webhooks live in per-credential sandboxes; 11: a client sees only its own
OAuth tokens).

One app holds two organizations with the same kinds of data (tests/security_support.py).
``CASES`` is a table of requests that organization A makes naming B's ids — in the path, the
query or the body — with A's PAT and with A's OAuth access token. Each must answer the
contract's 404 (or, for lists and filters, a page with none of B's rows), must not show any of
B's data, and must leave the whole database exactly as it was. ``test_every_route_is_covered``
fails when a route is registered that the table neither covers nor names as public, so a new
endpoint cannot escape this file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.services import pats
from fortytwo.store.webhooks import Owner
from fortytwo.webhooks import service as webhook_service
from fortytwo.webhooks.targets import Targets
from tests.conftest import FakeClock, make_settings
from tests.oauth_support import REDIRECT, basic
from tests.security_support import (
    SETTINGS,
    TUESDAY,
    Org,
    build_org,
    diff,
    full_pat,
    iso,
    route_pairs,
    snapshot,
)
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOT_FOUND = {"booking": "booking_not_found", "event_type": "event_type_not_found",
             "webhook": "webhook_not_found"}
WINDOW = {"start": iso(TUESDAY), "end": iso(TUESDAY.replace(day=20))}
# routes that hold no organization data and take no ids: served to anyone (no token)
PUBLIC = {
    ("GET", "/"), ("GET", "/healthz"), ("GET", "/docs"), ("GET", "/openapi.json"),
    ("GET", "/openapi.yaml"), ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/oauth-protected-resource"),
}
# OAuth routes that are not organization-scoped by design: any user of the server may
# authorize any client (docs/decisions.md), and registration creates a client of no
# organization. Cross-client cases for token/revoke/introspect are in CASES.
NOT_ORG_SCOPED = {
    ("GET", "/v1/oauth/authorize"): "any user may authorize any client",
    ("HEAD", "/v1/oauth/authorize"): "any user may authorize any client",
    ("POST", "/v1/oauth/authorize"): "any user may authorize any client",
    ("POST", "/v1/oauth/register"): "dynamic registration creates a client of no organization",
}


@dataclass
class World:
    app: Any
    client: TestClient
    a: Org
    b: Org
    receiver: Receiver
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """A's request naming B's objects. ``build(a, b)`` → (path, keyword arguments)."""

    method: str
    route: str
    name: str
    build: Callable[[Org, Org], tuple[str, dict[str, Any]]]
    status: int = 404
    code: str | None = None
    check: Callable[[World, Any], None] | None = None
    api: bool = True  # a /v1 API route: run with A's credentials (else as A's OAuth client)
    credentials: tuple[str, ...] = ("pat", "oauth")

    @property
    def id(self) -> str:
        return f"{self.method} {self.route} [{self.name}]"


def _write(**extra: str) -> dict[str, str]:
    return {"Idempotency-Key": "isolation-probe", **extra}


def _booking_body(**extra: Any) -> dict[str, Any]:
    return {"start": iso(TUESDAY.replace(hour=14)),
            "attendee": {"email": "probe@a.example", "name": "Probe"}, **extra}


def _ids(payload: Any) -> list[str]:
    return [item.get("uid") or item["id"] for item in payload["data"]]


def only_a(kind: str, *, nonempty: bool = True) -> Callable[[World, Any], None]:
    """A list answer whose items are all A's (and at least one, when A must see its own)."""

    def check(world: World, payload: Any) -> None:
        a = world.a
        mine = {"event_types": {a.intro_id, a.shared_id, a.demo_id},
                "bookings": set(a.booking_uids),
                "webhooks": {a.webhook_id, *world.extra.get("a_webhooks", ())},
                "deliveries": set(a.delivery_ids)}[kind]
        ids = _ids(payload)
        assert set(ids) <= mine, ids
        if nonempty:
            assert ids, payload

    return check


def empty(world: World, payload: Any) -> None:
    assert payload["data"] == [], payload


def own_org(world: World, payload: Any) -> None:
    data = payload["data"]
    org = data.get("account_id") or data["organization"]["id"]
    assert org == world.a.org_id


def a_shared(world: World, payload: Any) -> None:
    assert payload["data"]["id"] == world.a.shared_id


def inactive(world: World, payload: Any) -> None:
    assert payload == {"active": False}


def oauth_error(code: str) -> Callable[[World, Any], None]:
    def check(world: World, payload: Any) -> None:
        assert payload["error"] == code, payload

    return check


def _q(**params: str) -> dict[str, Any]:
    return {"params": params}


def _et_cases() -> list[Case]:
    r1, r2 = "/v1/event-types/{id_or_slug}", "/v1/event-types/{username}/{slug}"
    nf = NOT_FOUND["event_type"]
    out = []
    for method in ("GET", "HEAD"):
        out += [
            Case(method, r1, "B's id", lambda a, b: (f"/v1/event-types/{b.intro_id}", {}), code=nf),
            Case(method, r1, "B's team event type id",
                 lambda a, b: (f"/v1/event-types/{b.demo_id}", {}), code=nf),
            Case(method, r1, "B's username%2Fslug",
                 lambda a, b: (f"/v1/event-types/{b.owner}%2F{b.intro_slug}", {}), code=nf),
            Case(method, r1, "B's bare slug",
                 lambda a, b: (f"/v1/event-types/{b.intro_slug}", {}), code=nf),
            Case(method, r2, "B's username/slug",
                 lambda a, b: (f"/v1/event-types/{b.owner}/{b.intro_slug}", {}), code=nf),
            Case(method, r2, "B's team/slug",
                 lambda a, b: (f"/v1/event-types/{b.team}/{b.demo_slug}", {}), code=nf),
            Case(method, r2, "B's username, a slug both have",
                 lambda a, b: (f"/v1/event-types/{b.owner}/shared", {}), code=nf),
        ]
    out.append(Case("GET", r1, "a slug both have gives A's",
                    lambda a, b: ("/v1/event-types/shared", {}), 200, check=a_shared))
    for method in ("GET", "HEAD"):
        out += [
            Case(method, "/v1/event-types", "no filter",
                 lambda a, b: ("/v1/event-types", {}), 200, check=only_a("event_types")),
            Case(method, "/v1/event-types", "user_id=B's owner",
                 lambda a, b: ("/v1/event-types", _q(user_id=b.owner_id)), 200, check=empty),
            Case(method, "/v1/event-types", "user_id=B's member",
                 lambda a, b: ("/v1/event-types", _q(user_id=b.member_id)), 200, check=empty),
            Case(method, "/v1/event-types", "slug=B's slug",
                 lambda a, b: ("/v1/event-types", _q(slug=b.intro_slug)), 200, check=empty),
            Case(method, "/v1/event-types", "slug both have",
                 lambda a, b: ("/v1/event-types", _q(slug="shared")), 200,
                 check=only_a("event_types")),
        ]
    return out


def _slot_cases() -> list[Case]:
    nf = NOT_FOUND["event_type"]
    out = []
    for method in ("GET", "HEAD"):
        for route, extra in (("/v1/slots", WINDOW), ("/v1/slots/check",
                                                     {"start": iso(TUESDAY.replace(hour=14))})):
            out += [
                Case(method, route, "event_type_id=B's",
                     lambda a, b, r=route, e=extra: (r, _q(event_type_id=b.intro_id, **e)),
                     code=nf),
                Case(method, route, "B's username+slug",
                     lambda a, b, r=route, e=extra: (
                         r, _q(username=b.owner, event_slug=b.intro_slug, **e)), code=nf),
                Case(method, route, "B's team+slug",
                     lambda a, b, r=route, e=extra: (
                         r, _q(username=b.team, event_slug=b.demo_slug, **e)), code=nf),
                Case(method, route, "B's username, a slug both have",
                     lambda a, b, r=route, e=extra: (
                         r, _q(username=b.owner, event_slug="shared", **e)), code=nf),
            ]
    return out


def _booking_cases() -> list[Case]:
    nf_b, nf_et = NOT_FOUND["booking"], NOT_FOUND["event_type"]
    uid = "/v1/bookings/{uid}"
    out = [
        Case("POST", "/v1/bookings", "event_type_id=B's",
             lambda a, b: ("/v1/bookings", {"json": _booking_body(event_type_id=b.intro_id),
                                            "headers": _write()}), code=nf_et),
        Case("POST", "/v1/bookings", "B's username+slug",
             lambda a, b: ("/v1/bookings", {"json": _booking_body(
                 username=b.owner, event_slug=b.intro_slug), "headers": _write()}), code=nf_et),
        Case("POST", "/v1/bookings", "B's team+slug",
             lambda a, b: ("/v1/bookings", {"json": _booking_body(
                 username=b.team, event_slug=b.demo_slug), "headers": _write()}), code=nf_et),
        Case("POST", "/v1/bookings", "B's idempotency key and body are not replayed",
             lambda a, b: ("/v1/bookings", {"json": b.booking_bodies[0],
                                            "headers": _write(**{"Idempotency-Key":
                                                                 b.booking_keys[0]})}),
             code=nf_et),
    ]
    for method in ("GET", "HEAD"):
        out += [
            Case(method, uid, "B's uid",
                 lambda a, b: (f"/v1/bookings/{b.booking_uids[0]}", {}), code=nf_b),
            Case(method, uid, "B's round-robin booking",
                 lambda a, b: (f"/v1/bookings/{b.booking_uids[1]}", {}), code=nf_b),
        ]
    out += [
        Case("PATCH", uid, "B's uid",
             lambda a, b: (f"/v1/bookings/{b.booking_uids[0]}", {
                 "json": {"metadata": {"probe": "x"}}, "headers": _write(**{"If-Match": '"1"'})}),
             code=nf_b),
        Case("PATCH", uid, "B's uid with B's idempotency key",
             lambda a, b: (f"/v1/bookings/{b.booking_uids[1]}", {
                 "json": {"attendee_name": "Probe"},
                 "headers": _write(**{"If-Match": '"1"', "Idempotency-Key": b.booking_keys[1]})}),
             code=nf_b),
        Case("POST", "/v1/bookings/{uid}/cancel", "B's uid",
             lambda a, b: (f"/v1/bookings/{b.booking_uids[0]}/cancel", {
                 "json": {"reason": "probe"}, "headers": _write()}), code=nf_b),
        Case("POST", "/v1/bookings/{uid}/cancel", "B's round-robin booking",
             lambda a, b: (f"/v1/bookings/{b.booking_uids[1]}/cancel", {"headers": _write()}),
             code=nf_b),
        Case("POST", "/v1/bookings/{uid}/reschedule", "B's uid",
             lambda a, b: (f"/v1/bookings/{b.booking_uids[0]}/reschedule", {
                 "json": {"start": iso(TUESDAY.replace(hour=14))}, "headers": _write()}),
             code=nf_b),
    ]
    bookings = "/v1/bookings"
    for method in ("GET", "HEAD"):
        out += [
            Case(method, bookings, "no filter", lambda a, b: (bookings, {}), 200,
                 check=only_a("bookings")),
            Case(method, bookings, "event_type_id=B's",
                 lambda a, b: (bookings, _q(event_type_id=b.intro_id)), 200, check=empty),
            Case(method, bookings, "host_user_id=B's",
                 lambda a, b: (bookings, _q(host_user_id=b.owner_id)), 200, check=empty),
            Case(method, bookings, "host_user_ids=B's",
                 lambda a, b: (bookings, _q(host_user_ids=f"{b.owner_id},{b.member_id}")), 200,
                 check=empty),
            Case(method, bookings, "attendee_email=B's attendee",
                 lambda a, b: (bookings, _q(attendee_email=b.attendee_email)), 200,
                 check=empty),
            Case(method, bookings, "every status, catch-up feed",
                 lambda a, b: (bookings, _q(status="pending,confirmed,canceled,rescheduled",
                                            sort="updated_at_asc",
                                            updated_since="2000-01-01T00:00:00Z")), 200,
                 check=only_a("bookings")),
        ]
    out.append(Case("GET", bookings, "B's cursor",
                    lambda a, b: (bookings, {"params": {"cursor": b.next_cursor, "limit": "1"}}),
                    200, check=only_a("bookings", nonempty=False)))
    return out


def _webhook_cases() -> list[Case]:
    nf = NOT_FOUND["webhook"]
    hid = "/v1/webhooks/{id}"
    out = []
    for method in ("GET", "HEAD"):
        out += [
            Case(method, hid, "B's id", lambda a, b: (f"/v1/webhooks/{b.webhook_id}", {}), code=nf),
            Case(method, "/v1/webhooks/{id}/deliveries", "B's id",
                 lambda a, b: (f"/v1/webhooks/{b.webhook_id}/deliveries", {}), code=nf),
            Case(method, "/v1/webhooks", "list", lambda a, b: ("/v1/webhooks", {}), 200,
                 check=only_a("webhooks", nonempty=False)),
            Case(method, "/v1/webhooks/{id}/deliveries", "A's own webhook",
                 lambda a, b: (f"/v1/webhooks/{a.webhook_id}/deliveries", {}), 200,
                 check=only_a("deliveries"), credentials=("pat",)),
        ]
    out += [
        Case("PATCH", hid, "B's id", lambda a, b: (f"/v1/webhooks/{b.webhook_id}", {
            "json": {"description": "probe", "status": "paused"}}), code=nf),
        Case("DELETE", hid, "B's id", lambda a, b: (f"/v1/webhooks/{b.webhook_id}", {}), code=nf),
        Case("POST", "/v1/webhooks/{id}/rotate-secret", "B's id",
             lambda a, b: (f"/v1/webhooks/{b.webhook_id}/rotate-secret", {}), code=nf),
        Case("POST", "/v1/webhooks/{id}/test", "B's id",
             lambda a, b: (f"/v1/webhooks/{b.webhook_id}/test", {}), code=nf),
        Case("POST", "/v1/webhooks", "B's URL is only a duplicate in B's sandbox",
             lambda a, b: ("/v1/webhooks", {"json": {"url": b.webhook_url,
                                                     "events": ["booking_created"]}}),
             201),
    ]
    return out


def _meta_cases() -> list[Case]:
    out = []
    for method in ("GET", "HEAD"):
        out += [
            Case(method, "/v1/_ping", "own organization", lambda a, b: ("/v1/_ping", {}), 200,
                 check=own_org),
            Case(method, "/v1/me", "own organization", lambda a, b: ("/v1/me", {}), 200,
                 check=own_org),
        ]
    return out


def _client_auth(a: Org) -> dict[str, str]:
    return basic(a.client_id, a.client_secret)


def _oauth_cases() -> list[Case]:
    return [
        Case("POST", "/v1/oauth/introspect", "B's access token",
             lambda a, b: ("/v1/oauth/introspect", {
                 "data": {"token": b.oauth_token}, "headers": _client_auth(a)}), 200,
             check=inactive, api=False),
        Case("POST", "/v1/oauth/introspect", "B's refresh token",
             lambda a, b: ("/v1/oauth/introspect", {
                 "data": {"token": b.refresh_token}, "headers": _client_auth(a)}), 200,
             check=inactive, api=False),
        Case("POST", "/v1/oauth/introspect", "B's PAT",
             lambda a, b: ("/v1/oauth/introspect", {
                 "data": {"token": b.pat}, "headers": _client_auth(a)}), 200,
             check=inactive, api=False),
        Case("POST", "/v1/oauth/revoke", "B's access token is left alone",
             lambda a, b: ("/v1/oauth/revoke", {
                 "data": {"token": b.oauth_token}, "headers": _client_auth(a)}), 200,
             api=False),
        Case("POST", "/v1/oauth/revoke", "B's refresh token is left alone",
             lambda a, b: ("/v1/oauth/revoke", {
                 "data": {"token": b.refresh_token}, "headers": _client_auth(a)}), 200,
             api=False),
        Case("POST", "/v1/oauth/token", "B's refresh token",
             lambda a, b: ("/v1/oauth/token", {
                 "data": {"grant_type": "refresh_token", "refresh_token": b.refresh_token},
                 "headers": _client_auth(a)}), 400, check=oauth_error("invalid_grant"),
             api=False),
        Case("POST", "/v1/oauth/token", "B's unspent code",
             lambda a, b: ("/v1/oauth/token", {
                 "data": {"grant_type": "authorization_code", "code": b.spare_code[0],
                          "code_verifier": b.spare_code[1], "redirect_uri": REDIRECT},
                 "headers": _client_auth(a)}), 400, check=oauth_error("invalid_grant"),
             api=False),
    ]


CASES = _meta_cases() + _et_cases() + _slot_cases() + _booking_cases() + _webhook_cases() + _oauth_cases()
PARAMS = [
    pytest.param(case, credential, id=f"{case.id} as {credential}")
    for case in CASES
    for credential in (case.credentials if case.api else ("client",))
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("isolation"), **SETTINGS)
    app = create_app(settings, clock=FakeClock())
    receiver = await Receiver().start()
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        a = await build_org(app, client, "a", "Org A", receiver.url, 10)
        b = await build_org(app, client, "b", "Org B", receiver.url, 12)
        world = World(app, client, a, b, receiver)
        resp = await client.get("/v1/bookings", params={"limit": "1"}, headers=b.auth())
        b.next_cursor = (await resp.json())["meta"]["next_cursor"]
        assert b.next_cursor
        yield world
    finally:
        await client.close()
        await receiver.stop()


async def test_every_route_is_covered(tmp_path):
    """Every registered route is in the table, public, or named as not organization-scoped."""
    app = create_app(make_settings(tmp_path))
    covered = {(c.method, c.route) for c in CASES}
    missing = []
    for method, route in route_pairs(app):
        if (method, route) in covered or (method, route) in NOT_ORG_SCOPED:
            continue
        if (method == "HEAD" and ("GET", route) in PUBLIC) or (method, route) in PUBLIC:
            continue
        missing.append(f"{method} {route}")
    assert not missing, f"routes without an isolation case: {missing}"
    stale = covered - set(route_pairs(app))
    assert not stale, f"cases for routes that do not exist: {stale}"


@pytest.mark.parametrize(("case", "credential"), PARAMS)
async def test_other_organizations_ids(world: World, case: Case, credential: str):
    a, b = world.a, world.b
    path, kwargs = case.build(a, b)
    kwargs = dict(kwargs)
    headers = dict(kwargs.pop("headers", {}))
    if case.api:
        headers.update(a.auth(credential))
    before = await snapshot(world.app)
    received = len(world.receiver.requests)
    resp = await world.client.request(case.method, path, headers=headers, allow_redirects=False,
                                      **kwargs)
    raw = await resp.read()
    text = raw.decode()
    assert resp.status == case.status, text
    payload = json.loads(text) if case.method != "HEAD" and raw else None
    if case.code and payload is not None:
        assert payload["error"]["code"] == case.code, payload
    if case.check and payload is not None:
        case.check(world, payload)
    typed = path + json.dumps(kwargs, default=str) + quote(json.dumps(kwargs, default=str))
    leaked = [m for m in b.markers() if m in text and m not in typed]
    assert not leaked, f"B's data in A's answer: {leaked}"
    if case.status == 201:  # the one case that may create something: A's own webhook
        world.extra.setdefault("a_webhooks", []).append(payload["data"]["id"])
        delete = await world.client.delete(f"/v1/webhooks/{payload['data']['id']}",
                                           headers=headers)
        assert delete.status == 204
        after = await snapshot(world.app)
        changed = set(diff(before, after)) - {"events", "webhook_deliveries"}
        assert not changed, changed
    else:
        after = await snapshot(world.app)
        assert diff(before, after) == [], "A's request changed stored data"
    assert len(world.receiver.requests) == received, "A's request reached B's webhook URL"


# -- webhook sandboxes inside one organization (contract 8.1) -----------------------------

SANDBOX_ROUTES = [
    ("GET", "/v1/webhooks/{id}", {}), ("HEAD", "/v1/webhooks/{id}", {}),
    ("PATCH", "/v1/webhooks/{id}", {"json": {"description": "probe"}}),
    ("DELETE", "/v1/webhooks/{id}", {}), ("POST", "/v1/webhooks/{id}/rotate-secret", {}),
    ("POST", "/v1/webhooks/{id}/test", {}), ("GET", "/v1/webhooks/{id}/deliveries", {}),
    ("HEAD", "/v1/webhooks/{id}/deliveries", {}),
]
# (whose webhook, who asks): every credential of organization A other than the creator
SANDBOX_PAIRS = [
    ("A's PAT", "A's second PAT, same user"),
    ("A's PAT", "a PAT of another user of A"),
    ("A's PAT", "A's OAuth token, same user"),
    ("A's PAT", "A's PAT after rotation"),
    ("A's OAuth token", "A's PAT"),
    ("the command line", "A's PAT"),
    ("the command line", "A's OAuth token"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandboxes(world: World):
    app, a = world.app, world.a
    second = await full_pat(app, a.owner_id, "a-second")
    other_user = await full_pat(app, a.member_id, "a-member")
    to_rotate = await full_pat(app, a.owner_id, "a-rotated")
    url = f"{world.receiver.url}/sandbox"
    hooks: dict[str, str] = {"A's PAT": a.webhook_id}
    resp = await world.client.post("/v1/webhooks", json={"url": url, "events": ["booking_created"]},
                                   headers={"Authorization": f"Bearer {to_rotate.token}"})
    rotated_hook = (await resp.json())["data"]["id"]
    rotated = await pats.rotate(app[keys.DATABASE], to_rotate.id, prefix=app[keys.TOKEN_PREFIX],
                                pepper=app[keys.PEPPER], now=app[keys.CLOCK]())
    resp = await world.client.post("/v1/webhooks", json={"url": url, "events": ["booking_created"]},
                                   headers=a.auth("oauth"))
    hooks["A's OAuth token"] = (await resp.json())["data"]["id"]
    created = await webhook_service.create(
        app[keys.DATABASE], Targets(app[keys.WEBHOOK_RESOLVE], allow_private=True),
        app[keys.SECRET_KEY], Owner(a.org_id, "cli"), {"url": url, "events": ["booking_created"]},
        app[keys.CLOCK](),
    )
    hooks["the command line"] = created["id"]
    tokens = {
        "A's PAT": a.pat, "A's OAuth token": a.oauth_token,
        "A's OAuth token, same user": a.oauth_token,
        "A's second PAT, same user": second.token, "a PAT of another user of A": other_user.token,
        "A's PAT after rotation": rotated.token,
    }
    return hooks, tokens, rotated_hook


@pytest.mark.parametrize(("route", "owner", "viewer"), [
    pytest.param(r, o, v, id=f"{r[0]} {r[1]} [{o} seen by {v}]")
    for r in SANDBOX_ROUTES for o, v in SANDBOX_PAIRS
])
async def test_webhook_sandboxes(world: World, sandboxes, route, owner: str, viewer: str):
    hooks, tokens, rotated_hook = sandboxes
    hook = rotated_hook if viewer == "A's PAT after rotation" else hooks[owner]
    method, template, kwargs = route
    auth = {"Authorization": f"Bearer {tokens[viewer]}"}
    before = await snapshot(world.app)
    resp = await world.client.request(method, template.replace("{id}", hook), headers=auth,
                                      **kwargs)
    assert resp.status == 404
    if method != "HEAD":
        assert (await resp.json())["error"]["code"] == "webhook_not_found"
    listed = await world.client.get("/v1/webhooks", headers=auth)
    assert hook not in _ids(await listed.json())
    assert diff(before, await snapshot(world.app)) == []


async def test_events_never_reach_another_organizations_webhooks(world: World):
    """B's booking is delivered to B's webhook and to none of A's (events are per organization)."""
    from tests.webhook_receiver import settle

    a, b = world.a, world.b
    world.app[keys.CLOCK].advance(minutes=1)
    body = {"event_type_id": b.intro_id, "start": iso(TUESDAY.replace(hour=15)),
            "attendee": {"email": b.attendee_email, "name": "Late guest"}}
    resp = await world.client.post("/v1/bookings", json=body,
                                   headers={**b.auth(), "Idempotency-Key": "b-late"})
    uid = (await resp.json())["data"]["uid"]
    await settle(world.app)
    await world.receiver.wait_for(1)
    to_b = [r for r in world.receiver.requests if r.path == "/b-hook" and uid.encode() in r.body]
    assert len(to_b) == 1
    for request in world.receiver.requests:
        if request.path != "/b-hook":
            assert not any(m.encode() in request.body for m in b.markers() | {uid}), request.path
    assert a.webhook_id  # A's webhook subscribes to booking_created too
