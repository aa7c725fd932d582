"""bench/bench_load.py still runs end to end: a 3-second mixed load with 4 clients against a
real server and the bare baseline, exit 0, every summary line printed. Speed is not checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import bench_load

ROOT = Path(__file__).resolve().parent.parent


def test_soak_flag_means_ten_minutes() -> None:
    assert bench_load.parse_args(["--soak"]).seconds == 600
    assert bench_load.parse_args([]).seconds == 30
    assert bench_load.parse_args([]).clients == 32


def test_short_load_run_reports_every_figure(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORTYTWO_")}
    figures = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_load.py"), "--seconds", "3", "--clients", "4",
         "--warmup", "0", "--json", str(figures)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for line in ("== fortytwo mixed load", "throughput:", "latency: p50", "errors: 0",
                 "server RSS: start", "server RSS every 10%:", "CPU (1.0 = one core)",
                 "== bare aiohttp baseline", "ratio fortytwo/baseline:"):
        assert line in out, f"{line!r} missing from:\n{out}"

    result = json.loads(figures.read_text())
    ours = result["fortytwo"]
    assert ours["errors"] == 0
    # every operation of the mix ran and only ever got 2xx answers
    for op, _ in bench_load.MIX:
        row = ours["ops"][op]
        assert row["count"] > 0, op
        assert all(code.startswith("2") for code in row["statuses"]), (op, row["statuses"])
    assert 0.1 < ours["writes_share"] < 0.3
    assert len(ours["rss_mib"]["series"]) == 11 and ours["rss_mib"]["start"] > 0
    assert result["baseline"]["requests"] > 0
