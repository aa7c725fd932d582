"""Per-route access policy, declared on the handler, enforced by the middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

ANY_TOKEN = ""


def requires_scope(scope: str) -> Callable[[H], H]:
    """Mark a handler as needing a bearer token that carries ``scope`` (``""`` = any)."""

    def mark(handler: H) -> H:
        handler.required_scope = scope  # type: ignore[attr-defined]
        return handler

    return mark


def required_scope(handler: object) -> str | None:
    """The scope a route handler needs, or None for a public route."""
    return getattr(handler, "required_scope", None)
