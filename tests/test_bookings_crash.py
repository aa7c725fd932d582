"""kill -9 of a real server in the middle of booking traffic (contract 2.6, 8.2).

A booking, its idempotency record and its booking.created event are committed in one
transaction, so after a crash and restart every acknowledged booking is there exactly once
with both, nothing half-written exists, and retrying the unacknowledged requests with their
keys converges on exactly one booking per key.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.cli_helpers import Server, cli, cli_json
from tests.crash_support import ALWAYS_OPEN_PLAN as PLAN

CLIENTS = 8
KILL_AFTER_ACKS = 150
KILL_AFTER_SECONDS = 2.0


@dataclass
class Attempt:
    key: str
    body: dict
    status: int | None = None  # None: no answer (the server died first)
    raw: bytes = b""


@pytest.fixture
def data_dir(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    cli(data, "init")
    with (data / "config.toml").open("a") as fh:
        fh.write("\n[rate_limits]\npat = 1000000\n")
    cli(data, "orgs", "create", "Acme")
    cli(data, "users", "add", "--org", "Acme", "--username", "ada", "--email", "ada@example.com",
        "--timezone", "UTC", "--role", "owner")
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    cli(data, "apply", str(plan))
    token = cli_json(data, "tokens", "create", "--user", "ada", "--name", "crash",
                     "--scopes", "bookings:read,bookings:write")["token"]
    return data, token


def _body(start: datetime, n: int) -> dict:
    return {
        "username": "ada", "event_slug": "quick",
        "start": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "attendee": {"email": f"guest{n}@example.com", "name": f"Guest {n}"},
        "metadata": {"n": str(n)},
    }


async def _fire(url: str, token: str, attempts: list[Attempt], stop: asyncio.Event) -> None:
    """Several clients book distinct slots until the server goes away."""
    base = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    counter = iter(range(100_000))

    async def client(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            n = next(counter)
            attempt = Attempt(str(uuid.uuid4()), _body(base + timedelta(minutes=15 * n), n))
            attempts.append(attempt)
            try:
                async with session.post(
                    f"{url}/v1/bookings", json=attempt.body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": attempt.key},
                ) as resp:
                    raw = await resp.read()
                    attempt.status, attempt.raw = resp.status, raw
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                return
            assert attempt.status == 201, raw

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))


async def _post(session, url, token, attempt: Attempt):
    async with session.post(
        f"{url}/v1/bookings", json=attempt.body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": attempt.key},
    ) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def _db_state(db: Path) -> dict:
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bookings = [r[0] for r in conn.execute("SELECT uid FROM bookings")]
        created: dict[str, int] = {}
        for (payload,) in conn.execute("SELECT payload FROM events WHERE event = 'booking.created'"):
            uid = json.loads(payload)["booking"]["id"]
            created[uid] = created.get(uid, 0) + 1
        records: dict[str, str] = {}
        for key, body in conn.execute("SELECT key, body FROM idempotency_records"):
            records[json.loads(body)["data"]["uid"]] = key
        history = {r[0] for r in conn.execute("SELECT DISTINCT booking_uid FROM booking_history")}
    return {"bookings": bookings, "created": created, "records": records, "history": history}


def _consistent(state: dict) -> None:
    """No booking without its idempotency record, its one event and its history, and the
    other way round."""
    uids = set(state["bookings"])
    assert len(uids) == len(state["bookings"])
    assert set(state["created"]) == uids
    assert all(n == 1 for n in state["created"].values())
    assert set(state["records"]) == uids
    assert state["history"] == uids


async def test_kill_9_mid_run_loses_nothing_and_retries_converge(data_dir):
    data, token = data_dir
    started = time.monotonic()
    server = Server(data)
    attempts: list[Attempt] = []
    stop = asyncio.Event()

    async def killer() -> None:
        deadline = time.monotonic() + KILL_AFTER_SECONDS
        while time.monotonic() < deadline:
            if sum(a.status == 201 for a in attempts) >= KILL_AFTER_ACKS:
                break
            await asyncio.sleep(0.005)
        server.proc.send_signal(signal.SIGKILL)
        stop.set()

    try:
        await asyncio.gather(_fire(server.url, token, attempts, stop), killer())
    finally:
        server.stop(signal.SIGKILL)
    acked = [a for a in attempts if a.status == 201]
    unacked = [a for a in attempts if a.status is None]
    assert len(acked) >= 10, "the server died before it booked anything"
    assert len(acked) + len(unacked) == len(attempts)

    server = Server(data)
    try:
        state = _db_state(data / "fortytwo.db")
        _consistent(state)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            for attempt in acked:
                uid = json.loads(attempt.raw)["data"]["uid"]
                assert state["created"][uid] == 1
                assert state["records"][uid] == attempt.key
                async with session.get(f"{server.url}/v1/bookings/{uid}",
                                       headers={"Authorization": f"Bearer {token}"}) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["data"]["metadata"] == attempt.body["metadata"]
                status, headers, raw = await _post(session, server.url, token, attempt)
                assert (status, raw) == (201, attempt.raw)
                assert headers["Idempotent-Replayed"] == "true"

            # the requests nobody answered: retried with their keys, each books exactly once
            for attempt in unacked:
                status, headers, raw = await _post(session, server.url, token, attempt)
                assert status == 201, raw
                attempt.raw = raw
            for attempt in unacked:
                status, headers, raw = await _post(session, server.url, token, attempt)
                assert (status, raw) == (201, attempt.raw)
                assert headers["Idempotent-Replayed"] == "true"

        state = _db_state(data / "fortytwo.db")
        _consistent(state)
        assert len(state["bookings"]) == len(attempts)
        assert {state["records"][json.loads(a.raw)["data"]["uid"]] for a in attempts} == {
            a.key for a in attempts
        }
    finally:
        server.stop()
    assert time.monotonic() - started < 30
