"""The bookkeeping behind the crash suites (tests/test_crash_mixed.py, test_bookings_crash.py).

A ``Model`` holds what the database must contain after every crash: each booking the clients
were told about (or that a crash left committed), with the history actions and outbox events
each of its writes must have produced exactly once. ``check_database`` compares a read-only
view of the SQLite file with it; ``ReceiverThread`` keeps a webhook receiver alive across the
server's restarts.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.loop_thread import LoopThread
from tests.plans import QUICK_PLAN
from tests.webhook_receiver import Receiver

ACTIVE = ("confirmed", "pending")
ALWAYS_OPEN_PLAN = QUICK_PLAN  # one owner open around the clock, a 15-minute event type


@dataclass
class Booking:
    uid: str
    owner: int
    start: str
    metadata: dict[str, str]
    attendee_name: str
    status: str = "confirmed"
    version: int = 1
    rescheduled_from: str | None = None
    rescheduled_to: str | None = None
    history: list[str] = field(default_factory=lambda: ["created"])
    events: list[str] = field(default_factory=lambda: ["booking.created"])

    @property
    def live(self) -> bool:
        return self.status in ACTIVE


@dataclass
class Op:
    """One write request. ``status`` is None until an answer arrived (or the crash decided)."""

    kind: str  # create | cancel | reschedule | patch
    key: str
    path: str
    body: dict[str, Any]
    client: int
    cycle: int
    target: str | None = None  # the booking a cancel / reschedule / patch acts on
    status: int | None = None
    raw: bytes = b""
    etag: str | None = None
    # acked | rejected (409 slot_unavailable) | unacked (no answer); after the restart an
    # unacked write becomes committed-before-crash, acked-on-retry or rejected-on-retry
    outcome: str = "pending"

    @property
    def method(self) -> str:
        return "PATCH" if self.kind == "patch" else "POST"

    def data(self) -> dict[str, Any]:
        return json.loads(self.raw)["data"]


class Model:
    def __init__(self) -> None:
        self.bookings: dict[str, Booking] = {}
        self.applied: dict[str, Op] = {}  # idempotency key -> the write it committed

    def owned_live(self, client: int) -> list[Booking]:
        return [b for b in self.bookings.values() if b.owner == client and b.live]

    def taken(self, start: str) -> bool:
        return any(b.live and b.start == start for b in self.bookings.values())

    def apply(self, op: Op) -> None:
        """Record a committed write (its ``raw`` is the stored answer) and check the answer
        against what the model expects."""
        assert op.key not in self.applied, f"write {op.key} applied twice"
        data = op.data()
        if op.kind == "create":
            assert data["uid"] not in self.bookings, "a create returned an existing uid"
            booking = Booking(
                data["uid"], op.client, data["start_at"], dict(op.body["metadata"]),
                op.body["attendee"]["name"],
            )
            assert booking.start == op.body["start"]
            self.bookings[booking.uid] = booking
            fresh = booking
        else:
            assert op.target is not None
            old = self.bookings[op.target]
            old.version += 1
            if op.kind == "cancel":
                old.status = "canceled"
                old.history.append("canceled")
                old.events.append("booking.canceled")
                fresh = old
            elif op.kind == "patch":
                old.metadata.update(op.body.get("metadata", {}))
                old.attendee_name = op.body.get("attendee_name", old.attendee_name)
                old.history.append("updated")
                old.events.append("booking.updated")
                fresh = old
            else:
                old.status = "rescheduled"
                old.rescheduled_to = data["uid"]
                old.history.append("rescheduled")
                assert data["uid"] not in self.bookings, "a reschedule returned an existing uid"
                fresh = Booking(
                    data["uid"], op.client, data["start_at"], dict(old.metadata),
                    old.attendee_name, rescheduled_from=old.uid,
                    events=["booking.rescheduled"],
                )
                assert fresh.start == op.body["start"]
                self.bookings[fresh.uid] = fresh
        self.applied[op.key] = op
        seen = {
            "uid": data["uid"], "status": data["status"], "version": data["version"],
            "metadata": data["metadata"], "name": data["attendees"][0]["name"],
            "from": data["rescheduled_from_uid"],
        }
        assert seen == {
            "uid": fresh.uid, "status": fresh.status, "version": fresh.version,
            "metadata": fresh.metadata, "name": fresh.attendee_name, "from": fresh.rescheduled_from,
        }, (op.kind, seen)


def read_only(db: Path) -> sqlite3.Connection:
    """A connection that can neither write nor checkpoint: the file is seen as the crash
    left it (WAL included)."""
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def integrity(db: Path) -> str:
    with closing(read_only(db)) as conn:
        return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))


def stored_answers(db: Path) -> dict[str, tuple[int, bytes, str]]:
    """Idempotency key -> (status, body, ETag) of every committed write."""
    with closing(read_only(db)) as conn:
        return {
            key: (status, bytes(body), json.loads(headers)["ETag"])
            for key, status, body, headers in conn.execute(
                "SELECT key, status, body, headers FROM idempotency_records"
            )
        }


def check_database(db: Path, model: Model) -> list[str]:
    """Everything the model says is there, exactly once, and nothing else. Returns the
    outbox event ids (all of them belong to writes in the model)."""
    with closing(read_only(db)) as conn:
        conn.execute("BEGIN")  # one snapshot for every query below
        assert [r[0] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = {
            r[0]: r[1:] for r in conn.execute(
                "SELECT uid, status, start_at, version, metadata, attendee_name,"
                " rescheduled_from_uid, rescheduled_to_uid FROM bookings"
            )
        }
        history: dict[str, list[str]] = defaultdict(list)
        for uid, action in conn.execute("SELECT booking_uid, action FROM booking_history ORDER BY id"):
            history[uid].append(action)
        events: dict[str, list[str]] = defaultdict(list)
        event_ids: list[str] = []
        for event_id, name, payload in conn.execute("SELECT id, event, payload FROM events ORDER BY seq"):
            events[json.loads(payload)["booking"]["id"]].append(name)
            event_ids.append(event_id)
        records = {
            key: (status, bytes(body))
            for key, status, body in conn.execute("SELECT key, status, body FROM idempotency_records")
        }
        double_booked = conn.execute(
            "SELECT event_type_id, start_at, COUNT(*) FROM bookings WHERE status IN (?, ?)"
            " GROUP BY event_type_id, start_at HAVING COUNT(*) > 1", ACTIVE,
        ).fetchall()
        conn.execute("COMMIT")

    assert set(rows) == set(model.bookings), (
        f"bookings nobody was told about: {sorted(set(rows) - set(model.bookings))[:5]}, "
        f"acknowledged bookings missing: {sorted(set(model.bookings) - set(rows))[:5]}"
    )
    for uid, b in model.bookings.items():
        status, start, version, metadata, name, came_from, went_to = rows[uid]
        assert (status, start, version, json.loads(metadata), name, came_from, went_to) == (
            b.status, b.start, b.version, b.metadata, b.attendee_name, b.rescheduled_from,
            b.rescheduled_to,
        ), uid
        assert history.get(uid, []) == b.history, (uid, history.get(uid), b.history)
        assert events.get(uid, []) == b.events, (uid, events.get(uid), b.events)
    assert set(history) <= set(model.bookings) and set(events) <= set(model.bookings)
    assert set(records) == set(model.applied), (
        f"stored answers without a write: {sorted(set(records) - set(model.applied))[:5]}, "
        f"writes without a stored answer: {sorted(set(model.applied) - set(records))[:5]}"
    )
    for key, op in model.applied.items():
        assert records[key] == (op.status, op.raw), f"the stored answer of {key} differs"
    assert double_booked == [], f"two live bookings on one slot: {double_booked}"
    return event_ids


def delivery_states(db: Path) -> dict[str, list[str]]:
    """Outbox event id -> the statuses of its deliveries."""
    with closing(read_only(db)) as conn:
        states: dict[str, list[str]] = defaultdict(list)
        for event_id, status in conn.execute(
            "SELECT event_id, status FROM webhook_deliveries WHERE is_test = 0"
        ):
            states[event_id].append(status)
    return states


class ReceiverThread:
    """The webhook receiver on its own event loop thread, so that it keeps answering while
    the test blocks (starting a server, reading the database)."""

    def __init__(self) -> None:
        self._thread = LoopThread()
        self.receiver: Receiver = self._thread.run(Receiver().start())

    @property
    def url(self) -> str:
        return self.receiver.url

    def close(self) -> None:
        self._thread.run(self.receiver.stop())
        self._thread.close()
