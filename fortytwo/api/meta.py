"""Identity and service routes: /, /healthz, /v1/_ping, /v1/me."""

from __future__ import annotations

from aiohttp import web

from fortytwo import __version__, keys
from fortytwo.http.errors import ApiError
from fortytwo.http.policy import ANY_TOKEN, requires_scope
from fortytwo.http.responses import PRINCIPAL, json_response, ok
from fortytwo.services import identity

routes = web.RouteTableDef()


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    base = request.app[keys.SETTINGS].effective_public_url
    return json_response(
        {
            "name": "fortytwo",
            "version": __version__,
            "docs": f"{base}/docs",
            "openapi": f"{base}/openapi.json",
        }
    )


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    healthy = await identity.database_answers(request.app[keys.DATABASE])
    if healthy:
        return json_response({"status": "ok"})
    return json_response({"status": "unavailable"}, status=503)


@routes.get("/v1/_ping")
@requires_scope(ANY_TOKEN)
async def ping(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    data = {
        "ok": True,
        "auth_type": principal.auth_type,
        "account_id": principal.organization_id,
        "scopes": list(principal.scope_list),
    }
    if principal.client_id is not None:
        data["client_id"] = principal.client_id
    return ok(request, data)


@routes.get("/v1/me")
@requires_scope("user:read")
async def me(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    app = request.app
    profile = await identity.me(
        app[keys.DATABASE],
        principal,
        plan=app[keys.LICENSE].plan_at(app[keys.CLOCK]()),
        cache=app[keys.AUTHENTICATOR].profiles,
    )
    if profile is None:
        raise ApiError(401, "token_revoked", "The token's user no longer exists.")
    return ok(request, profile)
