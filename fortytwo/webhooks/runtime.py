"""The webhook machinery's place in the application's lifecycle.

:func:`webhooks_ctx` (a ``cleanup_ctx``) builds, at start-up, the target rules from the app's
resolver function (``app[keys.WEBHOOK_RESOLVE]``, replaceable before start-up, which is how
tests avoid real DNS), the one shared HTTP client, the deliverer and the scheduler, and runs
the scheduler's owner task. On the way out it stops taking new work, lets attempts in flight
finish for a few seconds, records their outcomes, and closes the client; an attempt cut short
stays pending and is made again after the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from fortytwo import keys
from fortytwo.config import WebhookSettings
from fortytwo.db.database import Database
from fortytwo.timefmt import Clock
from fortytwo.webhooks.delivery import Deliverer, make_session
from fortytwo.webhooks.scheduler import Scheduler
from fortytwo.webhooks.service import RecentDeletes
from fortytwo.webhooks.targets import Targets

STOP_WAIT_SECONDS = 5.0


@dataclass
class WebhookRuntime:
    """Everything the webhook endpoints and the scheduler share."""

    settings: WebhookSettings
    db: Database
    clock: Clock
    server_key: bytes
    targets: Targets
    session: aiohttp.ClientSession
    deliverer: Deliverer
    scheduler: Scheduler
    recent_deletes: RecentDeletes


async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS].webhooks
    targets = Targets(app[keys.WEBHOOK_RESOLVE], allow_private=settings.allow_private_targets)
    session = make_session(targets, settings.timeout_seconds)
    deliverer = Deliverer(
        session,
        targets,
        timeout_seconds=settings.timeout_seconds,
        per_target=settings.max_concurrency_per_target,
    )
    scheduler = Scheduler(
        app[keys.DATABASE], app[keys.CLOCK], deliverer, app[keys.SECRET_KEY], settings
    )
    app[keys.HTTP_CLIENT] = session
    app[keys.WEBHOOKS] = WebhookRuntime(
        settings=settings,
        db=app[keys.DATABASE],
        clock=app[keys.CLOCK],
        server_key=app[keys.SECRET_KEY],
        targets=targets,
        session=session,
        deliverer=deliverer,
        scheduler=scheduler,
        recent_deletes=RecentDeletes(),
    )
    task = asyncio.create_task(scheduler.run())
    try:
        yield
    finally:
        scheduler.finish()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_SECONDS)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await scheduler.stop()
        finally:
            await session.close()
