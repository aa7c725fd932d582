"""SIGKILL at random moments during mixed booking traffic (issue 9, item 3; contract 2.6, 8.2).

Each cycle runs ``fortytwo serve`` in a subprocess, lets several clients create, cancel,
reschedule, PATCH and read bookings while the server delivers their webhook events to a
receiver in this test, and kills the server with SIGKILL after a random delay. Then:

- with the server dead, the file passes ``PRAGMA integrity_check`` (read-only, so nothing is
  checkpointed or repaired first), and holds exactly the writes that were acknowledged, plus
  the unacknowledged ones whose idempotency record committed: each booking with its state,
  each write's history row and outbox event once, each stored answer byte for byte, no two
  live bookings on one slot, and nothing else;
- after a restart, every acknowledged write of the cycle replays its original answer, and
  every unacknowledged request retried with its key (a PATCH re-reads the ETag first)
  converges: the committed ones replay, the others apply now or are refused for a reason the
  model confirms (the slot was taken); a second retry replays;
- at the end every outbox event reaches the receiver, and an event arrives more than once
  only from different server lives.

``FORTYTWO_CRASH_CYCLES`` sets the number of kills (default 5) and ``FORTYTWO_CRASH_SEED``
replays a run's random choices (the seed is printed).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import os
import random
import signal
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDict

from tests.cli_helpers import Server, cli, cli_json
from tests.crash_support import (
    ALWAYS_OPEN_PLAN,
    Model,
    Op,
    ReceiverThread,
    check_database,
    delivery_states,
    integrity,
    stored_answers,
)

CYCLES = int(os.environ.get("FORTYTWO_CRASH_CYCLES", "5"))
SEED = int(os.environ.get("FORTYTWO_CRASH_SEED") or random.SystemRandom().randrange(2**32))
CLIENTS = 8
KILL_AFTER = (0.0, 1.2)  # seconds after the cycle's first acknowledged write, drawn per cycle
HOT_SLOTS = 12  # a few starts many clients want, so slot conflicts happen too
SLOTS = 96 * 300
DELIVERY_WAIT = 60.0
EVENTS = "booking_created,booking_updated,booking_canceled,booking_rescheduled"
GONE = (aiohttp.ClientError, ConnectionError, TimeoutError)


def _seed(tmp_path: Path, receiver_url: str) -> tuple[Path, str]:
    data = tmp_path / "data"
    cli(data, "init")
    config = data / "config.toml"
    config.write_text(
        config.read_text().replace("[server]\n", "[server]\naccess_log = false\n")
        + "\n[rate_limits]\npat = 1000000\n"
        + "\n[webhooks]\nallow_private_targets = true\nretry_delays_seconds = [1, 1, 1, 1, 1]\n"
        + "max_concurrency_per_target = 8\n"
    )
    plan = tmp_path / "plan.toml"
    plan.write_text(ALWAYS_OPEN_PLAN)
    cli(data, "apply", str(plan))
    token = cli_json(data, "tokens", "create", "--user", "ada", "--name", "crash",
                     "--scopes", "bookings:read,bookings:write,slots:read")["token"]
    cli(data, "webhooks", "create", "--org", "Acme", "--url", receiver_url + "/hook",
        "--events", EVENTS)
    return data, token


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Run:
    """The clients' shared state across cycles."""

    def __init__(self, token: str, rng: random.Random) -> None:
        self.token = token
        self.rng = rng
        self.model = Model()
        self.base = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        self.counter = itertools.count()
        self.url = ""
        self.cycle = 0
        self.ops: list[Op] = []  # this cycle's writes
        self.reads = 0
        self.totals: dict[str, int] = defaultdict(int)

    def auth(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def slot(self, rng: random.Random) -> str:
        n = rng.randrange(HOT_SLOTS) if rng.random() < 0.15 else rng.randrange(HOT_SLOTS, SLOTS)
        return _stamp(self.base + timedelta(minutes=15 * n))

    # -- one request ------------------------------------------------------------------------
    async def send(self, session: aiohttp.ClientSession, op: Op, if_match: str | None = None
                   ) -> tuple[int, CIMultiDict[str], bytes]:
        """One write with its key; a slot-lock timeout is retried with the same key, as the
        error asks. Raises on a lost connection."""
        headers = self.auth({"Idempotency-Key": op.key})
        if if_match is not None:
            headers["If-Match"] = if_match
        for _ in range(100):
            async with session.request(op.method, self.url + op.path, json=op.body,
                                       headers=headers) as resp:
                raw = await resp.read()
                if resp.status == 503 and json.loads(raw)["error"]["code"] == "slot_lock_timeout":
                    await asyncio.sleep(0.05)
                    continue
                return resp.status, CIMultiDict(resp.headers), raw
        raise AssertionError(f"{op.kind} {op.key}: slot lock never came free")

    def settle(self, op: Op, status: int, headers: CIMultiDict[str], raw: bytes) -> None:
        """A complete answer arrived: apply a success to the model, check a refusal."""
        if 200 <= status < 300:
            op.status, op.raw, op.etag, op.outcome = status, raw, headers["ETag"], "acked"
            self.model.apply(op)
            return
        assert status == 409 and op.kind in ("create", "reschedule"), (op.kind, status, raw)
        assert json.loads(raw)["error"]["code"] == "slot_unavailable", raw
        op.outcome = "rejected"

    # -- the clients ------------------------------------------------------------------------
    def next_op(self, client: int, rng: random.Random) -> Op | None:
        """The client's next write, or None for a read."""
        live = self.model.owned_live(client)
        roll = rng.random()
        key = str(uuid.uuid4())
        if not live or roll < 0.35:
            n = next(self.counter)
            body = {
                "username": "ada", "event_slug": "quick", "start": self.slot(rng),
                "attendee": {"email": f"guest{n}@example.com", "name": f"Guest {n}"},
                "metadata": {"n": str(n)},
            }
            return Op("create", key, "/v1/bookings", body, client, self.cycle)
        if roll > 0.85:
            return None
        booking = rng.choice(live)
        if roll < 0.55:
            n = next(self.counter)
            body: dict[str, Any] = {"metadata": {f"k{n % 4}": f"v{n}"}}
            if rng.random() < 0.5:
                body["attendee_name"] = f"Renamed {n}"
            return Op("patch", key, f"/v1/bookings/{booking.uid}", body, client, self.cycle,
                      booking.uid)
        if roll < 0.67:
            return Op("cancel", key, f"/v1/bookings/{booking.uid}/cancel",
                      {"reason": f"cycle {self.cycle}"}, client, self.cycle, booking.uid)
        return Op("reschedule", key, f"/v1/bookings/{booking.uid}/reschedule",
                  {"start": self.slot(rng)}, client, self.cycle, booking.uid)

    async def read(self, session: aiohttp.ClientSession, client: int, rng: random.Random) -> None:
        mine = [b for b in self.model.bookings.values() if b.owner == client]
        roll = rng.random()
        if mine and roll < 0.5:
            booking = rng.choice(mine)
            async with session.get(f"{self.url}/v1/bookings/{booking.uid}", headers=self.auth()) as resp:
                body = await resp.json()
                assert resp.status == 200, body
                # nobody else writes this client's bookings, so the read is exact
                assert (body["data"]["status"], body["data"]["version"]) == (booking.status, booking.version)
                assert resp.headers["ETag"] == f'"{booking.version}"'
        elif roll < 0.8:
            async with session.get(f"{self.url}/v1/bookings", params={"limit": "20", "sort": "updated_at_desc"},
                                   headers=self.auth()) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()
        else:
            day = self.base + timedelta(days=rng.randrange(30))
            params = {"username": "ada", "event_slug": "quick", "start": _stamp(day),
                      "end": _stamp(day + timedelta(days=1))}
            async with session.get(f"{self.url}/v1/slots", params=params, headers=self.auth()) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()
        self.reads += 1

    async def client(self, session: aiohttp.ClientSession, client: int, rng: random.Random) -> None:
        """Requests one after another until the server is gone; the write in flight then is
        left unacknowledged."""
        while True:
            op = self.next_op(client, rng)
            try:
                if op is None:
                    await self.read(session, client, rng)
                    continue
                self.ops.append(op)
                if_match = (f'"{self.model.bookings[op.target].version}"'
                            if op.kind == "patch" and op.target else None)
                status, headers, raw = await self.send(session, op, if_match)
            except GONE:
                if op is not None:
                    op.outcome = "unacked"
                return
            self.settle(op, status, headers, raw)

    async def traffic_until_killed(self, server: Server, delay: float) -> None:
        async def killer() -> None:
            deadline = time.monotonic() + 20
            while not any(op.outcome == "acked" for op in self.ops):
                assert time.monotonic() < deadline, "no write was acknowledged"
                await asyncio.sleep(0.005)
            await asyncio.sleep(delay)
            server.proc.send_signal(signal.SIGKILL)

        seeds = [self.rng.random() for _ in range(CLIENTS)]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            await asyncio.gather(
                killer(), *(self.client(session, i, random.Random(s)) for i, s in enumerate(seeds))
            )

    # -- after the crash --------------------------------------------------------------------
    def resolve_offline(self, db: Path) -> list[Op]:
        """With the server dead: an unacknowledged write committed iff its idempotency record
        did (same transaction); take those into the model from the stored answer."""
        answers = stored_answers(db)
        unacked = [op for op in self.ops if op.outcome == "unacked"]
        for op in unacked:
            if op.key in answers:
                op.status, op.raw, op.etag = answers[op.key]
                self.model.apply(op)
                self.totals["committed_before_ack"] += 1
        return unacked

    async def verify_online(self, session: aiohttp.ClientSession, unacked: list[Op]) -> None:
        """After the restart: acknowledged writes replay; unacknowledged ones converge."""
        for op in self.ops:
            if op.outcome != "acked":
                continue
            if_match = f'"{self.model.bookings[op.target].version}"' if op.kind == "patch" else None
            status, headers, raw = await self.send(session, op, if_match)
            assert (status, raw, headers["ETag"]) == (op.status, op.raw, op.etag), (op.kind, status, raw)
            assert headers.get("Idempotent-Replayed") == "true"
            self.totals["replayed"] += 1

        for op in unacked:
            committed = op.status is not None
            for attempt in range(2):
                if_match = None
                if op.kind == "patch":  # as a client would: read the current ETag first
                    async with session.get(f"{self.url}/v1/bookings/{op.target}",
                                           headers=self.auth()) as resp:
                        assert resp.status == 200, await resp.text()
                        if_match = resp.headers["ETag"]
                status, headers, raw = await self.send(session, op, if_match)
                replayed = headers.get("Idempotent-Replayed") == "true"
                if op.status is not None:  # committed before the crash, or by the first retry
                    assert (status, raw, headers["ETag"], replayed) == (op.status, op.raw, op.etag, True), (
                        op.kind, status, raw)
                elif attempt == 0:
                    assert not replayed
                    self.settle(op, status, headers, raw)  # applies a success, checks a refusal
                    if op.outcome == "acked":
                        self.totals["applied_on_retry"] += 1
                    else:
                        assert self.model.taken(op.body["start"]), "refused a free slot"
                        self.totals["refused_on_retry"] += 1
                else:  # refused again: nothing was stored under the key
                    assert status == 409 and not replayed, (status, raw)
            op.outcome = "committed-before-crash" if committed else f"{op.outcome}-on-retry"
            self.totals["retried_unacknowledged"] += 1

        touched = {op.target for op in self.ops if op.target} | {
            op.data()["uid"] for op in self.ops if op.status and 200 <= op.status < 300
        }
        for uid in touched:
            booking = self.model.bookings[uid]
            async with session.get(f"{self.url}/v1/bookings/{uid}", headers=self.auth()) as resp:
                body = await resp.json()
                assert resp.status == 200, body
                data = body["data"]
                assert (data["status"], data["version"], data["metadata"], data["attendees"][0]["name"]) == (
                    booking.status, booking.version, booking.metadata, booking.attendee_name
                ), uid
                assert resp.headers["ETag"] == f'"{booking.version}"'


def _start(data: Path, lives: list[float]) -> Server:
    lives.append(time.monotonic())
    return Server(data)


async def test_sigkill_during_mixed_traffic(tmp_path):
    began = time.monotonic()
    print(f"\ncrash suite seed={SEED} (FORTYTWO_CRASH_SEED={SEED} repeats the random choices)")
    rng = random.Random(SEED)
    hooks = ReceiverThread()
    db = tmp_path / "data" / "fortytwo.db"
    lives: list[float] = []  # when each server life began (time.monotonic)
    acknowledged = 0
    server: Server | None = None
    try:
        data, token = _seed(tmp_path, hooks.url)
        run = Run(token, rng)
        server = await asyncio.to_thread(_start, data, lives)
        for cycle in range(CYCLES):
            run.cycle, run.ops, run.url = cycle, [], server.url
            delay = rng.uniform(*KILL_AFTER)
            await run.traffic_until_killed(server, delay)
            server.stop(signal.SIGKILL)
            acked = sum(op.outcome == "acked" for op in run.ops)
            acknowledged += acked

            assert integrity(db) == "ok", f"cycle {cycle}: integrity after SIGKILL"
            unacked = run.resolve_offline(db)
            committed = sum(op.status is not None for op in unacked)
            check_database(db, run.model)

            server = await asyncio.to_thread(_start, data, lives)
            run.url = server.url
            assert integrity(db) == "ok"
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
                await run.verify_online(session, unacked)
            check_database(db, run.model)
            print(f"cycle {cycle}: killed {delay:.2f}s after the first acknowledgement, "
                  f"{len(run.ops)} writes sent, "
                  f"{acked} acknowledged, {len(unacked)} unacknowledged "
                  f"({committed} had committed)")

        # every outbox event reaches the receiver; no delivery is left unfinished
        event_ids = set(check_database(db, run.model))
        deadline = time.monotonic() + DELIVERY_WAIT
        received: list[Any] = []
        while True:
            received = list(hooks.receiver.requests)
            arrived = {r.json()["id"] for r in received}
            states = delivery_states(db)
            if arrived >= event_ids and all(s == ["succeeded"] for s in states.values()):
                break
            assert time.monotonic() < deadline, (
                f"{len(event_ids - arrived)} events never arrived: {sorted(event_ids - arrived)[:5]}"
            )
            await asyncio.sleep(0.1)
        assert set(states) == event_ids, "one delivery per event and webhook"
        assert arrived == event_ids, "the receiver got events that are not in the outbox"
    finally:
        if server is not None:
            server.stop()
        hooks.close()
    assert integrity(db) == "ok"

    per_event: dict[str, set[str]] = defaultdict(set)
    lives_of: dict[str, list[int]] = defaultdict(list)
    for r in received:
        per_event[r.json()["id"]].add(r.delivery_id)
        lives_of[r.delivery_id].append(bisect.bisect_right(lives, r.at) - 1)
    assert all(len(ids) == 1 for ids in per_event.values()), "one delivery id per event"
    repeated = {d: lv for d, lv in lives_of.items() if len(lv) > 1}
    assert all(len(set(lv)) == len(lv) for lv in repeated.values()), (
        "an event was delivered twice by one server life"
    )

    writes = list(run.model.applied.values())
    verified = sum(op.outcome == "acked" for op in writes)
    assert verified == acknowledged
    elapsed = time.monotonic() - began
    print(
        f"crash suite: cycles={CYCLES} acknowledged_writes={acknowledged} verified={verified} "
        f"replayed={run.totals['replayed']} "
        f"retried_unacknowledged={run.totals['retried_unacknowledged']} "
        f"(committed_before_crash={run.totals['committed_before_ack']} "
        f"applied_on_retry={run.totals['applied_on_retry']} "
        f"refused_on_retry={run.totals['refused_on_retry']}) "
        f"bookings={len(run.model.bookings)} reads={run.reads} events={len(event_ids)} "
        f"events_delivered={len(arrived)} redelivered_across_crashes={len(repeated)} "
        f"seed={SEED} time={elapsed:.1f}s"
    )
