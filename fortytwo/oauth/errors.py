"""Errors of the OAuth endpoints, answered as RFC 6749 bodies rather than the /v1 envelope."""

from __future__ import annotations

from collections.abc import Mapping


class OAuthError(Exception):
    """``{"error": error, "error_description": description}`` with ``status``."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class PageError(Exception):
    """An authorization-request problem shown to the person as an HTML page, never redirected
    (unknown client, bad redirect URI, a form that did not come from our page)."""

    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status


class RedirectError(Exception):
    """An authorization-request problem sent back to the client's redirect URI."""

    def __init__(self, redirect_uri: str, error: str, description: str, state: str | None) -> None:
        super().__init__(f"{error}: {description}")
        self.redirect_uri = redirect_uri
        self.error = error
        self.description = description
        self.state = state
