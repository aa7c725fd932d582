"""The access log: one line per request that never carries a credential.

Lines name the method, the path without its query string, the status, the time taken and
the request id; never headers. They are buffered and written to stderr in batches (at most
a quarter second late), which keeps logging off the request's critical path.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from fortytwo.http.responses import REQUEST_ID

FLUSH_DELAY = 0.25


class AccessLogger(AbstractAccessLogger):
    stream: TextIO = sys.stderr

    def __init__(self, logger, log_format: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__(logger, log_format)
        self._lines: list[str] = []
        self._second = -1
        self._stamp = ""
        self._flush_handle: asyncio.TimerHandle | None = None

    @property
    def enabled(self) -> bool:
        return True

    def _timestamp(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return self._stamp

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self._lines.append(
            f'{self._timestamp()} access {request.remote} "{request.method} '
            f'{request.rel_url.path}" {response.status} {time * 1000:.1f}ms '
            f"{request.get(REQUEST_ID, '-')}\n"
        )
        if self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._flush_handle = loop.call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        if self._lines:
            lines, self._lines = self._lines, []
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):
                pass
