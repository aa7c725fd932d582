"""Small helpers shared by the booking write-path tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fortytwo import keys
from fortytwo.db.database import fetch_all, fetch_one
from fortytwo.store import bookings as booking_store
from tests.conftest import Account
from tests.reference import validate_response, validate_schema
from tests.scenario import DEMO, apply_text

API_VERSION = "2026-04-01"
TABLES = ("bookings", "events", "idempotency_records", "booking_history")
# Tuesday 2026-05-19; working hours are 08:00-16:00 UTC (09:00-17:00 Europe/London, BST)
TUESDAY = datetime(2026, 5, 19, tzinfo=UTC)


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def write_headers(account: Account, key: str | None = None, **extra: str) -> dict[str, str]:
    return {**account.auth, "Idempotency-Key": key or str(uuid.uuid4()), **extra}


def create_body(event_type_id: str, start: datetime | str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_type_id": event_type_id,
        "start": start if isinstance(start, str) else iso(start),
        "attendee": {"email": "grace@example.com", "name": "Grace Hopper"},
    }
    body.update(extra)
    return body


async def post_booking(client, account: Account, body: Any, key: str | None = None, **headers: str):
    return await client.post("/v1/bookings", json=body, headers=write_headers(account, key, **headers))


async def book(client, account: Account, event_type_id: str, start: datetime, **extra: Any) -> dict:
    """Create a booking that must succeed; returns its ``data``."""
    resp = await post_booking(client, account, create_body(event_type_id, start, **extra))
    payload = await resp.json()
    assert resp.status == 201, payload
    return payload["data"]


async def cancel(client, account: Account, uid: str, body: Any = None, key: str | None = None):
    kwargs = {} if body is None else {"json": body}
    return await client.post(f"/v1/bookings/{uid}/cancel", headers=write_headers(account, key), **kwargs)


async def reschedule(client, account: Account, uid: str, start: datetime | str, key: str | None = None, **extra: Any):
    body = {"start": start if isinstance(start, str) else iso(start), **extra}
    return await client.post(f"/v1/bookings/{uid}/reschedule", json=body, headers=write_headers(account, key))


async def patch(client, account: Account, uid: str, body: Any, if_match: str | None, key: str | None = None):
    headers = write_headers(account, key)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.patch(f"/v1/bookings/{uid}", json=body, headers=headers)


async def get_booking(client, account: Account, uid: str):
    return await client.get(f"/v1/bookings/{uid}", headers=account.auth)


async def table_counts(app) -> dict[str, int]:
    conn = app[keys.DATABASE].reader
    out = {}
    for table in TABLES:
        row = await fetch_one(conn, f"SELECT COUNT(*) FROM {table}")
        out[table] = row[0]
    return out


async def events_of(app, uid: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows (oldest first) as delivery envelopes, optionally for one booking/event."""
    rows = await fetch_all(app[keys.DATABASE].reader, "SELECT * FROM events ORDER BY seq")
    out = []
    for row in rows:
        data = json.loads(row["payload"])
        if uid is not None and data.get("booking", {}).get("id") != uid:
            continue
        if event is not None and row["event"] != event:
            continue
        out.append({
            "id": row["id"], "event": row["event"], "createdAt": row["created_at"],
            "apiVersion": API_VERSION, "data": data,
        })
    return out


def check_envelope(envelope: dict[str, Any]) -> None:
    assert envelope["id"].startswith("evt_")
    validate_schema("BookingWebhookEnvelope", envelope)


async def history_of(app, uid: str) -> list[dict[str, Any]]:
    return await app[keys.DATABASE].run_read(booking_store.history, uid)


def check_headers(resp, version: int | None) -> None:
    """X-Request-Id equal to the body's, rate-limit headers, and the ETag when expected."""
    assert resp.headers["X-Request-Id"].startswith("req_")
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert resp.headers[name].isdigit(), name
    if version is not None:
        assert resp.headers["ETag"] == f'"{version}"'


async def ok_body(resp, operation_id: str, status: int) -> dict[str, Any]:
    payload = await resp.json()
    assert resp.status == status, payload
    validate_response(operation_id, status, payload)
    assert payload["meta"]["request_id"] == resp.headers["X-Request-Id"]
    check_headers(resp, payload["data"]["version"])
    return payload["data"]


async def error_of(resp, status: int, code: str) -> dict[str, Any]:
    payload = await resp.json()
    assert resp.status == status, payload
    assert payload["error"]["code"] == code, payload
    validate_schema("Error", payload)
    assert payload["error"]["request_id"] == resp.headers["X-Request-Id"]
    return payload["error"]


def demo_text(**intro: Any) -> str:
    """tests/data/demo.toml with extra settings on the intro-call event type."""
    lines = "".join(f"{name} = {toml_value(value)}\n" for name, value in intro.items())
    text = DEMO.read_text()
    marker = 'slug = "intro-call"\n'
    assert marker in text
    return text.replace(marker, marker + lines)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


async def set_intro(app, **settings: Any) -> None:
    await apply_text(app, demo_text(**settings))
