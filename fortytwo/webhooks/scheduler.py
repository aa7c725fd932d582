"""The delivery scheduler: one owner task per process.

Each pass (:meth:`Scheduler.run_due_once`):

1. records the outcomes of attempts that finished since the last pass (one transaction);
2. fans new outbox events out: every active webhook of the event's organization that
   subscribes to it, and existed when the event happened, gets a pending delivery due at once;
   the outbox cursor moves in the same transaction, so a crash can neither skip nor repeat an
   event (a repeated fan-out would be ignored anyway: one delivery per webhook and event);
3. starts an attempt for every pending delivery that is due, as a task of its own;
4. once an hour, drops finished deliveries older than the retention period.

The queue is the ``webhook_deliveries`` table, so a restart picks pending deliveries up at
their due times. An attempt's outcome is written only after it finished; a crash or a
shutdown in between leaves the delivery pending and due, so it is attempted again with the
same delivery id (at-least-once). Between two passes the task sleeps for the poll interval, or
less when an attempt finishes or :meth:`wake` is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fortytwo.config import WebhookSettings
from fortytwo.db.database import Database
from fortytwo.store import webhooks as store
from fortytwo.timefmt import Clock, parse_db_ts
from fortytwo.webhooks.delivery import Deliverer, Outcome, envelope_body
from fortytwo.webhooks.names import to_underscore
from fortytwo.webhooks.secrets import SecretUnavailable, unseal

log = logging.getLogger(__name__)

FANOUT_BATCH = 1000
MAX_IN_FLIGHT = 256
PURGE_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class _Finished:
    delivery_id: str
    webhook_id: str
    attempt: int
    outcome: Outcome
    at: datetime


class Scheduler:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        deliverer: Deliverer,
        server_key: bytes,
        settings: WebhookSettings,
    ) -> None:
        self.db = db
        self.clock = clock
        self.deliverer = deliverer
        self.server_key = server_key
        self.settings = settings
        self.shutdown_grace = 5.0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._finished: list[_Finished] = []
        self._cursor: int | None = None
        self._last_purge: datetime | None = None
        self._stopping = False

    @property
    def attempts_allowed(self) -> int:
        return 1 + len(self.settings.retry_delays_seconds)

    def wake(self) -> None:
        """Look at the outbox and the queue now rather than at the next poll."""
        self._wake.set()

    # -- the owner task -----------------------------------------------------------------------
    async def run(self) -> None:
        """The owner task's loop, until :meth:`finish` is called."""
        while not self._stopping:
            try:
                await self.run_due_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep delivering; the next pass tries again
                log.exception("webhook scheduler pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_seconds)
            self._wake.clear()

    async def run_due_once(self, *, wait: bool = False) -> int:
        """One pass; returns how many attempts it started. With ``wait``, also waits for them
        and records their outcomes (what tests use)."""
        async with self._lock:
            await self._record_finished()
            if self._stopping:
                return 0
            await self._fan_out()
            started = await self._start_due()
            await self._maybe_purge()
        if wait:
            await self.drain()
        return started

    async def drain(self) -> None:
        """Wait for every attempt in flight and record the outcomes."""
        while self._in_flight:
            await asyncio.wait(list(self._in_flight.values()))
            async with self._lock:
                await self._record_finished()
                for key, task in list(self._in_flight.items()):
                    if task.cancelled():  # no outcome; the delivery is still pending
                        del self._in_flight[key]
        async with self._lock:
            await self._record_finished()

    def finish(self) -> None:
        """Let :meth:`run` return after its current pass; no new attempts start after that."""
        self._stopping = True
        self._wake.set()

    async def stop(self) -> None:
        """Shutdown: give attempts in flight ``shutdown_grace`` seconds, cancel the rest (they
        stay pending and are attempted again after the restart), record what finished."""
        self._stopping = True
        tasks = list(self._in_flight.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.shutdown_grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        async with self._lock:
            await self._record_finished()
            self._in_flight.clear()

    # -- the steps of a pass ------------------------------------------------------------------
    async def _fan_out(self) -> None:
        if self._cursor is None:
            self._cursor = await store.outbox_cursor(self.db.reader)
        if not await store.has_events_after(self.db.reader, self._cursor):
            return
        now = self.clock()
        async with self.db.write() as conn:
            cursor = await store.outbox_cursor(conn)
            events = await store.events_after(conn, cursor, FANOUT_BATCH)
            if not events:
                self._cursor = cursor
                return
            hooks = await store.active_webhooks(conn, {e.organization_id for e in events})
            by_org: dict[str, list[store.WebhookRow]] = {}
            for hook in hooks:
                by_org.setdefault(hook.organization_id, []).append(hook)
            items: list[tuple[str, str, str, str, str]] = []
            for event in events:
                name = to_underscore(event.event)
                for hook in by_org.get(event.organization_id, ()):
                    if name in hook.events and hook.created_at <= event.created_at:
                        items.append(
                            (f"dlv_{uuid.uuid4()}", hook.id, event.organization_id, event.id,
                             event.event)
                        )
            if items:
                await store.enqueue(conn, items, now)
            await store.set_outbox_cursor(conn, events[-1].seq)
        self._cursor = events[-1].seq
        if len(events) == FANOUT_BATCH:
            self.wake()  # more waiting

    async def _start_due(self) -> int:
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return 0
        due = await store.due_deliveries(self.db.reader, self.clock(), room, self._in_flight)
        for item in due:
            self._in_flight[item.id] = asyncio.create_task(self._attempt(item))
        return len(due)

    async def _attempt(self, item: store.DueDelivery) -> None:
        number = item.attempt + 1
        try:
            secret = unseal(self.server_key, item.webhook_id, item.secret)
            outcome = await self.deliverer.attempt(
                url=item.url,
                secret=secret,
                delivery_id=item.id,
                event=item.event,
                attempt=number,
                timestamp=int(self.clock().timestamp()),
                body=envelope_body(item.event_id, item.event, item.event_created_at, item.payload),
            )
        except SecretUnavailable as exc:
            outcome = Outcome(False, None, str(exc))
        except Exception:
            log.exception("webhook delivery %s: attempt %d failed unexpectedly", item.id, number)
            outcome = Outcome(False, None, "internal error while delivering")
        self._finished.append(_Finished(item.id, item.webhook_id, number, outcome, self.clock()))
        self.wake()

    async def _record_finished(self) -> None:
        if not self._finished:
            return
        batch, self._finished = self._finished, []
        delays = self.settings.retry_delays_seconds
        records: list[store.AttemptRecord] = []
        for done in batch:
            next_at: datetime | None = None
            if done.outcome.ok:
                status = "succeeded"
            elif done.attempt >= self.attempts_allowed:
                status = "failed"
            else:
                status = "pending"
                next_at = done.at + timedelta(seconds=delays[done.attempt - 1])
            records.append(
                store.AttemptRecord(
                    delivery_id=done.delivery_id,
                    webhook_id=done.webhook_id,
                    attempt=done.attempt,
                    status=status,
                    status_code=done.outcome.status_code,
                    error=done.outcome.error,
                    next_attempt_at=next_at,
                    at=done.at,
                )
            )
        try:
            async with self.db.write() as conn:
                paused = await store.record_attempts(
                    conn, records, self.settings.pause_after_exhausted
                )
        except BaseException:
            self._finished[:0] = batch  # not recorded: keep them for the next pass
            raise
        for webhook_id in paused:
            log.warning(
                "webhook %s paused: %d deliveries in a row failed every attempt",
                webhook_id, self.settings.pause_after_exhausted,
            )
        for done in batch:
            self._in_flight.pop(done.delivery_id, None)

    async def _maybe_purge(self) -> None:
        now = self.clock()
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        await self.purge_once()

    async def purge_once(self) -> int:
        """Drop finished deliveries older than the retention period; returns how many."""
        before = self.clock() - timedelta(days=self.settings.log_retention_days)
        async with self.db.write() as conn:
            removed = await store.purge_deliveries(conn, before)
        if removed:
            log.info("purged %d webhook deliveries older than %s", removed, before.isoformat())
        return removed

    async def next_due(self) -> datetime | None:
        """When the earliest pending attempt is due (None when nothing is pending)."""
        return parse_db_ts(await store.next_due_at(self.db.reader))
