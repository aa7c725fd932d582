"""Discovery: /.well-known/oauth-authorization-server (RFC 8414) and
/.well-known/oauth-protected-resource (RFC 9728). Public, unwrapped, cacheable."""

from __future__ import annotations

from aiohttp import web

from fortytwo import keys
from fortytwo.http.responses import json_response
from fortytwo.oauth import metadata

routes = web.RouteTableDef()
CACHE = {"Cache-Control": "public, max-age=300"}


@routes.get("/.well-known/oauth-authorization-server")
async def authorization_server(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    doc = metadata.authorization_server(
        settings.effective_public_url, dcr_enabled=settings.oauth.dcr_enabled
    )
    return json_response(doc, headers=CACHE)


@routes.get("/.well-known/oauth-protected-resource")
async def protected_resource(request: web.Request) -> web.Response:
    doc = metadata.protected_resource(request.app[keys.SETTINGS].effective_public_url)
    return json_response(doc, headers=CACHE)
