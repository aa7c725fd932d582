"""Scope enforcement on every /v1 route, checked against the contract's table (3.2).

``CONTRACT`` is section 3.2 of the contract transcribed as data: it is deliberately not read
from the handlers' ``requires_scope`` marks, so a wrong mark in the code fails here. For
every route and method the app serves:

- a token holding every scope except the required one gets 403 ``insufficient_scope`` with
  ``details.required_scope`` and the ``WWW-Authenticate`` challenge naming the scope, and
  nothing is written;
- a token holding exactly the required scope gets past the check (the expected success, or
  for another credential's webhook sandbox the 404 that proves the scope check passed).

OAuth access tokens with narrowed scopes (a narrow grant, a narrowing refresh, an alias) are
checked on a few routes at the end.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from fortytwo.app import create_app
from fortytwo.http.policy import required_scope
from fortytwo.security.scopes import ACTIVE, ALL_PAT_SCOPES
from tests.conftest import FakeClock, make_settings
from tests.oauth_support import code_for, exchange, token_post
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

ANY = "(any valid token)"
# Contract section 3.2, one row per operation ("POST/PATCH/DELETE /v1/webhooks…, rotate-secret,
# test" spelled out).
CONTRACT = """
GET    /v1/_ping                           (any valid token)
GET    /v1/me                              user:read
GET    /v1/event-types                     event_types:read
GET    /v1/event-types/{idOrSlug}          event_types:read
GET    /v1/slots                           slots:read
GET    /v1/slots/check                     slots:read
GET    /v1/bookings                        bookings:read
GET    /v1/bookings/{uid}                  bookings:read
POST   /v1/bookings                        bookings:create
POST   /v1/bookings/{uid}/cancel           bookings:cancel
POST   /v1/bookings/{uid}/reschedule       bookings:reschedule
PATCH  /v1/bookings/{uid}                  bookings:update
GET    /v1/webhooks                        webhooks:read
GET    /v1/webhooks/{id}                   webhooks:read
GET    /v1/webhooks/{id}/deliveries        webhooks:read
POST   /v1/webhooks                        webhooks:write
PATCH  /v1/webhooks/{id}                   webhooks:write
DELETE /v1/webhooks/{id}                   webhooks:write
POST   /v1/webhooks/{id}/rotate-secret     webhooks:write
POST   /v1/webhooks/{id}/test              webhooks:write
"""
# Contract 5: "username/slug" may also be given as two path segments — the same operation.
SAME_OPERATION = {"/v1/event-types/{}/{}": "/v1/event-types/{}"}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def contract_table() -> dict[tuple[str, str], str]:
    table = {}
    for line in CONTRACT.strip().splitlines():
        method, path, scope = line.split(None, 2)
        table[(method, _shape(path))] = scope
    return table


def contract_scope(method: str, route: str) -> str | None:
    """The scope the contract asks of (method, route); HEAD is GET without a body."""
    shape = _shape(route)
    shape = SAME_OPERATION.get(shape, shape)
    return contract_table().get(("GET" if method == "HEAD" else method, shape))


def _all_routes() -> list[tuple[str, str]]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        return route_pairs(create_app(make_settings(Path(tmp))))


ROUTES = _all_routes()
API = [(m, r) for m, r in ROUTES if r.startswith("/v1/") and not r.startswith("/v1/oauth/")]


@dataclass
class Ctx:
    app: Any
    client: TestClient
    org: Org
    receiver_url: str
    without: dict[str, str]  # scope -> a token with every scope but that one
    only: dict[str, str]  # scope -> a token with that scope alone
    counter: itertools.count
    slots: itertools.count

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def free_start(self) -> str:
        """A start no other request of this module uses (weekdays from Wednesday on,
        08:00-15:30 UTC)."""
        k = next(self.slots)
        day = TUESDAY + timedelta(days=(1, 2, 3, 6, 7, 8, 9, 10)[k // 16])
        return iso(day.replace(hour=8) + timedelta(minutes=30 * (k % 16)))

    async def booking(self) -> str:
        body = {"event_type_id": self.org.intro_id, "start": self.free_start(),
                "attendee": {"email": "scope@a.example", "name": "Scope"}}
        resp = await self.client.post("/v1/bookings", json=body, headers={
            **self.auth(self.org.pat), "Idempotency-Key": f"scope-{next(self.counter)}"})
        payload = await resp.json()
        assert resp.status == 201, payload
        return payload["data"]["uid"]

    async def webhook(self, token: str) -> str:
        url = f"{self.receiver_url}/scope-{next(self.counter)}"
        resp = await self.client.post("/v1/webhooks", json={"url": url,
                                                            "events": ["booking_created"]},
                                      headers=self.auth(token))
        payload = await resp.json()
        assert resp.status == 201, payload
        return payload["data"]["id"]


async def build_request(ctx: Ctx, method: str, route: str, token: str | None) -> tuple[str, dict]:
    """A request for (method, route) that is valid apart from its scope. With ``token``
    (the allowed case) the objects it names are fresh and made for that token; without it,
    existing ids are enough, since the scope is checked first."""
    org = ctx.org
    write = {"Idempotency-Key": f"scope-key-{next(ctx.counter)}"}
    path = route
    kwargs: dict[str, Any] = {}
    if "{uid}" in route:
        uid = await ctx.booking() if token else org.booking_uids[0]
        path = route.replace("{uid}", uid)
    if "{id}" in route:
        hook = await ctx.webhook(token) if token and method in ("PATCH", "DELETE", "POST") \
            else org.webhook_id
        path = route.replace("{id}", hook)
    path = path.replace("{id_or_slug}", org.intro_id).replace("{username}", org.owner)
    path = path.replace("{slug}", org.intro_slug)
    if route == "/v1/slots":
        kwargs["params"] = {"event_type_id": org.intro_id, "start": iso(TUESDAY),
                            "end": iso(TUESDAY + timedelta(days=2))}
    elif route == "/v1/slots/check":
        kwargs["params"] = {"event_type_id": org.intro_id, "start": ctx.free_start()}
    elif (method, route) == ("POST", "/v1/bookings"):
        kwargs.update(headers=write, json={
            "event_type_id": org.intro_id, "start": ctx.free_start(),
            "attendee": {"email": "scope@a.example", "name": "Scope"}})
    elif route.endswith("/cancel"):
        kwargs.update(headers=write, json={"reason": "scope test"})
    elif route.endswith("/reschedule"):
        kwargs.update(headers=write, json={"start": ctx.free_start()})
    elif (method, route) == ("PATCH", "/v1/bookings/{uid}"):
        kwargs.update(headers={**write, "If-Match": '"1"'}, json={"metadata": {"k": "v"}})
    elif (method, route) == ("POST", "/v1/webhooks"):
        kwargs["json"] = {"url": f"{ctx.receiver_url}/new-{next(ctx.counter)}",
                          "events": ["booking_created"]}
    elif (method, route) == ("PATCH", "/v1/webhooks/{id}"):
        kwargs["json"] = {"description": "scope test"}
    return path, kwargs


# what a token with exactly the required scope gets: (status, error code or None)
ALLOWED = {
    ("POST", "/v1/bookings"): (201, None),
    ("POST", "/v1/webhooks"): (201, None),
    ("DELETE", "/v1/webhooks/{id}"): (204, None),
    # a read-only token has no webhooks of its own: the sandbox 404 comes after the scope check
    ("GET", "/v1/webhooks/{id}"): (404, "webhook_not_found"),
    ("HEAD", "/v1/webhooks/{id}"): (404, None),
    ("GET", "/v1/webhooks/{id}/deliveries"): (404, "webhook_not_found"),
    ("HEAD", "/v1/webhooks/{id}/deliveries"): (404, None),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ctx(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("scopes"), **SETTINGS)
    app = create_app(settings, clock=FakeClock())
    receiver = await Receiver().start()
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        org = await build_org(app, client, "a", "Org A", receiver.url, 10)
        without, only = {}, {}
        for scope in ACTIVE:
            without[scope] = (await full_pat(
                app, org.owner_id, f"without {scope}", [s for s in ALL_PAT_SCOPES if s != scope]
            )).token
            only[scope] = (await full_pat(app, org.owner_id, f"only {scope}", [scope])).token
        only[ANY] = (await full_pat(app, org.owner_id, "reserved only", ["availability:read"])).token
        yield Ctx(app, client, org, receiver.url, without, only, itertools.count(),
                  itertools.count())
    finally:
        await client.close()
        await receiver.stop()


async def test_the_table_covers_every_api_route(tmp_path):
    """Every /v1 route the app serves has a row in the contract's table, and every row is
    served; the handlers' declared scopes agree with the contract."""
    missing = [f"{m} {r}" for m, r in API if contract_scope(m, r) is None]
    assert not missing, f"routes the contract's scope table does not list: {missing}"
    served = {(("GET" if m == "HEAD" else m), SAME_OPERATION.get(_shape(r), _shape(r)))
              for m, r in API}
    assert set(contract_table()) <= served, set(contract_table()) - served
    app = create_app(make_settings(tmp_path))
    for route in app.router.routes():
        pair = (route.method, route.resource.canonical)
        if pair in API:
            declared = required_scope(route.handler)
            expected = contract_scope(*pair)
            assert declared == ("" if expected == ANY else expected), pair


