"""``fortytwo oauth-clients`` run for real (contract 10.3 and 11), and the redirect URI rules
behind it."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing

import pytest

from fortytwo.oauth import redirects
from tests.cli_helpers import cli, cli_json

CROCK = "[0-9A-HJKMNP-TV-Z]"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("oauth-cli") / "data"
    cli(data, "init")
    cli(data, "orgs", "create", "Acme")
    return data


def test_create_list_rotate_delete(data_dir):
    created = cli_json(
        data_dir, "oauth-clients", "create", "--org", "Acme", "--name", "Calendar Sync",
        "--redirect-uri", "https://app.example/cb", "--redirect-uri", "http://127.0.0.1/cb",
        "--type", "confidential", "--scopes", "user:read,bookings:write,offline_access",
    )
    assert set(created) == {"client_id", "client_secret", "redirect_uris", "type"}
    assert re.fullmatch(f"42min_{CROCK}{{26}}", created["client_id"])
    assert re.fullmatch(f"42min_cs_{CROCK}{{32}}", created["client_secret"])
    assert created["redirect_uris"] == ["https://app.example/cb", "http://127.0.0.1/cb"]
    assert created["type"] == "confidential"

    public = cli_json(
        data_dir, "oauth-clients", "create", "--org", "Acme", "--name", "Phone",
        "--redirect-uri", "com.example.phone:/oauth", "--type", "public",
    )
    assert public["client_secret"] is None and public["type"] == "public"

    listed = cli_json(data_dir, "oauth-clients", "list")
    by_id = {c["client_id"]: c for c in listed}
    mine = by_id[created["client_id"]]
    assert mine["scopes"] == [
        "user:read", "bookings:create", "bookings:cancel", "bookings:reschedule",
        "bookings:update", "offline_access",
    ]
    assert mine["organization"] == "Acme" and mine["secret_last_four"] == created["client_secret"][-4:]
    assert "client_secret" not in mine
    assert by_id[public["client_id"]]["scopes"][-1] == "offline_access"  # default: everything
    assert created["client_secret"] not in json.dumps(listed)
    assert cli_json(data_dir, "oauth-clients", "list", "--org", "Acme") == listed
    text = cli(data_dir, "oauth-clients", "list").stdout
    assert created["client_id"] in text and created["client_secret"] not in text

    # the secret is stored hashed
    with closing(sqlite3.connect(data_dir / "fortytwo.db")) as conn:
        stored = conn.execute(
            "SELECT secret_hash FROM oauth_clients WHERE id = ?", (created["client_id"],)
        ).fetchone()[0]
    assert created["client_secret"].encode() not in bytes(stored) and len(stored) == 32

    rotated = cli_json(data_dir, "oauth-clients", "rotate-secret", created["client_id"])
    assert rotated["client_id"] == created["client_id"]
    assert rotated["client_secret"] != created["client_secret"]
    out = cli(data_dir, "oauth-clients", "rotate-secret", public["client_id"], check=False)
    assert out.returncode == 1 and "public" in out.stderr

    out = cli(data_dir, "oauth-clients", "delete", created["client_id"])
    assert "deleted" in out.stdout
    assert created["client_id"] not in {c["client_id"] for c in cli_json(data_dir, "oauth-clients", "list")}
    out = cli(data_dir, "oauth-clients", "delete", created["client_id"], check=False)
    assert out.returncode == 1 and "no OAuth client" in out.stderr


def test_text_output_shows_the_secret_once(data_dir):
    out = cli(
        data_dir, "oauth-clients", "create", "--org", "Acme", "--name", "Text",
        "--redirect-uri", "https://t.example/cb", "--type", "confidential",
    ).stdout
    assert "client_id:" in out and "42min_cs_" in out and "shown only once" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--redirect-uri", "http://app.example/cb"], "https"),
        (["--redirect-uri", "https://app.example/cb#x"], "fragment"),
        (["--redirect-uri", "javascript:alert(1)"], "javascript"),
        (["--redirect-uri", "myapp:/cb"], "reverse domain"),
        (["--redirect-uri", "https://app.example/cb", "--scopes", "user:read,root"], "unknown scope"),
        (["--redirect-uri", "https://app.example/cb", "--org", "Nope"], "no organization"),
    ],
)
def test_create_errors_are_one_line(data_dir, args, message):
    base = ["oauth-clients", "create", "--org", "Acme", "--name", "X", "--type", "public"]
    out = cli(data_dir, *base, *args, check=False)
    assert out.returncode == 1, out.stdout
    assert message in out.stderr and out.stderr.count("\n") == 1


def test_type_is_required_and_checked(data_dir):
    out = cli(data_dir, "oauth-clients", "create", "--org", "Acme", "--name", "X",
              "--redirect-uri", "https://a.example/cb", "--type", "secret", check=False)
    assert out.returncode == 2


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://app.example/cb", True),
        ("https://app.example:8443/cb?x=1", True),
        ("http://127.0.0.1/cb", True),
        ("http://[::1]:8080/cb", True),
        ("http://localhost/cb", True),
        ("com.example.app:/oauth", True),
        ("http://app.example/cb", False),
        ("https://user:pw@app.example/cb", False),
        ("https:///cb", False),
        ("/relative/cb", False),
        ("HTTPS://app.example/cb", False),
        ("data:text/html,hi", False),
        ("https://app.example/c b", False),
        ("https://app.example:99999/cb", False),
    ],
)
def test_redirect_uri_registration_rules(uri, ok):
    assert (redirects.registration_problem(uri) is None) is ok


def test_redirect_uri_matching():
    registered = ("https://app.example/cb", "http://127.0.0.1/cb", "http://[::1]/cb?x=1")
    assert redirects.matches("https://app.example/cb", registered)
    assert redirects.matches("http://127.0.0.1:61000/cb", registered)
    assert redirects.matches("http://[::1]:5/cb?x=1", registered)
    for other in ("https://app.example:443/cb", "http://127.0.0.1:61000/cb?y", "http://[::1]:5/cb",
                  "http://127.0.0.1:61000/cb#f", "http://localhost:61000/cb", "https://127.0.0.1/cb"):
        assert not redirects.matches(other, registered), other
