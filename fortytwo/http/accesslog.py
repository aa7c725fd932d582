"""An access log line that never carries a credential: no query string, no headers."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from fortytwo.http.responses import REQUEST_ID


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.1fms %s',
            request.remote,
            request.method,
            request.rel_url.path,
            response.status,
            time * 1000,
            request.get(REQUEST_ID, "-"),
        )
