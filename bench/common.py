"""Shared pieces of the benchmarks: temp instances, a load driver, a bare baseline server."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE_SERVER = r"""
import sys, uuid
from aiohttp import web

async def handler(request):
    return web.json_response({"data": {"ok": True}, "meta": {"request_id": "req_0"}})

async def any_v1(request):
    # every /v1 path and method: read the body, answer a fresh uid (bench_load's baseline)
    await request.read()
    return web.json_response({"data": {"ok": True, "uid": str(uuid.uuid4()), "version": 1},
                              "meta": {"request_id": "req_0"}})

app = web.Application()
app.router.add_get("/json", handler)
app.router.add_route("*", "/v1/{tail:.*}", any_v1)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *a: print("ready", flush=True))
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fortytwo(data_dir: Path, *args: str, input: str | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "fortytwo", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, check=True, input=input,
    )
    return proc.stdout


class Instance:
    """A fresh fortytwo data dir with an organization, a user and a full-scope token."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="fortytwo-bench-"))
        self.data = self.tmp / "data"
        fortytwo(self.data, "init")
        fortytwo(self.data, "orgs", "create", "Bench")
        fortytwo(self.data, "users", "add", "--org", "Bench", "--username", "bench",
                 "--email", "bench@example.com", "--first-name", "Ben", "--last-name", "Ch")
        created = json.loads(fortytwo(
            self.data, "tokens", "create", "--user", "bench", "--name", "bench", "--json",
            "--scopes", "user:read,event_types:read,slots:read,bookings:read,bookings:write,"
            "webhooks:read,webhooks:write",
        ))
        self.token = created["token"]

    def serve(self, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
        environ = {**os.environ, "FORTYTWO_RATE_LIMITS_PAT": "1000000000", **(env or {})}
        proc = subprocess.Popen(
            [sys.executable, "-m", "fortytwo", "--data-dir", str(self.data), "serve", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environ,
        )
        line = proc.stdout.readline()
        match = re.search(r"listening on (\S+)", line)
        if not match:
            proc.kill()
            raise RuntimeError(f"fortytwo did not start: {line!r}")
        return proc, match.group(1)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_bare() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()
    time.sleep(0.2)
    return proc, f"http://127.0.0.1:{port}"


def proc_rss_kib(pid: int) -> int:
    """Resident memory (VmRSS) of one process in KiB; 0 once it is gone. Linux only."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far by one process; 0 once it is gone. Linux only."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def drive(url: str, seconds: float, connections: int, headers: dict[str, str] | None = None) -> float:
    """Requests per second over ``seconds`` of load from a separate process."""
    if shutil.which("wrk"):
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
        for key, value in (headers or {}).items():
            cmd += ["-H", f"{key}: {value}"]
        out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            raise RuntimeError(f"{url}: {non2xx.group(1)} failed responses")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    code = (
        "import asyncio,aiohttp,sys,time,json\n"
        "url,secs,conns,hdrs=sys.argv[1],float(sys.argv[2]),int(sys.argv[3]),json.loads(sys.argv[4])\n"
        "async def worker(s,end,c):\n"
        "  while time.monotonic()<end:\n"
        "    async with s.get(url,headers=hdrs) as r:\n"
        "      await r.read(); assert r.status==200, r.status\n"
        "      c[0]+=1\n"
        "async def main():\n"
        "  c=[0]; end=time.monotonic()+secs\n"
        "  async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns)) as s:\n"
        "    await asyncio.gather(*(worker(s,end,c) for _ in range(conns)))\n"
        "  print(c[0]/secs)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code, url, str(seconds), str(connections),
                          json.dumps(headers or {})], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())
