"""Property-based testing of a live server with schemathesis, driven by our own document.

A real ``fortytwo serve`` runs in a subprocess on a fresh data directory seeded with
``tests/data/demo.toml`` and a full-scope token. schemathesis reads the document from the
server's own ``/openapi.json`` and runs every operation through its phases (examples,
coverage, fuzzing, stateful sequences along the document's links) with these checks:

- no 5xx, responses that match their schema, status codes and content types the document
  lists, the response headers it marks as required;
- schema-invalid input refused with a 4xx, a missing required header refused,
  requests without a token refused, undocumented methods answered with 405 + ``Allow``,
  deleted webhooks gone for good.

``positive_data_acceptance`` is off: schema-valid requests are legitimately refused by
business rules the schema cannot express (a busy slot, a question the event type does not
have, an unresolvable webhook host). ``object_level_authorization`` needs a second tenant.

Bounded and reproducible: ``FORTYTWO_SCHEMATHESIS_EXAMPLES`` (default 100 per operation) and
``FORTYTWO_SCHEMATHESIS_SEED`` (default fixed) tune it. The test prints the number of
generated cases and the duration.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli_helpers import Server, cli, cli_json

EXAMPLES = int(os.environ.get("FORTYTWO_SCHEMATHESIS_EXAMPLES", "100"))
SEED = int(os.environ.get("FORTYTWO_SCHEMATHESIS_SEED", "20260520"))
STATEFUL_SCENARIOS = int(os.environ.get("FORTYTWO_SCHEMATHESIS_SCENARIOS", "150"))
TIMEOUT = 240
DEMO = Path(__file__).parent / "data" / "demo.toml"
SCOPES = "user:read,event_types:read,slots:read,bookings:read,bookings:write,webhooks:read,webhooks:write"

SERVER_CONFIG = """
[rate_limits]
pat = 10000000
anonymous = 10000000
oauth_authorize = 10000000
oauth_token = 10000000
oauth_revoke = 10000000
oauth_introspect = 10000000
oauth_register = 10000000

[oauth]
dcr_enabled = true

[webhooks]
allow_private_targets = true
timeout_seconds = 2
"""

pytestmark = pytest.mark.no_response_validation  # schemathesis validates what it receives
pytest.importorskip("schemathesis", reason="schemathesis is in the `test` extra: pip install -e '.[test]'")


def _get(base: str, path: str, token: str) -> dict:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def schemathesis_config(base: str, token: str) -> str:
    """Checks, and realistic values so generated requests also reach existing data."""
    event_types = _get(base, "/v1/event-types?limit=100", token)["data"]
    ids = [et["id"] for et in event_types]
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    window_start = now + timedelta(days=1)
    starts: list[str] = []
    for et in event_types:
        query = (
            f"/v1/slots?event_type_id={et['id']}&start={window_start:%Y-%m-%dT%H:%M:%SZ}"
            f"&end={window_start + timedelta(days=14):%Y-%m-%dT%H:%M:%SZ}"
        )
        starts += [slot["start"] for slot in _get(base, query, token)["data"]["slots"][:15]]
    windows = [(window_start + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ") for d in range(3)]
    window_ends = [(window_start + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ") for d in (5, 9, 14)]
    # username/slug (team event types: team-slug/slug), read off the booking page URL
    refs = ids + ["/".join(et["url"].rsplit("/", 2)[-2:]) for et in event_types if et["url"]]
    starts = list(dict.fromkeys(starts))
    return f"""
[checks.positive_data_acceptance]
enabled = false

[checks.object_level_authorization]
enabled = false

[phases.stateful]
max-steps = 12

[phases.stateful.generation]
max-examples = {STATEFUL_SCENARIOS}

[checks.missing_required_header]
expected-statuses = ["400", "401", "403", "406", "415", "422", "428"]

[dictionaries.event_type_ids]
values = {_toml_list(ids)}

[dictionaries.event_type_refs]
values = {_toml_list(refs)}

[dictionaries.slot_starts]
values = {_toml_list(starts or windows)}

[dictionaries.window_starts]
values = {_toml_list(windows)}