DENIED = [pytest.param(m, r, contract_scope(m, r), id=f"{m} {r} without {contract_scope(m, r)}")
          for m, r in API if contract_scope(m, r) not in (None, ANY)]
ALLOWED_PARAMS = [pytest.param(m, r, contract_scope(m, r), id=f"{m} {r} with only {contract_scope(m, r)}")
                  for m, r in API if contract_scope(m, r) is not None]


@pytest.mark.parametrize(("method", "route", "scope"), DENIED)
async def test_missing_scope_is_403(ctx: Ctx, method: str, route: str, scope: str):
    path, kwargs = await build_request(ctx, method, route, None)
    headers = {**kwargs.pop("headers", {}), **ctx.auth(ctx.without[scope])}
    before = await snapshot(ctx.app)
    resp = await ctx.client.request(method, path, headers=headers, **kwargs)
    assert resp.status == 403, await resp.text()
    assert resp.headers["WWW-Authenticate"] == f'Bearer error="insufficient_scope", scope="{scope}"'
    if method != "HEAD":
        error = (await resp.json())["error"]
        assert error["code"] == "insufficient_scope"
        assert error["details"]["required_scope"] == scope
    assert diff(before, await snapshot(ctx.app)) == []


@pytest.mark.parametrize(("method", "route", "scope"), ALLOWED_PARAMS)
async def test_exactly_the_required_scope_is_enough(ctx: Ctx, method: str, route: str, scope: str):
    token = ctx.only[scope]
    path, kwargs = await build_request(ctx, method, route, token)
    headers = {**kwargs.pop("headers", {}), **ctx.auth(token)}
    resp = await ctx.client.request(method, path, headers=headers, **kwargs)
    status, code = ALLOWED.get((method, route), (200, None))
    body = await resp.text()
    assert resp.status == status, body
    if code:
        assert (await resp.json())["error"]["code"] == code


