"""Webhook subscriptions, the delivery queue and the outbox cursor (migration 0005)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fortytwo.db.database import Conn, Row, execute, fetch_all, fetch_one
from fortytwo.store.common import ts


@dataclass(frozen=True, slots=True)
class Owner:
    """A webhook sandbox within an organization: who may see and change a subscription."""

    organization_id: str
    kind: str  # "pat" | "oauth" | "cli"
    id: str = ""  # PAT id or OAuth client id
    generation: int = 0  # PAT rotation generation


@dataclass(frozen=True, slots=True)
class WebhookRow:
    id: str
    organization_id: str
    owner_kind: str
    owner_id: str
    owner_generation: int
    url: str
    url_key: str
    events: tuple[str, ...]
    description: str | None
    status: str
    paused_reason: str | None
    secret: bytes
    consecutive_failures: int
    last_delivery_at: str | None
    last_delivery_ok: bool | None
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    n: int
    id: str
    webhook_id: str
    organization_id: str
    event_id: str
    event: str
    is_test: bool
    attempt: int
    status: str
    next_attempt_at: str | None
    status_code: int | None
    error: str | None
    delivered_at: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery whose next attempt is due, with what the attempt needs."""

    id: str
    webhook_id: str
    attempt: int  # attempts made so far
    event_id: str
    event: str
    event_created_at: str
    payload: str  # JSON text of the envelope's data
    url: str
    secret: bytes


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    seq: int
    id: str
    organization_id: str
    event: str
    created_at: str


