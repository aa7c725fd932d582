"""Shared set-up for the security tests: two organizations with the same kinds of data, a
database snapshot to prove that nothing changed, and the list of every route of the app.

Organization A ("ann", "al", team "a-team") and organization B ("bun", "bo", team "b-team")
each get schedules, an individual, a round-robin and a "shared"-slug event type, bookings
made over the API with a known idempotency key, a webhook with one logged delivery, a PAT
with every scope and an OAuth access token from a client the organization registered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from fortytwo import keys
from fortytwo.db.database import fetch_all
from fortytwo.security.scopes import ALL_PAT_SCOPES
from fortytwo.services import pats
from fortytwo.store import accounts as account_store
from fortytwo.store import event_types as event_type_store
from tests.oauth_support import PASSWORD, code_for, exchange, make_client
from tests.scenario import apply_text

# Tuesday 2026-05-19: working hours 08:00-16:00 UTC (09:00-17:00 London, BST)
TUESDAY = datetime(2026, 5, 19, tzinfo=UTC)
OAUTH_SCOPES = (
    "user:read event_types:read slots:read bookings:read bookings:write webhooks:read "
    "webhooks:write offline_access"
)
# settings for apps that make many requests in one fake minute and post webhooks to loopback
SETTINGS = {
    "rate_limits": {"pat": 100_000, "oauth": 100_000, "anonymous": 100_000,
                    "oauth_authorize": 100_000, "oauth_token": 100_000,
                    "oauth_revoke": 100_000, "oauth_introspect": 100_000},
    "webhooks": {"allow_private_targets": True},
}
# rows that may change on their own while requests are served (token use, the outbox cursor)
_VOLATILE_TABLES = {"auth_state", "webhook_state", "oauth_login_failures", "schema_version",
                    "sqlite_sequence"}
_VOLATILE_COLUMNS = {"last_used_at"}


def plan(letter: str, name: str) -> str:
    """The apply file of one organization; every name starts with its letter."""
    l1, l2 = {"a": ("ann", "al"), "b": ("bun", "bo")}[letter]
    week = "\n".join(f'{d} = ["09:00-17:00"]' for d in ("mon", "tue", "wed", "thu", "fri"))
    return f"""
[organization]
name = "{name}"

[[users]]
username = "{l1}"
email = "{l1}@{letter}.example"
first_name = "{l1.title()}"
timezone = "Europe/London"
role = "owner"

[[users]]
username = "{l2}"
email = "{l2}@{letter}.example"
first_name = "{l2.title()}"
timezone = "Europe/London"

[[teams]]
slug = "{letter}-team"
name = "Team {letter.upper()}"
members = ["{l1}", "{l2}"]

[[schedules]]
name = "Hours {l1}"
user = "{l1}"
timezone = "Europe/London"
default = true
[schedules.weekly]
{week}

[[schedules]]
name = "Hours {l2}"
user = "{l2}"
timezone = "Europe/London"
default = true
[schedules.weekly]
{week}

[[event_types]]
slug = "{letter}-intro"
title = "{name} intro"
owner = "{l1}"
duration_minutes = 30

[[event_types]]
slug = "shared"
title = "{name} shared slug"
owner = "{l1}"
duration_minutes = 30

