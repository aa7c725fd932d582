"""Connection-level limits that aiohttp leaves to the application.

- **Request-head deadline** (``server.header_timeout``): a connection must deliver a complete
  request line and headers within that many seconds of connecting, or, on a kept-alive
  connection, of the first byte of its next request. Otherwise it is answered 408 (or just
  closed when it sent nothing) — a slowloris client holds a connection for seconds, not
  minutes. Idle kept-alive connections are aiohttp's ``keepalive_timeout``.
- **Connection caps** (``server.max_connections`` in all, ``server.max_connections_per_ip``
  per client address, one IPv6 /64 counting as one address): a connection beyond a cap is
  answered 503 and closed before anything is read from it. Trusted proxies carry many
  clients, so they count only towards the total.
- **Parse errors** (request line, header or header count over the limits, garbage): the
  contract's error envelope instead of aiohttp's plain-text answer with a traceback in the
  log; the bytes the client sent are never echoed or logged.

The hooks are aiohttp's own extension points: :class:`GuardedAppRunner` makes a
:class:`GuardedServer`, whose protocol factory makes :class:`GuardedRequestHandler`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler

from fortytwo import keys
from fortytwo.config import Settings
from fortytwo.http.responses import REQUEST_ID, error_body, json_response, new_request_id

log = logging.getLogger("fortytwo.http.connections")
WARN_EVERY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float
    max_connections: int
    max_per_ip: int
    exempt: Callable[[str], bool] = lambda address: False  # trusted proxies

    @classmethod
    def from_settings(
        cls, settings: Settings, exempt: Callable[[str], bool] | None = None
    ) -> ConnectionLimits:
        server = settings.server
        return cls(
            header_timeout=server.header_timeout,
            max_connections=server.max_connections,
            max_per_ip=server.max_connections_per_ip,
            exempt=exempt or (lambda address: False),
        )


def handler_options(settings: Settings) -> dict[str, Any]:
    """aiohttp's own per-connection options taken from ``[server]``."""
    server = settings.server
    return {
        "keepalive_timeout": server.keepalive_timeout,
        "max_line_size": server.max_line_size,
        "max_field_size": server.max_field_size,
        "max_headers": server.max_headers,
    }


def client_key(peer: object) -> str | None:
    """The address a connection counts against: the IP, an IPv4-mapped IPv6 address as
    IPv4, other IPv6 addresses by their /64. None when there is no IP (a Unix socket)."""
    if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
        return None
    host = peer[0]
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return host


def _raw_error(status: str, code: str, message: str, extra: str = "") -> bytes:
    """A complete HTTP/1.1 error response that closes the connection, for moments when no
    request object exists."""
    request_id = new_request_id()
    body = json.dumps(error_body(code, message, {}, request_id), separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nX-Request-Id: {request_id}\r\n"
        f"{extra}\r\n"
    )
    return head.encode("ascii") + body


