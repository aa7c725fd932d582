"""OAuth 2.1 endpoints under /v1/oauth: authorize (pages and forms), token, revoke,
introspect and (when enabled) register. Bodies are the RFCs' own, never the /v1 envelope.

The browser side keeps one cookie, path ``/v1/oauth``: a random ``<lookup>.<secret>`` value
that is anonymous until the person signs in (then it is replaced by a new value that names a
server-side session). Every form carries a CSRF token derived from that cookie with the
server's secret key, so a form posted from another site, or without the cookie, is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from fortytwo import keys
from fortytwo.http.responses import json_response
from fortytwo.oauth import authorize as flow
from fortytwo.oauth import grants, redirects, registration
from fortytwo.oauth.credentials import (
    csrf_matches,
    csrf_token,
    new_session_key,
    parse_session_key,
)
from fortytwo.oauth.errors import OAuthError, PageError, RedirectError
from fortytwo.oauth.pages import consent_page, error_page, security_headers, sign_in_page
from fortytwo.oauth.runtime import OAuthServer
from fortytwo.store.oauth import SessionRow

routes = web.RouteTableDef()

COOKIE = "fortytwo_oauth"
COOKIE_PATH = "/v1/oauth"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM_TYPE = "application/x-www-form-urlencoded"


def _server(request: web.Request) -> OAuthServer:
    return request.app[keys.OAUTH]


# -- responses --------------------------------------------------------------------------


def _html(
    text: str, status: int = 200, form_action: Iterable[str] = (), extra: Mapping[str, str] | None = None
) -> web.Response:
    headers = security_headers(form_action)
    if extra:
        headers.update(extra)
    return web.Response(
        text=text, status=status, content_type="text/html", charset="utf-8", headers=headers
    )


def _page_error(exc: PageError) -> web.Response:
    return _html(error_page(exc.title, exc.message), exc.status)


def _redirect(location: str, status: int) -> web.Response:
    return web.Response(
        status=status, headers={"Location": location, "Referrer-Policy": "no-referrer", **NO_STORE}
    )


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return json_response(payload, status, {**NO_STORE, **(headers or {})})


def _oauth_error(exc: OAuthError) -> web.Response:
    return _json(exc.body(), exc.status, exc.headers)


def _set_cookie(response: web.StreamResponse, server: OAuthServer, value: str, max_age: int | None) -> None:
    response.set_cookie(
        COOKIE, value, path=COOKIE_PATH, httponly=True, secure=server.secure_cookies,
        samesite="Lax", max_age=max_age,
    )


# -- the authorization endpoint ---------------------------------------------------------


class _Browser:
    """The cookie this browser holds (or a new anonymous one to hand it)."""

    def __init__(self, request: web.Request) -> None:
        value = request.cookies.get(COOKIE)
        self.fresh = parse_session_key(value) is None
        self.value: str = new_session_key().text if self.fresh or value is None else value
        self.max_age: int | None = None

    def replace(self, value: str, max_age: int | None) -> None:
        self.value, self.fresh, self.max_age = value, True, max_age

    def finish(self, response: web.Response, server: OAuthServer) -> web.Response:
        if self.fresh:
            _set_cookie(response, server, self.value, self.max_age)
        return response


def _form_action(auth: flow.AuthorizationRequest) -> list[str]:
    found = redirects.origin(auth.redirect_uri)
    return [found] if found else []


async def _next_step(
    server: OAuthServer,
    browser: _Browser,
    auth: flow.AuthorizationRequest,
    session: SessionRow | None,
    redirect_status: int,
) -> web.Response:
    """Sign-in page, consent page, or straight back with a code when consent is remembered."""
    csrf = csrf_token(server.secret_key, browser.value)
    if session is None:
        page = sign_in_page(auth.view(), auth.fields, csrf)
        return browser.finish(_html(page, form_action=_form_action(auth)), server)
    if await flow.has_consent(server, session.user_id, auth):
        location = await flow.issue_code(server, auth, session)
        return browser.finish(_redirect(location, redirect_status), server)
    page = consent_page(
        auth.view(), auth.fields, csrf, username=session.username, scopes=auth.scopes
    )
    return browser.finish(_html(page, form_action=_form_action(auth)), server)


@routes.get("/v1/oauth/authorize")
async def authorize(request: web.Request) -> web.Response:
    server = _server(request)
    try:
        auth = await flow.parse_request(server, request.query)
    except PageError as exc:
        return _page_error(exc)
    except RedirectError as exc:
        return _redirect(flow.error_redirect(server, exc), 302)
    browser = _Browser(request)
    session = None if browser.fresh else await flow.current_session(server, browser.value)
    return await _next_step(server, browser, auth, session, 302)


@routes.post("/v1/oauth/authorize")
async def authorize_form(request: web.Request) -> web.Response:
    server = _server(request)
    if request.content_type != FORM_TYPE:
        return _page_error(PageError("Invalid request", "The form was not sent as a web form."))
    try:
        form = await request.post()
    except ValueError:  # not UTF-8 (UnicodeDecodeError is a ValueError)
        return _page_error(PageError("Invalid request", "The form could not be read."))
    cookie = request.cookies.get(COOKIE)
    if parse_session_key(cookie) is None or not csrf_matches(
        server.secret_key, cookie, flow.first(form, "csrf_token")
    ):
        return _page_error(
            PageError(
                "This form has expired",
                "The form did not come from this page, or your browser did not send back its "
                "cookie. Go back to the application and start again (cookies must be enabled).",
                403,
            )
        )
    try:
        auth = await flow.parse_request(server, form)
    except PageError as exc:
        return _page_error(exc)
    except RedirectError as exc:
        return _redirect(flow.error_redirect(server, exc), 303)
    browser = _Browser(request)
    action = flow.first(form, "form")
    if action == "sign_in":
        return await _sign_in(request, server, browser, auth, form)
    if action == "sign_out":
        await flow.end_session(server, browser.value)
        browser.replace(new_session_key().text, None)
        return await _next_step(server, browser, auth, None, 303)
    if action != "consent":
        return _page_error(PageError("Invalid request", "The form does not say what to do."))
    session = await flow.current_session(server, browser.value)
    if session is None:
        csrf = csrf_token(server.secret_key, browser.value)
        page = sign_in_page(
            auth.view(), auth.fields, csrf, error="Your sign-in has ended; sign in again."
        )
        return browser.finish(_html(page, 200, _form_action(auth)), server)
    decision = flow.first(form, "decision")
    if decision == "deny":
        return _redirect(flow.denied(server, auth), 303)
    if decision != "approve":
        return _page_error(PageError("Invalid request", "Choose Allow or Deny."))
    await flow.remember_consent(server, session.user_id, auth)
    return _redirect(await flow.issue_code(server, auth, session), 303)


async def _sign_in(
    request: web.Request,
    server: OAuthServer,
    browser: _Browser,
    auth: flow.AuthorizationRequest,
    form: Mapping[str, Any],
) -> web.Response:
    username = flow.first(form, "username").strip()  # type: ignore[arg-type]
    password = flow.first(form, "password")  # type: ignore[arg-type]
    ip = request.app[keys.PROXY_POLICY].client_ip(request)
    result = await flow.sign_in(server, username, password, ip)
    if result.user is None:
        csrf = csrf_token(server.secret_key, browser.value)
        if result.wait_seconds:
            unit = "second" if result.wait_seconds == 1 else "seconds"
            message = (
                f"Too many wrong passwords. Wait {result.wait_seconds} {unit}, then try again."
            )
            status, extra = 429, {"Retry-After": str(result.wait_seconds)}
        else:
            message = "The username or password is wrong."
            status, extra = 400, {}
        page = sign_in_page(auth.view(), auth.fields, csrf, error=message, username=username[:100])
        return browser.finish(_html(page, status, _form_action(auth), extra), server)
    key = await flow.start_session(server, result.user)
    browser.replace(key.text, server.config.session_ttl_hours * 3600)
    session = await flow.current_session(server, key.text)
    return await _next_step(server, browser, auth, session, 303)


# -- token, revocation, introspection, registration -------------------------------------


async def _form(request: web.Request) -> grants.Form:
    if request.content_type != FORM_TYPE:
        raise OAuthError(
            "invalid_request", f"send the parameters form-encoded ({FORM_TYPE})"
        )
    try:
        body = await request.post()
    except ValueError:  # not UTF-8 (UnicodeDecodeError is a ValueError)
        raise OAuthError("invalid_request", "the form body is not valid UTF-8") from None
    return grants.Form([(k, v) for k, v in body.items() if isinstance(v, str)])


@routes.post("/v1/oauth/token")
async def token(request: web.Request) -> web.Response:
    server = _server(request)
    try:
        form = await _form(request)
        caller = await grants.authenticate_client(
            server, request.headers.get("Authorization"), form, public_allowed=True
        )
        return _json(await grants.token(server, caller, form))
    except OAuthError as exc:
        return _oauth_error(exc)


@routes.post("/v1/oauth/revoke")
async def revoke(request: web.Request) -> web.Response:
    server = _server(request)
    try:
        form = await _form(request)
        caller = await grants.authenticate_client(
            server, request.headers.get("Authorization"), form, public_allowed=True
        )
        await grants.revoke(server, caller.client, form)
    except OAuthError as exc:
        return _oauth_error(exc)
    return web.Response(status=200, headers=NO_STORE)


@routes.post("/v1/oauth/introspect")
async def introspect(request: web.Request) -> web.Response:
    server = _server(request)
    try:
        form = await _form(request)
        caller = await grants.authenticate_client(
            server, request.headers.get("Authorization"), form, public_allowed=False
        )
        return _json(await grants.introspect(server, caller.client, form))
    except OAuthError as exc:
        return _oauth_error(exc)


@routes.post("/v1/oauth/register")
async def register(request: web.Request) -> web.Response:
    server = _server(request)
    if not server.config.dcr_enabled:
        raise web.HTTPNotFound()
    try:
        if request.content_type != "application/json":
            raise OAuthError("invalid_client_metadata", "send the client metadata as application/json")
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise OAuthError("invalid_client_metadata", "the body is not valid JSON") from None
        return _json(await registration.register(server, body), 201)
    except OAuthError as exc:
        return _oauth_error(exc)