[dictionaries.window_ends]
values = {_toml_list(window_ends)}

[dictionaries.webhook_urls]
values = {_toml_list([f"{base}/hooks/{i}" for i in range(20)])}

[dictionaries.usernames]
values = ["ada", "sales"]

[dictionaries.slugs]
values = ["intro-call", "workshop", "demo"]

[parameters]
"query.event_type_id" = {{ dictionary = "event_type_ids", probability = 0.7 }}
"body.event_type_id" = {{ dictionary = "event_type_ids", probability = 0.7 }}
"body.start" = {{ dictionary = "slot_starts", probability = 0.6 }}
"body.url" = {{ dictionary = "webhook_urls", probability = 0.7 }}
"idOrSlug" = {{ dictionary = "event_type_refs", probability = 0.6 }}
"username" = {{ dictionary = "usernames", probability = 0.6 }}
"slug" = {{ dictionary = "slugs", probability = 0.6 }}
"event_slug" = {{ dictionary = "slugs", probability = 0.6 }}

[[operations]]
include-operation-id = "listSlots"
parameters = {{ "query.start" = {{ dictionary = "window_starts", probability = 0.7 }}, "query.end" = {{ dictionary = "window_ends", probability = 0.7 }} }}

[[operations]]
include-operation-id = "checkSlot"
parameters = {{ "query.start" = {{ dictionary = "slot_starts", probability = 0.7 }} }}
"""


class _Drain(threading.Thread):
    """Keeps reading a pipe so the server never blocks on a full one; remembers the tail."""

    def __init__(self, pipe) -> None:
        super().__init__(daemon=True)
        self.pipe = pipe
        self.tail: collections.deque[str] = collections.deque(maxlen=400)

    def run(self) -> None:
        for line in self.pipe:
            self.tail.append(line)

    def text(self) -> str:
        return "".join(self.tail)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("schemathesis") / "data"
    cli(data, "init")
    config = data / "config.toml"
    text = config.read_text()
    # no access log: tens of thousands of lines would only fill the pipe
    text = text.replace("[server]\n", "[server]\naccess_log = false\n", 1)
    config.write_text(text + SERVER_CONFIG)
    cli(data, "apply", str(DEMO))
    token = cli_json(data, "tokens", "create", "--user", "ada", "--name", "schemathesis", "--scopes", SCOPES)["token"]
    server = Server(data)
    drains = [_Drain(server.proc.stdout), _Drain(server.proc.stderr)]
    for drain in drains:
        drain.start()
    try:
        yield server.url, token, data.parent, drains[1]
    finally:
        server.stop()


def test_schemathesis_finds_nothing(live_server, capsys):
    base, token, workdir, server_log = live_server
    config = workdir / "schemathesis.toml"
    config.write_text(schemathesis_config(base, token))
    reports = workdir / "reports"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", f"{base}/openapi.json", "--url", base,
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", str(EXAMPLES), "--seed", str(SEED),
        "--phases", "examples,coverage,fuzzing,stateful",
        # one worker: hypothesis' lambda-source cache is not thread-safe, and a single worker
        # keeps the run reproducible for a given seed
        "--workers", "1", "--request-timeout", "15",
        "--generation-database", "none",
        "--report", "junit", "--report-dir", str(reports),
    ]
    started = time.monotonic()
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    elapsed = time.monotonic() - started
    out = proc.stdout + proc.stderr
    generated = re.search(r"(\d+) generated", out)
    tested = re.search(r"Tested: (\d+)", out)
    summary = (
        f"schemathesis: {generated.group(1) if generated else '?'} test cases on "
        f"{tested.group(1) if tested else '?'} operations in {elapsed:.1f}s "
        f"(at most {EXAMPLES} examples per operation and phase, seed {SEED})"
    )
    with capsys.disabled():
        print(f"\n{summary}")
    assert proc.returncode == 0, (
        f"{summary}\n{out[-20000:]}\n--- server log (tail) ---\n{server_log.text()[-10000:]}"
    )
    assert generated and int(generated.group(1)) > 0, out[-5000:]
