"""`fortytwo sandbox`: one command to a seeded local API (run for real, in a subprocess)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fortytwo.cli import sandbox as sandbox_module
from fortytwo.cli.context import CliState
from fortytwo.config import SECTIONS
from tests.cli_helpers import COMMAND, call


class Sandbox:
    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORTYTWO_") or k == "FORTYTWO_BINARY"}
        self.proc = subprocess.Popen(
            [*COMMAND, "sandbox", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            self.lines.append(line)
            if re.search(r"listening on (\S+)", line):
                return
        self.proc.kill()
        raise AssertionError(f"sandbox did not start: {''.join(self.lines)} {self.proc.stderr.read()}")

    def printed(self, label: str) -> str:
        for line in self.lines:
            if line.strip().startswith(label):
                return line.split(label, 1)[1].strip()
        raise AssertionError(f"{label} not printed: {self.lines}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def book_first_slot(creds: dict, event_type: dict) -> dict:
    base, token = creds["base_url"], creds["token"]
    now = datetime.now(UTC)
    query = urllib.parse.urlencode({
        "event_type_id": event_type["id"],
        "start": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (now + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    })
    status, body = call("GET", f"{base}/v1/slots?{query}", token)
    assert status == 200, body
    slots = body["data"]["slots"]
    assert slots, f"no slots for {event_type['slug']}"
    status, body = call("POST", f"{base}/v1/bookings", token, {
        "username": event_type["username"], "event_slug": event_type["slug"],
        "start": slots[0]["start"], "attendee": {"email": "sam@example.com", "name": "Sam"},
    }, {"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201, body
    return body["data"]


def test_sandbox_end_to_end(tmp_path):
    folder = tmp_path / "sbx"
    creds_file = tmp_path / "out" / "creds.json"
    box = Sandbox("--data-dir", str(folder), "--credentials-out", str(creds_file))
    try:
        creds = json.loads(creds_file.read_text())
        assert stat.S_IMODE(os.stat(creds_file).st_mode) == 0o600
        assert set(creds) == {"base_url", "token", "organization_id", "user_id", "event_types"}
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", creds["base_url"])
        assert box.printed("base URL:") == creds["base_url"]
        assert box.printed("token:") == creds["token"]
        assert [(e["username"], e["slug"]) for e in creds["event_types"]] == [
            ("alice", "intro-call"), ("support", "support-call"), ("alice", "office-hours"),
        ]
        status, body = call("GET", f"{creds['base_url']}/v1/_ping", creds["token"])
        assert status == 200 and body["data"]["account_id"] == creds["organization_id"]
        assert "webhooks:write" in body["data"]["scopes"] and "availability:write" in body["data"]["scopes"]
        status, body = call("GET", f"{creds['base_url']}/v1/me", creds["token"])
        assert body["data"]["user"]["id"] == creds["user_id"]
        assert body["data"]["organization"] == {"id": creds["organization_id"], "name": "Sandbox Demo", "plan": None}
        status, body = call("GET", f"{creds['base_url']}/v1/event-types", creds["token"])
        kinds = {e["slug"]: e["scheduling_type"] for e in body["data"]}
        assert kinds == {"intro-call": "individual", "support-call": "collective", "office-hours": "group"}
        booked = [book_first_slot(creds, et) for et in creds["event_types"]]
        # the printed example books a slot as it stands
        deadline = time.monotonic() + 10
        while not any("curl -X POST" in line for line in box.lines) and time.monotonic() < deadline:
            box.lines.append(box.proc.stdout.readline())
        example = next(line for line in box.lines if "curl -X POST" in line)
        assert f"Bearer {creds['token']}" in example and creds["event_types"][0]["id"] in example
    finally:
        assert box.stop() == 0
    assert (folder / ".fortytwo-sandbox").exists() and (folder / "fortytwo.db").exists()

    # restarted on the same folder: data kept, a fresh token, the old one revoked
    again = Sandbox("--data-dir", str(folder), "--credentials-out", str(creds_file))
    try:
        fresh = json.loads(creds_file.read_text())
        assert fresh["token"] != creds["token"] and fresh["event_types"] == creds["event_types"]
        status, body = call("GET", f"{fresh['base_url']}/v1/_ping", creds["token"])
        assert status == 401 and body["error"]["code"] == "token_revoked"
        status, body = call("GET", f"{fresh['base_url']}/v1/bookings/{booked[0]['uid']}", fresh["token"])
        assert status == 200
    finally:
        assert again.stop() == 0

    # --reset starts from nothing
    reset = Sandbox("--data-dir", str(folder), "--reset", "--credentials-out", str(creds_file))
    try:
        fresh = json.loads(creds_file.read_text())
        assert fresh["organization_id"] != creds["organization_id"]
        status, _ = call("GET", f"{fresh['base_url']}/v1/bookings/{booked[0]['uid']}", fresh["token"])
        assert status == 404
    finally:
        assert reset.stop() == 0


def test_sandbox_refuses_a_folder_that_is_not_a_sandbox(tmp_path):
    real = tmp_path / "data"
    real.mkdir()
    (real / "fortytwo.db").write_text("precious")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORTYTWO_") or k == "FORTYTWO_BINARY"}
    proc = subprocess.run([*COMMAND, "sandbox", "--data-dir", str(real), "--reset", "--port", "0"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and "is not a sandbox folder" in proc.stderr
    assert (real / "fortytwo.db").read_text() == "precious"


def test_sandbox_settings_are_loopback_local_and_lenient(tmp_path):
    config = tmp_path / "prod.toml"
    config.write_text(
        'public_url = "https://api.example.com"\n[server]\nhost = "0.0.0.0"\n'
        'tls_cert = "/etc/cert.pem"\ntls_key = "/etc/key.pem"\n'
        '[database]\npath = "/var/lib/fortytwo/prod.db"\n[rate_limits]\npat = 7\n'
    )
    settings = sandbox_module.sandbox_settings(CliState(str(config), None), tmp_path / "box", 0)
    assert settings.server.host == "127.0.0.1" and not settings.tls_enabled
    assert settings.database_path == tmp_path / "box" / "fortytwo.db"
    assert settings.pepper_path == tmp_path / "box" / "pepper"
    assert settings.effective_public_url == "http://127.0.0.1:0"
    assert settings.rate_limits.pat == 7  # everything else still comes from --config
    found, missing = sandbox_module.optional_overrides()
    if "webhooks" in SECTIONS:
        assert settings.webhooks.allow_private_targets is True
        assert max(settings.webhooks.retry_delays_seconds) <= 30
    else:
        assert "webhooks.allow_private_targets" in missing
    if "oauth" in SECTIONS:
        assert settings.oauth.dcr_enabled is True
    else:
        assert "oauth.dcr_enabled" in missing
    assert not (set(found) & {"server", "database", "security"})


def test_demo_plan_is_packaged_and_valid():
    from fortytwo.apply.plan import parse_plan

    plan = parse_plan(sandbox_module.demo_plan_text())
    assert len(plan.users) == 2
    assert {et.scheduling_type for et in plan.event_types} == {"individual", "collective", "group"}
    assert Path(sandbox_module.__file__).with_name("sandbox.toml").exists()
