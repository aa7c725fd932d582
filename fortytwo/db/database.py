"""The SQLite database: writes serialized behind one lock, reads beside them.

WAL lets readers see committed data while a write is in progress. There are two ways in:

- ``async with db.write() as conn:`` — a ``BEGIN IMMEDIATE`` transaction on the aiosqlite
  writer, one thread hand-off per statement; fine for administrative writes.
- ``await db.run_write(fn, ...)`` / ``await db.run_read(fn, ...)`` — ``fn`` runs whole, with a
  plain ``sqlite3`` connection, on the writer's (or reader's) own thread: one hand-off per
  unit of work. The hot paths (booking writes, slot reads) use these.

Every write goes through the writer's single thread, first come first served: a
``run_write`` unit runs there directly, and ``db.write()`` parks that thread for as long as its
aiosqlite transaction lasts. So writes never interleave, and the thread picks up the next unit
the moment the previous one commits (no round trip through the event loop in between). Any
exception rolls the transaction back, so a failed request never leaves partial writes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import aiosqlite

Row = aiosqlite.Row
Conn = aiosqlite.Connection
SyncConn = sqlite3.Connection
P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)

_PRAGMAS = ("PRAGMA foreign_keys = ON",)
# how long closing waits for other processes to let the final checkpoint through; short,
# because a process still using the file checkpoints it itself when it closes last
CHECKPOINT_WAIT_MS = 250
_WRITER_PRAGMAS = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL")


def _connect_sync(path: Path, busy_timeout_ms: int, *, readonly: bool) -> SyncConn:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    for pragma in _PRAGMAS + (("PRAGMA query_only = ON",) if readonly else _WRITER_PRAGMAS):
        conn.execute(pragma)
    return conn


def _transaction(conn: SyncConn, begin: str, fn: Callable[..., T], *args: Any) -> T:
    conn.execute(begin)
    try:
        result = fn(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _passive_checkpoint(conn: SyncConn) -> tuple[int, int, int]:
    busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return busy, frames, copied


async def _connect(path: Path, busy_timeout_ms: int, *, readonly: bool = False) -> Conn:
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        await conn.execute("PRAGMA query_only = ON")
    else:
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Database:
    """Owns the two connections; created and closed by the app's cleanup context."""

    def __init__(
        self, path: Path, busy_timeout_ms: int = 5000, *, checkpoint_every: float | None = None
    ) -> None:
        """``checkpoint_every`` (seconds): fold the WAL back into the database file from a
        thread of its own at that pace instead of inside whichever write happens to cross
        SQLite's auto-checkpoint threshold, which keeps that work off the serialized write
        path. The server sets it; short-lived commands leave SQLite's default."""
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.checkpoint_every = checkpoint_every
        self._checkpointer: asyncio.Task[None] | None = None
        # (busy, WAL frames, frames copied) of the last background checkpoint
        self.last_checkpoint: tuple[int, int, int] | None = None
        self._writer: Conn | None = None
        self._reader: Conn | None = None
        self._sync_writer: SyncConn | None = None
        self._sync_reader: SyncConn | None = None
        self._write_thread: ThreadPoolExecutor | None = None
        self._read_thread: ThreadPoolExecutor | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _connect(self.path, self.busy_timeout_ms)
        self._reader = await _connect(self.path, self.busy_timeout_ms, readonly=True)
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="fortytwo-write")
        self._read_thread = ThreadPoolExecutor(1, thread_name_prefix="fortytwo-read")
        loop = asyncio.get_running_loop()
        self._sync_writer = await loop.run_in_executor(self._write_thread, self._connect_writer)
        self._sync_reader = await loop.run_in_executor(
            self._read_thread, lambda: _connect_sync(self.path, self.busy_timeout_ms, readonly=True)
        )
        if self.checkpoint_every is not None:
            self._checkpointer = asyncio.create_task(self._checkpoint_loop(self.checkpoint_every))

    def _connect_writer(self) -> SyncConn:
        conn = _connect_sync(self.path, self.busy_timeout_ms, readonly=False)
        if self.checkpoint_every is not None:  # the background loop checkpoints instead
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        return conn

    async def _checkpoint_loop(self, every: float) -> None:
        """PASSIVE checkpoints on a connection and thread of their own; they never block
        writers or readers, and skip pages a reader still needs (the next round gets them)."""
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(1, thread_name_prefix="fortytwo-checkpoint") as thread:
            conn = await loop.run_in_executor(
                thread, lambda: _connect_sync(self.path, self.busy_timeout_ms, readonly=False)
            )
            try:
                while True:
                    await asyncio.sleep(every)
                    try:
                        self.last_checkpoint = await loop.run_in_executor(
                            thread, _passive_checkpoint, conn
                        )
                    except sqlite3.Error as exc:
                        log.warning("background WAL checkpoint failed: %s", exc)
            finally:
                await asyncio.shield(loop.run_in_executor(thread, conn.close))

    async def close(self) -> None:
        """Close every connection; the writer, last, first folds the WAL back into the
        database file (see :meth:`checkpoint`)."""
        loop = asyncio.get_running_loop()
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.wait({self._checkpointer})
            self._checkpointer = None
        for executor, conn in ((self._read_thread, self._sync_reader),
                               (self._write_thread, self._sync_writer)):
            if executor is not None and conn is not None:
                await loop.run_in_executor(executor, conn.close)
            if executor is not None:
                executor.shutdown(wait=True)
        self._sync_reader = self._sync_writer = None
        self._read_thread = self._write_thread = None
        if self._reader is not None:
            await self._reader.close()
        if self._writer is not None:
            try:
                await self.checkpoint()
            finally:
                await self._writer.close()
        self._reader = self._writer = None

    async def checkpoint(self) -> bool:
        """Copy every WAL frame into the database file and truncate the WAL to 0 bytes
        (``wal_checkpoint(TRUNCATE)``), so the file alone is complete. Another process that is
        still reading or writing can prevent it (waited for up to ``CHECKPOINT_WAIT_MS``);
        that is harmless: the WAL keeps the frames, and the last connection to close folds
        them in. True when it completed."""
        conn = self.writer
        await conn.execute(f"PRAGMA busy_timeout = {min(self.busy_timeout_ms, CHECKPOINT_WAIT_MS)}")
        try:
            row = await fetch_one(conn, "PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
            return False
        finally:
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        done = row is not None and row[0] == 0
        if not done:
            log.info("WAL checkpoint of %s left frames behind: another process is using it",
                     self.path)
        return done

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def writer(self) -> Conn:
        assert self._writer is not None, "database is not open"
        return self._writer

    @property
    def reader(self) -> Conn:
        assert self._reader is not None, "database is not open"
        return self._reader

    def _enqueue(self, fn: Callable[..., T], *args: Any, max_wait: float | None) -> Future[T]:
        """Queue ``fn(*args)`` on the writer's thread now; with ``max_wait``, a unit still
        queued when that many seconds have passed gives up (``TimeoutError``) unrun."""
        assert self._write_thread is not None, "database is not open"
        deadline = None if max_wait is None else time.monotonic() + max_wait

        def job() -> T:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("the database writer stayed busy")
            return fn(*args)

        return self._write_thread.submit(job)

    async def _outcome(self, done: Future[T], max_wait: float | None) -> T:
        """Await a queued unit. Once started it always runs to the end, even when the
        caller is cancelled or its deadline passes meanwhile."""
        result = asyncio.wrap_future(done)
        try:
            return await asyncio.wait_for(asyncio.shield(result), max_wait)
        except TimeoutError:
            if done.cancel():  # still queued: it never runs
                raise
            return await result  # it started meanwhile; its outcome stands
        except asyncio.CancelledError:
            if not done.cancel():  # already running: let it finish
                await asyncio.wait({result})
            raise

    @asynccontextmanager
    async def write(self, max_wait: float | None = None) -> AsyncIterator[Conn]:
        """One serialized write transaction on the aiosqlite writer; ``max_wait`` bounds the
        wait for the writer (``TimeoutError`` when exceeded)."""
        loop = asyncio.get_running_loop()
        parked = loop.create_future()
        release = threading.Event()

        def mark_parked() -> None:
            if not parked.done():
                parked.set_result(None)

        def park() -> None:
            loop.call_soon_threadsafe(mark_parked)
            release.wait()

        waiting = asyncio.ensure_future(self._outcome(self._enqueue(park, max_wait=max_wait), max_wait))
        try:
            await asyncio.wait({parked, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if not parked.done():
                await waiting  # the deadline passed while queued: raises its TimeoutError
                raise TimeoutError("the database writer stayed busy")
        except BaseException:
            release.set()
            waiting.cancel()
            raise
        try:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                try:
                    await conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise
        finally:
            release.set()
            await asyncio.wait({waiting})

    async def run_write(
        self, fn: Callable[..., T], *args: Any, max_wait: float | None = None
    ) -> T:
        """Run ``fn(conn, *args)`` in one ``BEGIN IMMEDIATE`` transaction on the writer's
        thread; ``max_wait`` bounds the time queued behind other writes (``TimeoutError``)."""
        done = self._enqueue(
            _transaction, self._sync_writer, "BEGIN IMMEDIATE", fn, *args, max_wait=max_wait
        )
        return await self._outcome(done, max_wait)

    async def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the reader's thread inside one read transaction, so
        every query in it sees the same snapshot."""
        assert self._read_thread is not None, "database is not open"
        return await asyncio.get_running_loop().run_in_executor(
            self._read_thread, _transaction, self._sync_reader, "BEGIN", fn, *args
        )


async def fetch_one(conn: Conn, sql: str, params: Iterable[Any] = ()) -> Row | None:
    async with conn.execute(sql, tuple(params)) as cur:
        return await cur.fetchone()


async def fetch_all(conn: Conn, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    async with conn.execute(sql, tuple(params)) as cur:
        return list(await cur.fetchall())


async def execute(conn: Conn, sql: str, params: Iterable[Any] = ()) -> int:
    """Run a statement; return the number of rows it changed."""
    async with conn.execute(sql, tuple(params)) as cur:
        return cur.rowcount
