"""Authenticated GET /v1/_ping and /v1/me against a bare aiohttp JSON handler, same run.

    python bench/bench_auth.py [--seconds 5] [--connections 32]

Each server runs in its own process and the load comes from a third (wrk when installed,
else an aiohttp client). Rounds alternate baseline and fortytwo so machine noise hits both.
Goal (contract 12): fortytwo / bare >= 0.5.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Instance, drive, start_bare, stop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args()

    instance = Instance()
    bare, bare_url = start_bare()
    server, url = instance.serve(
        {"FORTYTWO_SERVER_ACCESS_LOG": "false"} if args.no_access_log else None
    )
    auth = {"Authorization": f"Bearer {instance.token}"}
    results: dict[str, list[float]] = {"bare": [], "_ping": [], "me": []}
    try:
        drive(f"{bare_url}/json", 1, args.connections)  # warm-up
        drive(f"{url}/v1/_ping", 1, args.connections, auth)
        for _ in range(args.rounds):
            results["bare"].append(drive(f"{bare_url}/json", args.seconds, args.connections))
            results["_ping"].append(drive(f"{url}/v1/_ping", args.seconds, args.connections, auth))
            results["me"].append(drive(f"{url}/v1/me", args.seconds, args.connections, auth))
    finally:
        stop(bare)
        stop(server)
        instance.cleanup()
    bare_rps = statistics.median(results["bare"])
    print(f"bare aiohttp JSON handler: {bare_rps:8.0f} req/s")
    for name in ("_ping", "me"):
        rps = statistics.median(results[name])
        print(f"fortytwo GET /v1/{name:<6}   {rps:8.0f} req/s   ratio {rps / bare_rps:.2f}  (goal >= 0.50)")


if __name__ == "__main__":
    main()
