"""The database's single writer: one queue for both write paths, deadlines, cancellation,
background checkpoints, and the bounded look-back of the availability query."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from fortytwo.db.database import Database
from fortytwo.db.migrate import migrate
from tests.booking_helpers import book, error_of
from tests.plans import always_open_plan
from tests.scenario import apply_text, make_account


@pytest.fixture
async def db(tmp_path: Path):
    async with Database(tmp_path / "w.db") as database:
        await database.writer.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, what TEXT)")
        yield database


def _count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM log").fetchone()[0]


async def test_both_write_paths_share_one_queue_in_arrival_order(db):
    events: list[str] = []
    thread_ids: set[int] = set()

    def unit(conn, name: str) -> None:
        thread_ids.add(threading.get_ident())
        events.append(f"start {name}")
        conn.execute("INSERT INTO log (what) VALUES (?)", (name,))
        events.append(f"end {name}")

    async def admin(name: str) -> None:
        async with db.write() as conn:
            events.append(f"start {name}")
            await asyncio.sleep(0.01)  # other writers must wait, not slip in
            await conn.execute("INSERT INTO log (what) VALUES (?)", (name,))
            events.append(f"end {name}")

    jobs = []
    for i in range(12):
        name = f"w{i}"
        jobs.append(admin(name) if i % 3 == 0 else db.run_write(unit, name))
    await asyncio.gather(*jobs)
    starts = [e.split()[1] for e in events if e.startswith("start")]
    assert starts == [f"w{i}" for i in range(12)]
    for i in range(0, len(events), 2):  # strictly start/end pairs: nothing interleaves
        assert events[i].split()[1] == events[i + 1].split()[1]
    assert len(thread_ids) == 1
    rows = await (await db.reader.execute("SELECT what FROM log ORDER BY id")).fetchall()
    assert [r[0] for r in rows] == starts


async def test_queued_write_gives_up_at_its_deadline_and_never_runs(db):
    ran = []
    async with db.write():
        with pytest.raises(TimeoutError):
            await db.run_write(lambda conn: ran.append(1), max_wait=0.05)
        with pytest.raises(TimeoutError):
            async with db.write(max_wait=0.05):
                ran.append(2)
    await asyncio.sleep(0.05)
    assert ran == []
    assert await db.run_write(lambda conn: _count(conn)) == 0  # the writer is free again


async def test_cancelled_while_queued_never_runs_cancelled_while_running_commits(db):
    ran = []
    started = threading.Event()
    proceed = threading.Event()

    def slow(conn) -> None:
        started.set()
        proceed.wait(5)
        conn.execute("INSERT INTO log (what) VALUES ('slow')")

    running = asyncio.create_task(db.run_write(slow))
    await asyncio.to_thread(started.wait, 5)
    queued = asyncio.create_task(db.run_write(lambda conn: ran.append("queued")))
    await asyncio.sleep(0.02)
    queued.cancel()
    running.cancel()
    await asyncio.sleep(0.02)
    assert not running.done()  # waits for the unit it cannot stop
    proceed.set()
    for task in (queued, running):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert ran == []
    assert await db.run_write(_count) == 1


async def test_failed_unit_rolls_back_and_the_next_one_runs(db):
    def broken(conn) -> None:
        conn.execute("INSERT INTO log (what) VALUES ('half')")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await db.run_write(broken)
    await db.run_write(lambda conn: conn.execute("INSERT INTO log (what) VALUES ('ok')"))
    assert await db.run_write(_count) == 1


async def test_background_checkpoints_keep_the_wal_folded(tmp_path: Path):
    path = tmp_path / "c.db"
    async with Database(path, checkpoint_every=0.05) as database:
        await migrate(database.writer)
        await database.writer.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, what TEXT)")
        auto = await database.run_write(
            lambda conn: conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        )
        assert auto == 0  # the writer never checkpoints inside a request
        for i in range(300):
            await database.run_write(
                lambda conn, i=i: conn.execute("INSERT INTO log (what) VALUES (?)", ("x" * 500,))
            )
        await asyncio.sleep(0.3)
        busy, frames, copied = database.last_checkpoint
        assert frames > 0 and copied == frames  # the background round folded every frame
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # noqa: ASYNC240


LONG_DAY = always_open_plan(
    'slug = "long"\ntitle = "Long"\nduration_minutes = 720\nslot_interval_minutes = 60',
    'slug = "short"\ntitle = "Short"\nduration_minutes = 30',
)


async def test_booking_that_started_long_before_the_window_still_blocks_it(client, app):
    from datetime import UTC, datetime

    from fortytwo import keys
    from fortytwo.store import event_types as store

    ada = await make_account(app)
    await apply_text(app, LONG_DAY)
    conn = app[keys.DATABASE].reader
    long_id = (await store.find_by_slug(conn, ada.org_id, "long"))[0].id
    short_id = (await store.find_by_slug(conn, ada.org_id, "short"))[0].id
    # 12 hours from Wednesday 00:00 to 12:00 UTC (the clock stands on Monday 2026-05-18)
    await book(client, ada, long_id, datetime(2026, 5, 20, 0, 0, tzinfo=UTC))
    # the query itself, with no margin: the booking began 11 hours before this window
    from fortytwo.store.availability import busy_for

    rows = await app[keys.DATABASE].run_read(
        busy_for, [ada.user_id], datetime(2026, 5, 20, 11, 59, tzinfo=UTC),
        datetime(2026, 5, 20, 14, 0, tzinfo=UTC),
    )
    assert [r["event_type_id"] for r in rows] == [long_id]
    params = {"event_type_id": short_id, "start": "2026-05-20T11:30:00Z"}
    resp = await client.get("/v1/slots/check", params=params, headers=ada.auth)
    assert (await resp.json())["data"]["available"] is False
    resp = await client.get(
        "/v1/slots",
        params={"event_type_id": short_id, "start": "2026-05-20T11:00:00Z",
                "end": "2026-05-20T14:00:00Z"},
        headers=ada.auth,
    )
    slots = (await resp.json())["data"]["slots"]
    first = next(iter(slots.values()))[0] if isinstance(slots, dict) else slots[0]
    assert (first["start"] if isinstance(first, dict) else first).startswith("2026-05-20T12:00:00")
    body = {"event_type_id": short_id, "start": "2026-05-20T11:30:00Z",
            "attendee": {"email": "x@example.com", "name": "X"}}
    from tests.booking_helpers import post_booking

    await error_of(await post_booking(client, ada, body), 409, "slot_unavailable")
