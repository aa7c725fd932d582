"""kill -9 of a real server in the middle of delivering (contract 8.2, 12).

Booking events are written to the outbox by another process (as the command line does), the
server delivers them to a receiver in this test, and is killed with SIGKILL part-way. After a
restart every event reaches the receiver at least once, always under the same delivery id,
and the only repeats are deliveries whose first copy arrived before the crash.

``FORTYTWO_WEBHOOK_DURABILITY_EVENTS`` sets the number of events (default 10,000, the
contract's figure).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
import uuid
from collections import defaultdict
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from fortytwo.webhooks.scheduler import MAX_IN_FLIGHT
from fortytwo.webhooks.synthetic import synthetic_data
from tests.cli_helpers import Server, cli, cli_json
from tests.webhook_receiver import Receiver

EVENTS = int(os.environ.get("FORTYTWO_WEBHOOK_DURABILITY_EVENTS", "10000"))


def _stamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _write_events(db: Path, org_id: str, count: int) -> list[str]:
    ids = [f"evt_{uuid.uuid4()}" for _ in range(count)]
    with closing(sqlite3.connect(db, timeout=30, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        start = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        stamp = _stamp()
        conn.executemany(
            "INSERT INTO events (id, seq, organization_id, event, payload, created_at)"
            " VALUES (?, ?, ?, 'booking.created', ?, ?)",
            [
                (event_id, start + i + 1, org_id,
                 json.dumps(synthetic_data("booking.created", org_id, datetime.now(UTC))), stamp)
                for i, event_id in enumerate(ids)
            ],
        )
        conn.execute("COMMIT")
    return ids


async def test_kill_9_while_delivering_loses_no_event(tmp_path):
    receiver = await Receiver().start()
    data = tmp_path / "data"
    cli(data, "init")
    with (data / "config.toml").open("a") as fh:
        fh.write("\n[webhooks]\nallow_private_targets = true\nmax_concurrency_per_target = 16\n")
    cli(data, "orgs", "create", "Acme")
    hook = cli_json(data, "webhooks", "create", "--org", "Acme", "--url", receiver.url + "/in",
                    "--events", "booking_created")
    with closing(sqlite3.connect(data / "fortytwo.db")) as conn:
        org_id = conn.execute("SELECT id FROM organizations").fetchone()[0]
    server = await asyncio.to_thread(Server, data)
    try:
        expected = set(_write_events(data / "fortytwo.db", org_id, EVENTS))
        await receiver.wait_for(EVENTS // 3, within=60)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        before = len(receiver.requests)
        assert before < EVENTS, "everything was delivered before the kill; raise the count"

        server = await asyncio.to_thread(Server, data)
        deadline = time.monotonic() + 120
        while {r.json()["id"] for r in receiver.requests} != expected:
            assert time.monotonic() < deadline, "events went missing"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything still on its way
    finally:
        server.stop()
        await receiver.stop()

    by_delivery: dict[str, list[float]] = defaultdict(list)
    delivery_of_event: dict[str, set[str]] = defaultdict(set)
    for received in receiver.requests:
        assert received.headers["X-42min-Webhook-Event"] == "booking.created"
        by_delivery[received.delivery_id].append(received.at)
        delivery_of_event[received.json()["id"]].add(received.delivery_id)
    assert all(len(ids) == 1 for ids in delivery_of_event.values()), "one delivery id per event"
    repeats = {d: times for d, times in by_delivery.items() if len(times) > 1}
    # each server life sends a delivery once (the receiver answers 200), so a repeat is one
    # copy per life; the killed server can only have left its attempts in flight unrecorded
    assert all(len(times) == 2 for times in repeats.values()), "repeats only across the crash"
    assert len(repeats) <= MAX_IN_FLIGHT
    with closing(sqlite3.connect(data / "fortytwo.db")) as conn:
        states = dict(conn.execute(
            "SELECT status, COUNT(*) FROM webhook_deliveries WHERE webhook_id = ? GROUP BY status",
            (hook["id"],),
        ).fetchall())
    assert states == {"succeeded": EVENTS}
    print(f"\nwebhook durability: {EVENTS} events, {before} received before kill -9, "
          f"{len(repeats)} delivered twice across the crash")
