"""Backups, the documented restore, pre-migration backups and ``migrate --check``.

The live test runs a real ``fortytwo serve`` under concurrent booking writes and takes a
backup with the real command line in the middle of them (docs/backups.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from fortytwo.app import create_app
from fortytwo.db.migrate import available_migrations, latest_version
from tests.cli_helpers import Server, call, cli, cli_json
from tests.conftest import make_settings
from tests.plans import QUICK_PLAN

PLAN = QUICK_PLAN
WRITERS = 4


def version_of(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def build_at(path: Path, version: int) -> None:
    """A database made by the first ``version`` migrations, as an older release left it."""
    with closing(sqlite3.connect(path)) as conn:
        for migration in available_migrations()[:version]:
            conn.executescript(
                f"BEGIN;{migration.sql};PRAGMA user_version={migration.version};COMMIT;"
            )
        conn.execute("INSERT INTO organizations VALUES ('org_1', 'Old Org', '2026-01-01', "
                     "'2026-01-01')")
        conn.commit()


def booking_state(path: Path) -> dict[str, set[str]]:
    """Every booking uid, and the uids that have history, an idempotency record and a
    booking.created event (each exactly once)."""
    with closing(sqlite3.connect(path)) as conn:
        bookings = [r[0] for r in conn.execute("SELECT uid FROM bookings")]
        events = [json.loads(p)["booking"]["id"] for (p,) in conn.execute(
            "SELECT payload FROM events WHERE event = 'booking.created'")]
        records = [json.loads(b)["data"]["uid"] for (b,) in conn.execute(
            "SELECT body FROM idempotency_records")]
        history = {r[0] for r in conn.execute("SELECT DISTINCT booking_uid FROM booking_history")}
    assert len(bookings) == len(set(bookings))
    assert len(events) == len(set(events)), "a booking.created event was written twice"
    return {"bookings": set(bookings), "events": set(events), "records": set(records),
            "history": history}


@pytest.fixture
def live_instance(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    cli(data, "init")
    with (data / "config.toml").open("a") as fh:
        fh.write("\n[rate_limits]\npat = 1000000\n")
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    cli(data, "apply", str(plan))
    token = cli_json(data, "tokens", "create", "--user", "ada", "--name", "backup",
                     "--scopes", "bookings:read,bookings:write")["token"]
    return data, token


async def write_bookings(url: str, token: str, acked: list[str], stop: asyncio.Event) -> None:
    """A few clients booking distinct slots until ``stop``; ``acked`` gets each 201's uid."""
    base = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    counter = iter(range(100_000))

    async def client(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            n = next(counter)
            body = {
                "username": "ada", "event_slug": "quick",
                "start": (base + timedelta(minutes=15 * n)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "attendee": {"email": f"guest{n}@example.com", "name": f"Guest {n}"},
            }
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
            async with session.post(f"{url}/v1/bookings", json=body, headers=headers) as resp:
                payload = await resp.json()
                assert resp.status == 201, payload
                acked.append(payload["data"]["uid"])

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        await asyncio.gather(*(client(session) for _ in range(WRITERS)))


async def wait_for(predicate, seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_backup_of_a_busy_server_is_consistent_and_restores(live_instance, tmp_path):
    data, token = live_instance
    db = data / "fortytwo.db"
    dest = tmp_path / "snapshot.db"
    server = Server(data)
    acked: list[str] = []
    stop = asyncio.Event()
    try:
        writers = asyncio.create_task(write_bookings(server.url, token, acked, stop))
        await wait_for(lambda: len(acked) >= 20 or writers.done())
        before = set(acked)
        # the command runs in a thread so that the writers keep going while it copies
        proc = await asyncio.to_thread(cli, data, "backup", str(dest), "--json")
        during = len(acked)
        await wait_for(lambda: len(acked) >= during + 10 or writers.done())
        stop.set()
        await writers
        assert len(acked) > len(before), "no write overlapped the backup"
        assert server.stop() == 0
    finally:
        stop.set()
        server.stop()

    report = json.loads(proc.stdout)
    assert report["path"] == str(dest)
    assert report["size"] == dest.stat().st_size
    assert report["schema_version"] == latest_version() == version_of(dest)
    assert report["integrity"] == "ok" and integrity(dest) == "ok"
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    assert not dest.with_name(dest.name + "-wal").exists()

    copy, final = booking_state(dest), booking_state(db)
    # a consistent prefix: everything acknowledged before the backup began, nothing that was
    # never written, and every booking complete with its history, record and event
    assert before <= copy["bookings"] <= set(acked) == final["bookings"]
    assert copy["bookings"] == copy["events"] == copy["records"] == copy["history"]
    assert len(copy["bookings"]) < len(final["bookings"])
    missing = sorted(final["bookings"] - copy["bookings"])

    # the documented restore: stopped server, copy over, stale -wal/-shm removed, start
    shutil.copyfile(dest, db)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    server = Server(data)
    try:
        kept = sorted(copy["bookings"])[0]
        assert call("GET", f"{server.url}/v1/bookings/{kept}", token)[0] == 200
        assert call("GET", f"{server.url}/v1/bookings/{missing[0]}", token)[0] == 404
        status, body = call("GET", f"{server.url}/v1/bookings?limit=100", token)
        assert status == 200 and len(body["data"]) == min(100, len(copy["bookings"]))
    finally:
        assert server.stop() == 0
    assert integrity(db) == "ok"


def test_backup_destinations(tmp_path):
    data = tmp_path / "data"
    missing = cli(tmp_path / "nothing", "backup", str(tmp_path / "x.db"), check=False)
    assert missing.returncode == 1 and "no database at" in missing.stderr
    cli(data, "init")
    assert not list(data.glob("*.bak")), "a fresh database needs no pre-migration backup"

    dest = tmp_path / "copy.db"
    proc = cli(data, "backup", str(dest))
    assert str(dest) in proc.stdout and f"schema version {latest_version()}" in proc.stdout
    assert f"{dest.stat().st_size} bytes" in proc.stdout
    stamp = dest.stat().st_mtime_ns

    again = cli(data, "backup", str(dest), check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == f"Error: {dest} already exists; pass --force to replace it"
    assert dest.stat().st_mtime_ns == stamp

    os.utime(dest, ns=(0, 0))
    cli(data, "backup", "--force", str(dest))
    assert dest.stat().st_mtime_ns != 0 and integrity(dest) == "ok"

    folder = tmp_path / "backups"
    folder.mkdir()
    report = cli_json(data, "backup", str(folder))
    made = Path(report["path"])
    assert made.parent == folder and made.name.startswith("fortytwo-") and made.suffix == ".db"
    assert list(folder.iterdir()) == [made]  # no temporary file left behind
    assert version_of(made) == latest_version()

    nowhere = cli(data, "backup", str(tmp_path / "no" / "such" / "x.db"), check=False)
    assert nowhere.returncode == 1 and "does not exist" in nowhere.stderr
    itself = cli(data, "backup", "--force", str(data / "fortytwo.db"), check=False)
    assert itself.returncode == 1 and "the database itself" in itself.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backups", "copy.db", "data"]


def test_migrate_check(tmp_path):
    data = tmp_path / "data"
    cli(data, "init")
    latest = latest_version()
    ok = cli(data, "migrate", "--check")
    assert f"schema version: {latest}" in ok.stdout and "pending:        -" in ok.stdout
    assert cli_json(data, "migrate", "--check")["up_to_date"] is True

    db = data / "fortytwo.db"
    db.unlink()
    build_at(db, latest - 2)
    pending = cli(data, "migrate", "--check", check=False)
    assert pending.returncode == 1
    names = [m.name for m in available_migrations()[latest - 2:]]
    assert f"pending:        {', '.join(names)}" in pending.stdout
    assert pending.stderr.strip() == (
        f"Error: 2 migration(s) pending (version {latest - 2} -> {latest}); "
        "run `fortytwo migrate`"
    )
    report = json.loads(cli(data, "migrate", "--check", "--json", check=False).stdout)
    assert report["current_version"] == latest - 2 and report["pending"] == names
    assert version_of(db) == latest - 2 and not list(data.glob("*.bak")), "--check changed nothing"

    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version = {latest + 1}")
    newer = cli(data, "migrate", "--check", check=False)
    assert newer.returncode == 1 and "newer than this fortytwo" in newer.stderr
    assert len(newer.stderr.strip().splitlines()) == 1


def test_migrate_backs_up_an_older_database_first(tmp_path):
    data = tmp_path / "data"
    cli(data, "init")
    db = data / "fortytwo.db"
    db.unlink()
    old = latest_version() - 2
    build_at(db, old)

    proc = cli(data, "migrate")
    backups = list(data.glob(f"fortytwo.db.pre-v{latest_version()}-*.bak"))
    assert len(backups) == 1
    assert f"(schema version {old}) to {backups[0]} before migrating" in proc.stdout
    assert version_of(backups[0]) == old and integrity(backups[0]) == "ok"
    with closing(sqlite3.connect(backups[0])) as conn:
        assert conn.execute("SELECT name FROM organizations").fetchall() == [("Old Org",)]
    assert version_of(db) == latest_version()
    cli(data, "migrate")  # nothing pending: no second backup
    assert len(list(data.glob("*.bak"))) == 1


async def test_server_start_backs_up_before_migrating(tmp_path, aiohttp_client):
    settings = make_settings(tmp_path)
    old = latest_version() - 1
    build_at(settings.database_path, old)
    client = await aiohttp_client(create_app(settings))  # start-up migrates
    assert (await client.get("/healthz")).status == 200
    [backup] = tmp_path.glob(f"fortytwo.db.pre-v{latest_version()}-*.bak")
    assert version_of(backup) == old and integrity(backup) == "ok"
    assert version_of(settings.database_path) == latest_version()

