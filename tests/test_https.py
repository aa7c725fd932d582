"""HTTPS enforcement and client addresses behind trusted proxies (contract 10.2)."""

from __future__ import annotations

import pytest

from fortytwo.app import create_app
from fortytwo.config import ConfigError
from tests.conftest import FakeClock, make_account, make_settings


@pytest.fixture
async def proxied(aiohttp_client, tmp_path):
    settings = make_settings(
        tmp_path,
        public_url="https://api.example.com",
        server={"host": "127.0.0.1", "trusted_proxies": ["127.0.0.1/32"]},
        rate_limits={"anonymous": 1},
    )
    app = create_app(settings, clock=FakeClock())
    client = await aiohttp_client(app)
    return client, app


async def test_plain_http_refused_before_token_checks(proxied):
    client, app = proxied
    account = await make_account(app)
    resp = await client.get("/v1/_ping", headers=account.auth)
    body = await resp.json()
    assert resp.status == 403 and body["error"]["code"] == "https_required"
    assert "X-RateLimit-Limit" not in resp.headers  # refused before authentication
    resp = await client.get(
        "/v1/_ping", headers={**account.auth, "X-Forwarded-Proto": "https"}
    )
    assert resp.status == 200
    # health checks from the proxy itself stay possible over plain HTTP
    assert (await client.get("/healthz")).status == 200


async def test_forwarded_for_picks_the_client_address(proxied):
    client, _ = proxied
    headers = {"X-Forwarded-Proto": "https"}
    first = await client.get("/v1/_ping", headers={**headers, "X-Forwarded-For": "203.0.113.7"})
    assert first.status == 401
    again = await client.get("/v1/_ping", headers={**headers, "X-Forwarded-For": "203.0.113.7"})
    assert again.status == 429
    other = await client.get("/v1/_ping", headers={**headers, "X-Forwarded-For": "198.51.100.9"})
    assert other.status == 401


def test_public_url_must_be_https_off_loopback(tmp_path):
    with pytest.raises(ConfigError):
        make_settings(tmp_path, public_url="http://api.example.com", server={"host": "0.0.0.0", "trusted_proxies": ["10.0.0.1"]})
    settings = make_settings(tmp_path, server={"host": "127.0.0.1"})
    assert not settings.https_enforced
    assert settings.effective_public_url == "http://127.0.0.1:8042"
