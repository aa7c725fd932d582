"""The SQLite database: writes serialized behind one lock, reads beside them.

WAL lets readers see committed data while a write is in progress. There are two ways in:

- ``async with db.write() as conn:`` — a ``BEGIN IMMEDIATE`` transaction on the aiosqlite
  writer, one thread hand-off per statement; fine for administrative writes.
- ``await db.run_write(fn, ...)`` / ``await db.run_read(fn, ...)`` — ``fn`` runs whole, with a
  plain ``sqlite3`` connection, on the writer's (or reader's) own thread: one hand-off per
  unit of work. The hot paths (booking writes, slot reads) use these.

Both write paths take the same lock, so writes never interleave; any exception rolls the
transaction back, so a failed request never leaves partial writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import aiosqlite

Row = aiosqlite.Row
Conn = aiosqlite.Connection
SyncConn = sqlite3.Connection
P = ParamSpec("P")
T = TypeVar("T")

_PRAGMAS = ("PRAGMA foreign_keys = ON",)
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

    def __init__(self, path: Path, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._writer: Conn | None = None
        self._reader: Conn | None = None
        self._write_lock = asyncio.Lock()
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
        self._sync_writer = await loop.run_in_executor(
            self._write_thread, lambda: _connect_sync(self.path, self.busy_timeout_ms, readonly=False)
        )
        self._sync_reader = await loop.run_in_executor(
            self._read_thread, lambda: _connect_sync(self.path, self.busy_timeout_ms, readonly=True)
        )

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for executor, conn in ((self._read_thread, self._sync_reader),
                               (self._write_thread, self._sync_writer)):
            if executor is not None and conn is not None:
                await loop.run_in_executor(executor, conn.close)
            if executor is not None:
                executor.shutdown(wait=True)
        self._sync_reader = self._sync_writer = None
        self._read_thread = self._write_thread = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

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

    @asynccontextmanager
    async def write(self, max_wait: float | None = None) -> AsyncIterator[Conn]:
        """One serialized write transaction; ``max_wait`` bounds the wait for the writer
        (``TimeoutError`` when exceeded)."""
        if max_wait is None:
            await self._write_lock.acquire()
        else:
            await asyncio.wait_for(self._write_lock.acquire(), max_wait)
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
            self._write_lock.release()

    @property
    def write_lock(self) -> asyncio.Lock:
        return self._write_lock

    async def run_write(
        self, fn: Callable[..., T], *args: Any, max_wait: float | None = None
    ) -> T:
        """Run ``fn(conn, *args)`` in one ``BEGIN IMMEDIATE`` transaction on the writer's
        thread; ``max_wait`` bounds the wait for the write lock (``TimeoutError``)."""
        assert self._write_thread is not None, "database is not open"
        if max_wait is None:
            await self._write_lock.acquire()
        else:
            await asyncio.wait_for(self._write_lock.acquire(), max_wait)
        future = asyncio.get_running_loop().run_in_executor(
            self._write_thread, _transaction, self._sync_writer, "BEGIN IMMEDIATE", fn, *args
        )
        try:
            return await asyncio.shield(future)
        finally:
            if not future.done():  # cancelled while the transaction runs: let it finish
                await asyncio.wait({future})
            self._write_lock.release()

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
