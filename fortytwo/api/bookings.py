"""/v1/bookings: thin handlers around the booking service."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from fortytwo import keys
from fortytwo.http.body import read_json_object
from fortytwo.http.errors import ApiError
from fortytwo.http.idempotency import Recorder, fingerprint, require_key
from fortytwo.http.policy import requires_scope
from fortytwo.http.responses import PRINCIPAL, REQUEST_ID, ok
from fortytwo.services import booking_input, bookings
from fortytwo.services.booking_views import rest_booking

routes = web.RouteTableDef()
IF_MATCH_RE = re.compile(r'^(?:W/)?"([0-9]{1,9})"$')


def _context(request: web.Request) -> bookings.WriteContext:
    app = request.app
    return bookings.WriteContext(
        db=app[keys.DATABASE],
        locks=app[keys.SLOT_LOCKS],
        lock_timeout=app[keys.SETTINGS].bookings.slot_lock_timeout_seconds,
        now=app[keys.CLOCK](),
        actor=bookings.actor_of(request[PRINCIPAL]),
    )


async def _idempotent(
    request: web.Request, body: dict, write: Callable[[Recorder], Awaitable[None]]
) -> web.StreamResponse:
    """Reserve the key, run the write (which stores its response), release the key."""
    key = require_key(request)
    principal = request[PRINCIPAL]
    gate = request.app[keys.IDEMPOTENCY]
    outcome = await gate.begin(
        principal.organization_id, key, fingerprint(request.method, request.path, body),
        request[REQUEST_ID], request.app[keys.CLOCK](),
    )
    if isinstance(outcome, web.Response):
        return outcome
    try:
        await write(outcome)
    finally:
        gate.end(outcome)
    assert outcome.response is not None
    return outcome.response


@routes.post("/v1/bookings")
@requires_scope("bookings:create")
async def create_booking(request: web.Request) -> web.StreamResponse:
    require_key(request)
    body = await read_json_object(request)
    parsed = booking_input.parse_create(body)
    ctx = _context(request)
    return await _idempotent(
        request, body, lambda rec: bookings.create(ctx, request[PRINCIPAL], parsed, rec)
    )


@routes.post("/v1/bookings/{uid}/cancel")
@requires_scope("bookings:cancel")
async def cancel_booking(request: web.Request) -> web.StreamResponse:
    require_key(request)
    body = await read_json_object(request, required=False)
    reason = booking_input.parse_cancel(body)
    ctx = _context(request)
    uid = request.match_info["uid"]
    return await _idempotent(
        request, body, lambda rec: bookings.cancel(ctx, request[PRINCIPAL], uid, reason, rec)
    )


@routes.post("/v1/bookings/{uid}/reschedule")
@requires_scope("bookings:reschedule")
async def reschedule_booking(request: web.Request) -> web.StreamResponse:
    require_key(request)
    body = await read_json_object(request)
    parsed = booking_input.parse_reschedule(body)
    ctx = _context(request)
    uid = request.match_info["uid"]
    return await _idempotent(
        request, body, lambda rec: bookings.reschedule(ctx, request[PRINCIPAL], uid, parsed, rec)
    )


def _if_match(request: web.Request) -> int:
    value = request.headers.get("If-Match")
    if value is None:
        raise ApiError(
            428, "missing_if_match",
            "PATCH needs If-Match with the ETag of your last read: GET the booking, then send "
            'its ETag back (e.g. If-Match: "3").',
        )
    match = IF_MATCH_RE.match(value.strip())
    if match is None:
        raise ApiError(
            400, "invalid_if_match",
            'If-Match must be a quoted version such as "3" or W/"3", as sent in the ETag.',
            {"header": "If-Match"},
        )
    return int(match.group(1))


@routes.patch("/v1/bookings/{uid}")
@requires_scope("bookings:update")
async def update_booking(request: web.Request) -> web.StreamResponse:
    require_key(request)
    version = _if_match(request)
    body = await read_json_object(request)
    patch = booking_input.parse_patch(body)
    ctx = _context(request)
    uid = request.match_info["uid"]
    return await _idempotent(
        request, body,
        lambda rec: bookings.update(ctx, request[PRINCIPAL], uid, patch, version, rec),
    )


@routes.get("/v1/bookings/{uid}")
@requires_scope("bookings:read")
async def get_booking(request: web.Request) -> web.Response:
    row = await bookings.require_booking(
        request.app[keys.DATABASE], request[PRINCIPAL].organization_id, request.match_info["uid"]
    )
    return ok(request, rest_booking(row), headers={"ETag": bookings.etag(row.version)})
