"""Per-slot locks: requests for the same (event type, start) queue up here, with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class SlotLockTimeout(Exception):
    pass


class SlotLocks:
    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def _get(self, key: Hashable) -> asyncio.Lock:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        return lock

    def _put(self, key: Hashable) -> None:
        lock, users = self._locks[key]
        if users <= 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)

    @asynccontextmanager
    async def hold(self, keys: list[Hashable], max_wait: float) -> AsyncIterator[None]:
        """Hold every lock in ``keys`` (taken in sorted order), or raise SlotLockTimeout."""
        ordered = sorted(set(keys), key=repr)
        held: list[Hashable] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        try:
            for key in ordered:
                lock = self._get(key)
                held.append(key)
                try:
                    await asyncio.wait_for(lock.acquire(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    held.pop()
                    self._put(key)
                    raise SlotLockTimeout() from None
                except BaseException:
                    held.pop()
                    self._put(key)
                    raise
            yield
        finally:
            for key in reversed(held):
                self._locks[key][0].release()
                self._put(key)

    def __len__(self) -> int:
        return len(self._locks)
