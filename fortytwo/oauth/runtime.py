"""The OAuth server's shared state, built at start-up, and its clean-up loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from fortytwo import keys
from fortytwo.config import OAuthSettings, Settings
from fortytwo.db.database import Database
from fortytwo.services.authn import Authenticator
from fortytwo.store import oauth as oauth_store
from fortytwo.timefmt import Clock

log = logging.getLogger(__name__)
PURGE_INTERVAL_SECONDS = 600
# Codes and tokens are kept this long past their expiry, so that a late replay of a spent
# code or refresh token is still recognized (and still revokes what it issued).
KEEP_AFTER_EXPIRY = timedelta(days=1)


@dataclass
class OAuthServer:
    db: Database
    config: OAuthSettings
    issuer: str
    realm: str
    pepper: bytes
    secret_key: bytes
    prefix: str
    clock: Clock
    authenticator: Authenticator
    secure_cookies: bool

    def now(self) -> datetime:
        return self.clock()

    @property
    def access_ttl(self) -> timedelta:
        return timedelta(seconds=self.config.access_token_ttl_seconds)

    @property
    def refresh_ttl(self) -> timedelta:
        return timedelta(days=self.config.refresh_token_ttl_days)

    @property
    def code_ttl(self) -> timedelta:
        return timedelta(seconds=self.config.code_ttl_seconds)

    async def credentials_changed(self) -> None:
        """Something was revoked here: drop cached credentials now, not at the next poll."""
        await self.authenticator.poll_epoch()


def secure_cookies(settings: Settings) -> bool:
    """``Secure`` on the sign-in cookie unless the server accepts plain HTTP (loopback only,
    no TLS, no proxies), where a browser or HTTP library would not send it back."""
    return settings.https_enforced or settings.effective_public_url.startswith("https://")


def build(app: web.Application) -> OAuthServer:
    settings = app[keys.SETTINGS]
    return OAuthServer(
        db=app[keys.DATABASE],
        config=settings.oauth,
        issuer=settings.effective_public_url,
        realm=settings.server.realm,
        pepper=app[keys.PEPPER],
        secret_key=app[keys.SECRET_KEY],
        prefix=app[keys.TOKEN_PREFIX],
        clock=app[keys.CLOCK],
        authenticator=app[keys.AUTHENTICATOR],
        secure_cookies=secure_cookies(settings),
    )


async def purge_once(server: OAuthServer) -> int:
    now = server.now()
    window = timedelta(minutes=server.config.login_failure_window_minutes)
    async with server.db.write() as conn:
        return await oauth_store.purge(
            conn, now=now, keep_until=now - KEEP_AFTER_EXPIRY, failures_before=now - window
        )


async def _purge_loop(server: OAuthServer, interval: float) -> None:
    while True:
        try:
            removed = await purge_once(server)
            if removed:
                log.info("purged %d expired OAuth codes, tokens and sessions", removed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("OAuth clean-up failed; retrying later")
        await asyncio.sleep(interval)


async def oauth_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context (after the database and the authenticator): the server object and
    its periodic purge."""
    server = build(app)
    app[keys.OAUTH] = server
    task = asyncio.create_task(_purge_loop(server, PURGE_INTERVAL_SECONDS))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
