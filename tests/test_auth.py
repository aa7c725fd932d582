"""Bearer authentication: every 401 variant, scopes, and the identity endpoints."""

from __future__ import annotations

from fortytwo import keys
from fortytwo.services import accounts, pats
from tests.conftest import add_token, make_account
from tests.reference import validate_response


def assert_401(resp, body, code: str, presented: bool = True) -> None:
    assert resp.status == 401
    assert body["error"]["code"] == code
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="42min"')
    assert 'resource_metadata="http://127.0.0.1:8042/.well-known/oauth-protected-resource"' in challenge
    assert ('error="invalid_token"' in challenge) is presented
    assert body["error"]["request_id"] == resp.headers["X-Request-Id"]


async def test_ping_and_me_with_pat(client, account):
    resp = await client.get("/v1/_ping", headers=account.auth)
    body = await resp.json()
    assert resp.status == 200
    assert body["data"]["ok"] is True
    assert body["data"]["auth_type"] == "pat"
    assert body["data"]["account_id"] == account.org_id
    assert "client_id" not in body["data"]
    assert "bookings:create" in body["data"]["scopes"] and "bookings:write" not in body["data"]["scopes"]
    assert body["meta"]["request_id"] == resp.headers["X-Request-Id"]
    assert resp.headers["X-Request-Id"].startswith("req_") and len(resp.headers["X-Request-Id"]) == 36
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header in resp.headers
    validate_response("ping", 200, body)

    resp = await client.get("/v1/me", headers=account.auth)
    body = await resp.json()
    assert resp.status == 200
    user = body["data"]["user"]
    assert user["username"] == "ada" and user["name"] == "Ada Lovelace"
    assert body["data"]["organization"] == {"id": account.org_id, "name": "Acme", "plan": None}
    validate_response("getMe", 200, body)


async def test_me_name_null_when_names_empty(client, app):
    acct = await make_account(app, username="nameless", first_name=None, last_name=None)
    body = await (await client.get("/v1/me", headers=acct.auth)).json()
    assert body["data"]["user"]["name"] is None


async def test_client_request_id_is_ignored(client, account):
    resp = await client.get("/v1/_ping", headers={**account.auth, "X-Request-Id": "mine"})
    assert resp.headers["X-Request-Id"] != "mine"


async def test_no_header(client, account):
    resp = await client.get("/v1/_ping")
    assert_401(resp, await resp.json(), "invalid_token", presented=False)
    validate_response("ping", 401, await resp.json())


async def test_wrong_scheme(client, account):
    resp = await client.get("/v1/_ping", headers={"Authorization": f"Basic {account.token}"})
    assert_401(resp, await resp.json(), "invalid_token")


async def test_malformed(client, account):
    for value in ("Bearer", "Bearer ", "Bearer abc", f"Bearer {account.token}x", f"Bearer {account.token.lower()}"):
        resp = await client.get("/v1/_ping", headers={"Authorization": value})
        assert_401(resp, await resp.json(), "invalid_token", presented=value.strip() != "Bearer")


async def test_wrong_prefix(client, account):
    token = "other" + account.token[len("42min"):]
    resp = await client.get("/v1/_ping", headers={"Authorization": f"Bearer {token}"})
    assert_401(resp, await resp.json(), "invalid_token")


async def test_unknown_lookup(client, account):
    parts = account.token.split("_")
    parts[2] = "ZZZZZZZZZZZZ" if parts[2] != "ZZZZZZZZZZZZ" else "YYYYYYYYYYYY"
    resp = await client.get("/v1/_ping", headers={"Authorization": "Bearer " + "_".join(parts)})
    assert_401(resp, await resp.json(), "invalid_token")


async def test_wrong_secret(client, account):
    parts = account.token.split("_")
    parts[3] = "0" * 32
    resp = await client.get("/v1/_ping", headers={"Authorization": "Bearer " + "_".join(parts)})
    assert_401(resp, await resp.json(), "invalid_token")
    # and the right token still works after the cache saw a wrong secret for its lookup
    assert (await client.get("/v1/_ping", headers=account.auth)).status == 200
    resp = await client.get("/v1/_ping", headers={"Authorization": "Bearer " + "_".join(parts)})
    assert_401(resp, await resp.json(), "invalid_token")


async def test_expired(client, app, account, clock):
    issued = await add_token(app, account, name="short", scopes="user:read", expires_in="1d")
    auth = {"Authorization": f"Bearer {issued.token}"}
    assert (await client.get("/v1/_ping", headers=auth)).status == 200
    clock.advance(days=1, seconds=1)
    resp = await client.get("/v1/_ping", headers=auth)
    assert_401(resp, await resp.json(), "token_expired")


async def test_revoked(client, app, account, clock):
    assert (await client.get("/v1/_ping", headers=account.auth)).status == 200
    await pats.revoke(app[keys.DATABASE], account.token_id, clock())
    await app[keys.AUTHENTICATOR].poll_epoch()
    resp = await client.get("/v1/_ping", headers=account.auth)
    assert_401(resp, await resp.json(), "token_revoked")


async def test_rotated_away(client, app, account, clock):
    assert (await client.get("/v1/_ping", headers=account.auth)).status == 200
    issued = await pats.rotate(
        app[keys.DATABASE], account.token_id, prefix="42min", pepper=app[keys.PEPPER], now=clock()
    )
    await app[keys.AUTHENTICATOR].poll_epoch()
    resp = await client.get("/v1/_ping", headers=account.auth)
    assert_401(resp, await resp.json(), "token_revoked")
    resp = await client.get("/v1/_ping", headers={"Authorization": f"Bearer {issued.token}"})
    assert resp.status == 200


async def test_removed_user(client, app, account, clock):
    assert (await client.get("/v1/me", headers=account.auth)).status == 200
    await accounts.remove_user(app[keys.DATABASE], account.user_id, clock())
    await app[keys.AUTHENTICATOR].poll_epoch()
    resp = await client.get("/v1/me", headers=account.auth)
    assert_401(resp, await resp.json(), "token_revoked")


async def test_insufficient_scope(client, app, account):
    issued = await add_token(app, account, name="narrow", scopes="bookings:read")
    resp = await client.get("/v1/me", headers={"Authorization": f"Bearer {issued.token}"})
    body = await resp.json()
    assert resp.status == 403
    assert body["error"]["code"] == "insufficient_scope"
    assert body["error"]["details"] == {"required_scope": "user:read"}
    assert resp.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="user:read"'
    validate_response("getMe", 403, body)
    # _ping needs no particular scope
    assert (await client.get("/v1/_ping", headers={"Authorization": f"Bearer {issued.token}"})).status == 200


async def test_scope_change_applies(client, app, account, clock):
    await pats.set_scopes(app[keys.DATABASE], account.token_id, "bookings:read", clock())
    await app[keys.AUTHENTICATOR].poll_epoch()
    assert (await client.get("/v1/me", headers=account.auth)).status == 403


async def test_last_used_recorded_off_the_hot_path(client, app, account):
    from fortytwo.store import tokens

    assert (await client.get("/v1/_ping", headers=account.auth)).status == 200
    row = await tokens.get_pat(app[keys.DATABASE].reader, account.token_id)
    assert row.last_used_at is None  # not written by the request itself
    await app[keys.AUTHENTICATOR].flush_last_used()
    row = await tokens.get_pat(app[keys.DATABASE].reader, account.token_id)
    assert row.last_used_at is not None
