"""/v1/webhooks management: shapes against the reference, errors, sandboxes, secrets, DELETE
races and limits (contract 2.6, 3.2, 8.1). Default settings: https only, public targets only;
names resolve through a fake resolver, so nothing here touches the network."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.db.database import fetch_one
from fortytwo.services import pats
from fortytwo.webhooks.secrets import SecretUnavailable, unseal
from tests.conftest import add_token, make_account
from tests.reference import validate_response, validate_schema
from tests.webhook_receiver import FakeDns

PUBLIC = "93.184.216.34"
URL = "https://hooks.example.com/42min"
SECRET_RE = re.compile(r"^whsec_[A-Za-z0-9]{42}[AEIMQUYcgkosw048]=$")


@pytest.fixture
def dns() -> FakeDns:
    return FakeDns({"hooks.example.com": [PUBLIC], "other.example.com": [PUBLIC, "2606:4700::1111"]})


@pytest.fixture
def app(settings, clock, dns):
    app = create_app(settings, clock=clock)
    app[keys.WEBHOOK_RESOLVE] = dns
    return app


async def create(client, account, status: int = 201, **body):
    body.setdefault("url", URL)
    body.setdefault("events", ["booking_created"])
    resp = await client.post("/v1/webhooks", json=body, headers=account.auth)
    payload = await resp.json()
    assert resp.status == status, payload
    return payload


async def error_of(resp, status: int, code: str) -> dict:
    payload = await resp.json()
    assert resp.status == status, payload
    assert payload["error"]["code"] == code, payload
    validate_schema("Error", payload)
    assert payload["error"]["request_id"] == resp.headers["X-Request-Id"]
    return payload["error"]


async def test_create_get_list_patch_rotate_match_the_reference(client, app, account, clock):
    created = await create(client, account, events=["booking_created", "booking_canceled",
                                                    "booking_created"], description="CRM sync")
    validate_response("createWebhook", 201, created)
    hook = created["data"]
    assert SECRET_RE.match(hook["signing_secret"])
    assert hook["url"] == URL and hook["status"] == "active"
    assert hook["events"] == ["booking_created", "booking_canceled"]
    assert hook["description"] == "CRM sync" and hook["paused_reason"] is None
    assert hook["last_delivery_at"] is None and hook["last_delivery_ok"] is None
    assert hook["created_at"] == hook["updated_at"] == "2026-05-18T08:00:00.000Z"

    resp = await client.get(f"/v1/webhooks/{hook['id']}", headers=account.auth)
    got = await resp.json()
    validate_response("getWebhook", 200, got)
    assert "signing_secret" not in got["data"]
    assert got["data"] == {k: v for k, v in hook.items() if k != "signing_secret"}
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert resp.headers[name].isdigit()

    resp = await client.get("/v1/webhooks", headers=account.auth)
    listed = await resp.json()
    validate_response("listWebhooks", 200, listed)
    assert listed["data"] == [got["data"]] and set(listed["meta"]) == {"request_id"}

    clock.advance(minutes=5)
    resp = await client.patch(
        f"/v1/webhooks/{hook['id']}",
        json={"url": "https://OTHER.example.com/x", "events": ["event_type_updated"],
              "description": None, "status": "paused"},
        headers=account.auth,
    )
    patched = await resp.json()
    assert resp.status == 200, patched
    validate_response("updateWebhook", 200, patched)
    data = patched["data"]
    assert data["url"] == "https://OTHER.example.com/x" and data["events"] == ["event_type_updated"]
    assert data["description"] is None and data["status"] == "paused" and data["paused_reason"] is None
    assert data["updated_at"] == "2026-05-18T08:05:00.000Z" and data["created_at"] == hook["created_at"]

    resp = await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=account.auth)
    rotated = await resp.json()
    assert resp.status == 200, rotated
    validate_response("rotateWebhookSecret", 200, rotated)
    assert SECRET_RE.match(rotated["data"]["signing_secret"])
    assert rotated["data"]["signing_secret"] != hook["signing_secret"]

    resp = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=account.auth)
    page = await resp.json()
    validate_response("listWebhookDeliveries", 200, page)
    assert page["data"] == [] and page["meta"]["next_cursor"] is None and page["meta"]["has_more"] is False


async def test_secret_is_encrypted_at_rest_and_rotation_replaces_it(client, app, account):
    hook = (await create(client, account))["data"]
    secret = hook["signing_secret"]
    row = await fetch_one(app[keys.DATABASE].reader, "SELECT secret FROM webhooks WHERE id = ?", (hook["id"],))
    blob = bytes(row["secret"])
    assert secret.encode() not in blob and secret[6:].encode() not in blob
    assert unseal(app[keys.SECRET_KEY], hook["id"], blob) == secret
    with pytest.raises(SecretUnavailable):
        unseal(app[keys.SECRET_KEY], str(uuid.uuid4()), blob)  # bound to its row
    resp = await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=account.auth)
    new = (await resp.json())["data"]["signing_secret"]
    row = await fetch_one(app[keys.DATABASE].reader, "SELECT secret FROM webhooks WHERE id = ?", (hook["id"],))
    assert unseal(app[keys.SECRET_KEY], hook["id"], bytes(row["secret"])) == new != secret


@pytest.mark.parametrize(
    "body, field",
    [
        ({"events": ["booking_created"]}, "url"),
        ({"url": 42, "events": ["booking_created"]}, "url"),
        ({"url": URL}, "events"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": "booking_created"}, "events"),
        ({"url": URL, "events": ["booking.created"]}, "events[0]"),
        ({"url": URL, "events": ["booking_created", "routing.form_submitted"]}, "events[1]"),
        ({"url": URL, "events": ["booking_exploded"]}, "events[0]"),
        ({"url": URL, "events": [7]}, "events[0]"),
        ({"url": URL, "events": ["booking_created"], "description": "x" * 256}, "description"),
        ({"url": URL, "events": ["booking_created"], "description": 5}, "description"),
    ],
)
async def test_create_body_errors_are_400_validation_error(client, account, body, field):
    resp = await client.post("/v1/webhooks", json=body, headers=account.auth)
    error = await error_of(resp, 400, "validation_error")
    assert field in [e["field"] for e in error["details"]["errors"]]


async def test_malformed_bodies(client, account):
    resp = await client.post("/v1/webhooks", data=b"{nope", headers={**account.auth, "Content-Type": "application/json"})
    await error_of(resp, 400, "invalid_request")
    resp = await client.post("/v1/webhooks", data=b"url=x", headers={**account.auth, "Content-Type": "text/plain"})
    await error_of(resp, 415, "unsupported_media_type")
    resp = await client.post("/v1/webhooks", json=["x"], headers=account.auth)
    await error_of(resp, 400, "invalid_request")


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.example.com/x", "not_https"),
        ("ftp://hooks.example.com/x", "not_https"),
        ("hooks.example.com/x", "invalid"),
        ("https://", "invalid"),
        ("https://user:pass@hooks.example.com/x", "invalid"),
        ("https://hooks.example.com/a b", "invalid"),
        ("https://2130706433/", "invalid"),
        ("https://hooks.example.com:99999/", "invalid"),
        ("https://hooks.example.com/" + "a" * 1990, "too_long"),
        ("https://nowhere.example.net/x", "unresolvable"),
        ("https://127.0.0.1/x", "private_address"),
    ],
)
async def test_bad_urls_are_422_invalid_webhook_url(client, account, url, reason):
    resp = await client.post("/v1/webhooks", json={"url": url, "events": ["booking_created"]}, headers=account.auth)
    error = await error_of(resp, 422, "invalid_webhook_url")
    assert error["details"]["reason"] == reason
    validate_response("createWebhook", 422, await resp.json())


async def test_patch_rules(client, app, account):
    hook = (await create(client, account))["data"]
    path = f"/v1/webhooks/{hook['id']}"
    resp = await client.patch(path, json={"secret": "x", "id": "y", "events": ["booking_created"]}, headers=account.auth)
    error = await error_of(resp, 422, "field_immutable")
    assert error["details"]["fields"] == ["id", "secret"]
    resp = await client.patch(path, json={"status": "disabled"}, headers=account.auth)
    await error_of(resp, 400, "validation_error")
    resp = await client.patch(path, json={"events": ["booking.canceled"]}, headers=account.auth)
    await error_of(resp, 400, "validation_error")
    resp = await client.patch(path, json={"url": "http://hooks.example.com/"}, headers=account.auth)
    assert (await error_of(resp, 422, "invalid_webhook_url"))["details"]["reason"] == "not_https"
    resp = await client.patch(path, json={"url": "https://10.1.2.3/"}, headers=account.auth)
    assert (await error_of(resp, 422, "invalid_webhook_url"))["details"]["reason"] == "private_address"
    # body errors come before the lookup; the lookup before the address check
    missing = f"/v1/webhooks/{uuid.uuid4()}"
    resp = await client.patch(missing, json={"status": "nope"}, headers=account.auth)
    await error_of(resp, 400, "validation_error")
    resp = await client.patch(missing, json={"url": "https://10.1.2.3/"}, headers=account.auth)
    await error_of(resp, 404, "webhook_not_found")
    resp = await client.patch(path, json={}, headers=account.auth)
    assert resp.status == 200
    second = (await create(client, account, url="https://other.example.com/b"))["data"]
    resp = await client.patch(f"/v1/webhooks/{second['id']}", json={"url": "HTTPS://Hooks.Example.com:443/42min"}, headers=account.auth)
    error = await error_of(resp, 409, "duplicate_webhook_url")
    assert error["details"]["webhook_id"] == hook["id"]
    resp = await client.patch(path, json={"url": URL}, headers=account.auth)  # its own URL
    assert resp.status == 200


async def test_duplicates_and_the_limit_are_per_sandbox(client, app, account):
    await create(client, account)
    payload = await create(client, account, 409, url="https://HOOKS.example.com:443/42min")
    assert payload["error"]["code"] == "duplicate_webhook_url"
    await create(client, account, url="https://hooks.example.com")
    payload = await create(client, account, 409, url="https://hooks.example.com/#frag")
    assert payload["error"]["code"] == "duplicate_webhook_url"
    other = await add_token(app, account, name="other", scopes="webhooks:read,webhooks:write")
    other_auth = {"Authorization": f"Bearer {other.token}"}
    resp = await client.post("/v1/webhooks", json={"url": URL, "events": ["booking_created"]}, headers=other_auth)
    assert resp.status == 201  # another credential may subscribe the same URL
    for n in range(2, 25):
        await create(client, account, url=f"{URL}/{n}")
    resp = await client.post("/v1/webhooks", json={"url": f"{URL}/25", "events": ["booking_created"]}, headers=account.auth)
    error = await error_of(resp, 422, "validation_error")
    assert error["details"]["limit"] == 25
    resp = await client.get("/v1/webhooks", headers=account.auth)
    assert len((await resp.json())["data"]) == 25


async def test_sandboxes_two_tokens_a_rotated_token_and_another_org(client, app, account):
    hook = (await create(client, account))["data"]
    hid = hook["id"]
    other = await add_token(app, account, name="other", scopes="webhooks:read,webhooks:write")
    stranger = await make_account(app, org="Globex", username="bob")

    async def all_404(auth: dict[str, str]) -> None:
        for method, path in [
            ("GET", f"/v1/webhooks/{hid}"),
            ("PATCH", f"/v1/webhooks/{hid}"),
            ("DELETE", f"/v1/webhooks/{hid}"),
            ("POST", f"/v1/webhooks/{hid}/rotate-secret"),
            ("POST", f"/v1/webhooks/{hid}/test"),
            ("GET", f"/v1/webhooks/{hid}/deliveries"),
        ]:
            kwargs = {"json": {"description": "x"}} if method == "PATCH" else {}
            resp = await client.request(method, path, headers=auth, **kwargs)
            await error_of(resp, 404, "webhook_not_found")
        resp = await client.get("/v1/webhooks", headers=auth)
        assert (await resp.json())["data"] == []

    await all_404({"Authorization": f"Bearer {other.token}"})
    await all_404(stranger.auth)

    rotated = await pats.rotate(
        app[keys.DATABASE], account.token_id, prefix=app[keys.TOKEN_PREFIX],
        pepper=app[keys.PEPPER], now=app[keys.CLOCK](),
    )
    await all_404({"Authorization": f"Bearer {rotated.token}"})
    # the orphaned webhook still exists (and still delivers; see the delivery tests)
    row = await fetch_one(app[keys.DATABASE].reader, "SELECT status FROM webhooks WHERE id = ?", (hid,))
    assert row["status"] == "active"


async def test_unknown_and_malformed_ids_are_webhook_not_found(client, account):
    for wid in (str(uuid.uuid4()), "not-a-uuid", "0" * 36, "%00"):
        resp = await client.get(f"/v1/webhooks/{wid}", headers=account.auth)
        await error_of(resp, 404, "webhook_not_found")
        resp = await client.delete(f"/v1/webhooks/{wid}", headers=account.auth)
        await error_of(resp, 404, "webhook_not_found")


async def test_scopes(client, app, account):
    reader = await add_token(app, account, name="reader", scopes="webhooks:read")
    auth = {"Authorization": f"Bearer {reader.token}"}
    resp = await client.get("/v1/webhooks", headers=auth)
    assert resp.status == 200
    resp = await client.post("/v1/webhooks", json={"url": URL, "events": ["booking_created"]}, headers=auth)
    error = await error_of(resp, 403, "insufficient_scope")
    assert error["details"]["required_scope"] == "webhooks:write"
    nobody = await add_token(app, account, name="nobody", scopes="bookings:read")
    resp = await client.get("/v1/webhooks", headers={"Authorization": f"Bearer {nobody.token}"})
    assert (await error_of(resp, 403, "insufficient_scope"))["details"]["required_scope"] == "webhooks:read"
    resp = await client.get("/v1/webhooks")
    await error_of(resp, 401, "invalid_token")
    resp = await client.put("/v1/webhooks", headers=account.auth)
    await error_of(resp, 405, "method_not_allowed")


async def test_delete_concurrent_duplicates_succeed_and_a_later_repeat_is_404(client, account):
    hook = (await create(client, account))["data"]
    path = f"/v1/webhooks/{hook['id']}"
    responses = await asyncio.gather(*(client.delete(path, headers=account.auth) for _ in range(5)))
    for resp in responses:
        assert resp.status == 204, await resp.text()
        assert resp.headers["X-Request-Id"].startswith("req_")
        assert await resp.read() == b""
    resp = await client.delete(path, headers=account.auth)
    await error_of(resp, 404, "webhook_not_found")
    validate_response("deleteWebhook", 404, await resp.json())
    resp = await client.get(path, headers=account.auth)
    await error_of(resp, 404, "webhook_not_found")
    # the same URL can be subscribed again
    await create(client, account)


async def test_idempotency_key_is_ignored(client, account):
    headers = {**account.auth, "Idempotency-Key": "same"}
    for n in range(2):
        resp = await client.post("/v1/webhooks", json={"url": f"{URL}/{n}", "events": ["booking_created"]}, headers=headers)
        assert resp.status == 201 and "Idempotent-Replayed" not in resp.headers
    bad = {**account.auth, "Idempotency-Key": "has spaces and is " + "x" * 300}
    resp = await client.post("/v1/webhooks", json={"url": f"{URL}/x", "events": ["booking_created"]}, headers=bad)
    assert resp.status == 201
    resp = await client.get("/v1/webhooks", headers=account.auth)
    assert len((await resp.json())["data"]) == 3


async def test_deliveries_query_errors(client, account):
    hook = (await create(client, account))["data"]
    path = f"/v1/webhooks/{hook['id']}/deliveries"
    resp = await client.get(path, params={"limit": "0"}, headers=account.auth)
    assert (await error_of(resp, 400, "invalid_query_param"))["details"]["param"] == "limit"
    resp = await client.get(path, params={"cursor": "bogus"}, headers=account.auth)
    assert (await error_of(resp, 400, "invalid_query_param"))["details"]["param"] == "cursor"


async def test_an_oauth_client_shares_its_webhooks_across_its_tokens(client, app, account):
    from fortytwo.services.authn import Principal
    from fortytwo.webhooks import service

    def oauth(token_id: str, client_id: str, org: str = account.org_id) -> Principal:
        return Principal("oauth", token_id, 0, org, account.user_id, frozenset(), (), None, client_id)

    rt = app[keys.WEBHOOKS]
    first = service.owner_of(oauth("at-1", "42min_client_a"))
    created = await service.create(rt.db, rt.targets, rt.server_key, first,
                                   {"url": URL, "events": ["booking_created"]}, rt.clock())
    refreshed = service.owner_of(oauth("at-2", "42min_client_a"))  # a later access token
    assert [h["id"] for h in await service.list_webhooks(rt.db, refreshed)] == [created["id"]]
    for stranger in (oauth("at-3", "42min_client_b"), oauth("at-1", "42min_client_a", str(uuid.uuid4()))):
        assert await service.list_webhooks(rt.db, service.owner_of(stranger)) == []
    # and a PAT of the same user sees none of them
    resp = await client.get("/v1/webhooks", headers=account.auth)
    assert (await resp.json())["data"] == []
