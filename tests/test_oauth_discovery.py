"""Discovery documents, CORS on the public OAuth endpoints, the per-IP OAuth rate limits,
and RFC 7591 dynamic client registration."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from fortytwo.app import create_app
from fortytwo.security import scopes as scope_rules
from tests.conftest import make_settings
from tests.oauth_support import (
    ISSUER,
    Browser,
    authorize_params,
    code_for,
    exchange,
    make_user,
    pkce_pair,
)

ALL_SCOPES = [*scope_rules.ACTIVE, *scope_rules.RESERVED, "bookings:write", "event_types:write",
              "offline_access"]


async def test_authorization_server_metadata(client):
    resp = await client.get("/.well-known/oauth-authorization-server")
    assert resp.status == 200 and resp.content_type == "application/json"
    doc = await resp.json()
    assert doc == {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/v1/oauth/authorize",
        "token_endpoint": f"{ISSUER}/v1/oauth/token",
        "revocation_endpoint": f"{ISSUER}/v1/oauth/revoke",
        "introspection_endpoint": f"{ISSUER}/v1/oauth/introspect",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ALL_SCOPES,
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{ISSUER}/docs",
    }
    assert "registration_endpoint" not in doc
    AuthorizationServerMetadata(doc).validate()
    assert "data" not in doc  # never enveloped


async def test_protected_resource_metadata(client):
    doc = await (await client.get("/.well-known/oauth-protected-resource")).json()
    assert doc == {
        "resource": ISSUER,
        "authorization_servers": [ISSUER],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ALL_SCOPES,
        "resource_name": "fortytwo (42min API)",
        "resource_documentation": f"{ISSUER}/docs",
    }


async def test_metadata_follows_public_url(aiohttp_client, tmp_path):
    settings = make_settings(
        tmp_path, public_url="https://api.example.com/",
        server={"trusted_proxies": ["127.0.0.1"]}, oauth={"dcr_enabled": True},
    )
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/.well-known/oauth-authorization-server",
                            headers={"X-Forwarded-Proto": "https"})
    doc = await resp.json()
    assert doc["issuer"] == "https://api.example.com"
    assert doc["registration_endpoint"] == "https://api.example.com/v1/oauth/register"
    AuthorizationServerMetadata(doc).validate()


# -- CORS -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/oauth/token", "POST, OPTIONS"),
        ("/v1/oauth/revoke", "POST, OPTIONS"),
        ("/.well-known/oauth-authorization-server", "GET, OPTIONS"),
        ("/.well-known/oauth-protected-resource", "GET, OPTIONS"),
    ],
)
async def test_cors_preflight(client, path, methods):
    resp = await client.options(path, headers={
        "Origin": "https://spa.example", "Access-Control-Request-Method": methods.split(",")[0],
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Access-Control-Allow-Methods"] == methods
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in resp.headers


async def test_cors_on_answers_errors_included(client):
    origin = {"Origin": "https://spa.example"}
    for resp in (
        await client.get("/.well-known/oauth-authorization-server", headers=origin),
        await client.post("/v1/oauth/token", data={"grant_type": "x"}, headers=origin),
        await client.post("/v1/oauth/revoke", data={"token": "x"}, headers=origin),
    ):
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in resp.headers
        assert "X-Request-Id" in resp.headers["Access-Control-Expose-Headers"]


async def test_no_cors_elsewhere(client):
    origin = {"Origin": "https://spa.example"}
    for path in ("/v1/_ping", "/v1/oauth/introspect", "/v1/oauth/authorize"):
        resp = await client.get(path, headers=origin)
        assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.options("/v1/oauth/introspect", headers=origin)
    assert resp.status == 405 and "Access-Control-Allow-Origin" not in resp.headers


# -- per-IP rate limits of the OAuth endpoints ------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "limit"),
    [
        ("/v1/oauth/authorize", "get", "30"),
        ("/v1/oauth/token", "post", "60"),
        ("/v1/oauth/revoke", "post", "60"),
        ("/v1/oauth/introspect", "post", "120"),
        ("/v1/oauth/register", "post", "5"),
    ],
)
async def test_default_oauth_limits(client, path, method, limit):
    resp = await getattr(client, method)(path)
    assert resp.headers["X-RateLimit-Limit"] == limit
    assert resp.headers["X-RateLimit-Remaining"] == str(int(limit) - 1)


async def test_token_endpoint_limit(aiohttp_client, tmp_path, clock):
    app = create_app(make_settings(tmp_path, rate_limits={"oauth_token": 2}), clock=clock)
    client = await aiohttp_client(app)
    for _ in range(2):
        assert (await client.post("/v1/oauth/token", data={})).status == 401
    resp = await client.post("/v1/oauth/token", data={})
    assert resp.status == 429
    assert await resp.json() == {
        "error": "rate_limited",
        "error_description": resp_description(await resp.json()),
    }
    assert int(resp.headers["Retry-After"]) >= 1 and resp.headers["X-RateLimit-Remaining"] == "0"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    # other endpoints have buckets of their own
    assert (await client.post("/v1/oauth/revoke", data={})).status == 401
    clock.advance(minutes=1)
    assert (await client.post("/v1/oauth/token", data={})).status == 401


def resp_description(body: dict) -> str:
    assert "oauth_token" in body["error_description"]
    return body["error_description"]


async def test_authorize_limit_is_a_page(aiohttp_client, tmp_path, clock):
    app = create_app(make_settings(tmp_path, rate_limits={"oauth_authorize": 1}), clock=clock)
    client = await aiohttp_client(app)
    await client.get("/v1/oauth/authorize")
    resp = await client.get("/v1/oauth/authorize")
    assert resp.status == 429 and resp.content_type == "text/html"
    assert "Too many" in await resp.text() and "Retry-After" in resp.headers
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


# -- dynamic client registration (RFC 7591) ---------------------------------------------


@pytest.fixture
async def dcr(aiohttp_client, tmp_path, clock):
    app = create_app(make_settings(tmp_path, oauth={"dcr_enabled": True}), clock=clock)
    client = await aiohttp_client(app)
    await make_user(app)
    return app, client


async def test_registration_is_off_by_default(client):
    resp = await client.post("/v1/oauth/register", json={"redirect_uris": ["https://a.example/cb"]})
    assert resp.status == 404


async def test_register_a_public_client_and_use_it(dcr):
    app, client = dcr
    resp = await client.post("/v1/oauth/register", json={
        "client_name": "CLI tool", "redirect_uris": ["http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
        "scope": "user:read offline_access", "logo_uri": "https://ignored.example/logo.png",
    })
    assert resp.status == 201 and resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert body["client_id"].startswith("42min_") and "client_secret" not in body
    assert body["token_endpoint_auth_method"] == "none"
    assert body["redirect_uris"] == ["http://127.0.0.1/callback"]
    assert body["scope"] == "user:read offline_access"

    class Registered:
        client_id = body["client_id"]
        client_secret = None

    code, verifier = await code_for(client, Registered, scope="user:read offline_access",
                                    redirect_uri="http://127.0.0.1:8123/callback")
    resp = await exchange(client, Registered, code, verifier, auth="none",
                          redirect_uri="http://127.0.0.1:8123/callback")
    assert resp.status == 200 and "refresh_token" in await resp.json()


async def test_register_a_confidential_client(dcr):
    app, client = dcr
    resp = await client.post("/v1/oauth/register", json={"redirect_uris": ["https://a.example/cb"]})
    body = await resp.json()
    assert resp.status == 201
    assert body["client_secret"].startswith("42min_cs_") and body["client_secret_expires_at"] == 0
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["grant_types"] == ["authorization_code"]
    assert "offline_access" not in body["scope"].split()  # no refresh_token grant asked for
    assert body["client_name"] == "a.example"


async def test_self_registered_app_is_flagged_on_its_pages(dcr):
    app, client = dcr
    body = await (await client.post("/v1/oauth/register", json={
        "client_name": "Totally Official", "redirect_uris": ["https://a.example/cb"]})).json()
    params = authorize_params(body["client_id"], pkce_pair()[1], redirect_uri="https://a.example/cb",
                              scope="user:read")
    html = await (await Browser(client).open(params)).text()
    assert "registered itself" in html


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["myapp:/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"},
         "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"]},
         "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]},
         "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "scope": "admin:all"}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "scope": "offline_access"},
         "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "client_name": ""}, "invalid_client_metadata"),
        ([], "invalid_client_metadata"),
    ],
)
async def test_registration_errors(dcr, payload, error):
    app, client = dcr
    resp = await client.post("/v1/oauth/register", json=payload)
    assert resp.status == 400
    assert (await resp.json())["error"] == error


async def test_registration_needs_json(dcr):
    app, client = dcr
    resp = await client.post("/v1/oauth/register", data={"redirect_uris": "https://a.example/cb"})
    assert resp.status == 400 and (await resp.json())["error"] == "invalid_client_metadata"
    resp = await client.post("/v1/oauth/register", data=b"{nope",
                             headers={"Content-Type": "application/json"})
    assert resp.status == 400


async def test_registration_rate_limit(dcr):
    app, client = dcr
    statuses = [
        (await client.post("/v1/oauth/register", json={"redirect_uris": ["https://a.example/cb"]})).status
        for _ in range(6)
    ]
    assert statuses == [201] * 5 + [429]


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        {"oauth": {"access_token_ttl_seconds": 10}},
        {"oauth": {"access_token_ttl_seconds": 90000}},
        {"oauth": {"code_ttl_seconds": 601}},
        {"oauth": {"refresh_token_ttl_days": 0}},
        {"oauth": {"login_max_delay_seconds": -1}},
        {"rate_limits": {"oauth_token": 0}},
        {"rate_limits": {"oauth_register": 0}},
    ],
)
def test_oauth_settings_are_checked(override):
    from fortytwo.config import ConfigError, load_settings

    with pytest.raises(ConfigError):
        load_settings(None, environ={}, overrides=override)


def test_oauth_settings_from_the_environment():
    from fortytwo.config import load_settings

    settings = load_settings(None, environ={
        "FORTYTWO_OAUTH_DCR_ENABLED": "true", "FORTYTWO_RATE_LIMITS_OAUTH_TOKEN": "7",
        "FORTYTWO_OAUTH_ACCESS_TOKEN_TTL_SECONDS": "600",
    })
    assert settings.oauth.dcr_enabled is True and settings.rate_limits.oauth_token == 7
    assert settings.oauth.access_token_ttl_seconds == 600


async def test_registration_body_that_is_not_utf8(dcr):
    app, client = dcr
    resp = await client.post("/v1/oauth/register", data=b"\xff\xfe{}",
                             headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"] == "invalid_client_metadata"
