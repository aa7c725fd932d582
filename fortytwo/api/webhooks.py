"""/v1/webhooks: subscriptions in the caller's sandbox, their secrets, tests and deliveries.

``Idempotency-Key`` is not looked at on these routes (contract 2.6); a retried create makes a
second subscription, or a 409 when the URL is already subscribed.
"""

from __future__ import annotations

import time

from aiohttp import web

from fortytwo import keys
from fortytwo.http.body import read_json_object
from fortytwo.http.params import parse_limit
from fortytwo.http.policy import requires_scope
from fortytwo.http.responses import PRINCIPAL, ok
from fortytwo.webhooks import service
from fortytwo.webhooks.runtime import WebhookRuntime

routes = web.RouteTableDef()

READ = "webhooks:read"
WRITE = "webhooks:write"


def _runtime(request: web.Request) -> WebhookRuntime:
    return request.app[keys.WEBHOOKS]


def _owner(request: web.Request) -> service.Owner:
    return service.owner_of(request[PRINCIPAL])


@routes.get("/v1/webhooks")
@requires_scope(READ)
async def list_webhooks(request: web.Request) -> web.Response:
    return ok(request, await service.list_webhooks(_runtime(request).db, _owner(request)))


@routes.post("/v1/webhooks")
@requires_scope(WRITE)
async def create_webhook(request: web.Request) -> web.Response:
    rt = _runtime(request)
    body = await read_json_object(request)
    data = await service.create(
        rt.db, rt.targets, rt.server_key, _owner(request), body, rt.clock()
    )
    return ok(request, data, status=201)


@routes.get("/v1/webhooks/{id}")
@requires_scope(READ)
async def get_webhook(request: web.Request) -> web.Response:
    rt = _runtime(request)
    return ok(request, await service.get(rt.db, _owner(request), request.match_info["id"]))


@routes.patch("/v1/webhooks/{id}")
@requires_scope(WRITE)
async def update_webhook(request: web.Request) -> web.Response:
    rt = _runtime(request)
    body = await read_json_object(request)
    data = await service.update(
        rt.db, rt.targets, _owner(request), request.match_info["id"], body, rt.clock()
    )
    return ok(request, data)


@routes.delete("/v1/webhooks/{id}")
@requires_scope(WRITE)
async def delete_webhook(request: web.Request) -> web.Response:
    arrived = time.monotonic()
    rt = _runtime(request)
    await service.delete(
        rt.db, rt.recent_deletes, _owner(request), request.match_info["id"], arrived
    )
    return web.Response(status=204)


@routes.post("/v1/webhooks/{id}/rotate-secret")
@requires_scope(WRITE)
async def rotate_webhook_secret(request: web.Request) -> web.Response:
    rt = _runtime(request)
    data = await service.rotate_secret(
        rt.db, rt.server_key, _owner(request), request.match_info["id"], rt.clock()
    )
    return ok(request, data)


@routes.post("/v1/webhooks/{id}/test")
@requires_scope(WRITE)
async def test_webhook(request: web.Request) -> web.Response:
    rt = _runtime(request)
    data = await service.send_test(
        rt.db, rt.deliverer, rt.server_key, rt.clock, _owner(request), request.match_info["id"]
    )
    return ok(request, data)


@routes.get("/v1/webhooks/{id}/deliveries")
@requires_scope(READ)
async def list_webhook_deliveries(request: web.Request) -> web.Response:
    rt = _runtime(request)
    limit = parse_limit(request.query)
    items, next_cursor, has_more = await service.list_deliveries(
        rt.db,
        rt.server_key,
        _owner(request),
        request.match_info["id"],
        cursor=request.query.get("cursor"),
        limit=limit,
    )
    return ok(request, items, page=(next_cursor, has_more))
