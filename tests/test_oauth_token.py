"""POST /v1/oauth/token, /revoke and /introspect, and OAuth access tokens on /v1."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.oauth import clients as client_service
from fortytwo.services import accounts as account_service
from tests.conftest import make_settings
from tests.oauth_support import (
    REDIRECT,
    basic,
    code_for,
    exchange,
    make_client,
    make_user,
    token_post,
)

CROCK = "[0-9A-HJKMNP-TV-Z]"


@pytest.fixture
async def conf(client, app):
    await make_user(app)
    return await make_client(app)


@pytest.fixture
async def public(client, app, conf):
    return await make_client(app, client_type="public", name="Phone app")


async def tokens(client, registered, **kw) -> dict:
    code, verifier = await code_for(client, registered, **kw)
    resp = await exchange(client, registered, code, verifier)
    assert resp.status == 200, await resp.text()
    return await resp.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ping(client, token: str):
    resp = await client.get("/v1/_ping", headers=bearer(token))
    return resp.status, await resp.json()


async def oauth_error(resp, error: str, status: int = 400) -> dict:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    assert set(body) == {"error", "error_description"}
    assert resp.headers["Cache-Control"] == "no-store"
    return body


# -- the authorization_code grant -------------------------------------------------------


async def test_code_exchange_answer(client, conf):
    code, verifier = await code_for(client, conf)
    resp = await exchange(client, conf, code, verifier)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Pragma"] == "no-cache"
    body = await resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert re.fullmatch(f"42min_at_{CROCK}{{12}}_{CROCK}{{32}}", body["access_token"])
    assert re.fullmatch(f"42min_rt_{CROCK}{{12}}_{CROCK}{{32}}", body["refresh_token"])
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "user:read bookings:read offline_access"
    status, answer = await ping(client, body["access_token"])
    assert status == 200
    assert answer["data"]["auth_type"] == "oauth" and answer["data"]["client_id"] == conf.client_id
    assert "bookings:read" in answer["data"]["scopes"]


async def test_tokens_are_hashed_at_rest(client, app, conf):
    body = await tokens(client, conf)
    db = app[keys.DATABASE]
    async with db.reader.execute("SELECT secret_hash, lookup FROM oauth_tokens") as cur:
        rows = await cur.fetchall()
    secrets_ = {t.rsplit("_", 1)[1] for t in (body["access_token"], body["refresh_token"])}
    for row in rows:
        assert bytes(row["secret_hash"]) not in {s.encode() for s in secrets_} and len(row["secret_hash"]) == 32
    async with db.reader.execute("SELECT secret_hash FROM oauth_clients") as cur:
        stored = [bytes(r[0]) for r in await cur.fetchall() if r[0] is not None]
    assert conf.client_secret.encode() not in stored


async def test_client_secret_post_and_public_none(client, conf, public):
    code, verifier = await code_for(client, conf)
    assert (await exchange(client, conf, code, verifier, auth="post")).status == 200
    code, verifier = await code_for(client, public)
    resp = await exchange(client, public, code, verifier, auth="none")
    assert resp.status == 200


async def test_no_refresh_token_without_offline_access(client, conf):
    body = await tokens(client, conf, scope="user:read")
    assert "refresh_token" not in body and body["scope"] == "user:read"


async def test_code_reuse_is_refused_and_revokes_what_it_issued(client, conf):
    code, verifier = await code_for(client, conf)
    first = await (await exchange(client, conf, code, verifier)).json()
    assert (await ping(client, first["access_token"]))[0] == 200
    await oauth_error(await exchange(client, conf, code, verifier), "invalid_grant")
    status, body = await ping(client, first["access_token"])
    assert status == 401 and body["error"]["code"] == "token_revoked"
    resp = await token_post(client, conf, grant_type="refresh_token", refresh_token=first["refresh_token"])
    await oauth_error(resp, "invalid_grant")


async def test_wrong_missing_or_malformed_verifier(client, conf):
    code, verifier = await code_for(client, conf)
    other = "x" * 43
    await oauth_error(await exchange(client, conf, code, other), "invalid_grant")
    resp = await exchange(client, conf, code, verifier, code_verifier="")
    await oauth_error(resp, "invalid_request")
    await oauth_error(await exchange(client, conf, code, "short"), "invalid_request")
    await oauth_error(await exchange(client, conf, code, "é" * 43), "invalid_request")
    # a failed attempt does not spend the code
    assert (await exchange(client, conf, code, verifier)).status == 200


async def test_code_for_another_client_or_redirect_uri(client, app, conf):
    other = await make_client(app, name="Other app")
    code, verifier = await code_for(client, conf)
    await oauth_error(await exchange(client, other, code, verifier), "invalid_grant")
    other_uri = "https://app.example/other"
    await oauth_error(
        await exchange(client, conf, code, verifier, redirect_uri=other_uri), "invalid_grant"
    )
    await oauth_error(await exchange(client, conf, code, verifier, redirect_uri=""), "invalid_request")
    assert (await exchange(client, conf, code, verifier)).status == 200


async def test_expired_code(client, clock, conf):
    code, verifier = await code_for(client, conf)
    clock.advance(seconds=300)
    await oauth_error(await exchange(client, conf, code, verifier), "invalid_grant")


async def test_code_still_good_just_before_it_expires(client, clock, conf):
    code, verifier = await code_for(client, conf)
    clock.advance(seconds=299)
    assert (await exchange(client, conf, code, verifier)).status == 200


@pytest.mark.parametrize("code", ["", "nonsense", "0" * 44, "I" * 44])
async def test_unknown_codes(client, conf, code):
    resp = await exchange(client, conf, code, "v" * 43)
    await oauth_error(resp, "invalid_request" if not code else "invalid_grant")


async def test_loopback_code_must_name_the_same_port(client, app):
    await make_user(app)
    registered = await make_client(app, redirect_uris=("http://127.0.0.1/cb",))
    uri = "http://127.0.0.1:5000/cb"
    code, verifier = await code_for(client, registered, redirect_uri=uri)
    resp = await exchange(client, registered, code, verifier, redirect_uri="http://127.0.0.1:5001/cb")
    await oauth_error(resp, "invalid_grant")
    assert (await exchange(client, registered, code, verifier, redirect_uri=uri)).status == 200


async def test_user_removed_before_the_exchange(client, app, conf):
    code, verifier = await code_for(client, conf)
    await account_service.remove_user(app[keys.DATABASE], "ada", app[keys.CLOCK]())
    await oauth_error(await exchange(client, conf, code, verifier), "invalid_grant")


# -- client authentication --------------------------------------------------------------


async def test_wrong_client_secret_with_basic(client, conf):
    code, verifier = await code_for(client, conf)
    resp = await client.post(
        "/v1/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
              "code_verifier": verifier},
        headers=basic(conf.client_id, conf.client_secret[:-1] + ("1" if conf.client_secret.endswith("0") else "0")),
    )
    await oauth_error(resp, "invalid_client", 401)
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="42min"'
    assert (await exchange(client, conf, code, verifier)).status == 200


async def test_wrong_client_secret_with_post(client, conf):
    code, verifier = await code_for(client, conf)
    resp = await client.post(
        "/v1/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
              "code_verifier": verifier, "client_id": conf.client_id,
              "client_secret": "42min_cs_" + "0" * 32},
    )
    await oauth_error(resp, "invalid_client", 401)


@pytest.mark.parametrize(
    ("headers", "data", "error", "status"),
    [
        ({}, {}, "invalid_client", 401),  # nothing says who the client is
        ({}, {"client_id": "42min_UNKNOWN"}, "invalid_client", 401),
        ({"Authorization": "Basic !!!"}, {}, "invalid_client", 401),
        ({"Authorization": "Basic " + "Zm9v"}, {}, "invalid_client", 401),  # "foo", no colon
        ({}, {"client_id": "CONF"}, "invalid_client", 401),  # confidential without its secret
        ({}, {"client_id": "PUBLIC", "client_secret": "anything"}, "invalid_client", 401),
        ("BASIC", {"client_secret": "SECRET"}, "invalid_request", 400),  # two methods at once
        ("BASIC", {"client_id": "PUBLIC"}, "invalid_client", 401),  # body disagrees with Basic
    ],
)
async def test_client_authentication_errors(client, conf, public, headers, data, error, status):
    values = {"CONF": conf.client_id, "PUBLIC": public.client_id, "SECRET": conf.client_secret}
    data = {k: values.get(v, v) for k, v in data.items()}
    if headers == "BASIC":
        headers = basic(conf.client_id, conf.client_secret)
    resp = await client.post(
        "/v1/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x", **data},
        headers=headers,
    )
    await oauth_error(resp, error, status)


async def test_basic_credentials_are_form_decoded(client, app, conf):
    # RFC 6749 2.3.1: id and secret are form-urlencoded inside Basic
    import base64
    from urllib.parse import quote_plus

    raw = f"{quote_plus(conf.client_id)}:{quote_plus(conf.client_secret)}"
    headers = {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}
    code, verifier = await code_for(client, conf)
    resp = await client.post(
        "/v1/oauth/token", headers=headers,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
              "code_verifier": verifier},
    )
    assert resp.status == 200


async def test_rotated_secret_and_deleted_client(client, app, conf):
    body = await tokens(client, conf)
    db, now = app[keys.DATABASE], app[keys.CLOCK]()
    rotated = await client_service.rotate_secret(
        db, conf.client_id, prefix="42min", pepper=app[keys.PEPPER], now=now
    )
    assert rotated.client_secret != conf.client_secret
    resp = await token_post(client, conf, grant_type="refresh_token", refresh_token=body["refresh_token"])
    await oauth_error(resp, "invalid_client", 401)  # the old secret
    resp = await token_post(client, rotated, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert resp.status == 200  # tokens survive a secret rotation
    fresh = await resp.json()
    await client_service.delete(db, conf.client_id, now)
    await app[keys.AUTHENTICATOR].poll_epoch()  # what the running server's poll does
    status, answer = await ping(client, fresh["access_token"])
    assert status == 401 and answer["error"]["code"] == "token_revoked"
    resp = await token_post(client, rotated, grant_type="refresh_token", refresh_token=fresh["refresh_token"])
    await oauth_error(resp, "invalid_client", 401)


async def test_public_client_has_no_secret_to_rotate(app, public):
    with pytest.raises(client_service.Conflict):
        await client_service.rotate_secret(
            app[keys.DATABASE], public.client_id, prefix="42min", pepper=app[keys.PEPPER],
            now=app[keys.CLOCK](),
        )


# -- request shape ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grant_type", "error"),
    [
        (None, "invalid_request"),
        ("password", "unsupported_grant_type"),
        ("client_credentials", "unsupported_grant_type"),
        ("implicit", "unsupported_grant_type"),
        ("urn:ietf:params:oauth:grant-type:device_code", "unsupported_grant_type"),
    ],
)
async def test_grant_types(client, conf, grant_type, error):
    data = {"grant_type": grant_type} if grant_type else {}
    await oauth_error(await token_post(client, conf, **data), error)


async def test_json_body_and_repeated_parameters_are_refused(client, conf):
    resp = await client.post(
        "/v1/oauth/token", json={"grant_type": "refresh_token", "refresh_token": "x"},
        headers=basic(conf.client_id, conf.client_secret),
    )
    await oauth_error(resp, "invalid_request")
    resp = await client.post(
        "/v1/oauth/token",
        data=[("grant_type", "refresh_token"), ("grant_type", "refresh_token"), ("refresh_token", "x")],
        headers=basic(conf.client_id, conf.client_secret),
    )
    await oauth_error(resp, "invalid_request")


async def test_get_on_the_token_endpoint_is_405(client, conf):
    resp = await client.get("/v1/oauth/token")
    assert resp.status == 405 and "POST" in resp.headers["Allow"]


# -- refresh tokens ---------------------------------------------------------------------


async def refresh(client, registered, refresh_token: str, **extra: str):
    return await token_post(client, registered, grant_type="refresh_token",
                            refresh_token=refresh_token, **extra)


async def test_refresh_rotates_and_reuse_revokes_the_family(client, conf):
    first = await tokens(client, conf)
    resp = await refresh(client, conf, first["refresh_token"])
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    second = await resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == first["scope"]
    assert (await ping(client, second["access_token"]))[0] == 200
    assert (await ping(client, first["access_token"]))[0] == 200  # until its hour is up
    # the spent one comes back: refused, and every token of the family dies
    await oauth_error(await refresh(client, conf, first["refresh_token"]), "invalid_grant")
    for token in (first["access_token"], second["access_token"]):
        status, body = await ping(client, token)
        assert status == 401 and body["error"]["code"] == "token_revoked"
    await oauth_error(await refresh(client, conf, second["refresh_token"]), "invalid_grant")


async def test_other_grants_survive_a_family_revocation(client, conf):
    one = await tokens(client, conf)
    two = await tokens(client, conf)
    await refresh(client, conf, one["refresh_token"])
    await refresh(client, conf, one["refresh_token"])  # reuse: family one dies
    assert (await ping(client, two["access_token"]))[0] == 200
    assert (await refresh(client, conf, two["refresh_token"])).status == 200


async def test_refresh_may_narrow_but_not_broaden(client, conf):
    first = await tokens(client, conf)
    resp = await refresh(client, conf, first["refresh_token"], scope="user:read")
    narrow = await resp.json()
    assert resp.status == 200 and narrow["scope"] == "user:read" and "refresh_token" in narrow
    status, body = await ping(client, narrow["access_token"])
    assert body["data"]["scopes"] == ["user:read"]
    resp = await client.get("/v1/bookings", headers=bearer(narrow["access_token"]))
    assert resp.status == 403
    assert (await resp.json())["error"]["details"]["required_scope"] == "bookings:read"
    # broader than the grant: refused, and the refresh token is not spent by the refusal
    for scope in ("user:read webhooks:read", "bookings:write", "made:up", ""):
        await oauth_error(await refresh(client, conf, narrow["refresh_token"], scope=scope), "invalid_scope")
    # leaving scope out gives back everything the user granted
    resp = await refresh(client, conf, narrow["refresh_token"])
    assert (await resp.json())["scope"] == "user:read bookings:read offline_access"


async def test_refresh_token_of_another_client(client, app, conf):
    other = await make_client(app, name="Other")
    body = await tokens(client, conf)
    await oauth_error(await refresh(client, other, body["refresh_token"]), "invalid_grant")
    assert (await refresh(client, conf, body["refresh_token"])).status == 200


async def test_refresh_token_expiry(client, clock, conf):
    body = await tokens(client, conf)
    clock.advance(days=30)
    await oauth_error(await refresh(client, conf, body["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize(
    "token", ["", "garbage", "42min_at_AAAAAAAAAAAA_" + "A" * 32, "42min_rt_AAAAAAAAAAAA_" + "A" * 32]
)
async def test_unknown_refresh_tokens(client, conf, token):
    await oauth_error(await refresh(client, conf, token), "invalid_request" if not token else "invalid_grant")


async def test_refresh_token_with_a_wrong_secret(client, conf):
    body = await tokens(client, conf)
    forged = body["refresh_token"][:-32] + "0" * 32
    await oauth_error(await refresh(client, conf, forged), "invalid_grant")
    assert (await refresh(client, conf, body["refresh_token"])).status == 200


# -- access tokens on /v1 ---------------------------------------------------------------


async def test_access_token_expires_after_an_hour(client, clock, conf):
    body = await tokens(client, conf)
    clock.advance(seconds=3599)
    assert (await ping(client, body["access_token"]))[0] == 200
    clock.advance(seconds=1)
    status, answer = await ping(client, body["access_token"])
    assert status == 401 and answer["error"]["code"] == "token_expired"
    resp = await client.get("/v1/_ping", headers=bearer(body["access_token"]))
    assert 'resource_metadata="http://127.0.0.1:8042/.well-known/oauth-protected-resource"' in resp.headers["WWW-Authenticate"]


async def test_refresh_token_is_not_a_bearer_token(client, conf):
    body = await tokens(client, conf)
    status, answer = await ping(client, body["refresh_token"])
    assert status == 401 and answer["error"]["code"] == "invalid_token"


async def test_access_token_with_a_wrong_secret(client, conf):
    body = await tokens(client, conf)
    assert (await ping(client, body["access_token"]))[0] == 200  # cached now
    forged = body["access_token"][:-32] + "0" * 32
    status, answer = await ping(client, forged)
    assert status == 401 and answer["error"]["code"] == "invalid_token"


async def test_access_token_dies_with_its_user(client, app, conf):
    body = await tokens(client, conf)
    assert (await ping(client, body["access_token"]))[0] == 200
    await account_service.remove_user(app[keys.DATABASE], "ada", app[keys.CLOCK]())
    await app[keys.AUTHENTICATOR].poll_epoch()
    status, answer = await ping(client, body["access_token"])
    assert status == 401 and answer["error"]["code"] == "token_revoked"
    await oauth_error(await refresh(client, conf, body["refresh_token"]), "invalid_grant")


async def test_oauth_bucket_is_per_client_and_organization(aiohttp_client, tmp_path, clock):
    app = create_app(make_settings(tmp_path, rate_limits={"oauth": 3}), clock=clock)
    client = await aiohttp_client(app)
    await make_user(app)
    registered = await make_client(app)
    other = await make_client(app, name="Other")
    one = await tokens(client, registered, scope="user:read")
    two = await tokens(client, registered, scope="user:read")
    three = await tokens(client, other, scope="user:read")
    seen = []
    for token in (one, two, one):
        resp = await client.get("/v1/_ping", headers=bearer(token["access_token"]))
        seen.append(resp.headers["X-RateLimit-Remaining"])
        assert resp.headers["X-RateLimit-Limit"] == "3"
    assert seen == ["2", "1", "0"]  # two tokens of one client share the bucket
    resp = await client.get("/v1/_ping", headers=bearer(two["access_token"]))
    assert resp.status == 429
    assert (await resp.json())["error"]["details"]["bucket"] == "oauth"
    resp = await client.get("/v1/_ping", headers=bearer(three["access_token"]))
    assert resp.status == 200 and resp.headers["X-RateLimit-Remaining"] == "2"


# -- revocation (RFC 7009) --------------------------------------------------------------


async def revoke(client, registered, token: str, auth: str = "basic", **extra: str):
    return await token_post(client, registered, "/v1/oauth/revoke", auth=auth, token=token, **extra)


async def test_revoking_an_access_token(client, conf):
    body = await tokens(client, conf)
    resp = await revoke(client, conf, body["access_token"], token_type_hint="access_token")
    assert resp.status == 200 and await resp.read() == b""
    assert resp.headers["Cache-Control"] == "no-store"
    status, answer = await ping(client, body["access_token"])
    assert status == 401 and answer["error"]["code"] == "token_revoked"
    # the refresh token lives on
    assert (await refresh(client, conf, body["refresh_token"])).status == 200


async def test_revoking_a_refresh_token_revokes_its_family(client, conf):
    body = await tokens(client, conf)
    resp = await revoke(client, conf, body["refresh_token"], token_type_hint="access_token")
    assert resp.status == 200  # the hint is only a hint
    assert (await ping(client, body["access_token"]))[1]["error"]["code"] == "token_revoked"
    await oauth_error(await refresh(client, conf, body["refresh_token"]), "invalid_grant")


async def test_public_client_may_revoke(client, public):
    body = await tokens(client, public)
    assert (await revoke(client, public, body["access_token"], auth="none")).status == 200
    assert (await ping(client, body["access_token"]))[0] == 401


@pytest.mark.parametrize("token", ["garbage", "42min_at_AAAAAAAAAAAA_" + "A" * 32, "x" * 500])
async def test_revoking_unknown_tokens_is_fine(client, conf, token):
    assert (await revoke(client, conf, token, token_type_hint="whatever")).status == 200


async def test_revoking_another_clients_token_does_nothing(client, app, conf):
    other = await make_client(app, name="Other")
    body = await tokens(client, conf)
    assert (await revoke(client, other, body["access_token"])).status == 200
    assert (await revoke(client, other, body["refresh_token"])).status == 200
    assert (await ping(client, body["access_token"]))[0] == 200
    assert (await refresh(client, conf, body["refresh_token"])).status == 200


async def test_revocation_needs_a_token_and_a_client(client, conf):
    await oauth_error(await token_post(client, conf, "/v1/oauth/revoke"), "invalid_request")
    resp = await client.post("/v1/oauth/revoke", data={"token": "x"},
                             headers=basic(conf.client_id, "42min_cs_wrong"))
    await oauth_error(resp, "invalid_client", 401)


# -- introspection (RFC 7662) -----------------------------------------------------------


async def introspect(client, registered, token: str, auth: str = "basic"):
    return await token_post(client, registered, "/v1/oauth/introspect", auth=auth, token=token)


async def test_introspecting_own_tokens(client, clock, conf):
    body = await tokens(client, conf)
    resp = await introspect(client, conf, body["access_token"])
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    answer = await resp.json()
    now = int(clock().timestamp())
    assert answer == {
        "active": True,
        "scope": "user:read bookings:read offline_access",
        "client_id": conf.client_id,
        "username": "ada",
        "token_type": "Bearer",
        "exp": now + 3600,
        "iat": now,
        "sub": answer["sub"],
        "iss": "http://127.0.0.1:8042",
    }
    answer = await (await introspect(client, conf, body["refresh_token"], auth="post")).json()
    assert answer["active"] is True and answer["token_type"] == "refresh_token"


async def test_introspecting_another_clients_token(client, app, conf):
    other = await make_client(app, name="Other")
    body = await tokens(client, conf)
    for token in (body["access_token"], body["refresh_token"]):
        resp = await introspect(client, other, token)
        assert resp.status == 200 and await resp.json() == {"active": False}


async def test_public_client_cannot_introspect(client, public):
    body = await tokens(client, public)
    await oauth_error(await introspect(client, public, body["access_token"], auth="none"),
                      "invalid_client", 401)


async def test_inactive_tokens(client, clock, conf):
    body = await tokens(client, conf)
    second = await (await refresh(client, conf, body["refresh_token"])).json()
    # a spent refresh token is inactive
    assert await (await introspect(client, conf, body["refresh_token"])).json() == {"active": False}
    assert (await revoke(client, conf, second["access_token"])).status == 200
    assert await (await introspect(client, conf, second["access_token"])).json() == {"active": False}
    clock.advance(hours=1)
    assert await (await introspect(client, conf, body["access_token"])).json() == {"active": False}
    for junk in ("junk", "42min_at_AAAAAAAAAAAA_" + "A" * 32):
        assert await (await introspect(client, conf, junk)).json() == {"active": False}
    await oauth_error(await token_post(client, conf, "/v1/oauth/introspect"), "invalid_request")


async def test_spent_refresh_token_from_another_client_still_revokes(client, app, conf):
    other = await make_client(app, name="Other")
    body = await tokens(client, conf)
    fresh = await (await refresh(client, conf, body["refresh_token"])).json()
    await oauth_error(await refresh(client, other, body["refresh_token"]), "invalid_grant")
    assert (await ping(client, fresh["access_token"]))[1]["error"]["code"] == "token_revoked"


async def test_purge_keeps_replay_evidence_for_a_day(client, app, clock, conf):
    from fortytwo.oauth.runtime import purge_once

    code, verifier = await code_for(client, conf, scope="user:read")
    first = await (await exchange(client, conf, code, verifier)).json()
    server = app[keys.OAUTH]
    clock.advance(hours=23)
    await purge_once(server)
    # a day has not passed since the code and the token expired: a replay still revokes
    await oauth_error(await exchange(client, conf, code, verifier), "invalid_grant")
    async with app[keys.DATABASE].reader.execute(
        "SELECT revoked_reason FROM oauth_grants"
    ) as cur:
        assert [r[0] for r in await cur.fetchall()] == ["code_replayed"]
    clock.advance(hours=3)
    assert await purge_once(server) == 3  # the code, the token, then their grant
    for table in ("oauth_codes", "oauth_tokens", "oauth_grants", "oauth_sessions"):
        async with app[keys.DATABASE].reader.execute(f"SELECT COUNT(*) FROM {table}") as cur:
            assert (await cur.fetchone())[0] == 0, table
    assert first["access_token"]


async def test_undecodable_form_bodies(client, conf):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = await client.post("/v1/oauth/token", data=b"\xff\xfe=1", headers=form)
    await oauth_error(resp, "invalid_request")
    resp = await client.post("/v1/oauth/authorize", data=b"\xff\xfe=1", headers=form)
    assert resp.status == 400 and resp.content_type == "text/html"


EXAMPLE_PLUGIN = Path(__file__).resolve().parent.parent / "plugins" / "custom_prefix.py"


async def test_the_plugin_prefix_brands_clients_and_tokens(tmp_path, aiohttp_client, clock):
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(EXAMPLE_PLUGIN, folder)
    app = create_app(make_settings(tmp_path), clock=clock)
    client = await aiohttp_client(app)
    await make_user(app)
    registered = await make_client(app)
    assert registered.client_id.startswith("acme_") and registered.client_secret.startswith("acme_cs_")
    body = await tokens(client, registered)
    assert body["access_token"].startswith("acme_at_") and body["refresh_token"].startswith("acme_rt_")
    assert (await ping(client, body["access_token"]))[0] == 200
    assert (await refresh(client, registered, body["refresh_token"])).status == 200
