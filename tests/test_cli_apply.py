"""`fortytwo apply` and `fortytwo event-types`, run for real."""

from __future__ import annotations

import sqlite3

import pytest

from tests.cli_helpers import cli, cli_json
from tests.scenario import DEMO


def dump(data_dir) -> list:
    """Every row of the tables apply manages, to prove that nothing moved."""
    with sqlite3.connect(data_dir / "fortytwo.db") as conn:
        out = []
        for table in ("organizations", "users", "teams", "team_members", "schedules",
                      "out_of_office", "user_limits", "event_types", "event_type_hosts", "events"):
            out.append((table, sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)))
        return out


def events(data_dir) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "fortytwo.db") as conn:
        return conn.execute("SELECT event, payload FROM events ORDER BY seq").fetchall()


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    cli(data, "init")
    return data


def test_apply_is_idempotent_and_reports(data_dir, tmp_path):
    report = cli_json(data_dir, "apply", str(DEMO))
    assert "organization Acme" in report["created"] and "user ada" in report["created"]
    assert any(item.endswith("/intro-call") for item in report["created"])
    before = dump(data_dir)
    assert cli_json(data_dir, "apply", str(DEMO)) == {"created": [], "updated": []}
    assert cli(data_dir, "apply", str(DEMO)).stdout.strip().endswith("nothing to change")
    assert dump(data_dir) == before
    listed = cli_json(data_dir, "event-types", "list")
    assert {e["path"] for e in listed} == {"ada/intro-call", "team/sales/demo", "ada/workshop"}


def test_changed_event_type_emits_one_update(data_dir, tmp_path):
    cli(data_dir, "apply", str(DEMO))
    changed = tmp_path / "changed.toml"
    changed.write_text(DEMO.read_text().replace('title = "Intro call"', 'title = "First call"'))
    report = cli_json(data_dir, "apply", str(changed))
    assert report == {"created": [], "updated": ["event type ada/intro-call"]}
    found = events(data_dir)
    assert [name for name, _ in found] == ["event_type.updated"]
    assert '"title":"First call"' in found[0][1]
    assert cli_json(data_dir, "apply", str(changed)) == {"created": [], "updated": []}
    assert len(events(data_dir)) == 1


def test_file_with_an_error_changes_nothing_and_names_the_line(data_dir, tmp_path):
    cli(data_dir, "apply", str(DEMO))
    before = dump(data_dir)
    text = DEMO.read_text().replace('title = "Intro call"', 'title = "Renamed"').replace(
        "duration_minutes = 60\n\n[[event_types]]", "duration_minutes = 0\n\n[[event_types]]"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    proc = cli(data_dir, "apply", str(bad), check=False)
    assert proc.returncode == 1
    line = text[: text.index("duration_minutes = 0")].count("\n") + 1
    assert f"bad.toml:line {line}: event_types[1].duration_minutes" in proc.stderr
    assert dump(data_dir) == before


def test_conflict_with_the_database_rolls_back(data_dir, tmp_path):
    cli(data_dir, "orgs", "create", "Elsewhere")
    cli(data_dir, "users", "add", "--org", "Elsewhere", "--username", "bob", "--email", "bob@elsewhere.example")
    before = dump(data_dir)
    proc = cli(data_dir, "apply", str(DEMO), check=False)
    assert proc.returncode == 1
    assert "users[1].username" in proc.stderr and "another organization" in proc.stderr
    assert dump(data_dir) == before


def test_enable_and_disable(data_dir):
    cli(data_dir, "apply", str(DEMO))
    out = cli(data_dir, "event-types", "disable", "ada/intro-call").stdout
    assert "disabled ada/intro-call" in out
    listed = {e["path"]: e for e in cli_json(data_dir, "event-types", "list")}
    assert listed["ada/intro-call"]["active"] is False
    assert [name for name, _ in events(data_dir)] == ["event_type.updated"]
    cli(data_dir, "event-types", "enable", listed["ada/intro-call"]["id"])
    assert {e["path"]: e for e in cli_json(data_dir, "event-types", "list")}["ada/intro-call"]["active"] is True
    missing = cli(data_dir, "event-types", "enable", "nobody/nothing", check=False)
    assert missing.returncode == 1 and "no event type" in missing.stderr


def test_missing_file(data_dir, tmp_path):
    proc = cli(data_dir, "apply", str(tmp_path / "nope.toml"), check=False)
    assert proc.returncode == 1 and "cannot read" in proc.stderr
