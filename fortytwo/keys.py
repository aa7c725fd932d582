"""Every piece of shared application state, with its type: one registry, no singletons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import ClientSession, web

from fortytwo.config import Settings
from fortytwo.http.netinfo import ProxyPolicy
from fortytwo.http.ratelimit import RateLimiter
from fortytwo.timefmt import Clock

if TYPE_CHECKING:
    pass

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
DATABASE = web.AppKey("database", "Database")
AUTHENTICATOR = web.AppKey("authenticator", "Authenticator")
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
TOKEN_PREFIX = web.AppKey("token_prefix", str)
PEPPER = web.AppKey("pepper", bytes)
SECRET_KEY = web.AppKey("secret_key", bytes)
PROXY_POLICY = web.AppKey("proxy_policy", ProxyPolicy)
SLOT_LOCKS = web.AppKey("slot_locks", "SlotLocks")
IDEMPOTENCY = web.AppKey("idempotency", "IdempotencyGate")
PLUGINS = web.AppKey("plugins", "Plugins")  # fortytwo.plugins.manager.Plugins
LICENSE = web.AppKey("license", "LicenseState")  # fortytwo.licensing.LicenseState
# webhooks: the resolver function deliveries vet names with (replaceable before start-up),
# the shared outbound HTTP client, and the webhook runtime (fortytwo.webhooks.runtime)
WEBHOOK_RESOLVE = web.AppKey("webhook_resolve", Callable[[str, int], Awaitable[list[str]]])
HTTP_CLIENT = web.AppKey("http_client", ClientSession)
WEBHOOKS = web.AppKey("webhooks", "WebhookRuntime")
OAUTH = web.AppKey("oauth", "OAuthServer")  # fortytwo.oauth.runtime.OAuthServer
# serving or draining for shutdown, and the requests in flight (fortytwo.http.lifecycle)
LIFECYCLE = web.AppKey("lifecycle", "Lifecycle")
