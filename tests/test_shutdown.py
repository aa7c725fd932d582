"""Graceful shutdown of a real ``fortytwo serve`` on SIGTERM and SIGINT.

The request held in flight is ``POST /v1/webhooks/{id}/test``: it makes one synchronous
delivery to a receiver run by the test, which answers only when the test says so. The
receiver seeing the delivery proves the request is inside its handler, with no sleeps.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.cli_helpers import Server, call, cli, cli_json

MARGIN = 5.0  # seconds a stop may take beyond the grace period (cleanup, process exit)


class HeldReceiver:
    """A webhook target that holds each delivery until ``release`` is set."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the http.server naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.arrived.set()
                receiver.release.wait(30)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the server gave up on this delivery and hung up
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data = tmp_path_factory.mktemp("shutdown") / "data"
    cli(data, "init")
    cli(data, "orgs", "create", "Acme")
    cli(data, "users", "add", "--org", "Acme", "--username", "ada", "--email", "ada@example.com",
        "--role", "owner")
    token = cli_json(data, "tokens", "create", "--user", "ada", "--name", "shutdown",
                     "--scopes", "user:read,webhooks:read,webhooks:write")["token"]
    return data, token


def configure(data: Path, grace: float) -> None:
    (data / "config.toml").write_text(
        'data_dir = "."\n\n[server]\nhost = "127.0.0.1"\nport = 8042\n'
        f"shutdown_timeout = {grace}\n\n"
        "[webhooks]\nallow_private_targets = true\ntimeout_seconds = 60\n"
    )


@pytest.fixture
def receiver() -> Iterator[HeldReceiver]:
    held = HeldReceiver()
    yield held
    held.close()


def send(conn: http.client.HTTPConnection, method: str, path: str, token: str | None = None
         ) -> tuple[int, http.client.HTTPMessage, Any]:
    """One request on ``conn`` (kept alive unless the server closes it)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request(method, path, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.headers, json.loads(resp.read() or b"null")


def refused(host: str, port: int, within: float = 10.0) -> bool:
    """True once a new connection to the port is refused (the listener is closed)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.02)
    return False


def hold_test_delivery(server: Server, token: str, receiver: HeldReceiver
                       ) -> tuple[str, threading.Thread, dict[str, Any]]:
    """Create a webhook and start a test delivery on its own connection; return once the
    receiver holds it (the request is then in flight inside the server)."""
    status, body = call("POST", f"{server.url}/v1/webhooks", token,
                        {"url": receiver.url, "events": ["booking_created"]})
    assert status == 201, body
    hook_id = body["data"]["id"]
    parts = urlsplit(server.url)
    outcome: dict[str, Any] = {}

    def run() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            outcome["answer"] = send(conn, "POST", f"/v1/webhooks/{hook_id}/test", token)
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = exc
        finally:
            conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert receiver.arrived.wait(10), "the test delivery never reached the receiver"
    return hook_id, thread, outcome


def assert_checkpointed(db: Path) -> None:
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, f"-wal holds {wal.stat().st_size} bytes"
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_finishes_requests_in_flight_and_refuses_new_ones(instance, receiver, sig):
    data, token = instance
    grace = 8.0
    configure(data, grace)
    db = data / "fortytwo.db"
    server = Server(data)
    # A second connection to the database keeps the server from being its last user, so
    # only the explicit checkpoint on close can leave the WAL empty.
    watcher = sqlite3.connect(db)
    try:
        parts = urlsplit(server.url)
        host, port = parts.hostname, parts.port
        api = http.client.HTTPConnection(host, port, timeout=10)
        health = http.client.HTTPConnection(host, port, timeout=10)
        assert send(api, "GET", "/v1/_ping", token)[0] == 200  # both now kept alive
        assert send(health, "GET", "/healthz")[0] == 200
        hook_id, thread, outcome = hold_test_delivery(server, token, receiver)
        watcher.execute("SELECT count(*) FROM webhooks").fetchall()  # no transaction left open

        signalled = time.monotonic()
        server.proc.send_signal(sig)
        assert refused(host, port), "new connections were still accepted"

        # a request on a connection opened before the signal: 503, and the connection ends
        status, headers, body = send(api, "GET", "/v1/_ping", token)
        assert status == 503, body
        assert body["error"]["code"] == "service_unavailable"
        assert "shutting down" in body["error"]["message"]
        assert body["error"]["request_id"] == headers["X-Request-Id"]
        assert int(headers["Retry-After"]) > 0
        assert headers["Connection"] == "close"
        status, headers, body = send(health, "GET", "/healthz")
        assert (status, body) == (503, {"status": "shutting_down"})
        assert headers["Connection"] == "close"

        assert server.proc.poll() is None, "the server quit with a request in flight"
        receiver.release.set()
        thread.join(10)
        status, headers, body = outcome["answer"]
        assert status == 200, body
        assert body["data"]["status_code"] == 200 and body["data"]["error"] is None
        assert headers["Connection"] == "close"

        assert server.proc.wait(grace + MARGIN) == 0
        assert time.monotonic() - signalled < grace + MARGIN
        assert_checkpointed(db)  # while the watcher is open: closing it would checkpoint too
    finally:
        server.stop()
        watcher.close()
    log = server.log()
    assert f"{sig.name} received: shutting down" in log
    assert "stopped" in log and "Traceback" not in log
    with closing(sqlite3.connect(db)) as conn:  # the request that finished was recorded
        assert conn.execute(
            "SELECT status FROM webhook_deliveries WHERE webhook_id = ?", (hook_id,)
        ).fetchall() == [("succeeded",)]


def test_a_request_outliving_the_grace_period_is_cut_off(instance, receiver):
    data, token = instance
    grace = 1.0
    configure(data, grace)
    db = data / "fortytwo.db"
    server = Server(data)
    try:
        hook_id, thread, outcome = hold_test_delivery(server, token, receiver)
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        # the receiver never answers, yet the process ends, cleanly, soon after the grace
        assert server.proc.wait(grace + MARGIN) == 0
        assert time.monotonic() - signalled >= grace
        thread.join(10)
        assert "answer" not in outcome, outcome  # the connection closed without an answer
        assert isinstance(outcome["error"], http.client.RemoteDisconnected | ConnectionError)
    finally:
        server.stop()
    log = server.log()
    assert "cancelled 1 request(s) still running after the 1s grace period" in log
    assert "Traceback" not in log
    assert_checkpointed(db)
    with closing(sqlite3.connect(db)) as conn:  # cut off before it recorded anything
        assert conn.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?", (hook_id,)
        ).fetchone()[0] == 0
