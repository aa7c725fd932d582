"""The token, revocation and introspection endpoints' rules, and client authentication.

Codes are exchanged and refresh tokens rotated inside one write transaction each, so two
requests racing with the same code or refresh token cannot both win: the second one sees the
first one's spend and is treated as a replay, which revokes the grant (the token family).
Revocations are committed before the error is returned; the in-process credential cache is
then dropped so the next request sees them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from fortytwo.db.database import Conn
from fortytwo.oauth import pkce
from fortytwo.oauth.credentials import client_secret_matches, parse_code
from fortytwo.oauth.errors import OAuthError
from fortytwo.oauth.runtime import OAuthServer
from fortytwo.security import scopes as scope_rules
from fortytwo.security.tokens import mint, parse_token, secret_matches
from fortytwo.store import accounts
from fortytwo.store import oauth as oauth_store
from fortytwo.store.common import new_id
from fortytwo.store.oauth import ClientRow, TokenRow

GRANT_TYPES = ("authorization_code", "refresh_token")


class Form(Mapping[str, str]):
    """A form body that refuses repeated parameters (RFC 6749 section 3.2)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            if name in self._values:
                raise OAuthError("invalid_request", f"{name} is given more than once")
            self._values[name] = value

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


# -- client authentication --------------------------------------------------------------


@dataclass(frozen=True)
class AuthenticatedClient:
    client: ClientRow
    method: str  # client_secret_basic | client_secret_post | none


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ("", "")
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return ("", "")
    # RFC 6749 2.3.1: both parts are form-urlencoded before they are joined
    return unquote_plus(client_id), unquote_plus(secret)


async def authenticate_client(
    server: OAuthServer,
    authorization: str | None,
    form: Mapping[str, str],
    *,
    public_allowed: bool,
) -> AuthenticatedClient:
    """The calling client, authenticated by ``client_secret_basic``, ``client_secret_post``
    or (when ``public_allowed`` and the client is public) ``none``."""
    basic = _basic(authorization) if authorization else None
    challenge = {"WWW-Authenticate": f'Basic realm="{server.realm}"'}

    def refuse(description: str) -> OAuthError:
        return OAuthError("invalid_client", description, 401, challenge)

    if basic is not None:
        client_id, secret = basic
        if not client_id:
            raise refuse("the Basic credentials are malformed")
        if "client_secret" in form:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        if form.get("client_id", client_id) != client_id:
            raise refuse("client_id in the body differs from the Basic credentials")
        method = "client_secret_basic"
    else:
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        if not client_id:
            raise refuse("authenticate the client: client_id is missing")
        method = "client_secret_post" if "client_secret" in form else "none"
    client = await oauth_store.get_client(server.db.reader, client_id) if len(client_id) <= 100 else None
    if client is None or client.deleted_at is not None:
        raise refuse("unknown client")
    if client.confidential:
        if method == "none":
            raise refuse("this client is confidential: send its secret (Basic or client_secret)")
        if not client_secret_matches(server.pepper, secret, client.secret_hash):
            raise refuse("the client secret is wrong")
    else:
        if method != "none":
            raise refuse("this client is public and has no secret; send only client_id")
        if not public_allowed:
            raise refuse("public clients may not use this endpoint; authenticate with a secret")
    return AuthenticatedClient(client, method)


# -- token responses --------------------------------------------------------------------


async def _issue(
    server: OAuthServer,
    conn: Conn,
    grant_id: str,
    access_scopes: tuple[str, ...],
    grant_scopes: tuple[str, ...],
    now: datetime,
) -> dict[str, Any]:
    access = mint(server.prefix, "at", server.pepper)
    await oauth_store.insert_token(
        conn, token_id=new_id(), grant_id=grant_id, kind="access", lookup=access.lookup,
        secret_hash=access.secret_hash, last_four=access.last_four, scopes=access_scopes,
        expires_at=now + server.access_ttl, now=now,
    )
    body: dict[str, Any] = {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": int(server.access_ttl.total_seconds()),
        "scope": " ".join(access_scopes),
    }
    if scope_rules.OFFLINE_ACCESS in grant_scopes:
        refresh = mint(server.prefix, "rt", server.pepper)
        await oauth_store.insert_token(
            conn, token_id=new_id(), grant_id=grant_id, kind="refresh", lookup=refresh.lookup,
            secret_hash=refresh.secret_hash, last_four=refresh.last_four, scopes=grant_scopes,
            expires_at=now + server.refresh_ttl, now=now,
        )
        body["refresh_token"] = refresh.token
    return body


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise OAuthError("invalid_request", f"{name} is required")
    return value


