"""The error envelope for routing, body and server failures."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from fortytwo.http.body import read_json_object
from fortytwo.http.policy import ANY_TOKEN, requires_scope
from fortytwo.http.responses import ok
from tests.conftest import make_account


@requires_scope(ANY_TOKEN)
async def echo(request: web.Request) -> web.Response:
    return ok(request, await read_json_object(request))


@requires_scope(ANY_TOKEN)
async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals")


@pytest.fixture
async def body_client(aiohttp_client, app):
    app.router.add_post("/v1/_echo", echo)
    app.router.add_get("/v1/_boom", boom)
    client = await aiohttp_client(app)
    account = await make_account(app)
    return client, account


def assert_envelope(resp, body, status: int, code: str) -> None:
    assert resp.status == status, body
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert body["error"]["request_id"] == resp.headers["X-Request-Id"]


async def test_unknown_route_is_json_404(client, account):
    for path in ("/nope", "/v1/nope", "/v1/me/extra"):
        resp = await client.get(path, headers=account.auth)
        assert_envelope(resp, await resp.json(), 404, "not_found")
    resp = await client.get("/v1/nope", headers=account.auth)
    assert resp.headers["X-RateLimit-Limit"] == "120"


async def test_wrong_method_is_405_with_allow(client, account):
    resp = await client.delete("/v1/_ping", headers=account.auth)
    body = await resp.json()
    assert_envelope(resp, body, 405, "method_not_allowed")
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}
    resp = await client.post("/healthz")
    assert_envelope(resp, await resp.json(), 405, "method_not_allowed")


async def test_malformed_json_is_400(body_client):
    client, account = body_client
    headers = {**account.auth, "Content-Type": "application/json"}
    for raw in (b"{", b"[1,", b"\xff\xfe{", b'{"a": }'):
        resp = await client.post("/v1/_echo", data=raw, headers=headers)
        assert_envelope(resp, await resp.json(), 400, "invalid_request")
    resp = await client.post("/v1/_echo", data=b"[1, 2]", headers=headers)
    assert_envelope(resp, await resp.json(), 400, "invalid_request")
    resp = await client.post("/v1/_echo", data=b'{"a": 1}', headers=headers)
    assert resp.status == 200 and (await resp.json())["data"] == {"a": 1}


async def test_non_json_body_is_415(body_client):
    client, account = body_client
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        resp = await client.post(
            "/v1/_echo", data=b"a=1", headers={**account.auth, "Content-Type": ctype}
        )
        assert_envelope(resp, await resp.json(), 415, "unsupported_media_type")
    resp = await client.post(
        "/v1/_echo", data=b"{}", headers={**account.auth, "Content-Type": "application/json; charset=utf-8"}
    )
    assert resp.status == 200


async def test_oversized_body_is_413(body_client):
    client, account = body_client
    big = b'{"a": "' + b"x" * (1024 * 1024) + b'"}'
    resp = await client.post(
        "/v1/_echo", data=big, headers={**account.auth, "Content-Type": "application/json"}
    )
    assert_envelope(resp, await resp.json(), 413, "payload_too_large")


async def test_chunked_oversized_body_is_413(body_client):
    client, account = body_client

    async def chunks():
        yield b'{"a": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    resp = await client.post(
        "/v1/_echo", data=chunks(), headers={**account.auth, "Content-Type": "application/json"}
    )
    assert_envelope(resp, await resp.json(), 413, "payload_too_large")


async def test_unexpected_error_is_500_without_internals(body_client, caplog):
    client, account = body_client
    with caplog.at_level(logging.ERROR):
        resp = await client.get("/v1/_boom", headers=account.auth)
    body = await resp.json()
    assert_envelope(resp, body, 500, "internal_error")
    assert "secret internals" not in body["error"]["message"]
    assert resp.headers["X-Request-Id"] in body["error"]["message"]
    assert "secret internals" in caplog.text


async def test_root_and_healthz(client):
    resp = await client.get("/")
    body = await resp.json()
    assert body["name"] == "fortytwo" and body["openapi"].endswith("/openapi.json")
    assert "X-Request-Id" in resp.headers
    resp = await client.get("/healthz")
    assert resp.status == 200 and await resp.json() == {"status": "ok"}
