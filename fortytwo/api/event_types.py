"""Event types, read-only: GET /v1/event-types and GET /v1/event-types/{idOrSlug}.

``idOrSlug`` may be ``username/slug`` as one segment (``ada%2Fintro-call``; the router hands
it over decoded) or as two path segments; both end in the same resolver.
"""

from __future__ import annotations

from aiohttp import web

from fortytwo import keys
from fortytwo.http.params import parse_bool, parse_choice, parse_limit, parse_uuid
from fortytwo.http.policy import requires_scope
from fortytwo.http.responses import PRINCIPAL, ok
from fortytwo.services import event_types as service

routes = web.RouteTableDef()

SCOPE = "event_types:read"


@routes.get("/v1/event-types")
@requires_scope(SCOPE)
async def list_event_types(request: web.Request) -> web.Response:
    query = request.query
    limit = parse_limit(query)
    sort = parse_choice(query, "sort", service.SORTS, service.DEFAULT_SORT)
    user_id = parse_uuid(query, "user_id")
    active = parse_bool(query, "active")
    app = request.app
    items, next_cursor, has_more = await service.list_page(
        app[keys.DATABASE].reader,
        request[PRINCIPAL].organization_id,
        secret=app[keys.SECRET_KEY],
        booking_base_url=app[keys.SETTINGS].effective_booking_base_url,
        sort=sort,
        cursor=query.get("cursor"),
        limit=limit,
        user_id=user_id,
        slug=query.get("slug"),
        active=active,
    )
    return ok(request, items, page=(next_cursor, has_more))


async def _one(request: web.Request, id_or_slug: str) -> web.Response:
    app = request.app
    row = await service.resolve(
        app[keys.DATABASE].reader, request[PRINCIPAL].organization_id, id_or_slug
    )
    return ok(
        request,
        service.serialize(row, app[keys.SETTINGS].effective_booking_base_url, detail=True),
    )


@routes.get("/v1/event-types/{id_or_slug}")
@requires_scope(SCOPE)
async def get_event_type(request: web.Request) -> web.Response:
    return await _one(request, request.match_info["id_or_slug"])


@routes.get("/v1/event-types/{username}/{slug}")
@requires_scope(SCOPE)
async def get_event_type_by_owner(request: web.Request) -> web.Response:
    info = request.match_info
    return await _one(request, f"{info['username']}/{info['slug']}")