async def token(server: OAuthServer, caller: AuthenticatedClient, form: Mapping[str, str]) -> dict[str, Any]:
    grant_type = form.get("grant_type", "")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type == "authorization_code":
        return await exchange_code(server, caller.client, form)
    if grant_type == "refresh_token":
        return await refresh(server, caller.client, form)
    raise OAuthError(
        "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"
    )


async def exchange_code(server: OAuthServer, client: ClientRow, form: Mapping[str, str]) -> dict[str, Any]:
    text = _required(form, "code")
    redirect_uri = _required(form, "redirect_uri")
    verifier = _required(form, "code_verifier")
    if not pkce.valid_verifier(verifier):
        raise OAuthError(
            "invalid_request", "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"
        )
    code = parse_code(text)
    if code is None:
        raise OAuthError("invalid_grant", "the code is not valid")
    now = server.now()
    replayed = False
    outcome: dict[str, Any] | OAuthError
    async with server.db.write() as conn:
        row = await oauth_store.get_code(conn, code.lookup)
        if row is None or not code.matches(server.pepper, row.secret_hash):
            outcome = OAuthError("invalid_grant", "the code is not valid")
        elif row.consumed_at is not None:
            # a spent code came back: whoever holds it, revoke what it issued
            if row.grant_id is not None:
                replayed = await oauth_store.revoke_grant(conn, row.grant_id, "code_replayed", now)
            outcome = OAuthError(
                "invalid_grant", "the code was already used; the tokens it issued are revoked"
            )
        elif row.client_id != client.id:
            outcome = OAuthError("invalid_grant", "the code was issued to another client")
        elif row.expires_at <= now:
            outcome = OAuthError("invalid_grant", "the code has expired; start again")
        elif row.redirect_uri != redirect_uri:
            outcome = OAuthError(
                "invalid_grant", "redirect_uri differs from the one in the authorization request"
            )
        elif not pkce.verify(verifier, row.code_challenge):
            outcome = OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        elif await _user_removed(conn, row.user_id):
            outcome = OAuthError("invalid_grant", "the user who approved the request is gone")
        else:
            grant_id = new_id()
            await oauth_store.insert_grant(
                conn, grant_id=grant_id, client_id=client.id, user_id=row.user_id,
                organization_id=row.organization_id, scopes=row.scopes, now=now,
            )
            if not await oauth_store.consume_code(conn, code.lookup, grant_id, now):
                raise RuntimeError("code consumed concurrently under the write lock")  # pragma: no cover
            outcome = await _issue(server, conn, grant_id, row.scopes, row.scopes, now)
    if replayed:
        await server.credentials_changed()
    if isinstance(outcome, OAuthError):
        raise outcome
    return outcome


async def _user_removed(conn: Conn, user_id: str) -> bool:
    user = await accounts.get_user(conn, user_id)
    return user is None or user.removed_at is not None


def _narrowed(form: Mapping[str, str], granted: tuple[str, ...]) -> tuple[str, ...]:
    text = form.get("scope")
    if text is None:
        return granted
    names = [n for n in text.split(" ") if n]
    if not names:
        raise OAuthError("invalid_scope", "scope is empty; leave it out to keep the granted scopes")
    try:
        wanted = scope_rules.expand(names, allow_offline=True)
    except scope_rules.UnknownScope as exc:
        raise OAuthError("invalid_scope", f"unknown scope {exc.scope!r}") from None
    broader = [s for s in wanted if s not in granted]
    if broader:
        raise OAuthError(
            "invalid_scope", f"{broader[0]!r} was not granted; a refresh can only narrow scopes"
        )
    return wanted


