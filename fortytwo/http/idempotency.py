"""Idempotency keys for the booking writes (contract 2.6).

A key is reserved in memory while its first request runs (a second arrival gets 409
``idempotency_in_progress``). The response of a successful write is stored by the
``Recorder`` inside the same SQLite transaction as the write, so after a crash there is
never one without the other. A later request with the same key and the same fingerprint gets
the stored bytes back; with a different fingerprint, 409 ``idempotency_key_conflict``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from fortytwo.db.database import Database, SyncConn
from fortytwo.http.errors import ApiError
from fortytwo.store import bookings as store
from fortytwo.store.bookings import StoredResponse

KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
RETRY_HEADERS = {"Retry-After": "1"}


def require_key(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise ApiError(
            400, "missing_idempotency_key",
            "Send an Idempotency-Key header (e.g. a UUID) so a retry cannot act twice.",
        )
    if not KEY_RE.match(key):
        raise ApiError(
            400, "invalid_request",
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            {"header": "Idempotency-Key"},
        )
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


@dataclass
class Recorder:
    """Builds the success response and stores it with the write that produced it."""

    organization_id: str
    key: str
    fingerprint: str
    request_id: str
    ttl: timedelta
    stored: StoredResponse | None = field(default=None)

    def finish(
        self, conn: SyncConn, status: int, data: Any, headers: dict[str, str], now: datetime
    ) -> None:
        """Store the answer inside the write's transaction (runs on the writer thread)."""
        body = json.dumps(
            {"data": data, "meta": {"request_id": self.request_id}},
            ensure_ascii=False, separators=(",", ":"),
        ).encode("utf-8")
        self.stored = StoredResponse(self.fingerprint, status, headers, body)
        store.save_idempotency(conn, self.organization_id, self.key, self.stored, now, self.ttl)

    @property
    def response(self) -> web.Response | None:
        if self.stored is None:
            return None
        return web.Response(
            body=self.stored.body, status=self.stored.status, headers=self.stored.headers,
            content_type="application/json",
        )


class IdempotencyGate:
    def __init__(self, db: Database, ttl: timedelta) -> None:
        self.db = db
        self.ttl = ttl
        self._running: set[tuple[str, str]] = set()

    async def begin(
        self, organization_id: str, key: str, fp: str, request_id: str, now: datetime
    ) -> Recorder | web.Response:
        """Reserve the key (→ a Recorder) or answer from the stored response."""
        slot = (organization_id, key)
        if slot in self._running:
            raise ApiError(
                409, "idempotency_in_progress",
                "A request with this Idempotency-Key is still running; retry in a second.",
                headers=RETRY_HEADERS,
            )
        self._running.add(slot)
        try:
            stored = await self.db.run_read(store.get_idempotency, organization_id, key, now)
        except BaseException:
            self._running.discard(slot)
            raise
        if stored is None:
            return Recorder(organization_id, key, fp, request_id, self.ttl)
        self._running.discard(slot)
        if stored.fingerprint != fp:
            raise ApiError(
                409, "idempotency_key_conflict",
                "This Idempotency-Key was used for a different request; use a new key.",
            )
        headers = {**stored.headers, "Idempotent-Replayed": "true"}
        return web.Response(
            body=stored.body, status=stored.status, headers=headers, content_type="application/json"
        )

    def end(self, recorder: Recorder) -> None:
        self._running.discard((recorder.organization_id, recorder.key))
