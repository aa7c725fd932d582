"""``fortytwo bookings``: the command line run for real in subprocesses (contract 7, 10.3).

The data directory is prepared with the command line itself (init, orgs, users, tokens,
apply). Bookings are made through the real API, served in-process on the same data directory
with a fake clock: some in the (real) past, so they can be marked as no-shows, some in the
future.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from fortytwo.app import create_app
from fortytwo.config import load_settings
from tests.cli_helpers import cli, cli_json
from tests.conftest import FakeClock
from tests.reference import validate_schema

PLAN = """
[organization]
name = "Acme"

[[users]]
username = "ada"
email = "ada@example.com"
first_name = "Ada"
role = "owner"

[[schedules]]
name = "Working hours"
user = "ada"
timezone = "Europe/London"
default = true
[schedules.weekly]
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]

[[event_types]]
slug = "intro"
title = "Intro"
owner = "ada"
duration_minutes = 30

[[event_types]]
slug = "approval"
title = "Needs approval"
owner = "ada"
duration_minutes = 30
requires_confirmation = true
"""


def _monday(reference: datetime, weeks: int) -> datetime:
    """The Monday ``weeks`` weeks from the week of ``reference``, 06:00 UTC."""
    start = reference.replace(hour=6, minute=0, second=0, microsecond=0)
    return start - timedelta(days=start.weekday()) + timedelta(weeks=weeks)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _make_bookings(data: Path, token: str) -> dict[str, str]:
    """Book through the API on ``data``; 12:00-14:00 UTC is inside 09:00-17:00 London in
    summer and winter alike."""
    settings = load_settings(None, environ={}, overrides={"data_dir": str(data)})
    now = datetime.now(UTC)
    plan = {
        # (week relative to now, event type slug, hour UTC)
        "past_confirmed": (-2, "intro", 12),
        "past_pending": (-2, "approval", 13),
        "future_pending": (2, "approval", 12),
        "future_pending_2": (2, "approval", 13),
        "future_confirmed": (2, "intro", 14),
    }
    made: dict[str, str] = {}
    auth = {"Authorization": f"Bearer {token}"}
    for name, (weeks, slug, hour) in plan.items():
        monday = _monday(now, weeks)
        clock = FakeClock(monday)
        async with TestClient(TestServer(create_app(settings, clock=clock))) as client:
            resp = await client.get(f"/v1/event-types/ada/{slug}", headers=auth)
            event_type_id = (await resp.json())["data"]["id"]
            body = {
                "event_type_id": event_type_id,
                "start": _iso(monday.replace(hour=hour)),
                "attendee": {"email": f"{name.replace('_', '-')}@example.com", "name": name},
            }
            resp = await client.post(
                "/v1/bookings", json=body, headers={**auth, "Idempotency-Key": uuid.uuid4().hex}
            )
            payload = await resp.json()
            assert resp.status == 201, payload
            made[name] = payload["data"]["uid"]
    return made


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    data = tmp_path_factory.mktemp("cli-bookings") / "data"
    cli(data, "init")
    cli(data, "orgs", "create", "Acme")
    cli(data, "orgs", "create", "Other")
    cli(data, "users", "add", "--org", "Acme", "--username", "ada", "--email", "ada@example.com",
        "--first-name", "Ada", "--role", "owner")
    plan = data.parent / "plan.toml"
    plan.write_text(PLAN)
    cli(data, "apply", str(plan))
    token = cli_json(data, "tokens", "create", "--user", "ada", "--name", "booker",
                     "--scopes", "bookings:read,bookings:write,event_types:read")["token"]
    return data, asyncio.run(_make_bookings(data, token))


def _events(data: Path, uid: str) -> list[str]:
    with sqlite3.connect(f"file:{data / 'fortytwo.db'}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT event FROM events WHERE payload LIKE ? ORDER BY seq", (f'%"{uid}"%',)
        ).fetchall()
    return [r[0] for r in rows]


def _listed(data: Path, *args: str) -> dict[str, dict]:
    return {b["uid"]: b for b in cli_json(data, "bookings", "list", *args)}


def _fails(data: Path, *args: str, code: int = 1) -> str:
    proc = cli(data, *args, check=False)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    if code == 1:
        assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1
    return proc.stderr


def test_list_json_newest_start_first(world):
    data, b = world
    items = cli_json(data, "bookings", "list")
    assert [i["uid"] for i in items] == [
        b["future_confirmed"], b["future_pending_2"], b["future_pending"],
        b["past_pending"], b["past_confirmed"],
    ]
    starts = [i["start_at"] for i in items]
    assert starts == sorted(starts, reverse=True)
    org_ids = {i["organization_id"] for i in items}
    assert len(org_ids) == 1
    for item in items:
        validate_schema("Booking", {k: v for k, v in item.items() if k != "organization_id"})
        assert item["responses"] == {}


def test_list_filters_by_org_and_status(world):
    data, b = world
    assert len(_listed(data, "--org", "Acme")) == 5
    org_id = next(iter(_listed(data).values()))["organization_id"]
    assert len(_listed(data, "--org", org_id)) == 5
    assert _listed(data, "--org", "Other") == {}
    pending = _listed(data, "--status", "pending", "--org", "Acme")
    assert set(pending) >= {b["future_pending"], b["past_pending"]}
    assert all(i["status"] == "pending" for i in pending.values())
    both = _listed(data, "--status", "pending,confirmed")
    assert len(both) == 5


def test_list_text_output(world):
    data, b = world
    out = cli(data, "bookings", "list").stdout.splitlines()
    assert len(out) == 5
    assert out[0].startswith(b["future_confirmed"]) and "intro" in out[0]
    assert "host=ada" in out[0] and "future-confirmed@example.com" in out[0]


def test_list_usage_and_errors(world):
    data, _ = world
    err = _fails(data, "bookings", "list", "--status", "open", code=2)
    assert "--status" in err and "pending" in err
    assert "no organization 'Nowhere'" in _fails(data, "bookings", "list", "--org", "Nowhere")


def test_confirm_pending(world):
    data, b = world
    uid = b["past_pending"]
    before = _listed(data)[uid]
    done = cli_json(data, "bookings", "confirm", uid)
    assert done["uid"] == uid and done["status"] == "confirmed"
    assert done["version"] == before["version"] + 1
    assert done["updated_at"] > before["updated_at"]
    assert _listed(data)[uid] == done
    assert "booking.updated" in _events(data, uid)
    # only a pending booking can be confirmed or declined
    assert "not pending" in _fails(data, "bookings", "confirm", uid)
    assert "not pending" in _fails(data, "bookings", "decline", uid)


def test_decline_pending_with_reason(world):
    data, b = world
    uid = b["future_pending"]
    out = cli(data, "bookings", "decline", uid, "--reason", "Fully booked").stdout
    assert out.strip().startswith(f"declined booking {uid}")
    row = _listed(data)[uid]
    assert row["status"] == "canceled" and row["cancellation_reason"] == "Fully booked"
    assert row["cancelled_at"] is not None
    assert "booking.canceled" in _events(data, uid)
    assert "canceled, not pending" in _fails(data, "bookings", "decline", uid)
    # the default reason
    other = cli_json(data, "bookings", "decline", b["future_pending_2"])
    assert other["status"] == "canceled" and other["cancellation_reason"]


def test_no_show_after_start(world):
    data, b = world
    uid = b["past_confirmed"]
    done = cli_json(data, "bookings", "no-show", uid, "--reason", "Did not join")
    assert done["no_show_at"] is not None and done["no_show_reason"] == "Did not join"
    assert done["status"] == "confirmed"
    assert _listed(data)[uid]["no_show_at"] == done["no_show_at"]
    assert "booking.no_show" in _events(data, uid)


def test_no_show_before_start_is_refused(world):
    data, b = world
    uid = b["future_confirmed"]
    before = _listed(data)[uid]
    assert "has not started" in _fails(data, "bookings", "no-show", uid)
    assert _listed(data)[uid] == before


def test_unknown_booking_and_usage_errors(world):
    data, _ = world
    missing = str(uuid.uuid4())
    for command in ("confirm", "decline", "no-show"):
        assert f"no booking {missing}" in _fails(data, "bookings", command, missing)
    _fails(data, "bookings", "confirm", code=2)
    _fails(data, "bookings", "frobnicate", "x", code=2)
