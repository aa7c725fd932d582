"""A real HTTP receiver on 127.0.0.1 for the webhook tests, plus independent verifiers.

The receiver records every request (headers, raw body, arrival time) and answers with the
statuses it is told to use, so a test can make it fail, redirect or hang. The verifiers are
written from the published descriptions of the two schemes, without using fortytwo's code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["X-42min-Webhook-Id"]

    @property
    def attempt(self) -> int:
        return int(self.headers["X-42min-Webhook-Attempt"])


@dataclass
class Receiver:
    """``status`` answers every request; ``script`` (consumed first) answers the next ones."""

    status: int = 200
    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    port: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Received(request.path, dict(request.headers), body, time.monotonic()))
        self._arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.script.pop(0) if self.script else self.status
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": f"{self.url}/elsewhere"})
        return web.Response(status=status, text="ok" if status < 400 else "no")

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, within: float = 5.0) -> list[Received]:
        """Wait until at least ``count`` requests arrived; returns them all."""
        deadline = time.monotonic() + within
        while len(self.requests) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass
        return list(self.requests)


# -- independent verifiers ---------------------------------------------------------------------
def verify_42min(secret: str, header: str, body: bytes) -> bool:
    """``t=<unix>,v1=<hex>``: HMAC-SHA256 keyed by the whole secret text over ``t.body``."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    if "t" not in parts or "v1" not in parts:
        return False
    message = parts["t"][0].encode() + b"." + body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in parts["v1"])


def verify_standard(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks: the key is the standard-base64 text after ``whsec_``; the signature
    is base64 HMAC-SHA256 over ``id.timestamp.body``, listed as ``v1,<sig>`` (space-separated
    when there are several)."""
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    lowered = {k.lower(): v for k, v in headers.items()}
    message = f"{lowered['webhook-id']}.{lowered['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    for item in lowered["webhook-signature"].split(" "):
        version, _, signature = item.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature):
            return True
    return False


class FakeDns:
    """The app's resolver function in tests: names from a table, never the network."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = dict(table or {})
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return list(self.table.get(host, []))


# -- helpers for tests that run an app ---------------------------------------------------------
async def add_hook(client, account, url: str, events=("booking_created",), **extra: Any) -> dict:
    """Create a webhook over the API (must succeed); returns ``data`` with the secret."""
    body = {"url": url, "events": list(events), **extra}
    resp = await client.post("/v1/webhooks", json=body, headers=account.auth)
    payload = await resp.json()
    assert resp.status == 201, payload
    return payload["data"]


async def emit(app, org_id: str, event: str = "booking.created", data: dict | None = None) -> str:
    """Append an event to the outbox as a booking change would; returns its ``evt_`` id."""
    from fortytwo import keys
    from fortytwo.store import events as event_store
    from fortytwo.webhooks.synthetic import synthetic_data

    now = app[keys.CLOCK]()
    payload = data if data is not None else synthetic_data(event, org_id, now)
    async with app[keys.DATABASE].write() as conn:
        return await event_store.append_event(conn, org_id, event, payload, now)


def scheduler(app):
    from fortytwo import keys

    return app[keys.WEBHOOKS].scheduler


async def settle(app) -> None:
    """One scheduler pass that waits for its attempts (and any in flight) to be recorded."""
    await scheduler(app).run_due_once(wait=True)


async def deliveries(app, webhook_id: str) -> list[dict[str, Any]]:
    """The delivery rows of a webhook, oldest first."""
    from fortytwo import keys
    from fortytwo.db.database import fetch_all

    rows = await fetch_all(
        app[keys.DATABASE].reader,
        "SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY n", (webhook_id,),
    )
    return [dict(r) for r in rows]


async def webhook_row(app, webhook_id: str) -> dict[str, Any]:
    from fortytwo import keys
    from fortytwo.db.database import fetch_one

    row = await fetch_one(app[keys.DATABASE].reader, "SELECT * FROM webhooks WHERE id = ?", (webhook_id,))
    assert row is not None
    return dict(row)
