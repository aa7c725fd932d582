"""``create_app(settings)``: the one place where the application is wired together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any

from aiohttp import web

from fortytwo import keys, licensing
from fortytwo.api import booking_list, bookings, event_types, meta, slots, wellknown
from fortytwo.api import docs as docs_api
from fortytwo.api import oauth as oauth_api
from fortytwo.api import webhooks as webhook_api
from fortytwo.config import Settings
from fortytwo.db.database import Database
from fortytwo.db.migrate import migrate
from fortytwo.http.body import MAX_BODY
from fortytwo.http.idempotency import IdempotencyGate
from fortytwo.http.lifecycle import Lifecycle
from fortytwo.http.middleware import pipeline_middleware
from fortytwo.http.netinfo import ProxyPolicy
from fortytwo.http.ratelimit import RateLimiter
from fortytwo.oauth.runtime import oauth_ctx
from fortytwo.plugins.manager import Plugins, build_plugins
from fortytwo.security.keys import read_secret_file
from fortytwo.services import housekeeping
from fortytwo.services.authn import Authenticator
from fortytwo.services.slot_locks import SlotLocks
from fortytwo.store import accounts as account_store
from fortytwo.timefmt import Clock, system_clock
from fortytwo.webhooks.runtime import webhooks_ctx
from fortytwo.webhooks.targets import system_resolve

# How often the server folds the WAL into the database file (see Database).
CHECKPOINT_SECONDS = 0.5


@contextlib.asynccontextmanager
async def _background(loop_coro: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run one owner task for a background service; cancel and await it on the way out."""
    task = asyncio.create_task(loop_coro)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    db = Database(
        settings.database_path, settings.database.busy_timeout_ms,
        checkpoint_every=CHECKPOINT_SECONDS,
    )
    await db.open()
    try:
        await migrate(db.writer, database_path=db.path)  # backs up a database with data first
        app[keys.DATABASE] = db
        yield
    finally:
        await db.close()


async def _auth_ctx(app: web.Application) -> AsyncIterator[None]:
    authenticator = Authenticator(
        app[keys.DATABASE], app[keys.PEPPER], app[keys.TOKEN_PREFIX], app[keys.CLOCK]
    )
    await authenticator.poll_epoch()
    app[keys.AUTHENTICATOR] = authenticator
    async with _background(
        authenticator.run_maintenance(app[keys.SETTINGS].security.auth_cache_poll_seconds)
    ):
        yield
    await authenticator.flush_last_used()


async def _housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.IDEMPOTENCY] = IdempotencyGate(
        app[keys.DATABASE], timedelta(hours=settings.bookings.idempotency_ttl_hours)
    )
    async with _background(housekeeping.run(app[keys.DATABASE], app[keys.CLOCK])):
        yield


async def _license_ctx(app: web.Application) -> AsyncIterator[None]:
    """Say loudly at start which license the server runs under; never refuse to start."""
    users = await account_store.list_users(app[keys.DATABASE].reader)
    licensing.report(app[keys.LICENSE], len(users))
    yield


def create_app(
    settings: Settings, *, clock: Clock | None = None, plugins: Plugins | None = None
) -> web.Application:
    """Build the application for ``settings``; ``clock`` and ``plugins`` are injectable for tests."""
    app = web.Application(middlewares=[pipeline_middleware], client_max_size=MAX_BODY)
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or system_clock
    app[keys.RATE_LIMITER] = RateLimiter()
    app[keys.LIFECYCLE] = Lifecycle()
    app[keys.SLOT_LOCKS] = SlotLocks()
    app[keys.PROXY_POLICY] = ProxyPolicy(settings.server.trusted_proxies)
    app[keys.PLUGINS] = plugins = plugins or build_plugins(settings)
    app[keys.TOKEN_PREFIX] = plugins.token_prefix()
    app[keys.LICENSE] = licensing.evaluate(plugins, settings, app[keys.CLOCK]())
    app[keys.PEPPER] = read_secret_file(settings.pepper_path)
    app[keys.SECRET_KEY] = read_secret_file(settings.secret_key_path)
    app[keys.WEBHOOK_RESOLVE] = system_resolve  # tests replace it before start-up

    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_license_ctx)
    app.cleanup_ctx.append(_auth_ctx)
    app.cleanup_ctx.append(oauth_ctx)
    app.cleanup_ctx.append(_housekeeping_ctx)
    app.cleanup_ctx.append(webhooks_ctx)

    app.router.add_routes(meta.routes)
    app.router.add_routes(event_types.routes)
    app.router.add_routes(slots.routes)
    app.router.add_routes(bookings.routes)
    app.router.add_routes(booking_list.routes)
    app.router.add_routes(docs_api.routes)
    app.router.add_routes(webhook_api.routes)
    app.router.add_routes(oauth_api.routes)
    app.router.add_routes(wellknown.routes)
    return app
