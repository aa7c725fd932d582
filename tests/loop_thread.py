"""A real server on its own event loop thread, for synchronous (hypothesis) tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: TestClient | None = None

    def run(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)  # type: ignore[arg-type]

    def start_app(self, build: Callable[[], web.Application], seed: Callable[[web.Application], Awaitable[Any]]) -> Any:
        async def go() -> Any:
            app = build()
            self.client = TestClient(TestServer(app))
            await self.client.start_server()
            return await seed(app)

        return self.run(go())

    def close(self) -> None:
        if self.client is not None:
            self.run(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