[[event_types]]
slug = "{letter}-demo"
title = "{name} demo"
team = "{letter}-team"
scheduling_type = "collective"
duration_minutes = 30
"""


@dataclass
class Org:
    letter: str
    name: str
    org_id: str = ""
    owner_id: str = ""
    owner: str = ""
    member_id: str = ""
    member: str = ""
    team: str = ""
    pat: str = ""
    pat_id: str = ""
    oauth_token: str = ""
    refresh_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    intro_id: str = ""
    shared_id: str = ""
    demo_id: str = ""
    booking_uids: list[str] = field(default_factory=list)
    booking_keys: list[str] = field(default_factory=list)
    booking_bodies: list[dict[str, Any]] = field(default_factory=list)
    attendee_email: str = ""
    webhook_id: str = ""
    webhook_url: str = ""
    delivery_ids: list[str] = field(default_factory=list)
    spare_code: tuple[str, str] = ("", "")
    next_cursor: str = ""  # of a one-row page of this organization's bookings
    client: Any = None  # the OAuth client this organization registered

    @property
    def intro_slug(self) -> str:
        return f"{self.letter}-intro"

    @property
    def demo_slug(self) -> str:
        return f"{self.letter}-demo"

    def auth(self, credential: str = "pat") -> dict[str, str]:
        token = self.pat if credential == "pat" else self.oauth_token
        return {"Authorization": f"Bearer {token}"}

    def markers(self) -> set[str]:
        """Values the other organization never types but would see if data leaked."""
        return {self.org_id, self.owner_id, self.member_id, self.intro_id, self.shared_id,
                self.demo_id, self.webhook_id, self.webhook_url, self.attendee_email,
                f"{self.name} intro", f"{self.name} shared slug", *self.booking_uids,
                *self.delivery_ids} - {""}


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _user_id(app: web.Application, username: str) -> str:
    user = await account_store.find_user(app[keys.DATABASE].reader, username)
    assert user is not None, username
    return user.id


async def full_pat(app: web.Application, user_id: str, name: str, scopes: Any = ALL_PAT_SCOPES):
    return await pats.create(
        app[keys.DATABASE], user=user_id, name=name, scopes=list(scopes), expires_in=None,
        prefix=app[keys.TOKEN_PREFIX], pepper=app[keys.PEPPER], now=app[keys.CLOCK](),
    )


async def set_password(app: web.Application, user_id: str, password: str = PASSWORD) -> None:
    from fortytwo.security.passwords import hash_password
    from tests.oauth_support import _HASHES

    hashed = _HASHES.get(password) or _HASHES.setdefault(password, hash_password(password))
    async with app[keys.DATABASE].write() as conn:
        await account_store.set_password(conn, user_id, hashed, app[keys.CLOCK]())


async def build_org(app: web.Application, client: Any, letter: str, name: str,
                    receiver_url: str, hour: int) -> Org:
    """One organization, its API-made bookings, webhook, delivery and OAuth tokens."""
    org = Org(letter, name)
    await apply_text(app, plan(letter, name))
    reader = app[keys.DATABASE].reader
    org.owner, org.member = {"a": ("ann", "al"), "b": ("bun", "bo")}[letter]
    org.owner_id = await _user_id(app, org.owner)
    org.member_id = await _user_id(app, org.member)
    org.team = f"{letter}-team"
    user = await account_store.find_user(reader, org.owner)
    org.org_id = user.organization_id
    for slug, attr in ((org.intro_slug, "intro_id"), ("shared", "shared_id"),
                       (org.demo_slug, "demo_id")):
        rows = await event_type_store.find_by_slug(reader, org.org_id, slug)
        setattr(org, attr, rows[0].id)
    issued = await full_pat(app, org.owner_id, f"{letter}-full")
    org.pat, org.pat_id = issued.token, issued.id

    # bookings over the API (before the webhook exists, so no delivery is queued)
    org.attendee_email = f"guest-{letter}@{letter}-attendee.example"
    for et_id, minute in ((org.intro_id, 0), (org.demo_id, 30)):
        key = f"{letter}-booking-{minute}"
        body = {"event_type_id": et_id, "start": iso(TUESDAY.replace(hour=hour, minute=minute)),
                "attendee": {"email": org.attendee_email, "name": f"Guest {letter}"}}
        resp = await client.post("/v1/bookings", json=body,
                                 headers={**org.auth(), "Idempotency-Key": key})
        payload = await resp.json()
        assert resp.status == 201, payload
        org.booking_uids.append(payload["data"]["uid"])
        org.booking_keys.append(key)
        org.booking_bodies.append(body)

    # a webhook with one logged delivery (the synchronous test send); a minute later than
    # the bookings, so that it receives none of them and nothing is delivered in the background
    app[keys.CLOCK].advance(minutes=1)
    org.webhook_url = f"{receiver_url}/{letter}-hook"
    resp = await client.post("/v1/webhooks", json={"url": org.webhook_url,
                                                   "events": ["booking_created"]},
                             headers=org.auth())
    payload = await resp.json()
    assert resp.status == 201, payload
    org.webhook_id = payload["data"]["id"]
    resp = await client.post(f"/v1/webhooks/{org.webhook_id}/test", headers=org.auth())
    payload = await resp.json()
    assert resp.status == 200, payload
    org.delivery_ids.append(payload["data"]["id"])

    # OAuth: a client this organization registered; its owner signs in and approves
    await set_password(app, org.owner_id)
    registered = await make_client(app, org=org.org_id, name=f"{name} app")
    org.client_id, org.client_secret = registered.client_id, registered.client_secret
    client.session.cookie_jar.clear()
    code, verifier = await code_for(client, registered, scope=OAUTH_SCOPES, username=org.owner)
    resp = await exchange(client, registered, code, verifier)
    tokens = await resp.json()
    assert resp.status == 200, tokens
    org.oauth_token, org.refresh_token = tokens["access_token"], tokens["refresh_token"]
    # a code issued but not yet exchanged (consent is remembered: no pages this time)
    org.spare_code = await code_for(client, registered, scope=OAUTH_SCOPES, username=org.owner)
    client.session.cookie_jar.clear()
    org.client = registered
    return org


async def snapshot(app: web.Application) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (bar bookkeeping that moves by itself), sorted."""
    conn = app[keys.DATABASE].reader
    tables = [r[0] for r in await fetch_all(
        conn, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in tables:
        if table in _VOLATILE_TABLES:
            continue
        rows = await fetch_all(conn, f"SELECT * FROM {table}")
        kept = []
        for row in rows:
            kept.append(tuple(row[k] for k in row.keys() if k not in _VOLATILE_COLUMNS))
        out[table] = sorted(kept, key=repr)
    return out


def diff(before: dict[str, list], after: dict[str, list]) -> list[str]:
    return [t for t in sorted(set(before) | set(after)) if before.get(t) != after.get(t)]


def route_pairs(app: web.Application) -> list[tuple[str, str]]:
    """(method, canonical path) of every route registered on the app."""
    return sorted({(r.method, r.resource.canonical) for r in app.router.routes()})


def new_key() -> str:
    return uuid.uuid4().hex
