"""Discovery documents: RFC 8414 authorization-server and RFC 9728 protected-resource
metadata. Both are built from the configuration alone."""

from __future__ import annotations

from typing import Any

from fortytwo.security import scopes as scope_rules

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
INTROSPECTION_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def scopes_supported() -> list[str]:
    """Active, reserved, the aliases, then ``offline_access``."""
    return [
        *scope_rules.ACTIVE,
        *scope_rules.RESERVED,
        *scope_rules.ALIASES,
        scope_rules.OFFLINE_ACCESS,
    ]


def authorization_server(issuer: str, *, dcr_enabled: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/v1/oauth/authorize",
        "token_endpoint": f"{issuer}/v1/oauth/token",
        "revocation_endpoint": f"{issuer}/v1/oauth/revoke",
        "introspection_endpoint": f"{issuer}/v1/oauth/introspect",
    }
    if dcr_enabled:
        doc["registration_endpoint"] = f"{issuer}/v1/oauth/register"
    doc.update(
        {
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
            "introspection_endpoint_auth_methods_supported": list(INTROSPECTION_AUTH_METHODS),
            "scopes_supported": scopes_supported(),
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": f"{issuer}/docs",
        }
    )
    return doc


def protected_resource(issuer: str) -> dict[str, Any]:
    return {
        "resource": issuer,
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": scopes_supported(),
        "resource_name": "fortytwo (42min API)",
        "resource_documentation": f"{issuer}/docs",
    }
