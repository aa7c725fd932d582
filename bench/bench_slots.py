"""GET /v1/slots server time (contract 12).

    python bench/bench_slots.py [--requests 200]

Scenario A: a 7-day window of a 30-minute event type whose host has 200 bookings in it
(goal p50 <= 5 ms). Scenario B: a 31-day round-robin window over 5 hosts with 1,000
bookings (goal p50 <= 25 ms). Server time is read from the Server-Timing header that every
response carries; round-trip latency over loopback is shown beside it. The same run also
times a bare aiohttp JSON handler as a yardstick for the HTTP stack itself.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sqlite3
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Instance, fortytwo, start_bare, stop  # noqa: E402

HOSTS = ["h1", "h2", "h3", "h4", "h5"]


def plan_text() -> str:
    users = "".join(
        f'[[users]]\nusername = "{u}"\nemail = "{u}@example.com"\n\n' for u in ["solo", *HOSTS]
    )
    schedules = "".join(
        f'[[schedules]]\nname = "Hours"\nuser = "{u}"\ntimezone = "Europe/London"\n'
        f'[schedules.weekly]\nmon = ["00:00-24:00"]\ntue = ["00:00-24:00"]\nwed = ["00:00-24:00"]\n'
        f'thu = ["00:00-24:00"]\nfri = ["00:00-24:00"]\nsat = ["00:00-24:00"]\nsun = ["00:00-24:00"]\n\n'
        for u in ["solo", *HOSTS]
    )
    return (
        '[organization]\nname = "Bench"\n\n' + users
        + f'[[teams]]\nslug = "crew"\nname = "Crew"\nmembers = {HOSTS!r}\n\n'.replace("'", '"')
        + schedules
        + '[[event_types]]\nslug = "call"\ntitle = "Call"\nowner = "solo"\nduration_minutes = 30\n'
          "future_limit_days = 120\n\n"
        + '[[event_types]]\nslug = "rr"\ntitle = "Round robin"\nteam = "crew"\n'
          'scheduling_type = "collective"\nduration_minutes = 30\nfuture_limit_days = 120\n'
    )


def seed_bookings(db: Path, slug: str, owner: str | None, hosts: list[str], count: int,
                  start: datetime, days: int) -> None:
    """Insert bookings straight into the database (the benchmark is about reading them)."""
    rng = random.Random(42)
    with sqlite3.connect(db) as conn:
        org_id = conn.execute("SELECT id FROM organizations").fetchone()[0]
        et = conn.execute("SELECT id FROM event_types WHERE slug = ?", (slug,)).fetchone()[0]
        user_ids = [conn.execute("SELECT id FROM users WHERE username = ?", (h,)).fetchone()[0] for h in hosts]
        taken: set[tuple[str, int]] = set()
        rows = []
        while len(rows) < count:
            host = rng.choice(user_ids)
            slot = rng.randrange(days * 48)
            if (host, slot) in taken:
                continue
            taken.add((host, slot))
            begin = start + timedelta(minutes=30 * slot)
            fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
            rows.append((str(uuid.uuid4()), org_id, et, host, "confirmed", fmt(begin),
                         fmt(begin + timedelta(minutes=30)), "UTC", "x@example.com", "X",
                         fmt(start), fmt(start)))
        conn.executemany(
            "INSERT INTO bookings (uid, organization_id, event_type_id, host_user_id, status,"
            " start_at, end_at, timezone, attendee_email, attendee_name, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows,
        )


async def measure(url: str, params: dict, headers: dict, n: int) -> tuple[list[float], list[float], int]:
    server, wall = [], []
    count = 0
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            t0 = time.perf_counter()
            async with session.get(url, params=params, headers=headers) as resp:
                body = await resp.json()
                assert resp.status == 200, body
                wall.append((time.perf_counter() - t0) * 1000)
                match = re.search(r"dur=([\d.]+)", resp.headers.get("Server-Timing", ""))
                if match:
                    server.append(float(match.group(1)))
                count = len(body["data"].get("slots", ()))
    return server, wall, count


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    instance = Instance()
    plan = instance.tmp / "plan.toml"
    plan.write_text(plan_text())
    fortytwo(instance.data, "apply", str(plan))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    seed_bookings(instance.data / "fortytwo.db", "call", "solo", ["solo"], 200, tomorrow, 7)
    seed_bookings(instance.data / "fortytwo.db", "rr", None, HOSTS, 1000, tomorrow, 31)
    server, url = instance.serve()
    bare, bare_url = start_bare()
    auth = {"Authorization": f"Bearer {instance.token}"}
    fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    scenarios = [
        ("A: 7 days, 30-min, 200 bookings", {"username": "solo", "event_slug": "call",
         "start": fmt(tomorrow), "end": fmt(tomorrow + timedelta(days=7))}, 5.0),
        ("B: 31 days, round robin x5, 1000 bookings", {"username": "crew", "event_slug": "rr",
         "start": fmt(tomorrow), "end": fmt(tomorrow + timedelta(days=31))}, 25.0),
    ]
    try:
        _, bare_wall, _ = asyncio.run(measure(f"{bare_url}/json", {}, {}, args.requests))
        print(f"bare aiohttp JSON handler round trip: p50 {pct(bare_wall, 50):.2f} ms")
        for name, params, goal in scenarios:
            asyncio.run(measure(f"{url}/v1/slots", params, auth, 10))  # warm-up
            srv, wall, count = asyncio.run(measure(f"{url}/v1/slots", params, auth, args.requests))
            print(f"{name}: {count} slots; server p50 {pct(srv, 50):.2f} ms p99 {pct(srv, 99):.2f} ms "
                  f"(goal p50 <= {goal:.0f} ms); round trip p50 {pct(wall, 50):.2f} ms, "
                  f"mean {statistics.mean(wall):.2f} ms")
    finally:
        stop(server)
        stop(bare)
        instance.cleanup()


if __name__ == "__main__":
    main()
