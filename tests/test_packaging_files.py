"""packaging/fortytwo.service: the fields operations rely on, and an ExecStart command line
that our real CLI accepts and that stops cleanly on the unit's KillSignal."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

from fortytwo.config import Settings
from tests.cli_helpers import COMMAND, call, cli

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "packaging" / "fortytwo.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", value.strip())
    assert match, value
    return int(match.group(1)) * (60 if match.group(2) == "min" else 1)


def test_unit_runs_a_hardened_dedicated_service() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["User"] == "fortytwo" and service["Group"] == "fortytwo"
    assert service["ExecStart"] == "/usr/local/bin/fortytwo --config /etc/fortytwo/config.toml serve"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    # only the bootloader gets SIGTERM; it forwards one to the server (a second would hurry it)
    assert service["KillMode"] == "mixed"
    # systemd must wait out the grace period plus the clean-up after it
    assert _seconds(service["TimeoutStopSec"]) >= Settings().server.shutdown_timeout + 10
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                       "ProtectHome": "yes", "CapabilityBoundingSet": ""}.items():
        assert service[key] == value, key
    assert "/var/lib/fortytwo" in service["ReadWritePaths"].split()
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_unit_gives_the_executable_a_writable_tmpdir() -> None:
    service = _unit()["Service"]
    env = dict(item.split("=", 1) for item in shlex.split(service["Environment"]))
    tmpdir = env["TMPDIR"]
    # a directory systemd creates for the service and leaves writable under ProtectSystem=strict
    assert tmpdir == f"/var/cache/{service['CacheDirectory']}"
    assert "noexec" not in service.get("TemporaryFileSystem", "")
    assert tmpdir not in service.get("NoExecPaths", "") + service.get("ReadOnlyPaths", "")


def test_execstart_command_line_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    argv = shlex.split(_unit()["Service"]["ExecStart"])
    assert argv[0] == "/usr/local/bin/fortytwo"
    config = tmp_path / "etc" / "config.toml"
    config.parent.mkdir()
    data = tmp_path / "var"
    config.write_text(f'data_dir = "{data}"\n\n[server]\nhost = "127.0.0.1"\nport = 0\n')
    cli(data, "--config", str(config), "init")
    args = [str(config) if a == "/etc/fortytwo/config.toml" else a for a in argv[1:]]
    assert args == ["--config", str(config), "serve"]

    env = {k: v for k, v in os.environ.items() if not k.startswith("FORTYTWO_") or k == "FORTYTWO_BINARY"}
    proc = subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        match = re.search(r"listening on (\S+)", line)
        assert match, line + proc.stderr.read()
        assert call("GET", match.group(1) + "/healthz") == (200, {"status": "ok"})
        proc.send_signal(getattr(signal, _unit()["Service"]["KillSignal"]))
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert (data / "fortytwo.db").exists()
