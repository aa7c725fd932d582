"""The authorization endpoint's rules: the request, sign-in, consent, codes.

Problems with the client or its redirect URI are shown to the person (``PageError``): sending
them to an address we cannot vouch for would make this server an open redirector. Every
other problem goes back to the client's redirect URI (``RedirectError``) with ``error``,
``error_description``, ``state`` and ``iss`` (RFC 9207).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from fortytwo.oauth import pkce, redirects
from fortytwo.oauth.credentials import SplitSecret, new_code, new_session_key, parse_session_key
from fortytwo.oauth.errors import PageError, RedirectError
from fortytwo.oauth.pages import ClientView
from fortytwo.oauth.runtime import OAuthServer
from fortytwo.security import scopes as scope_rules
from fortytwo.security.passwords import verify_password
from fortytwo.store import accounts
from fortytwo.store import oauth as oauth_store
from fortytwo.store.accounts import User
from fortytwo.store.oauth import ClientRow, SessionRow

# the parameters of an authorization request, carried through the forms in this order
PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
)
MAX_PARAM = 2000


class Params(Protocol):
    def getall(self, key: str, default: list[str] = ...) -> list[str]: ...


@dataclass(frozen=True)
class AuthorizationRequest:
    client: ClientRow
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str
    fields: tuple[tuple[str, str], ...]  # the request's parameters, for the forms

    def view(self) -> ClientView:
        return ClientView(
            name=self.client.name,
            client_id=self.client.id,
            redirect_host=redirects.host_label(self.redirect_uri),
            self_registered=self.client.registered_by == "dcr",
        )


def _values(params: Params) -> tuple[dict[str, str], set[str]]:
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name in PARAMS:
        found = [v for v in params.getall(name, []) if isinstance(v, str)]
        if len(found) > 1:
            repeated.add(name)
        if found:
            values[name] = found[0]
    return values, repeated


async def parse_request(server: OAuthServer, params: Params) -> AuthorizationRequest:
    """Check an authorization request in the contract's order; raise PageError or
    RedirectError."""
    values, repeated = _values(params)
    client_id = values.get("client_id", "")
    if "client_id" in repeated:
        raise PageError("Invalid request", "The request names client_id more than once.")
    if not client_id:
        raise PageError(
            "Invalid request", "The request does not say which application is asking (client_id)."
        )
    client = (
        await oauth_store.get_client(server.db.reader, client_id)
        if len(client_id) <= 100 else None
    )
    if client is None or client.deleted_at is not None:
        raise PageError(
            "Unknown application",
            "The application that sent you here is not registered with this server.",
        )
    redirect_uri = values.get("redirect_uri", "")
    if "redirect_uri" in repeated:
        raise PageError("Invalid request", "The request names redirect_uri more than once.")
    if not redirect_uri:
        raise PageError(
            "Invalid request", "The request does not say where to send you back (redirect_uri)."
        )
    if not redirects.matches(redirect_uri, client.redirect_uris):
        raise PageError(
            "Invalid redirect address",
            f"{client.name} asked to send you back to an address it has not registered, so "
            "this server will not send you there.",
        )
    state = values.get("state")

    def fail(error: str, description: str) -> RedirectError:
        return RedirectError(redirect_uri, error, description, state)

    if repeated:
        raise fail("invalid_request", f"{sorted(repeated)[0]} is given more than once")
    too_long = next((name for name, value in values.items() if len(value) > MAX_PARAM), None)
    if too_long:
        raise fail("invalid_request", f"{too_long} is longer than {MAX_PARAM} characters")
    response_type = values.get("response_type")
    if not response_type:
        raise fail("invalid_request", "response_type is required; use response_type=code")
    if response_type != "code":
        raise fail("unsupported_response_type", "only response_type=code is supported")
    challenge = values.get("code_challenge")
    method = values.get("code_challenge_method")
    if not challenge:
        raise fail(
            "invalid_request", "code_challenge is required: PKCE with S256 is mandatory"
        )
    if method != "S256":
        raise fail(
            "invalid_request",
            "code_challenge_method must be S256"
            + ("; plain is not supported" if method in (None, "plain") else ""),
        )
    if not pkce.valid_challenge(challenge):
        raise fail(
            "invalid_request",
            "code_challenge must be the 43-character base64url SHA-256 of the code verifier",
        )
    resource = values.get("resource")
    if resource is not None and not resource_ok(server.issuer, resource):
        raise fail("invalid_target", f"resource must be {server.issuer}")
    scopes = requested_scopes(values.get("scope", ""), client, fail)
    fields = tuple((name, values[name]) for name in PARAMS if name in values)
    return AuthorizationRequest(client, redirect_uri, scopes, state, challenge, fields)


def resource_ok(issuer: str, resource: str) -> bool:
    """RFC 8707: the one protected resource here is the server itself (and its /v1)."""
    value = resource.rstrip("/")
    return value == issuer or value == f"{issuer}/v1"


def requested_scopes(text: str, client: ClientRow, fail) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The expanded scopes asked for; none named = every scope the client may ask for (RFC
    6749 3.3 lets the server pick a default; the consent page lists them all)."""
    names = [n for n in text.split(" ") if n]
    if not names:
        return client.scopes
    try:
        expanded = scope_rules.expand(names, allow_offline=True)
    except scope_rules.UnknownScope as exc:
        raise fail("invalid_scope", f"unknown scope {exc.scope!r}") from None
    outside = [s for s in expanded if s not in client.scopes]
    if outside:
        raise fail("invalid_scope", f"this application may not ask for {outside[0]!r}")
    return expanded


