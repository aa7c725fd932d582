"""The SQLite database: one writer connection behind a lock, one reader connection.

WAL lets the reader see committed data while a write is in progress. Every write runs in
``async with db.write() as conn:`` — a ``BEGIN IMMEDIATE`` transaction that commits on
success and rolls back on any exception, so a failed request never leaves partial writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

Row = aiosqlite.Row
Conn = aiosqlite.Connection


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

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _connect(self.path, self.busy_timeout_ms)
        self._reader = await _connect(self.path, self.busy_timeout_ms, readonly=True)

    async def close(self) -> None:
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
