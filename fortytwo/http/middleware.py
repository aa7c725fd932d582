"""The request pipeline: request id, HTTPS, authentication, rate limit, scope, errors.

Order (contract 2.3): route → HTTPS → authentication → rate limit → scope → handler. Every
response leaves with ``X-Request-Id``; every ``/v1`` response with the rate-limit headers of
the bucket it was counted in. Anything a handler raises becomes the error envelope: an
``ApiError`` as it is, an aiohttp HTTP exception by its status, and anything else as a 500
whose message carries the request id while the log keeps the trace.
"""

from __future__ import annotations

import logging
import math
import time

from aiohttp import web

from fortytwo import keys
from fortytwo.config import Settings
from fortytwo.http.errors import ApiError
from fortytwo.http.lifecycle import shutting_down_response
from fortytwo.http.policy import required_scope
from fortytwo.http.ratelimit import RateDecision
from fortytwo.http.responses import (
    PRINCIPAL,
    RATE,
    REQUEST_ID,
    error_body,
    json_response,
    new_request_id,
)
from fortytwo.http.secheaders import add_common as add_common_headers
from fortytwo.oauth.pages import error_page, security_headers
from fortytwo.services.authn import AuthError, Principal

log = logging.getLogger("fortytwo.http")

_STATUS_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


# the OAuth endpoints' per-IP buckets (contract 2.5); their settings share the names
_OAUTH_BUCKETS = {
    "/v1/oauth/authorize": "oauth_authorize",
    "/v1/oauth/token": "oauth_token",
    "/v1/oauth/revoke": "oauth_revoke",
    "/v1/oauth/introspect": "oauth_introspect",
    "/v1/oauth/register": "oauth_register",
}
# answered to any origin, without credentials (contract 11); /.well-known/* besides
_CORS_POST = frozenset({"/v1/oauth/token", "/v1/oauth/revoke"})
_CORS_EXPOSE = "Retry-After, X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"


def _is_api(path: str) -> bool:
    return path.startswith("/v1/") and not path.startswith("/v1/oauth/")


def _cors_methods(path: str) -> str | None:
    if path in _CORS_POST:
        return "POST, OPTIONS"
    if path.startswith("/.well-known/"):
        return "GET, OPTIONS"
    return None


def _preflight(methods: str) -> web.Response:
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


