"""Redirect URIs: which ones a client may register, matching, and building the answer.

Registered URIs are matched exactly, character for character. The one exception is the
loopback interface (RFC 8252 section 7.3): a native app listening on ``http://127.0.0.1``,
``http://[::1]`` or ``http://localhost`` picks its port at run time, so for those the port
may differ while scheme, host, path and query must still be identical.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlencode, urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_LENGTH = 2000
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*$")
# schemes that would run code or reach local resources in a browser
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob", "filesystem"})


def _split(uri: str) -> SplitResult | None:
    if not uri or len(uri) > MAX_LENGTH or any(ch.isspace() or ord(ch) < 0x20 for ch in uri):
        return None
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError:
        return None
    return parts


def registration_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered, or None when it can."""
    parts = _split(uri)
    if parts is None:
        return f"{uri[:100]!r} is not a valid absolute URI"
    scheme = parts.scheme
    if not scheme or not _SCHEME_RE.match(scheme) or not uri.startswith(scheme + ":"):
        return f"{uri!r} needs a lowercase scheme such as https://"
    if "#" in uri:
        return f"{uri!r} must not contain a fragment (#...)"
    if scheme in _FORBIDDEN_SCHEMES:
        return f"{uri!r} uses the {scheme}: scheme, which cannot receive a redirect"
    if scheme in ("https", "http"):
        if not parts.hostname:
            return f"{uri!r} has no host"
        if parts.username is not None or parts.password is not None:
            return f"{uri!r} must not contain a user name or password"
        if scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            return (
                f"{uri!r} must use https:// (plain http:// is allowed only for 127.0.0.1, "
                "[::1] and localhost)"
            )
        return None
    if "." not in scheme:
        return (
            f"{uri!r}: a private-use scheme for a native app must be a reverse domain name, "
            "such as com.example.app:/callback"
        )
    return None


def is_loopback(uri: str) -> bool:
    parts = _split(uri)
    return parts is not None and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def matches(requested: str, registered: tuple[str, ...]) -> bool:
    """Whether ``requested`` is one of the ``registered`` URIs (loopback ports may vary)."""
    if requested in registered:
        return True
    want = _split(requested)
    if want is None or "#" in requested or want.scheme != "http" or want.hostname not in LOOPBACK_HOSTS:
        return False
    for candidate in registered:
        have = _split(candidate)
        if (
            have is not None
            and have.scheme == "http"
            and have.hostname == want.hostname
            and have.username is None
            and want.username is None
            and have.password is None
            and want.password is None
            and have.path == want.path
            and have.query == want.query
        ):
            return True
    return False


def with_params(redirect_uri: str, params: dict[str, str | None]) -> str:
    """``redirect_uri`` with ``params`` (None values left out) added to its query."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    if not query:
        return redirect_uri
    separator = "&" if "?" in redirect_uri else "?"
    if redirect_uri.endswith(("?", "&")):
        separator = ""
    return f"{redirect_uri}{separator}{query}"


def origin(uri: str) -> str | None:
    """The origin (``scheme://host[:port]``) for a CSP ``form-action`` source, or the bare
    ``scheme:`` of a private-use URI; None when it has neither."""
    parts = _split(uri)
    if parts is None or not parts.scheme:
        return None
    if parts.scheme in ("http", "https"):
        if not parts.netloc or parts.hostname is None:
            return None
        host = parts.hostname
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
        return f"{parts.scheme}://{host}{port}"
    return f"{parts.scheme}:"


def host_label(uri: str) -> str:
    """What to tell a person about where they will be sent: the host, or the app scheme."""
    parts = _split(uri)
    if parts is None:
        return uri
    if parts.scheme in ("http", "https") and parts.hostname:
        return parts.hostname
    return f"{parts.scheme}:"