# -- sign-in sessions -------------------------------------------------------------------


async def current_session(server: OAuthServer, cookie: str | None) -> SessionRow | None:
    key = parse_session_key(cookie)
    if key is None:
        return None
    row = await oauth_store.get_session(server.db.reader, key.lookup)
    if (
        row is None
        or not key.matches(server.pepper, row.secret_hash)
        or row.user_removed_at is not None
        or row.expires_at <= server.now()
    ):
        return None
    return row


async def start_session(server: OAuthServer, user: User) -> SplitSecret:
    """A fresh cookie value for a signed-in browser (a new one, so a cookie planted before
    sign-in never becomes a signed-in session)."""
    key = new_session_key()
    now = server.now()
    async with server.db.write() as conn:
        await oauth_store.insert_session(
            conn, lookup=key.lookup, secret_hash=key.hashed(server.pepper), user_id=user.id,
            now=now, expires_at=now + timedelta(hours=server.config.session_ttl_hours),
        )
    return key


async def end_session(server: OAuthServer, cookie: str | None) -> None:
    key = parse_session_key(cookie)
    if key is None:
        return
    async with server.db.write() as conn:
        row = await oauth_store.get_session(conn, key.lookup)
        if row is not None and key.matches(server.pepper, row.secret_hash):
            await oauth_store.delete_session(conn, key.lookup)


# -- sign-in with slow-down -------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    user: User | None
    wait_seconds: int = 0  # > 0: refused without checking, come back later


def _failure_keys(username: str, ip: str) -> tuple[str, str]:
    return f"account:{username.lower()[:100]}", f"ip:{ip}"


def delay_for(failures: int, free: int, cap: int) -> int:
    """Seconds to wait after the ``failures``-th wrong password: none for the first
    ``free``, then 1, 2, 4, ... up to ``cap``."""
    extra = failures - free
    if extra <= 0:
        return 0
    return min(cap, 2 ** min(extra - 1, 30))


async def sign_in(server: OAuthServer, username: str, password: str, ip: str) -> SignIn:
    now = server.now()
    window = timedelta(minutes=server.config.login_failure_window_minutes)
    keys = _failure_keys(username, ip)
    known = await oauth_store.get_failures(server.db.reader, keys)
    waits = [
        (row.next_allowed_at - now).total_seconds()
        for row in known.values()
        if row.last_failure_at > now - window
    ]
    wait = max(waits, default=0.0)
    if wait > 0:
        return SignIn(None, max(1, int(wait + 0.999)))
    user = None
    if 0 < len(username) <= 100 and len(password) <= 1000:
        user = await accounts.find_user(server.db.reader, username)
    stored = await accounts.get_password_hash(server.db.reader, user.id) if user else None
    # scrypt is deliberately slow: keep it off the event loop
    ok = await asyncio.to_thread(verify_password, password, stored)
    async with server.db.write() as conn:
        if ok and user is not None:
            await oauth_store.clear_failures(conn, keys[0])
            return SignIn(user)
        for key in keys:
            row = known.get(key)
            count = row.failures + 1 if row and row.last_failure_at > now - window else 1
            delay = delay_for(
                count, server.config.login_free_failures, server.config.login_max_delay_seconds
            )
            await oauth_store.save_failure(conn, key, count, now, now + timedelta(seconds=delay))
    return SignIn(None)


# -- consent and codes ------------------------------------------------------------------


async def has_consent(server: OAuthServer, user_id: str, request: AuthorizationRequest) -> bool:
    granted = await oauth_store.get_consent(server.db.reader, user_id, request.client.id)
    return set(request.scopes) <= set(granted)


async def remember_consent(server: OAuthServer, user_id: str, request: AuthorizationRequest) -> None:
    async with server.db.write() as conn:
        granted = await oauth_store.get_consent(conn, user_id, request.client.id)
        merged = scope_rules.expand(set(granted) | set(request.scopes), allow_offline=True)
        await oauth_store.save_consent(conn, user_id, request.client.id, merged, server.now())


async def issue_code(server: OAuthServer, request: AuthorizationRequest, session: SessionRow) -> str:
    """Store a new code for this request and return the redirect that carries it."""
    code = new_code()
    now = server.now()
    async with server.db.write() as conn:
        await oauth_store.insert_code(
            conn,
            lookup=code.lookup,
            secret_hash=code.hashed(server.pepper),
            client_id=request.client.id,
            user_id=session.user_id,
            organization_id=session.organization_id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            scopes=request.scopes,
            expires_at=now + server.code_ttl,
            now=now,
        )
    return redirects.with_params(
        request.redirect_uri, {"code": code.text, "state": request.state, "iss": server.issuer}
    )


def error_redirect(server: OAuthServer, exc: RedirectError) -> str:
    return redirects.with_params(
        exc.redirect_uri,
        {
            "error": exc.error,
            "error_description": exc.description,
            "state": exc.state,
            "iss": server.issuer,
        },
    )


def denied(server: OAuthServer, request: AuthorizationRequest) -> str:
    return error_redirect(
        server,
        RedirectError(
            request.redirect_uri, "access_denied", "the user denied the request", request.state
        ),
    )


def first(params: Mapping[str, str] | Params, name: str) -> str:
    values = params.getall(name, [])  # type: ignore[union-attr]
    return values[0] if values and isinstance(values[0], str) else ""