async def test_ping_answers_any_token(ctx: Ctx):
    for scope, token in ctx.only.items():
        resp = await ctx.client.get("/v1/_ping", headers=ctx.auth(token))
        assert resp.status == 200, scope


# -- OAuth access tokens with fewer scopes ----------------------------------------------------


async def _call(ctx: Ctx, token: str, method: str, route: str) -> tuple[int, Any]:
    path, kwargs = await build_request(ctx, method, route, None)
    headers = {**kwargs.pop("headers", {}), **ctx.auth(token)}
    resp = await ctx.client.request(method, path, headers=headers, **kwargs)
    return resp.status, await resp.json() if resp.status != 204 else None


async def _oauth_token(ctx: Ctx, scope: str) -> dict[str, Any]:
    registered = ctx.org.client
    ctx.client.session.cookie_jar.clear()
    code, verifier = await code_for(ctx.client, registered, scope=scope, username=ctx.org.owner)
    resp = await exchange(ctx.client, registered, code, verifier)
    tokens = await resp.json()
    assert resp.status == 200, tokens
    return tokens


def _denied(answer: tuple[int, Any], scope: str) -> bool:
    status, payload = answer
    return status == 403 and payload["error"]["details"]["required_scope"] == scope


async def test_oauth_token_with_a_narrow_grant(ctx: Ctx):
    token = (await _oauth_token(ctx, "user:read"))["access_token"]
    assert (await _call(ctx, token, "GET", "/v1/me"))[0] == 200
    assert _denied(await _call(ctx, token, "GET", "/v1/bookings"), "bookings:read")
    assert _denied(await _call(ctx, token, "GET", "/v1/event-types"), "event_types:read")
    assert _denied(await _call(ctx, token, "POST", "/v1/webhooks"), "webhooks:write")


async def test_oauth_alias_grants_writes_but_not_reads(ctx: Ctx):
    token = (await _oauth_token(ctx, "bookings:write"))["access_token"]
    assert (await _call(ctx, token, "POST", "/v1/bookings"))[0] == 201
    assert _denied(await _call(ctx, token, "GET", "/v1/bookings"), "bookings:read")
    assert _denied(await _call(ctx, token, "GET", "/v1/bookings/{uid}"), "bookings:read")
    assert _denied(await _call(ctx, token, "GET", "/v1/me"), "user:read")


async def test_oauth_refresh_narrows_the_access_token(ctx: Ctx):
    grant = await _oauth_token(ctx, "user:read bookings:read offline_access")
    resp = await token_post(ctx.client, ctx.org.client, grant_type="refresh_token",
                            refresh_token=grant["refresh_token"], scope="bookings:read")
    narrowed = await resp.json()
    assert resp.status == 200, narrowed
    token = narrowed["access_token"]
    assert (await _call(ctx, token, "GET", "/v1/bookings"))[0] == 200
    assert _denied(await _call(ctx, token, "GET", "/v1/me"), "user:read")
    # a scope outside the grant cannot be asked for on refresh
    resp = await token_post(ctx.client, ctx.org.client, grant_type="refresh_token",
                            refresh_token=narrowed["refresh_token"], scope="webhooks:write")
    assert (await resp.json())["error"] == "invalid_scope"
