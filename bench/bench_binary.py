"""The one-file executable beside `python -m fortytwo`: size, launch to first /healthz, idle RSS.

    packaging/build.sh && python bench/bench_binary.py [--binary dist/fortytwo] [--runs 7]

Both commands serve the same data folder in turn, alternating, so machine noise hits both.
Start time is measured from just before the process is spawned to the first 200 from
/healthz (polled every 5 ms). Idle memory is the resident set (VmRSS) of the whole process
tree — for the executable the bootloader parent plus the Python child — after a few
authenticated requests and two quiet seconds. Linux only (reads /proc). The executable's start is dominated by unpacking about 40 MB into
$TMPDIR, so it depends on that file system: compare with --tmpdir /dev/shm.
Goals (contract 12): start < 2 s, idle < 80 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Instance, free_port, stop  # noqa: E402


def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in KiB."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            total += sum(rss_kb(int(child)) for child in children)
    except FileNotFoundError:
        pass
    return total


def get(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as resp:
            resp.read()
            return resp.status
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0


def one_run(command: list[str], instance: Instance, tmpdir: Path) -> tuple[float, int]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORTYTWO_")}
    env.update(TMPDIR=str(tmpdir), FORTYTWO_SERVER_ACCESS_LOG="false")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--data-dir", str(instance.data), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        while get(f"{url}/healthz") != 200:
            if proc.poll() is not None:
                raise RuntimeError(f"{command} exited with {proc.returncode}: "
                                   f"{proc.stderr.read().strip()} (rebuild the executable?)")
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"{command} did not answer /healthz within 30 s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        for path in ("/v1/_ping", "/v1/me", "/v1/event-types"):
            for _ in range(5):
                get(f"{url}{path}", instance.token)
        time.sleep(2)
        memory = rss_kb(proc.pid)
    finally:
        stop(proc)
    return elapsed, memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "dist" / "fortytwo"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tmpdir", help="where the executable unpacks itself (default: the "
                        "system temporary folder); try a tmpfs such as /dev/shm")
    args = parser.parse_args()
    binary = Path(args.binary)
    if not binary.is_file():
        sys.exit(f"{binary} not found; build it with packaging/build.sh")

    commands = {
        "executable": [str(binary)],
        "python -m fortytwo": [sys.executable, "-m", "fortytwo"],
    }
    instance = Instance()
    results: dict[str, tuple[list[float], list[int]]] = {name: ([], []) for name in commands}
    try:
        with tempfile.TemporaryDirectory(prefix="fortytwo-bench-tmp-", dir=args.tmpdir) as tmp:
            for command in commands.values():  # warm the page cache once
                one_run(command, instance, Path(tmp))
            for _ in range(args.runs):
                for name, command in commands.items():
                    elapsed, memory = one_run(command, instance, Path(tmp))
                    results[name][0].append(elapsed)
                    results[name][1].append(memory)
            leftovers = list(Path(tmp).iterdir())
    finally:
        instance.cleanup()

    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}; {args.runs} runs each")
    print(f"{'':<20} {'size':>9} {'start p50':>10} {'start max':>10} {'idle RSS p50':>13}")
    for name, (times, memory) in results.items():
        size = f"{binary.stat().st_size / 2**20:.1f} MiB" if name == "executable" else "-"
        print(f"{name:<20} {size:>9} {statistics.median(times):>9.2f}s {max(times):>9.2f}s "
              f"{statistics.median(memory) / 1024:>10.1f} MiB")
    print(f"unpacked under {Path(tmp).parent}; temporary files left behind: {len(leftovers)}")
    print("goals: start < 2 s, idle < 80 MB")


if __name__ == "__main__":
    main()
