"""RFC 7591 dynamic client registration (only when ``[oauth] dcr_enabled``)."""

from __future__ import annotations

from typing import Any

from fortytwo.oauth import clients, redirects
from fortytwo.oauth.errors import OAuthError
from fortytwo.oauth.runtime import OAuthServer
from fortytwo.security import scopes as scope_rules
from fortytwo.services.errors import Invalid

AUTH_METHODS = {
    "none": "public",
    "client_secret_basic": "confidential",
    "client_secret_post": "confidential",
}
GRANT_TYPES = ("authorization_code", "refresh_token")


def _bad(description: str) -> OAuthError:
    return OAuthError("invalid_client_metadata", description)


def _string_list(body: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = body.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"{name} must be an array of strings")
    return value


async def register(server: OAuthServer, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object of client metadata")
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise OAuthError("invalid_redirect_uri", "redirect_uris must be a non-empty array of URIs")
    for uri in uris:
        problem = redirects.registration_problem(uri)
        if problem:
            raise OAuthError("invalid_redirect_uri", problem)
    method = body.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise _bad("token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
    grant_types = _string_list(body, "grant_types", ["authorization_code"])
    if not grant_types or any(g not in GRANT_TYPES for g in grant_types):
        raise _bad("grant_types may hold only authorization_code and refresh_token")
    if "authorization_code" not in grant_types:
        raise _bad("grant_types must include authorization_code")
    response_types = _string_list(body, "response_types", ["code"])
    if response_types != ["code"]:
        raise _bad('response_types must be ["code"]')
    name = body.get("client_name")
    if name is None:
        name = redirects.host_label(uris[0])
    if not isinstance(name, str):
        raise _bad("client_name must be a string")
    scope = body.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise _bad("scope must be a space-separated string")
    refresh = "refresh_token" in grant_types
    try:
        if scope is None:
            allowed = tuple(
                s for s in clients.ALL_CLIENT_SCOPES
                if refresh or s != scope_rules.OFFLINE_ACCESS
            )
        else:
            allowed = clients.parse_client_scopes(scope.split(" "))
            if scope_rules.OFFLINE_ACCESS in allowed and not refresh:
                raise _bad("offline_access needs the refresh_token grant type")
        registered = await clients.create(
            server.db,
            org=None,
            name=name,
            redirect_uris=uris,
            client_type=AUTH_METHODS[method],
            scopes=allowed,
            prefix=server.prefix,
            pepper=server.pepper,
            now=server.now(),
            registered_by="dcr",
        )
    except Invalid as exc:
        raise _bad(str(exc)) from None
    answer: dict[str, Any] = {
        "client_id": registered.client_id,
        "client_id_issued_at": int(registered.created_at.timestamp()),
    }
    if registered.client_secret is not None:
        answer["client_secret"] = registered.client_secret
        answer["client_secret_expires_at"] = 0
    answer.update(
        {
            "client_name": registered.name,
            "redirect_uris": list(registered.redirect_uris),
            "token_endpoint_auth_method": method,
            "grant_types": grant_types,
            "response_types": ["code"],
            "scope": " ".join(registered.scopes),
        }
    )
    return answer
