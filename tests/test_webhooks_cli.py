"""``fortytwo webhooks``: list, deliveries, resume, create, run for real (contract 10.3)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from tests.cli_helpers import cli, cli_json
from tests.reference import validate_schema


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("cli") / "data"
    cli(data, "init")
    with (data / "config.toml").open("a") as fh:
        fh.write("\n[webhooks]\nallow_private_targets = true\n")
    cli(data, "orgs", "create", "Acme")
    return data


def test_create_list_deliveries_resume(data_dir):
    created = cli_json(
        data_dir, "webhooks", "create", "--org", "Acme", "--url", "http://127.0.0.1:9/hook",
        "--events", "booking_created,booking_canceled", "--description", "ops",
    )
    validate_schema("WebhookWithSecret", created)
    assert created["signing_secret"].startswith("whsec_")
    hook_id = created["id"]

    listed = cli_json(data_dir, "webhooks", "list", "--org", "Acme")
    [item] = [h for h in listed if h["id"] == hook_id]
    validate_schema("Webhook", item)
    assert "signing_secret" not in item
    assert item["owner"] == {"kind": "cli", "id": None, "generation": None}
    assert item["events"] == ["booking_created", "booking_canceled"]
    assert hook_id in cli(data_dir, "webhooks", "list").stdout

    # as the scheduler would leave it after five exhausted deliveries
    with closing(sqlite3.connect(data_dir / "fortytwo.db")) as conn, conn:
        conn.execute(
            "UPDATE webhooks SET status = 'paused', paused_reason = 'consecutive_failures', "
            "consecutive_failures = 5 WHERE id = ?", (hook_id,),
        )
        org_id = conn.execute("SELECT organization_id FROM webhooks WHERE id = ?", (hook_id,)).fetchone()[0]
        conn.execute(
            "INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event_id, event, attempt,"
            " status, status_code, error, created_at, updated_at) VALUES (?, ?, ?, ?, 'booking.created',"
            " 6, 'failed', 500, 'the receiver answered HTTP 500', '2026-05-18T08:00:00.000Z',"
            " '2026-05-18T08:00:00.000Z')",
            (f"dlv_{uuid.uuid4()}", hook_id, org_id, f"evt_{uuid.uuid4()}"),
        )
    [delivery] = cli_json(data_dir, "webhooks", "deliveries", hook_id)
    validate_schema("WebhookDelivery", {k: delivery[k] for k in ("id", "event", "attempt", "status_code", "error", "delivered_at", "created_at")})
    assert (delivery["status"], delivery["attempt"], delivery["event"]) == ("failed", 6, "booking_created")
    assert "failed" in cli(data_dir, "webhooks", "deliveries", hook_id).stdout

    resumed = cli_json(data_dir, "webhooks", "resume", hook_id)
    assert resumed["status"] == "active" and resumed["paused_reason"] is None
    assert resumed["consecutive_failures"] == 0
    assert "is active" in cli(data_dir, "webhooks", "resume", hook_id).stdout


def test_errors_are_one_line_with_exit_1(data_dir):
    for args, text in [
        (("webhooks", "resume", str(uuid.uuid4())), "no webhook"),
        (("webhooks", "deliveries", "nope"), "no webhook"),
        (("webhooks", "list", "--org", "Nope"), "no organization"),
        (("webhooks", "create", "--org", "Acme", "--url", "http://127.0.0.1:9/x",
          "--events", "booking.created"), "underscore name"),
        (("webhooks", "create", "--org", "Acme", "--url", "ftp://x.example/",
          "--events", "booking_created"), "https"),
    ]:
        proc = cli(data_dir, *args, check=False)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert text in proc.stderr, proc.stderr
    proc = cli(data_dir, "webhooks", "create", "--org", "Acme", "--url", "http://127.0.0.1:9/dup",
               "--events", "booking_created", "--json")
    again = cli(data_dir, "webhooks", "create", "--org", "Acme", "--url", "http://127.0.0.1:9/dup",
                "--events", "booking_created", check=False)
    assert again.returncode == 1 and "already has a webhook" in again.stderr
    assert json.loads(proc.stdout)["url"] == "http://127.0.0.1:9/dup"
