"""The server's lifecycle as the request pipeline sees it: serving, or draining for shutdown.

``fortytwo serve`` flips the state to draining when SIGTERM or SIGINT arrives, before it
stops listening. From then on the pipeline answers every new request, including those on
connections that were already open, with 503 ``service_unavailable`` and
``Connection: close``, while the requests already being handled run to the end of the grace
period. The requests in flight are tracked by their tasks, so the server can wait for them
and cancel the ones that outlive the grace period.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from fortytwo.http.responses import error_body, json_response

RETRY_AFTER_SECONDS = 5


class Lifecycle:
    """Whether the server is draining, and which requests are still in flight."""

    def __init__(self) -> None:
        self.draining = False
        self._in_flight: set[asyncio.Task[object]] = set()
        self._idle: asyncio.Event | None = None

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def begin_drain(self) -> None:
        """From now on new requests are refused; requests in flight go on."""
        self.draining = True

    @contextmanager
    def track(self) -> Iterator[None]:
        """Count the current request's task as in flight while the block runs."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - a request always runs in a task
            yield
            return
        self._in_flight.add(task)
        try:
            yield
        finally:
            self._in_flight.discard(task)
            if not self._in_flight and self._idle is not None:
                self._idle.set()

    async def wait_idle(self, seconds: float, hurry: asyncio.Event | None = None) -> bool:
        """Wait until no request is in flight, for at most ``seconds`` (or until
        ``hurry`` is set); True when none is left."""
        if not self._in_flight:
            return True
        self._idle = asyncio.Event()
        waiters = {asyncio.create_task(self._idle.wait())}
        if hurry is not None:
            waiters.add(asyncio.create_task(hurry.wait()))
        try:
            await asyncio.wait(waiters, timeout=max(0.0, seconds),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._idle = None
        return not self._in_flight

    def cancel_in_flight(self) -> int:
        """Cancel every request still in flight; return how many there were."""
        tasks = list(self._in_flight)
        for task in tasks:
            task.cancel()
        return len(tasks)


def shutting_down_response(path: str, request_id: str) -> web.Response:
    """The answer to a request that arrives while the server drains: 503 with the contract's
    envelope (``/healthz`` keeps its own unwrapped body, so load balancers stop routing here).
    """
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if path == "/healthz":
        response = json_response({"status": "shutting_down"}, 503, headers)
    else:
        message = (
            "The server is shutting down and takes no new requests; retry in "
            f"{RETRY_AFTER_SECONDS} seconds on a new connection."
        )
        response = json_response(
            error_body("service_unavailable", message, {}, request_id), 503, headers
        )
    response.force_close()
    return response
