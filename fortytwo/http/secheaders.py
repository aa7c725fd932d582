"""Security headers: the ones every response carries, and the set for HTML pages.

Every response says ``X-Content-Type-Options: nosniff``. A response to a request that arrived
over HTTPS (TLS here, or ``X-Forwarded-Proto: https`` from a trusted proxy) on a server that
enforces HTTPS also carries ``Strict-Transport-Security``, so browsers never try plain HTTP
again; a loopback server on plain HTTP never sends it. HTML pages add a Content-Security-Policy
that allows nothing but their own inline style sheet (by hash) and forbids framing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

from aiohttp import web

from fortytwo import keys

HSTS = "max-age=31536000"  # one year; no includeSubDomains: other hosts are not ours to pin


def add_common(request: web.Request, response: web.StreamResponse) -> None:
    """The headers every response gets (a page's own values are kept)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    app = request.app
    if app[keys.SETTINGS].https_enforced and app[keys.PROXY_POLICY].arrived_over_tls(request):
        headers.setdefault("Strict-Transport-Security", HSTS)


def style_hash(css: str | bytes) -> str:
    """The CSP source that allows exactly this inline ``<style>`` content."""
    raw = css.encode() if isinstance(css, str) else css
    return "'sha256-" + base64.b64encode(hashlib.sha256(raw).digest()).decode() + "'"


def page_headers(style_sources: Iterable[str], form_action: Iterable[str] = ("'none'",),
                 *, no_store: bool = True) -> dict[str, str]:
    """Headers for an HTML page: nothing loads but the listed styles, no framing, no referrer."""
    csp = (
        f"default-src 'none'; style-src {' '.join(style_sources)}; "
        f"form-action {' '.join(form_action)}; frame-ancestors 'none'; base-uri 'none'"
    )
    headers = {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if no_store:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return headers
