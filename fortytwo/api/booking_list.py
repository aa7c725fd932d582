"""GET /v1/bookings: one page of the caller's organization's bookings.

The parameters and the catch-up feed guarantee are described in
:mod:`fortytwo.services.booking_list`.
"""

from __future__ import annotations

from aiohttp import web

from fortytwo import keys
from fortytwo.http.policy import requires_scope
from fortytwo.http.responses import PRINCIPAL, ok
from fortytwo.services import booking_list as service

routes = web.RouteTableDef()


@routes.get("/v1/bookings")
@requires_scope("bookings:read")
async def list_bookings(request: web.Request) -> web.Response:
    query = service.parse_list_query(request.query)
    app = request.app
    items, next_cursor, has_more = await service.list_page(
        app[keys.DATABASE].reader,
        request[PRINCIPAL].organization_id,
        secret=app[keys.SECRET_KEY],
        query=query,
    )
    return ok(request, items, page=(next_cursor, has_more))
