"""POST /v1/bookings throughput from 32 concurrent clients on distinct slots (contract 12),
beside the raw rate of single-insert aiosqlite transactions measured in the same run.

    python bench/bench_bookings.py [--seconds 10] [--clients 32]

Goal: >= 800 bookings/s sustained. Latency p50/p99 is measured by the client process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Instance, fortytwo, stop  # noqa: E402

PLAN = """
[organization]
name = "Bench"

[[users]]
username = "bench"
email = "bench@example.com"

[[schedules]]
name = "Always"
user = "bench"
timezone = "UTC"
[schedules.weekly]
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]

[[event_types]]
slug = "quick"
title = "Quick"
owner = "bench"
duration_minutes = 5
future_limit_days = 3650
"""

CLIENT = r"""
import asyncio, json, sys, time, uuid
from datetime import datetime, timedelta, timezone
import aiohttp

url, token, seconds, clients = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
base = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
counter = iter(range(10**9))
latencies, statuses = [], {}

async def worker(session, end):
    while time.monotonic() < end:
        i = next(counter)
        # distinct slots spread over the next ten years: one day after another, then later times
        start = base + timedelta(days=i % 3600, minutes=5 * (i // 3600))
        body = {"username": "bench", "event_slug": "quick", "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "attendee": {"email": "load@example.com", "name": "Load"}}
        t0 = time.perf_counter()
        async with session.post(url + "/v1/bookings", json=body,
                                headers={"Authorization": "Bearer " + token, "Idempotency-Key": str(uuid.uuid4())}) as r:
            await r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 201:
                latencies.append((time.perf_counter() - t0) * 1000)

async def main():
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as s:
        t0 = time.monotonic()
        await asyncio.gather(*(worker(s, t0 + seconds) for _ in range(clients)))
        elapsed = time.monotonic() - t0
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0
    print(json.dumps({"created": len(latencies), "rate": len(latencies) / elapsed, "p50": p(0.5),
                      "p99": p(0.99), "statuses": statuses}))

asyncio.run(main())
"""


async def raw_insert_rate(seconds: float) -> float:
    import aiosqlite

    with tempfile.TemporaryDirectory() as tmp:
        async with aiosqlite.connect(Path(tmp) / "raw.db", isolation_level=None) as conn:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
            count, end = 0, time.monotonic() + seconds
            while time.monotonic() < end:
                await conn.execute("BEGIN IMMEDIATE")
                await conn.execute("INSERT INTO t (payload) VALUES (?)", ("x" * 200,))
                await conn.execute("COMMIT")
                count += 1
            return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    raw = asyncio.run(raw_insert_rate(3))
    instance = Instance()
    plan = instance.tmp / "plan.toml"
    plan.write_text(PLAN)
    fortytwo(instance.data, "apply", str(plan))
    server, url = instance.serve()
    try:
        out = subprocess.run(
            [sys.executable, "-c", CLIENT, url, instance.token, str(args.seconds), str(args.clients)],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        stop(server)
        instance.cleanup()
    result = json.loads(out)
    print(f"raw aiosqlite single-insert transactions: {raw:8.0f} /s")
    print(f"POST /v1/bookings, {args.clients} clients, distinct slots: {result['rate']:8.0f} bookings/s "
          f"(goal >= 800); p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms; "
          f"ratio to raw inserts {result['rate'] / raw:.2f}; statuses {result['statuses']}")


if __name__ == "__main__":
    main()