def _webhook(row: Row) -> WebhookRow:
    ok = row["last_delivery_ok"]
    return WebhookRow(
        id=row["id"],
        organization_id=row["organization_id"],
        owner_kind=row["owner_kind"],
        owner_id=row["owner_id"],
        owner_generation=row["owner_generation"],
        url=row["url"],
        url_key=row["url_key"],
        events=tuple(json.loads(row["events"])),
        description=row["description"],
        status=row["status"],
        paused_reason=row["paused_reason"],
        secret=bytes(row["secret"]),
        consecutive_failures=row["consecutive_failures"],
        last_delivery_at=row["last_delivery_at"],
        last_delivery_ok=None if ok is None else bool(ok),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _delivery(row: Row) -> DeliveryRow:
    return DeliveryRow(
        n=row["n"],
        id=row["id"],
        webhook_id=row["webhook_id"],
        organization_id=row["organization_id"],
        event_id=row["event_id"],
        event=row["event"],
        is_test=bool(row["is_test"]),
        attempt=row["attempt"],
        status=row["status"],
        next_attempt_at=row["next_attempt_at"],
        status_code=row["status_code"],
        error=row["error"],
        delivered_at=row["delivered_at"],
        created_at=row["created_at"],
    )


_SANDBOX = "organization_id = ? AND owner_kind = ? AND owner_id = ? AND owner_generation = ?"


def _sandbox(owner: Owner) -> tuple[Any, ...]:
    return (owner.organization_id, owner.kind, owner.id, owner.generation)


# -- subscriptions ------------------------------------------------------------------------
async def insert_webhook(
    conn: Conn,
    *,
    webhook_id: str,
    owner: Owner,
    url: str,
    url_key: str,
    events: Sequence[str],
    description: str | None,
    secret: bytes,
    now: datetime,
) -> None:
    await execute(
        conn,
        """INSERT INTO webhooks (id, organization_id, owner_kind, owner_id, owner_generation,
               url, url_key, events, description, status, secret, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)""",
        (
            webhook_id, *_sandbox(owner), url, url_key, json.dumps(list(events)), description,
            secret, ts(now), ts(now),
        ),
    )


async def get_in_sandbox(conn: Conn, owner: Owner, webhook_id: str) -> WebhookRow | None:
    row = await fetch_one(
        conn, f"SELECT * FROM webhooks WHERE id = ? AND {_SANDBOX}", (webhook_id, *_sandbox(owner))
    )
    return None if row is None else _webhook(row)


async def get_webhook(conn: Conn, webhook_id: str) -> WebhookRow | None:
    row = await fetch_one(conn, "SELECT * FROM webhooks WHERE id = ?", (webhook_id,))
    return None if row is None else _webhook(row)


async def list_in_sandbox(conn: Conn, owner: Owner) -> list[WebhookRow]:
    rows = await fetch_all(
        conn, f"SELECT * FROM webhooks WHERE {_SANDBOX} ORDER BY created_at, id", _sandbox(owner)
    )
    return [_webhook(r) for r in rows]


async def list_all(conn: Conn, organization_id: str | None) -> list[WebhookRow]:
    if organization_id is None:
        rows = await fetch_all(conn, "SELECT * FROM webhooks ORDER BY organization_id, created_at, id")
    else:
        rows = await fetch_all(
            conn,
            "SELECT * FROM webhooks WHERE organization_id = ? ORDER BY created_at, id",
            (organization_id,),
        )
    return [_webhook(r) for r in rows]


async def count_in_sandbox(conn: Conn, owner: Owner) -> int:
    row = await fetch_one(conn, f"SELECT COUNT(*) FROM webhooks WHERE {_SANDBOX}", _sandbox(owner))
    return int(row[0]) if row else 0


async def id_with_url(
    conn: Conn, owner: Owner, url_key: str, except_id: str | None = None
) -> str | None:
    """The id of the sandbox's other webhook with this URL, if there is one."""
    row = await fetch_one(
        conn,
        f"SELECT id FROM webhooks WHERE {_SANDBOX} AND url_key = ? AND id IS NOT ?",
        (*_sandbox(owner), url_key, except_id),
    )
    return None if row is None else row["id"]


async def update_webhook(
    conn: Conn, webhook_id: str, changes: dict[str, Any], now: datetime, *, reset: bool = True
) -> None:
    """Write ``changes`` (column -> value; ``events`` as a list) and move ``updated_at``;
    with ``reset``, also zero the count of deliveries that failed in a row."""
    columns = dict(changes)
    if "events" in columns:
        columns["events"] = json.dumps(list(columns["events"]))
    if reset:
        columns["consecutive_failures"] = 0
    columns["updated_at"] = ts(now)
    assignments = ", ".join(f"{name} = ?" for name in columns)
    await execute(
        conn, f"UPDATE webhooks SET {assignments} WHERE id = ?", (*columns.values(), webhook_id)
    )


async def delete_webhook(conn: Conn, webhook_id: str) -> int:
    return await execute(conn, "DELETE FROM webhooks WHERE id = ?", (webhook_id,))


# -- deliveries -----------------------------------------------------------------------------
async def insert_test_delivery(
    conn: Conn,
    *,
    delivery_id: str,
    webhook: WebhookRow,
    event_id: str,
    event: str,
    status: str,
    status_code: int | None,
    error: str | None,
    delivered_at: datetime | None,
    now: datetime,
) -> DeliveryRow:
    await execute(
        conn,
        """INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event_id, event,
               is_test, attempt, status, status_code, error, delivered_at, created_at,
               updated_at)
           VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?, ?, ?, ?, ?)""",
        (
            delivery_id, webhook.id, webhook.organization_id, event_id, event, status,
            status_code, error, None if delivered_at is None else ts(delivered_at), ts(now),
            ts(now),
        ),
    )
    row = await fetch_one(conn, "SELECT * FROM webhook_deliveries WHERE id = ?", (delivery_id,))
    assert row is not None
    return _delivery(row)


async def list_deliveries(
    conn: Conn, webhook_id: str, *, before_n: int | None, limit: int
) -> tuple[list[DeliveryRow], bool]:
    """Newest first; only deliveries that have had at least one attempt."""
    rows = await fetch_all(
        conn,
        """SELECT * FROM webhook_deliveries
           WHERE webhook_id = ? AND attempt > 0 AND n < ?
           ORDER BY n DESC LIMIT ?""",
        (webhook_id, before_n if before_n is not None else 2**63 - 1, limit + 1),
    )
    return [_delivery(r) for r in rows[:limit]], len(rows) > limit


async def recent_deliveries(conn: Conn, webhook_id: str, limit: int) -> list[DeliveryRow]:
    """The operator's view: newest first, pending ones included."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY n DESC LIMIT ?",
        (webhook_id, limit),
    )
    return [_delivery(r) for r in rows]


# -- the outbox and fan-out ---------------------------------------------------------------
async def outbox_cursor(conn: Conn) -> int:
    row = await fetch_one(conn, "SELECT outbox_seq FROM webhook_state WHERE id = 1")
    return int(row[0]) if row else 0


async def set_outbox_cursor(conn: Conn, seq: int) -> None:
    await execute(conn, "UPDATE webhook_state SET outbox_seq = ? WHERE id = 1", (seq,))


async def has_events_after(conn: Conn, seq: int) -> bool:
    return await fetch_one(conn, "SELECT 1 FROM events WHERE seq > ? LIMIT 1", (seq,)) is not None


async def events_after(conn: Conn, seq: int, limit: int) -> list[OutboxEvent]:
    rows = await fetch_all(
        conn,
        "SELECT seq, id, organization_id, event, created_at FROM events"
        " WHERE seq > ? ORDER BY seq LIMIT ?",
        (seq, limit),
    )
    return [
        OutboxEvent(r["seq"], r["id"], r["organization_id"], r["event"], r["created_at"])
        for r in rows
    ]


async def active_webhooks(conn: Conn, organization_ids: Iterable[str]) -> list[WebhookRow]:
    ids = sorted(set(organization_ids))
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM webhooks WHERE status = 'active' AND organization_id IN ({marks})",
        ids,
    )
    return [_webhook(r) for r in rows]


async def enqueue(
    conn: Conn, items: Sequence[tuple[str, str, str, str, str]], now: datetime
) -> None:
    """New pending deliveries, due at once: ``(delivery_id, webhook_id, organization_id,
    event_id, dotted_event)``. A (webhook, event) pair already queued is left alone."""
    stamp = ts(now)
    await conn.executemany(
        """INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, organization_id, event_id,
               event, status, next_attempt_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)""",
        [(*item, stamp, stamp, stamp) for item in items],
    )


async def due_deliveries(
    conn: Conn, now: datetime, limit: int, skip: Iterable[str] = ()
) -> list[DueDelivery]:
    """Pending deliveries of active webhooks due by ``now``, earliest first."""
    skipped = list(skip)
    marks = ", ".join("?" for _ in skipped)
    exclude = f" AND d.id NOT IN ({marks})" if skipped else ""
    rows = await fetch_all(
        conn,
        f"""SELECT d.id, d.webhook_id, d.attempt, d.event_id, d.event,
                   e.created_at AS event_created_at, e.payload, w.url, w.secret
            FROM webhook_deliveries d
            JOIN webhooks w ON w.id = d.webhook_id
            JOIN events e ON e.id = d.event_id
            WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.status = 'active'{exclude}
            ORDER BY d.next_attempt_at, d.n
            LIMIT ?""",
        (ts(now), *skipped, limit),
    )
    return [
        DueDelivery(
            id=r["id"], webhook_id=r["webhook_id"], attempt=r["attempt"], event_id=r["event_id"],
            event=r["event"], event_created_at=r["event_created_at"], payload=r["payload"],
            url=r["url"], secret=bytes(r["secret"]),
        )
        for r in rows
    ]


async def next_due_at(conn: Conn) -> str | None:
    row = await fetch_one(
        conn,
        """SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d
           JOIN webhooks w ON w.id = d.webhook_id
           WHERE d.status = 'pending' AND w.status = 'active'""",
    )
    return None if row is None else row[0]


async def current_secret(conn: Conn, webhook_id: str) -> tuple[str, bytes] | None:
    """The URL and sealed secret a webhook has right now (they may change between attempts)."""
    row = await fetch_one(conn, "SELECT url, secret FROM webhooks WHERE id = ?", (webhook_id,))
    return None if row is None else (row["url"], bytes(row["secret"]))


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """The outcome of one attempt. ``status`` is the delivery's new status: ``succeeded``,
    ``pending`` (a retry is due at ``next_attempt_at``) or ``failed`` (every attempt used)."""

    delivery_id: str
    webhook_id: str
    attempt: int
    status: str
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    at: datetime


async def record_attempts(
    conn: Conn, records: Sequence[AttemptRecord], pause_after: int
) -> list[str]:
    """Store outcomes (in the order they happened) and their effect on the webhooks: the last
    attempt's time and result, the count of deliveries that failed every attempt in a row
    (any success starts it over), and the pause once it reaches ``pause_after``. Returns the
    ids of the webhooks this paused. Rows of webhooks deleted meanwhile are gone; their
    outcomes change nothing."""
    await conn.executemany(
        """UPDATE webhook_deliveries SET attempt = ?, status = ?, status_code = ?, error = ?,
               next_attempt_at = ?, delivered_at = ?, updated_at = ?
           WHERE id = ? AND status = 'pending'""",
        [
            (
                r.attempt, r.status, r.status_code, r.error,
                None if r.next_attempt_at is None else ts(r.next_attempt_at),
                ts(r.at) if r.status == "succeeded" else None, ts(r.at), r.delivery_id,
            )
            for r in records
        ],
    )
    # per webhook: the last result, and the exhausted deliveries since its last success
    summary: dict[str, dict[str, Any]] = {}
    for r in records:
        item = summary.setdefault(r.webhook_id, {"reset": False, "exhausted": 0})
        item["at"], item["ok"] = ts(r.at), r.status == "succeeded"
        if r.status == "succeeded":
            item["reset"], item["exhausted"] = True, 0
        elif r.status == "failed":
            item["exhausted"] += 1
    await conn.executemany(
        """UPDATE webhooks SET last_delivery_at = ?, last_delivery_ok = ?,
               consecutive_failures = CASE WHEN ? THEN ? ELSE consecutive_failures + ? END
           WHERE id = ?""",
        [
            (i["at"], int(i["ok"]), int(i["reset"]), i["exhausted"], i["exhausted"], webhook_id)
            for webhook_id, i in summary.items()
        ],
    )
    paused: list[str] = []
    for webhook_id, item in summary.items():
        if item["exhausted"] and await execute(
            conn,
            """UPDATE webhooks SET status = 'paused', paused_reason = 'consecutive_failures',
                   updated_at = ?
               WHERE id = ? AND status = 'active' AND consecutive_failures >= ?""",
            (item["at"], webhook_id, pause_after),
        ):
            paused.append(webhook_id)
    return paused


async def purge_deliveries(conn: Conn, before: datetime) -> int:
    """Remove finished deliveries created before ``before``; pending ones are kept."""
    return await execute(
        conn,
        "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?",
        (ts(before),),
    )