class GuardedRequestHandler(RequestHandler):
    """aiohttp's HTTP/1.1 protocol with the head deadline, the caps and enveloped parse
    errors."""

    __slots__ = ("_admitted", "_address", "_answered", "_head_timer", "_head_bytes")

    def __init__(self, manager: GuardedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._admitted = False
        self._address: str | None = None  # what the connection counts against
        self._answered = 0  # responses finished; heads parsed are aiohttp's _request_count
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = False  # bytes of a head arrived since the timer was armed

    # -- admission -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        manager = self._manager
        assert isinstance(manager, GuardedServer)
        refusal, key = manager.admit(transport)
        if refusal is not None:
            transport.write(refusal)  # type: ignore[attr-defined]
            transport.close()
            return
        self._admitted, self._address = True, key
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._admitted:
            return  # refused: never started
        self._admitted = False
        self._disarm_head_timer()
        manager = self._manager
        if isinstance(manager, GuardedServer):
            manager.release(self._address)
        super().connection_lost(exc)

    # -- the request-head deadline -----------------------------------------------------------
    def _awaiting_head(self) -> bool:
        """Every head parsed so far has been answered, so new bytes start a new head."""
        return self._answered >= self._request_count

    def _arm_head_timer(self) -> None:
        manager = self._manager
        if self._head_timer is None and isinstance(manager, GuardedServer):
            self._head_bytes = False
            self._head_timer = self._loop.call_later(
                manager.limits.header_timeout, self._head_timed_out
            )

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport is None or not self._awaiting_head():
            return
        if self._head_bytes:
            self.transport.write(
                _raw_error(
                    "408 Request Timeout",
                    "request_timeout",
                    "The request line and headers did not arrive in time; send the whole "
                    "request head at once.",
                )
            )
        self.force_close()

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        heads = self._request_count
        super().data_received(data)
        if self._request_count != heads:
            self._disarm_head_timer()
        elif data and self._awaiting_head() and self.transport is not None:
            self._arm_head_timer()
            self._head_bytes = True

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            self._answered += 1

    # -- malformed or oversized requests -----------------------------------------------------
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        request_id = new_request_id()
        request[REQUEST_ID] = request_id
        limits = {
            "max_line_size": self.max_line_size,
            "max_field_size": self.max_field_size,
            "max_headers": self.max_headers,
        }
        if isinstance(exc, LineTooLong):
            text = (
                "The request line or a header is longer than this server accepts "
                f"({self.max_line_size} bytes for the request line, {self.max_field_size} "
                "for a header); shorten it."
            )
        else:
            text = (
                "The request is not valid HTTP/1.1 or has more headers than this server "
                f"accepts ({self.max_headers}); fix the request and retry."
            )
        log.debug("refused a malformed request from %s: %s", request.remote, type(exc).__name__)
        response = json_response(
            error_body("invalid_request", text, limits, request_id),
            status,
            {"X-Request-Id": request_id},
        )
        response.force_close()
        return response


class GuardedServer(web.Server):
    """``web.Server`` that counts open connections per client address and in all."""

    def __init__(self, handler: Any, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.limits = limits
        self.open_connections = 0
        self.per_address: dict[str, int] = {}
        self.refused = 0
        self._refused_since_warning = 0
        self._warned_at = float("-inf")

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)

    def admit(self, transport: asyncio.BaseTransport) -> tuple[bytes | None, str | None]:
        """(None, address key) to serve the connection, or (the answer, None) to refuse it."""
        peer = transport.get_extra_info("peername")
        key = client_key(peer)
        limits = self.limits
        if key is not None and limits.exempt(peer[0]):
            key = None
        if self.open_connections >= limits.max_connections:
            return self._refuse(f"the server has {limits.max_connections} open connections", key), None
        if key is not None and self.per_address.get(key, 0) >= limits.max_per_ip:
            return self._refuse(
                f"{limits.max_per_ip} connections are already open from your address", key
            ), None
        self.open_connections += 1
        if key is not None:
            self.per_address[key] = self.per_address.get(key, 0) + 1
        return None, key

    def release(self, key: str | None) -> None:
        self.open_connections -= 1
        if key is not None:
            left = self.per_address.get(key, 0) - 1
            if left > 0:
                self.per_address[key] = left
            else:
                self.per_address.pop(key, None)

    def _refuse(self, why: str, key: str | None) -> bytes:
        self.refused += 1
        self._refused_since_warning += 1
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            log.warning(
                "refused %d connection(s) over the caps since the last warning (at most one "
                "a minute); latest from %s: %s",
                self._refused_since_warning, key or "a trusted proxy", why,
            )
            self._warned_at = now
            self._refused_since_warning = 0
        return _raw_error(
            "503 Service Unavailable",
            "service_unavailable",
            f"Too many connections: {why}. Close idle connections or retry shortly.",
            "Retry-After: 1\r\n",
        )


class GuardedAppRunner(web.AppRunner):
    """``web.AppRunner`` whose server is a :class:`GuardedServer`."""

    def __init__(self, app: web.Application, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app, as AppRunner does
        return GuardedServer(
            plain.request_handler,
            limits=self.limits,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **plain._kwargs,  # the RequestHandler options aiohttp collected
        )


def guarded_runner(app: web.Application, settings: Settings, **kwargs: Any) -> GuardedAppRunner:
    """The runner ``fortytwo serve`` uses: ``kwargs`` as for ``web.AppRunner``, plus the
    parser limits, keep-alive timeout and connection limits from ``[server]``."""
    proxies = app[keys.PROXY_POLICY]
    return GuardedAppRunner(
        app,
        limits=ConnectionLimits.from_settings(settings, proxies.trusted),
        **handler_options(settings),
        **kwargs,
    )
