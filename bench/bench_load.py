"""Mixed realistic load against a running server, beside a bare aiohttp baseline.

    python bench/bench_load.py [--seconds 30] [--clients 32] [--procs 1] [--soak]
                               [--warmup 2] [--no-baseline] [--json FILE]

A real ``fortytwo serve`` (its own process, access log on as in production) gets an
organization of five users: ``ada`` with an individual 30-minute call, ``bob`` and ``carol``
sharing a 20-minute round-robin call, ``dave`` running a 60-minute group session with 5 seats,
all on weekly working hours in their own time zones, plus ~300 bookings in the next four weeks.

Load comes from ``--procs`` separate client processes (aiohttp, ``--clients`` concurrent
keep-alive connections in all) for ``--seconds`` after ``--warmup`` unmeasured seconds:

- 80 % reads: ``GET /v1/slots`` over 7-day windows of the next eight weeks (40 %),
  ``GET /v1/bookings`` with assorted filters (20 %), ``GET /v1/bookings/{uid}`` (20 %);
- 20 % writes: ``POST /v1/bookings`` (10 %), ``PATCH /v1/bookings/{uid}`` with ``If-Match``
  (4 %), ``POST .../reschedule`` (3 %) and ``POST .../cancel`` (3 %), every one with a fresh
  ``Idempotency-Key``.

Writes never collide: new bookings and reschedule targets are free slots from two months out
onward, fetched from the server and handed out once each (a group slot once per seat); each
client changes only bookings it created itself. So any non-2xx answer or connection failure
is an error. Those fetches (``GET /v1/slots``, 14-day windows) are reported as ``refill``.

Reported: throughput, p50/p99 per operation and overall, status counts, errors, the server's
resident memory (VmRSS, sampled every second: start / peak / end, every 10 % of the run, and
the least-squares slope over the second half in MiB per minute) and the CPU used by the
server and by the clients (1.0 = one core; a client near 1.0 is the bottleneck: add
``--procs``). Then the same clients hit a bare aiohttp server answering a fixed JSON body on
the same paths. ``--soak`` runs ten minutes to show memory staying flat. Exits 1 when the
fortytwo run had any error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    Instance,
    fortytwo,
    proc_cpu_seconds,
    proc_rss_kib,
    start_bare,
    stop,
)

SOAK_SECONDS = 600
MIX = (  # operation, weight in percent
    ("slots", 40), ("list", 20), ("get", 20),
    ("create", 10), ("patch", 4), ("reschedule", 3), ("cancel", 3),
)
WRITES = {"create", "patch", "reschedule", "cancel"}
SEED_PER_EVENT_TYPE = 100
NEAR_DAYS = 56  # slot reads look at 7-day windows starting in the next eight weeks
WRITE_FROM_DAYS = 60  # new bookings go here and later, beyond anything read or seeded
WRITE_TO_DAYS = 3600
REFILL_DAYS = 14

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _user(name: str, zone: str, role: str = "user") -> str:
    return (f'[[users]]\nusername = "{name}"\nemail = "{name}@example.com"\n'
            f'first_name = "{name.title()}"\ntimezone = "{zone}"\nrole = "{role}"\n\n')


def _hours(user: str, zone: str, ranges: list[str]) -> str:
    days = "".join(f"{day} = {json.dumps(ranges)}\n" for day in WEEKDAYS)
    return (f'[[schedules]]\nname = "Working hours"\nuser = "{user}"\ntimezone = "{zone}"\n'
            f"default = true\n[schedules.weekly]\n{days}\n")


PLAN = (
    '[organization]\nname = "Bench"\n\n'
    + _user("bench", "UTC", "owner") + _user("ada", "Europe/London")
    + _user("bob", "America/New_York") + _user("carol", "Europe/Berlin")
    + _user("dave", "Europe/London")
    + '[[teams]]\nslug = "support"\nname = "Support"\nmembers = ["bob", "carol"]\n\n'
    + _hours("ada", "Europe/London", ["09:00-12:00", "13:00-17:00"])
    + _hours("bob", "America/New_York", ["09:00-17:00"])
    + _hours("carol", "Europe/Berlin", ["08:00-16:00"])
    + _hours("dave", "Europe/London", ["08:00-18:00"])
    + '[[event_types]]\nslug = "intro-call"\ntitle = "Intro call"\nowner = "ada"\n'
      "duration_minutes = 30\nfuture_limit_days = 3650\n"
      'questions = [{ key = "company", label = "Company", type = "text" }]\n\n'
    + '[[event_types]]\nslug = "support-call"\ntitle = "Support call"\nteam = "support"\n'
      'scheduling_type = "collective"\nduration_minutes = 20\nfuture_limit_days = 3650\n\n'
    + '[[event_types]]\nslug = "webinar"\ntitle = "Webinar"\nowner = "dave"\n'
      'scheduling_type = "group"\nseats_per_slot = 5\nduration_minutes = 60\n'
      "future_limit_days = 3650\n"
)
# (owner username or team slug, slug, copies of each free slot handed out)
EVENT_TYPES = (("ada", "intro-call", 1), ("support", "support-call", 1), ("dave", "webinar", 5))


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def midnight_in(days: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days)


# -- seeding (in the driver process, before any measurement) -------------------------------

async def seed(url: str, token: str) -> dict[str, Any]:
    """Book ~100 slots per event type in the next four weeks; cancel and patch a few."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)
    event_types, uids, emails, hosts = [], [], set(), set()
    async with aiohttp.ClientSession(headers=headers) as session:

        async def call(method: str, path: str, **kw: Any) -> dict:
            extra = dict(kw.pop("headers", {}))
            if method != "GET":
                extra["Idempotency-Key"] = str(uuid.uuid4())
            async with session.request(method, url + path, headers=extra, **kw) as resp:
                body = await resp.json()
                if resp.status >= 300:
                    raise RuntimeError(f"seeding: {method} {path} -> {resp.status} {body}")
                return body["data"]

        for owner, slug, capacity in EVENT_TYPES:
            data = await call("GET", "/v1/slots", params={
                "username": owner, "event_slug": slug,
                "start": ts(midnight_in(1)), "end": ts(midnight_in(29))})
            event_types.append({"id": data["event_type_id"], "username": owner, "slug": slug,
                                "capacity": capacity})
            starts = [s["start"] for s in data["slots"]]
            chosen = rng.sample(starts, min(SEED_PER_EVENT_TYPE, len(starts)))
            for i in range(0, len(chosen), 10):
                created = await asyncio.gather(*(call("POST", "/v1/bookings", json={
                    "username": owner, "event_slug": slug, "start": start,
                    "attendee": {"email": f"guest{n % 40}@example.org", "name": f"Guest {n}"},
                }) for n, start in enumerate(chosen[i:i + 10], start=i)))
                for booking in created:
                    uids.append(booking["uid"])
                    emails.add(booking["attendees"][0]["email"])
                    if booking["host"]:
                        hosts.add(booking["host"]["user_id"])
        changed = rng.sample(uids, len(uids) // 5)
        for uid in changed[::2]:
            await call("POST", f"/v1/bookings/{uid}/cancel", json={"reason": "seed"})
        for uid in changed[1::2]:
            booking = await call("GET", f"/v1/bookings/{uid}")
            await call("PATCH", f"/v1/bookings/{uid}", json={"metadata": {"crm": "x"}},
                       headers={"If-Match": f'"{booking["version"]}"'})
    return {"event_types": event_types, "seeded_uids": uids, "emails": sorted(emails),
            "host_ids": sorted(hosts)}


# -- the client process --------------------------------------------------------------------

class SlotPool:
    """Free future slots of one event type, each handed out ``capacity`` times.

    Client process ``index`` of ``procs`` fetches the 14-day windows index, index+procs, ...
    of the write region, so processes never share a slot.
    """

    def __init__(self, client: Client, event_type: dict, index: int, procs: int) -> None:
        self.client, self.et = client, event_type
        self.queue: deque[str] = deque()
        self.cursor = midnight_in(WRITE_FROM_DAYS) + timedelta(days=REFILL_DAYS * index)
        self.step = timedelta(days=REFILL_DAYS * procs)
        self.lock = asyncio.Lock()
        self.synthetic = 0

    async def take(self) -> str | None:
        if self.client.bare:  # the baseline answers anything: any distinct instant will do
            self.synthetic += 1
            return ts(self.cursor + timedelta(minutes=self.synthetic))
        async with self.lock:
            while not self.queue:
                if self.cursor >= midnight_in(WRITE_TO_DAYS):
                    return None
                end = self.cursor + timedelta(days=REFILL_DAYS)
                status, body = await self.client.request("refill", "GET", "/v1/slots", params={
                    "username": self.et["username"], "event_slug": self.et["slug"],
                    "start": ts(self.cursor), "end": ts(end)})
                self.cursor += self.step
                if status != 200:
                    return None
                for slot in body["data"]["slots"]:
                    self.queue.extend([slot["start"]] * self.et["capacity"])
            return self.queue.popleft()


class Client:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.url, self.bare = cfg["url"], cfg["bare"]
        self.state = json.loads(Path(cfg["state"]).read_text())
        self.headers = {"Authorization": f"Bearer {cfg['token']}"}
        self.pools = [SlotPool(self, et, cfg["index"], cfg["procs"])
                      for et in self.state["event_types"]]
        self.known_uids: list[str] = list(self.state["seeded_uids"])
        self.latencies: dict[str, list[float]] = {}
        self.statuses: dict[str, dict[str, int]] = {}
        self.exhausted = 0
        self.measure_from = float("inf")
        self.session: Any = None

    async def request(self, op: str, method: str, path: str, *, write: bool = False,
                      **kw: Any) -> tuple[int, Any]:
        """One request; its latency and status are recorded if it started in the window."""
        import aiohttp

        headers = dict(kw.pop("headers", {}))
        if write:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        started = time.perf_counter()
        body = None
        try:
            async with self.session.request(method, self.url + path, headers=headers,
                                            **kw) as resp:
                raw = await resp.read()
                status = resp.status
            if (200 <= status < 300 and method != "GET") or op == "refill":
                body = json.loads(raw)
            outcome = str(status)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            status, outcome = 0, type(exc).__name__
        if started >= self.measure_from:
            self.latencies.setdefault(op, []).append((time.perf_counter() - started) * 1000)
            counts = self.statuses.setdefault(op, {})
            counts[outcome] = counts.get(outcome, 0) + 1
        return status, body

    async def worker(self, n: int, until: float) -> None:
        rng = random.Random(f"{self.cfg['index']}-{n}")
        ops, weights = zip(*MIX, strict=True)
        mine: dict[str, tuple[int, int]] = {}  # uid -> (version, event type index)
        counter = 0
        while time.perf_counter() < until:
            op = rng.choices(ops, weights)[0]
            if op in ("patch", "reschedule", "cancel") and not mine:
                op = "create"
            counter += 1
            if op == "slots":
                await self.read_slots(rng)
            elif op == "list":
                await self.request("list", "GET", "/v1/bookings", params=self.list_filter(rng))
            elif op == "get":
                await self.request("get", "GET", f"/v1/bookings/{rng.choice(self.known_uids)}")
            elif op == "create":
                i = rng.randrange(len(self.pools))
                start = await self.pools[i].take()
                if start is None:
                    self.exhausted += 1
                    continue
                et = self.state["event_types"][i]
                status, body = await self.request("create", "POST", "/v1/bookings", write=True, json={
                    "username": et["username"], "event_slug": et["slug"], "start": start,
                    "attendee": {"email": f"load{n}@example.org", "name": f"Load {n}"},
                    "metadata": {"source": "bench"}})
                if body is not None:
                    mine[body["data"]["uid"]] = (body["data"]["version"], i)
                    self.known_uids.append(body["data"]["uid"])
            else:
                uid = rng.choice(list(mine))
                version, i = mine[uid]
                if op == "cancel":
                    status, body = await self.request(
                        "cancel", "POST", f"/v1/bookings/{uid}/cancel", write=True,
                        json={"reason": "load test"})
                    if body is not None:
                        del mine[uid]
                elif op == "patch":
                    status, body = await self.request(
                        "patch", "PATCH", f"/v1/bookings/{uid}", write=True,
                        headers={"If-Match": f'"{version}"'},
                        json={"metadata": {"source": "bench", "n": str(counter)}})
                    if body is not None:
                        mine[uid] = (body["data"]["version"], i)
                else:
                    start = await self.pools[i].take()
                    if start is None:
                        self.exhausted += 1
                        continue
                    status, body = await self.request(
                        "reschedule", "POST", f"/v1/bookings/{uid}/reschedule", write=True,
                        json={"start": start, "reason": "load test"})
                    if body is not None:
                        del mine[uid]
                        mine[body["data"]["uid"]] = (body["data"]["version"], i)

    async def read_slots(self, rng: random.Random) -> None:
        et = rng.choice(self.state["event_types"])
        begin = midnight_in(rng.randrange(NEAR_DAYS)) + timedelta(hours=rng.choice((0, 6, 12)))
        params = {"start": ts(begin), "end": ts(begin + timedelta(days=7))}
        if rng.random() < 0.5:
            params |= {"username": et["username"], "event_slug": et["slug"]}
        else:
            params["event_type_id"] = et["id"]
        if rng.random() < 0.3:
            params["timezone"] = rng.choice(("Europe/Lisbon", "America/Chicago", "Asia/Tokyo"))
        await self.request("slots", "GET", "/v1/slots", params=params)

    def list_filter(self, rng: random.Random) -> dict[str, str]:
        state = self.state
        day = midnight_in(rng.randrange(28))
        choices = [
            {"limit": "20"},
            {"status": "confirmed", "limit": "50"},
            {"event_type_id": rng.choice(state["event_types"])["id"], "limit": "20"},
            {"host_user_id": rng.choice(state["host_ids"] or [str(uuid.uuid4())])},
            {"start_date": day.strftime("%Y-%m-%d"),
             "end_date": (day + timedelta(days=6)).strftime("%Y-%m-%d"), "sort": "start_at_asc"},
            {"sort": "updated_at_asc", "updated_since": ts(datetime.now(UTC) - timedelta(seconds=5))},
            {"attendee_email": rng.choice(state["emails"] or ["x@example.org"])},
            {"include_cancelled": "false", "limit": "10"},
        ]
        return rng.choice(choices)

    async def run(self) -> dict[str, Any]:
        import aiohttp

        cfg = self.cfg
        connector = aiohttp.TCPConnector(limit=cfg["clients"])
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                         headers=self.headers) as self.session:
            now = time.perf_counter()
            self.measure_from = now + cfg["warmup"]
            until = self.measure_from + cfg["seconds"]
            wall_offset = time.time() - now
            cpu: list[float] = []
            loop = asyncio.get_running_loop()
            loop.call_at(loop.time() + cfg["warmup"], lambda: cpu.append(_own_cpu()))
            await asyncio.gather(*(self.worker(n, until) for n in range(cfg["clients"])))
            finished = time.perf_counter()
            cpu.append(_own_cpu())
        return {
            "start": self.measure_from + wall_offset, "end": finished + wall_offset,
            "elapsed": finished - self.measure_from, "cpu": cpu[-1] - cpu[0],
            "latencies": self.latencies, "statuses": self.statuses, "exhausted": self.exhausted,
        }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client_main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    result = asyncio.run(Client(cfg).run())
    Path(cfg["out"]).write_text(json.dumps(result))


