"""The command line, run for real in subprocesses."""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.error
import urllib.request

import pytest

from tests.cli_helpers import Server, cli, cli_json


def get(url: str, token: str | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "data"
    out = cli(data, "init").stdout
    assert "schema version" in out
    cli(data, "orgs", "create", "Acme")
    cli(data, "users", "add", "--org", "Acme", "--username", "ada", "--email", "ada@example.com",
        "--first-name", "Ada", "--last-name", "Lovelace", "--role", "owner", "--password-stdin",
        input="correct horse battery\n")
    return data


def test_init_creates_private_secrets_and_is_repeatable(data_dir):
    for name in ("pepper", "secret.key"):
        mode = stat.S_IMODE(os.stat(data_dir / name).st_mode)
        assert mode == 0o600
    before = (data_dir / "pepper").read_text()
    out = cli(data_dir, "init").stdout
    assert (data_dir / "pepper").read_text() == before
    assert before.strip() not in out


def test_init_with_only_a_config_file_uses_its_data_dir_and_keeps_the_database_private(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "etc" / "config.toml"
    config.parent.mkdir()
    config.write_text('data_dir = "../var"\n')
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORTYTWO_")}
    proc = subprocess.run(
        [sys.executable, "-m", "fortytwo", "--config", str(config), "init"],
        capture_output=True, text=True, cwd=workdir, env=env, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(workdir.iterdir()) == []  # no stray ./data
    database = tmp_path / "var" / "fortytwo.db"
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "var" / "pepper").st_mode) == 0o600


def test_version():
    from fortytwo import __version__

    assert cli(__import__("pathlib").Path("."), "version").stdout.strip() == f"fortytwo {__version__}"


def test_token_lifecycle(data_dir):
    created = cli_json(data_dir, "tokens", "create", "--user", "ada", "--name", "Lifecycle",
                       "--scopes", "user:read,bookings:write", "--expires-in", "90d")
    assert set(created) == {"id", "name", "token", "scopes", "expires_at"}
    assert created["token"].startswith("42min_pat_") and len(created["token"]) == 55
    assert "bookings:write" not in created["scopes"] and "bookings:create" in created["scopes"]
    assert created["expires_at"].endswith("Z")
    listed = cli_json(data_dir, "tokens", "list")
    mine = next(t for t in listed if t["id"] == created["id"])
    assert mine["last_four"] == created["token"][-4:]
    assert created["token"] not in json.dumps(listed)
    # names are unique case-insensitively
    dup = cli(data_dir, "tokens", "create", "--user", "ada", "--name", "lifecycle",
              "--scopes", "user:read", check=False)
    assert dup.returncode == 1 and dup.stderr.startswith("Error:") and dup.stderr.count("\n") == 1
    rotated = cli_json(data_dir, "tokens", "rotate", created["id"])
    assert rotated["id"] == created["id"] and rotated["token"] != created["token"]
    cli(data_dir, "tokens", "set-scopes", created["id"], "user:read")
    assert next(t for t in cli_json(data_dir, "tokens", "list") if t["id"] == created["id"])["scopes"] == ["user:read"]
    cli(data_dir, "tokens", "revoke", created["id"])
    assert next(t for t in cli_json(data_dir, "tokens", "list") if t["id"] == created["id"])["status"] == "revoked"


def test_errors_and_usage_exit_codes(data_dir):
    bad = cli(data_dir, "tokens", "create", "--user", "ada", "--name", "x", "--scopes", "nope:read", check=False)
    assert bad.returncode == 1 and "unknown scope 'nope:read'" in bad.stderr
    assert bad.stderr.count("\n") == 1
    missing = cli(data_dir, "users", "add", "--org", "Nope", "--username", "bob", "--email", "b@example.com", check=False)
    assert missing.returncode == 1 and "no organization" in missing.stderr
    usage = cli(data_dir, "tokens", "create", "--user", "ada", check=False)
    assert usage.returncode == 2
    unknown = cli(data_dir, "frobnicate", check=False)
    assert unknown.returncode == 2


def test_users_list_and_remove(data_dir):
    cli(data_dir, "users", "add", "--org", "Acme", "--username", "gone", "--email", "gone@example.com")
    users = cli_json(data_dir, "users", "list", "--org", "Acme")
    assert {"ada", "gone"} <= {u["username"] for u in users}
    assert next(u for u in users if u["username"] == "ada")["has_password"] is True
    cli(data_dir, "users", "remove", "gone")
    assert "gone" not in {u["username"] for u in cli_json(data_dir, "users", "list")}


def test_serve_ping_me_and_live_revocation(data_dir):
    token = cli_json(data_dir, "tokens", "create", "--user", "ada", "--name", "served",
                     "--scopes", "user:read")
    server = Server(data_dir)
    try:
        status, headers, body = get(f"{server.url}/v1/_ping", token["token"])
        assert status == 200 and body["data"]["ok"] is True
        for header in ("X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            assert header in headers
        status, _, body = get(f"{server.url}/v1/me", token["token"])
        assert status == 200 and body["data"]["user"]["username"] == "ada"
        # a revocation made by another process reaches the running server
        cli(data_dir, "tokens", "revoke", token["id"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status, _, body = get(f"{server.url}/v1/_ping", token["token"])
            if status == 401:
                break
            time.sleep(0.1)
        assert status == 401 and body["error"]["code"] == "token_revoked"
    finally:
        assert server.stop() == 0
    log = server.log()
    assert token["token"] not in log and token["token"][-32:] not in log
    assert "GET /v1/_ping" in log


def test_serve_refuses_public_plain_http(data_dir):
    proc = cli(data_dir, "serve", "--host", "0.0.0.0", "--port", "0", check=False)
    assert proc.returncode == 1
    assert "tls_cert" in proc.stderr and "trusted_proxies" in proc.stderr


def test_newer_database_is_refused(tmp_path):
    import sqlite3

    data = tmp_path / "data"
    cli(data, "init")
    with sqlite3.connect(data / "fortytwo.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    proc = cli(data, "migrate", check=False)
    assert proc.returncode == 1 and "newer than this fortytwo" in proc.stderr
    proc = cli(data, "serve", "--port", "0", check=False)
    assert proc.returncode == 1 and "newer than this fortytwo" in proc.stderr
