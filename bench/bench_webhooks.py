"""Webhook delivery: commit-to-first-attempt latency and throughput (contract 12).

    python bench/bench_webhooks.py [--bookings 200] [--events 10000]

A receiver in this process records every delivery. Latency: bookings are created one at a
time over HTTP (no backlog) and the time from the 201 (the commit) to the delivery's arrival
is measured (goal p99 < 1 s). Throughput: a batch of events is written straight into the
outbox, as another process would, and the time until the receiver has all of them is
measured. The same run times an empty POST round trip to the receiver as a yardstick.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_bookings import PLAN  # noqa: E402
from bench.common import Instance, fortytwo, stop  # noqa: E402
from fortytwo.webhooks.synthetic import synthetic_data  # noqa: E402


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.by_booking: dict[str, float] = {}
        self.event = asyncio.Event()
        self.arrived = asyncio.Condition()
        self.expected = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        now = time.perf_counter()
        self.arrivals.setdefault(body["id"], now)
        booking = body.get("data", {}).get("booking", {})
        if "id" in booking:
            self.by_booking.setdefault(booking["id"], now)
        if self.expected and len(self.arrivals) >= self.expected:
            self.event.set()
        async with self.arrived:
            self.arrived.notify_all()
        return web.Response(status=204)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(args: argparse.Namespace, instance: Instance, url: str) -> None:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    auth = {"Authorization": f"Bearer {instance.token}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/v1/webhooks", headers=auth, json={
            "url": f"http://127.0.0.1:{port}/hook", "events": ["booking_created"],
        }) as resp:
            assert resp.status == 201, await resp.text()
        t0 = time.perf_counter()
        for _ in range(50):
            async with session.post(f"http://127.0.0.1:{port}/hook", json={"id": "x"}) as r:
                await r.read()
        yardstick = (time.perf_counter() - t0) / 50 * 1000
        receiver.arrivals.clear()

        base = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        latencies = []
        for i in range(args.bookings):
            start = base + timedelta(days=i % 3000, minutes=5 * (i // 3000))
            async with session.post(f"{url}/v1/bookings", headers={**auth, "Idempotency-Key": str(uuid.uuid4())}, json={
                "username": "bench", "event_slug": "quick", "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "attendee": {"email": "load@example.com", "name": "Load"},
            }) as resp:
                body = await resp.json()
                committed = time.perf_counter()
                assert resp.status == 201, body
            uid = body["data"]["uid"]
            async with receiver.arrived:
                await asyncio.wait_for(
                    receiver.arrived.wait_for(lambda uid=uid: uid in receiver.by_booking), 10
                )
            latencies.append((receiver.by_booking[uid] - committed) * 1000)

    db = instance.data / "fortytwo.db"
    with sqlite3.connect(db, isolation_level=None) as conn:
        org_id = conn.execute("SELECT id FROM organizations").fetchone()[0]
        payload = json.dumps(synthetic_data("booking.created", org_id, datetime.now(UTC)))
        receiver.arrivals.clear()
        receiver.expected = args.events
        receiver.event.clear()
        conn.execute("BEGIN IMMEDIATE")
        first = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        conn.executemany(
            "INSERT INTO events (id, seq, organization_id, event, payload, created_at)"
            " VALUES (?, ?, ?, 'booking.created', ?, ?)",
            [(f"evt_{uuid.uuid4()}", first + i + 1, org_id, payload, stamp) for i in range(args.events)],
        )
        conn.execute("COMMIT")
    t0 = time.perf_counter()
    await asyncio.wait_for(receiver.event.wait(), 300)
    elapsed = time.perf_counter() - t0
    await runner.cleanup()
    print(f"receiver round trip (yardstick): {yardstick:.2f} ms")
    print(f"commit -> first attempt, {len(latencies)} bookings one at a time: p50 {pct(latencies, 0.5):.0f} ms, "
          f"p99 {pct(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms (goal p99 < 1000 ms)")
    print(f"throughput: {args.events} outbox events delivered in {elapsed:.1f} s = {args.events / elapsed:.0f} deliveries/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--events", type=int, default=10000)
    args = parser.parse_args()
    instance = Instance()
    plan = instance.tmp / "plan.toml"
    plan.write_text(PLAN)
    fortytwo(instance.data, "apply", str(plan))
    server, url = instance.serve({"FORTYTWO_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true"})
    try:
        asyncio.run(run(args, instance, url))
    finally:
        stop(server)
        instance.cleanup()


if __name__ == "__main__":
    main()