def _oauth_limited(request: web.Request, bucket: str, now: float) -> web.Response | None:
    """Count an OAuth endpoint request in its per-IP bucket; the 429 answer when empty
    (an HTML page for the browser-facing authorize endpoint, an RFC 6749-style body for
    the others)."""
    app = request.app
    ip = app[keys.PROXY_POLICY].client_ip(request)
    decision = _count(request, bucket, ip, getattr(app[keys.SETTINGS].rate_limits, bucket), now)
    if decision.allowed:
        return None
    retry = max(1, math.ceil(decision.reset - now))
    if bucket == "oauth_authorize":
        page = error_page(
            "Too many requests",
            f"Too many sign-in requests came from your network; wait {retry} seconds, then "
            "try again.",
        )
        return web.Response(
            text=page, status=429, content_type="text/html", charset="utf-8",
            headers={**security_headers(), "Retry-After": str(retry)},
        )
    return json_response(
        {
            "error": "rate_limited",
            "error_description": f"Too many requests in the {bucket} bucket; retry after "
            f"{retry} seconds.",
        },
        429,
        {"Retry-After": str(retry), "Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _challenge(request: web.Request, exc: AuthError | None) -> str:
    settings = request.app[keys.SETTINGS]
    parts = [
        f'realm="{settings.server.realm}"',
        f'resource_metadata="{settings.effective_public_url}'
        '/.well-known/oauth-protected-resource"',
    ]
    if exc is not None and exc.presented:
        description = exc.message.replace('"', "'")
        parts += ['error="invalid_token"', f'error_description="{description}"']
    return "Bearer " + ", ".join(parts)


def _rate_limited(decision: RateDecision, now: float) -> ApiError:
    retry = max(1, math.ceil(decision.reset - now))
    return ApiError(
        429,
        "rate_limited",
        f"Too many requests in the {decision.bucket} bucket; retry after {retry} seconds.",
        {"bucket": decision.bucket, "limit": decision.limit, "window_seconds": 60},
        {"Retry-After": str(retry)},
    )


def _count(request: web.Request, bucket: str, key: str, limit: int, now: float) -> RateDecision:
    decision = request.app[keys.RATE_LIMITER].hit(bucket, key, limit, now)
    request[RATE] = decision
    return decision


def _limit_for(request: web.Request, principal: Principal) -> tuple[str, int]:
    limits = request.app[keys.SETTINGS].rate_limits
    if principal.auth_type == "oauth":
        return "oauth", limits.oauth
    return "pat", limits.pat


async def _authenticate(request: web.Request, now: float) -> Principal:
    """Resolve the caller and count the request in its bucket (401/429 on failure)."""
    app = request.app
    try:
        principal = await app[keys.AUTHENTICATOR].authenticate(
            request.headers.get("Authorization")
        )
    except AuthError as exc:
        ip = app[keys.PROXY_POLICY].client_ip(request)
        decision = _count(request, "anonymous", ip, app[keys.SETTINGS].rate_limits.anonymous, now)
        if not decision.allowed:
            # an exhausted anonymous bucket answers 429 before any more token checks
            raise _rate_limited(decision, now) from None
        raise ApiError(
            401, exc.code, exc.message, headers={"WWW-Authenticate": _challenge(request, exc)}
        ) from None
    bucket, limit = _limit_for(request, principal)
    decision = _count(request, bucket, principal.rate_key, limit, now)
    if not decision.allowed:
        raise _rate_limited(decision, now)
    return principal


async def _count_unrouted(request: web.Request, now: float) -> None:
    """A /v1 request that matched no route still counts, in its caller's bucket."""
    try:
        await _authenticate(request, now)
    except ApiError:
        pass


async def _pipeline(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    if request.method == "OPTIONS":
        methods = _cors_methods(request.path)
        if methods is not None:
            return _preflight(methods)
    match_info = request.match_info
    route_error = match_info.http_exception
    api = _is_api(request.path)
    if route_error is not None:
        if api:
            await _count_unrouted(request, request.app[keys.CLOCK]().timestamp())
        raise route_error
    settings = request.app[keys.SETTINGS]
    if (
        settings.https_enforced
        and request.path != "/healthz"
        and not request.app[keys.PROXY_POLICY].arrived_over_tls(request)
    ):
        raise ApiError(
            403,
            "https_required",
            f"This server only accepts HTTPS; use {settings.effective_public_url}.",
        )
    bucket = _OAUTH_BUCKETS.get(request.path)
    if bucket is not None:
        limited = _oauth_limited(request, bucket, request.app[keys.CLOCK]().timestamp())
        if limited is not None:
            return limited
    scope = required_scope(match_info.route.handler)
    if scope is not None:
        principal = await _authenticate(request, request.app[keys.CLOCK]().timestamp())
        if scope and scope not in principal.scopes:
            raise ApiError(
                403,
                "insufficient_scope",
                f"This action requires the '{scope}' scope; ask for a token that has it.",
                {"required_scope": scope},
                {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        request[PRINCIPAL] = principal
    if api:
        _check_query_size(request, settings)
    return await handler(request)


def _check_query_size(request: web.Request, settings: Settings) -> None:
    """400 for a /v1 query string over ``server.max_query_length`` bytes (as sent) or with
    more than ``server.max_query_params`` parameters, before anything parses it."""
    _, has_query, query = request.raw_path.partition("?")
    if not has_query:
        return
    limit = settings.server.max_query_length
    if len(query) > limit:
        raise ApiError(
            400, "invalid_request",
            f"The query string is {len(query)} bytes long; send at most {limit}.",
            {"max_query_length": limit},
        )
    most = settings.server.max_query_params
    if query.count("&") >= most:
        raise ApiError(
            400, "invalid_request",
            f"The query string has more than {most} parameters; send fewer.",
            {"max_query_params": most},
        )


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> ApiError:
    status = exc.status
    headers: dict[str, str] = {}
    if status == 404:
        message = (
            f"Nothing is served at {request.path}; "
            "see /openapi.json for the routes this server has."
        )
    elif status == 405:
        allow = exc.headers.get("Allow", "")
        headers["Allow"] = allow
        message = f"{request.method} is not allowed on {request.path}; allowed: {allow}."
    elif status == 413:
        message = "The request body is larger than 1 MiB; send a smaller body."
    else:
        message = exc.reason or "The request could not be handled."
    code = _STATUS_CODES.get(status, "invalid_request" if status < 500 else "internal_error")
    return ApiError(status, code, message, {}, headers)


@web.middleware
async def pipeline_middleware(
    request: web.Request, handler: web.RequestHandler
) -> web.StreamResponse:
    started = time.perf_counter()
    request_id = new_request_id()
    request[REQUEST_ID] = request_id
    lifecycle = request.app[keys.LIFECYCLE]
    try:
        if lifecycle.draining:  # shutting down: refuse before any other work
            response = shutting_down_response(request.path, request_id)
        else:
            with lifecycle.track():
                response = await _pipeline(request, handler)
    except ApiError as exc:
        response = _render(exc, request_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            response = exc
        else:
            response = _render(_from_http_exception(request, exc), request_id)
    except Exception:
        log.exception("unhandled error for request %s", request_id)
        response = _render(
            ApiError(
                500,
                "internal_error",
                f"Something went wrong on our side; quote {request_id} when reporting it.",
            ),
            request_id,
        )
    response.headers["X-Request-Id"] = request_id
    add_common_headers(request, response)
    path = request.path
    if path in _CORS_POST or path.startswith("/.well-known/"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = _CORS_EXPOSE
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    decision = request.get(RATE)
    if decision is not None:
        response.headers.update(decision.headers())
    if lifecycle.draining:  # also for a request that began before: its connection ends here
        response.force_close()
    return response


def _render(exc: ApiError, request_id: str) -> web.Response:
    return json_response(
        error_body(exc.code, exc.message, exc.details, request_id), exc.status, exc.headers
    )
