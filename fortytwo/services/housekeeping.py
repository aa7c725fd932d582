"""Periodic clean-up: expired idempotency records."""

from __future__ import annotations

import asyncio
import logging

from fortytwo.db.database import Database
from fortytwo.store import bookings as booking_store
from fortytwo.timefmt import Clock

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 600


async def purge_once(db: Database, clock: Clock) -> int:
    return await db.run_write(booking_store.purge_idempotency, clock())


async def run(db: Database, clock: Clock, interval: float = INTERVAL_SECONDS) -> None:
    while True:
        try:
            removed = await purge_once(db, clock)
            if removed:
                log.info("purged %d expired idempotency records", removed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("housekeeping failed; retrying later")
        await asyncio.sleep(interval)
