"""Per-bucket fixed windows with their headers, and the 429 answer."""

from __future__ import annotations

import pytest

from fortytwo.app import create_app
from fortytwo.http.ratelimit import RateLimiter
from tests.conftest import FakeClock, make_account, make_settings


@pytest.fixture
async def limited(aiohttp_client, tmp_path):
    clock = FakeClock()
    clock.now = clock.now.replace(second=10)
    settings = make_settings(tmp_path, rate_limits={"pat": 3, "anonymous": 2})
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    return client, app, clock


async def test_pat_bucket_429_and_reset(limited):
    client, app, clock = limited
    account = await make_account(app)
    window_end = int(clock.now.timestamp()) - int(clock.now.timestamp()) % 60 + 60
    remaining = []
    for _ in range(3):
        resp = await client.get("/v1/_ping", headers=account.auth)
        assert resp.status == 200
        assert resp.headers["X-RateLimit-Limit"] == "3"
        assert resp.headers["X-RateLimit-Reset"] == str(window_end)
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    resp = await client.get("/v1/me", headers=account.auth)
    body = await resp.json()
    assert resp.status == 429
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["details"] == {"bucket": "pat", "limit": 3, "window_seconds": 60}
    assert resp.headers["Retry-After"] == "50"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    clock.advance(seconds=50)
    resp = await client.get("/v1/_ping", headers=account.auth)
    assert resp.status == 200 and resp.headers["X-RateLimit-Remaining"] == "2"


async def test_buckets_are_separate_per_token(limited):
    client, app, _ = limited
    one = await make_account(app, username="one")
    two = await make_account(app, username="two", token_name="other")
    for _ in range(3):
        assert (await client.get("/v1/_ping", headers=one.auth)).status == 200
    assert (await client.get("/v1/_ping", headers=one.auth)).status == 429
    assert (await client.get("/v1/_ping", headers=two.auth)).status == 200


async def test_anonymous_bucket_counts_failed_authentication(limited):
    client, app, _ = limited
    resp = await client.get("/v1/_ping")
    assert resp.status == 401 and resp.headers["X-RateLimit-Limit"] == "2"
    resp = await client.get("/v1/_ping", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401 and resp.headers["X-RateLimit-Remaining"] == "0"
    resp = await client.get("/v1/_ping")
    body = await resp.json()
    assert resp.status == 429 and body["error"]["details"]["bucket"] == "anonymous"
    # a valid token is not affected by the anonymous bucket being empty
    account = await make_account(app)
    assert (await client.get("/v1/_ping", headers=account.auth)).status == 200


def test_limiter_memory_is_bounded_by_the_current_window():
    limiter = RateLimiter()
    for i in range(1000):
        limiter.hit("anonymous", f"10.0.{i // 256}.{i % 256}", 30, 60.0)
    assert len(limiter) == 1000
    limiter.hit("anonymous", "x", 30, 121.0)
    assert len(limiter) == 1