# -- the driver ----------------------------------------------------------------------------

class Sampler(threading.Thread):
    """(wall time, VmRSS KiB, CPU seconds) of one process, once a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples = pid, []
        self.done = threading.Event()

    def run(self) -> None:
        while True:
            self.samples.append((time.time(), proc_rss_kib(self.pid), proc_cpu_seconds(self.pid)))
            if self.done.wait(1.0):
                return


def drive(url: str, token: str, state_path: Path, args: argparse.Namespace, server_pid: int,
          *, bare: bool, workdir: Path) -> dict[str, Any]:
    """Run the client processes against ``url``; merge their results with the server samples."""
    sampler = Sampler(server_pid)
    sampler.start()
    procs, outs = [], []
    share = [args.clients // args.procs + (i < args.clients % args.procs) for i in range(args.procs)]
    for index in range(args.procs):
        out = workdir / f"client-{'bare' if bare else 'fortytwo'}-{index}.json"
        cfg = workdir / f"client-{index}.cfg.json"
        cfg.write_text(json.dumps({
            "url": url, "token": token, "state": str(state_path), "bare": bare,
            "clients": share[index], "seconds": args.seconds, "warmup": args.warmup,
            "index": index, "procs": args.procs, "out": str(out)}))
        procs.append(subprocess.Popen([sys.executable, __file__, "--client-config", str(cfg)]))
        outs.append(out)
    try:
        for proc in procs:
            if proc.wait() != 0:
                raise RuntimeError(f"a client process exited {proc.returncode}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        sampler.done.set()
        sampler.join()
    parts = [json.loads(out.read_text()) for out in outs]
    start = min(p["start"] for p in parts)
    end = max(p["end"] for p in parts)
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, dict[str, int]] = {}
    for part in parts:
        for op, values in part["latencies"].items():
            latencies.setdefault(op, []).extend(values)
        for op, counts in part["statuses"].items():
            merged = statuses.setdefault(op, {})
            for code, n in counts.items():
                merged[code] = merged.get(code, 0) + n
    window = [s for s in sampler.samples if start - 1 <= s[0] <= end + 1] or sampler.samples
    return summarize(latencies, statuses, window, start, end,
                     client_cpu=sum(p["cpu"] for p in parts),
                     exhausted=sum(p["exhausted"] for p in parts))


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(latencies: dict[str, list[float]], statuses: dict[str, dict[str, int]],
              samples: list[tuple[float, int, float]], start: float, end: float, *,
              client_cpu: float, exhausted: int) -> dict[str, Any]:
    elapsed = end - start
    every = [v for values in latencies.values() for v in values]
    errors = sum(n for counts in statuses.values() for code, n in counts.items()
                 if not code.startswith("2"))
    ops = {}
    for op in [name for name, _ in MIX] + ["refill"]:
        values = latencies.get(op, [])
        if values:
            ops[op] = {"count": len(values), "share": len(values) / len(every),
                       "p50_ms": pct(values, 0.5), "p99_ms": pct(values, 0.99),
                       "statuses": statuses.get(op, {})}
    mib = [(t, kib / 1024) for t, kib, _ in samples]
    series = []
    for tenth in range(11):
        moment = start + elapsed * tenth / 10
        series.append(min(mib, key=lambda s: abs(s[0] - moment))[1])
    second_half = [(t, m) for t, m in mib if t >= start + elapsed / 2]
    cpu_span = samples[-1][0] - samples[0][0]
    return {
        "seconds": elapsed, "requests": len(every), "throughput": len(every) / elapsed,
        "p50_ms": pct(every, 0.5), "p99_ms": pct(every, 0.99), "errors": errors,
        "writes_share": sum(len(latencies.get(op, [])) for op in WRITES) / max(len(every), 1),
        "ops": ops, "pool_exhausted": exhausted,
        "rss_mib": {"start": series[0], "peak": max(m for _, m in mib), "end": series[-1],
                    "series": series, "slope_mib_per_min": slope(second_half) * 60},
        "server_cpu": (samples[-1][2] - samples[0][2]) / cpu_span if cpu_span > 0 else 0.0,
        "client_cpu": client_cpu / elapsed,
    }


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (units per second) of (time, value) points; 0 for fewer than 2."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var if var else 0.0


def report(title: str, result: dict[str, Any], detail: bool) -> None:
    print(f"== {title}")
    print(f"throughput: {result['throughput']:.0f} req/s ({result['requests']} requests in "
          f"{result['seconds']:.1f} s, writes {result['writes_share']:.0%})")
    print(f"latency: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms")
    print(f"errors: {result['errors']}")
    if detail:
        print(f"  {'operation':<11} {'count':>7} {'share':>6} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        for op, row in result["ops"].items():
            print(f"  {op:<11} {row['count']:>7} {row['share']:>6.1%} {row['p50_ms']:>8.1f} "
                  f"{row['p99_ms']:>8.1f}  {row['statuses']}")
        if result["pool_exhausted"]:
            print(f"  free future slots ran out {result['pool_exhausted']} times (writes skipped)")
    rss = result["rss_mib"]
    print(f"server RSS: start {rss['start']:.1f} MiB, peak {rss['peak']:.1f} MiB, end "
          f"{rss['end']:.1f} MiB; slope over the second half {rss['slope_mib_per_min']:+.2f} MiB/min")
    print("server RSS every 10%: " + " ".join(f"{v:.1f}" for v in rss["series"]))
    print(f"CPU (1.0 = one core): server {result['server_cpu']:.2f}, "
          f"clients {result['client_cpu']:.2f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="measured duration")
    parser.add_argument("--soak", action="store_true", help=f"= --seconds {SOAK_SECONDS}")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections in all")
    parser.add_argument("--procs", type=int, default=1, help="client processes")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare aiohttp run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--client-config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.soak:
        args.seconds = SOAK_SECONDS
    if args.clients < 1 or not 1 <= args.procs <= args.clients or args.seconds <= 0:
        parser.error("need --seconds > 0 and 1 <= --procs <= --clients")
    return args


def main() -> None:
    args = parse_args()
    if args.client_config:
        client_main(args.client_config)
        return

    instance = Instance()
    workdir = Path(tempfile.mkdtemp(prefix="load-", dir=instance.tmp))
    results: dict[str, Any] = {"clients": args.clients, "procs": args.procs}
    try:
        plan = instance.tmp / "plan.toml"
        plan.write_text(PLAN)
        fortytwo(instance.data, "apply", str(plan))
        # all clients share one address: lift the per-address connection cap above them
        cap = str(args.clients + 64)
        server, url = instance.serve({"FORTYTWO_SERVER_MAX_CONNECTIONS_PER_IP": cap,
                                      "FORTYTWO_SERVER_MAX_CONNECTIONS": str(args.clients + 1000)})
        try:
            state = asyncio.run(seed(url, instance.token))
            state_path = workdir / "state.json"
            state_path.write_text(json.dumps(state))
            results["fortytwo"] = drive(url, instance.token, state_path, args, server.pid,
                                        bare=False, workdir=workdir)
        finally:
            stop(server)
        if not args.no_baseline:
            bare, bare_url = start_bare()
            try:
                results["baseline"] = drive(bare_url, "bare", state_path, args, bare.pid,
                                            bare=True, workdir=workdir)
            finally:
                stop(bare)
    finally:
        instance.cleanup()

    mode = "soak" if args.soak else "run"
    report(f"fortytwo mixed load ({mode}): {args.clients} clients in {args.procs} process(es), "
           f"{args.seconds:g} s after {args.warmup:g} s warm-up", results["fortytwo"], True)
    if "baseline" in results:
        base = results["baseline"]
        report("bare aiohttp baseline (fixed JSON on the same paths)", base, False)
        ours = results["fortytwo"]
        print(f"ratio fortytwo/baseline: throughput {ours['throughput'] / base['throughput']:.2f}, "
              f"p50 {ours['p50_ms'] / max(base['p50_ms'], 1e-9):.1f}x, "
              f"p99 {ours['p99_ms'] / max(base['p99_ms'], 1e-9):.1f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if results["fortytwo"]["errors"]:
        print(f"FAILED: {results['fortytwo']['errors']} errors", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