async def refresh(server: OAuthServer, client: ClientRow, form: Mapping[str, str]) -> dict[str, Any]:
    text = _required(form, "refresh_token")
    parsed = parse_token(text)
    if parsed is None or parsed.kind != "rt" or parsed.prefix != server.prefix:
        raise OAuthError("invalid_grant", "the refresh token is not valid")
    now = server.now()
    revoked = False
    outcome: dict[str, Any] | OAuthError
    async with server.db.write() as conn:
        row = await oauth_store.get_token(conn, "refresh", parsed.lookup)
        genuine = _secret_ok(server, parsed.secret, row)  # the same work whether row exists
        if row is None or not genuine:
            outcome = OAuthError("invalid_grant", "the refresh token is not valid")
        elif row.used_at is not None:
            # a spent refresh token came back, whoever sends it: the family is compromised
            revoked = await oauth_store.revoke_grant(conn, row.grant_id, "refresh_token_reused", now)
            outcome = OAuthError(
                "invalid_grant",
                "the refresh token was already used; every token of this grant is now revoked",
            )
        elif row.client_id != client.id:
            outcome = OAuthError("invalid_grant", "the refresh token was issued to another client")
        elif row.dead:
            outcome = OAuthError("invalid_grant", "the refresh token was revoked")
        elif row.expires_at <= now:
            outcome = OAuthError("invalid_grant", "the refresh token has expired")
        else:
            try:
                scopes = _narrowed(form, row.scopes)
            except OAuthError as exc:
                outcome = exc
            else:
                await oauth_store.spend_refresh_token(conn, row.id, now)
                outcome = await _issue(server, conn, row.grant_id, scopes, row.scopes, now)
    if revoked:
        await server.credentials_changed()
    if isinstance(outcome, OAuthError):
        raise outcome
    return outcome


def _secret_ok(server: OAuthServer, secret: str, row: TokenRow | None) -> bool:
    """Compare in constant time; an unknown lookup is compared with a stand-in hash, so it
    costs what a wrong secret costs."""
    return secret_matches(server.pepper, secret, row.secret_hash if row is not None else None)


# -- revocation and introspection -------------------------------------------------------


async def _find(server: OAuthServer, text: str) -> TokenRow | None:
    parsed = parse_token(text) if len(text) <= 100 else None
    if parsed is None or parsed.kind not in ("at", "rt") or parsed.prefix != server.prefix:
        return None
    kind = "access" if parsed.kind == "at" else "refresh"
    row = await oauth_store.get_token(server.db.reader, kind, parsed.lookup)
    return row if _secret_ok(server, parsed.secret, row) else None


async def revoke(server: OAuthServer, client: ClientRow, form: Mapping[str, str]) -> None:
    """RFC 7009. Unknown tokens, and tokens of other clients, are left alone without an
    error; revoking a refresh token revokes its whole grant."""
    text = _required(form, "token")
    row = await _find(server, text)
    if row is None or row.client_id != client.id:
        return
    now = server.now()
    async with server.db.write() as conn:
        if row.kind == "refresh":
            changed = await oauth_store.revoke_grant(conn, row.grant_id, "revoked_by_client", now)
        else:
            changed = await oauth_store.revoke_token(conn, row.id, now)
    if changed:
        await server.credentials_changed()


async def introspect(server: OAuthServer, client: ClientRow, form: Mapping[str, str]) -> dict[str, Any]:
    """RFC 7662, for the calling client's own tokens; anything else is inactive."""
    text = _required(form, "token")
    row = await _find(server, text)
    now = server.now()
    if (
        row is None
        or row.client_id != client.id
        or row.dead
        or row.expires_at <= now
        or row.used_at is not None
    ):
        return {"active": False}
    return {
        "active": True,
        "scope": " ".join(row.scopes),
        "client_id": row.client_id,
        "username": row.username,
        "token_type": "Bearer" if row.kind == "access" else "refresh_token",
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.created_at.timestamp()),
        "sub": row.user_id,
        "iss": server.issuer,
    }
