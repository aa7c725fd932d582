"""Secrets never reach the logs: one full run of a real ``fortytwo serve`` and the command line.

The server runs at ``server.log_level = "debug"`` (everything ``info`` logs and more) with the
access log on. The run mints and uses every kind of secret: personal access tokens (created,
rotated, revoked, presented wrongly, sent in a query string, a cookie and a Basic header),
webhook signing secrets (API, rotation, command line) with deliveries to a local receiver
(one failing, so retries are logged), OAuth client secrets (command line, rotation, dynamic
registration), a whole authorization code flow over plain HTTP (sign-in cookie, CSRF tokens,
a wrong and a right password, PKCE verifier, code, access and refresh tokens, refresh,
introspection, revocation), passwords given to the command line, and an online backup.

Then every secret seen during the run — whole and its secret part — is looked for in the
server's complete stdout and stderr and in the output of every command, except the one
command output that shows that very secret once on purpose (create / rotate). None may
appear. The access log names paths without their query strings.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.cli_helpers import COMMAND
from tests.loop_thread import LoopThread
from tests.oauth_support import form_named, pkce_pair
from tests.plans import always_open_plan
from tests.webhook_receiver import Receiver

PASSWORD = "Tr0ub4dor-and-a-long-PASSPHRASE-9"
CY_PASSWORD = "another-Secret-passphrase-for-cy"
WRONG_PASSWORD = "wrong-guess-PASSPHRASE-do-not-log"
ALL_SCOPES = ("user:read,event_types:read,slots:read,bookings:read,bookings:write,"
              "webhooks:read,webhooks:write")
PLAN = always_open_plan('slug = "intro"\ntitle = "Intro"\nduration_minutes = 15', extra_user_lines='first_name = "Ada"\n')
CONFIG = """
data_dir = "."

[server]
host = "127.0.0.1"
port = 0
access_log = true
log_level = "debug"

[webhooks]
allow_private_targets = true
retry_delays_seconds = [1, 1]

[oauth]
dcr_enabled = true
"""
ACCESS_LINE = re.compile(r'access \S+ "(?P<method>[A-Z]+) (?P<path>[^"]*)" (?P<status>\d{3}) ')


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith("FORTYTWO_") or k == "FORTYTWO_BINARY"}


@dataclass
class Output:
    what: str
    text: str
    shows: set[str] = field(default_factory=set)  # secrets this output shows on purpose


@dataclass
class Run:
    data_dir: Path
    secrets: set[str] = field(default_factory=set)
    outputs: list[Output] = field(default_factory=list)

    def secret(self, value: str | None) -> str:
        """Remember a secret and its secret part (what follows the last ``_`` of a token)."""
        assert value, "an expected secret is missing"
        self.secrets.add(value)
        for prefix in ("_pat_", "_at_", "_rt_", "_cs_"):
            if prefix in value:
                self.secrets.add(value.rsplit("_", 1)[-1])
        if value.startswith("whsec_"):
            self.secrets.add(value.removeprefix("whsec_"))
        return value

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([*COMMAND, "--data-dir", str(self.data_dir), *args],
                              capture_output=True, text=True, input=input, env=_env(),
                              timeout=60)
        assert proc.returncode == 0, (args, proc.stderr)
        self.outputs.append(Output(f"fortytwo {' '.join(args)}", proc.stdout + proc.stderr))
        return proc

    def cli_json(self, *args: str, shows: tuple[str, ...] = ()) -> dict:
        """A command whose JSON answer shows the secrets named by ``shows`` once."""
        data = json.loads(self.cli(*args, "--json").stdout)
        for key in shows:
            self.outputs[-1].shows.add(self.secret(data[key]))
        return data


class Serving:
    """``fortytwo serve`` with both of its streams kept in full."""

    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen([*COMMAND, "--data-dir", str(data_dir), "serve"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=_env())
        self.out: list[str] = []
        self.err: list[str] = []
        line = self.proc.stdout.readline()
        self.out.append(line)
        match = re.search(r"listening on (\S+)", line)
        if not match:
            self.proc.kill()
            raise AssertionError(f"server did not start: {line} {self.proc.stderr.read()}")
        self.url = match.group(1)
        self.threads = [threading.Thread(target=self._drain, args=(s, sink), daemon=True)
                        for s, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _drain(stream, sink: list[str]) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            sink.append(line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            for thread in self.threads:
                thread.join(5)


def _raw_request(base: str, text: str) -> str:
    host, port = urlsplit(base).hostname, urlsplit(base).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(text.encode())
        return sock.recv(65536).decode(errors="replace")


def _wait_for(predicate, within: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _oauth_flow(run: Run, base: str, client_id: str, client_secret: str, redirect: str) -> dict:
    """Sign in (a wrong password first), approve, exchange the code; the person's browser is a
    cookie-keeping requests session."""
    browser = requests.Session()
    verifier, challenge = pkce_pair()
    run.secret(verifier)
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
             "scope": "user:read bookings:read offline_access", "state": "s1",
             "code_challenge": challenge, "code_challenge_method": "S256"}
    page = browser.get(f"{base}/v1/oauth/authorize?{urlencode(query)}", allow_redirects=False)
    assert page.status_code == 200, page.text
    run.secret(browser.cookies["fortytwo_oauth"])
    sign_in = form_named(page.text, "sign_in")
    run.secret(sign_in.value("csrf_token"))
    action = f"{base}/v1/oauth/authorize"
    wrong = browser.post(action, data=sign_in.data(username="ada", password=WRONG_PASSWORD),
                         allow_redirects=False)
    assert wrong.status_code == 400
    consent = browser.post(action, data=sign_in.data(username="ada", password=PASSWORD),
                           allow_redirects=False)
    assert consent.status_code == 200, consent.text
    run.secret(browser.cookies["fortytwo_oauth"])  # the signed-in session
    form = form_named(consent.text, "consent")
    run.secret(form.value("csrf_token"))
    done = browser.post(action, data=form.data(decision="approve"), allow_redirects=False)
    assert done.status_code == 303, done.text
    code = parse_qs(urlsplit(done.headers["Location"]).query)["code"][0]
    run.secret(code)
    tokens = requests.post(f"{base}/v1/oauth/token", auth=(client_id, client_secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "code_verifier": verifier}).json()
    run.secret(tokens["access_token"])
    run.secret(tokens["refresh_token"])
    # the code again: a replay (revokes what it issued; must not log the code)
    replay = requests.post(f"{base}/v1/oauth/token", auth=(client_id, client_secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "code_verifier": verifier})
    assert replay.status_code == 400
    return {"browser": browser, "verifier": verifier, "query": query}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> tuple[Run, Serving]:
    data = tmp_path_factory.mktemp("logs") / "data"
    run = Run(data)
    run.cli("init")
    (data / "config.toml").write_text(CONFIG)
    plan = data.parent / "plan.toml"
    plan.write_text(PLAN)
    run.cli("apply", str(plan))
    run.secret(PASSWORD)
    run.secret(CY_PASSWORD)
    run.secret(WRONG_PASSWORD)
    run.cli("users", "set-password", "ada", input=PASSWORD + "\n")
    run.cli("users", "add", "--org", "Acme", "--username", "cy", "--email", "cy@example.com",
            "--password-stdin", input=CY_PASSWORD + "\n")
    # the server's own secrets, in every form they could be printed in
    for name in ("pepper", "secret.key"):
        text = (data / name).read_text().strip()
        raw = bytes.fromhex(text)
        for form in (text, text.upper(), base64.b64encode(raw).decode(),
                     base64.urlsafe_b64encode(raw).decode().rstrip("=")):
            run.secret(form)

    full = run.cli_json("tokens", "create", "--user", "ada", "--name", "full", "--scopes",
                        ALL_SCOPES, shows=("token",))
    spare = run.cli_json("tokens", "create", "--user", "ada", "--name", "spare", "--scopes",
                         "user:read", shows=("token",))
    rotated = run.cli_json("tokens", "rotate", spare["id"], shows=("token",))
    doomed = run.cli_json("tokens", "create", "--user", "cy", "--name", "doomed", "--scopes",
                          "user:read", "--expires-in", "30d", shows=("token",))
    run.cli("tokens", "set-scopes", rotated["id"], "user:read,bookings:read")
    run.cli("tokens", "revoke", doomed["id"])
    run.cli("tokens", "list")
    cli_client = run.cli_json("oauth-clients", "create", "--org", "Acme", "--name", "Cli App",
                              "--redirect-uri", "http://127.0.0.1/cb", "--type", "confidential",
                              shows=("client_secret",))
    new_secret = run.cli_json("oauth-clients", "rotate-secret", cli_client["client_id"],
                              shows=("client_secret",))
    run.cli("oauth-clients", "list")

    loop = LoopThread()
    receiver = loop.run(Receiver().start())
    server = Serving(data)
    base = server.url
    token = full["token"]
    auth = {"Authorization": f"Bearer {token}"}
    try:
        # tokens where they belong, and where they do not
        assert requests.get(f"{base}/v1/_ping", headers=auth).status_code == 200
        assert requests.get(f"{base}/v1/me?token={token}&access_token={token}",
                            headers=auth).status_code == 200
        assert requests.get(f"{base}/v1/_ping?access_token={token}").status_code == 401
        assert requests.get(f"{base}/v1/_ping", cookies={"token": token}).status_code == 401
        assert requests.get(f"{base}/v1/_ping", auth=("ada", PASSWORD)).status_code == 401
        assert requests.get(f"{base}/v1/_ping", headers={
            "Authorization": f"Bearer {spare['token']}"}).status_code == 401  # rotated away
        assert requests.get(f"{base}/v1/_ping", headers={
            "Authorization": f"Bearer {doomed['token']}"}).status_code == 401  # revoked
        wrong = "42min_pat_" + "A" * 12 + "_" + secrets.token_hex(16).upper()[:32]
        run.secret(wrong)
        assert requests.get(f"{base}/v1/_ping", headers={
            "Authorization": f"Bearer {wrong}"}).status_code == 401
        assert requests.get(f"{base}/v1/_ping", headers={
            "Authorization": f"Bearer {token[:-1]}X"}).status_code == 401
        assert requests.get(f"{base}/v1/me", headers={
            "Authorization": f"Bearer {rotated['token']}"}).status_code == 200
        # malformed requests that carry the token (logged at debug by type only)
        for raw in (f"GET /v1/_ping?token={token} HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: Bearer {token}\r\nno colon here {token}\r\n\r\n",
                    f"GET /v1/_ping?token={token}&pad={'A' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n"):
            assert _raw_request(base, raw).split(" ", 2)[1] == "400"

        # webhooks: API create, rotate, test send, real deliveries (one failing, retried)
        hook = requests.post(f"{base}/v1/webhooks", headers=auth, json={
            "url": f"{receiver.url}/api", "events": ["booking_created"]}).json()["data"]
        run.secret(hook["signing_secret"])
        rotated_hook = requests.post(f"{base}/v1/webhooks/{hook['id']}/rotate-secret",
                                     headers=auth).json()["data"]
        run.secret(rotated_hook["signing_secret"])
        assert requests.post(f"{base}/v1/webhooks/{hook['id']}/test",
                             headers=auth).status_code == 200
        run.cli_json("webhooks", "create", "--org", "Acme", "--url",
                     f"{receiver.url}/cli", "--events", "booking_created",
                     shows=("signing_secret",))
        run.cli("webhooks", "create", "--org", "Acme", "--url", f"{receiver.url}/cli-text",
                "--events", "booking_created")
        text_secret = re.search(r"whsec_\S+", run.outputs[-1].text).group(0)
        run.outputs[-1].shows.add(run.secret(text_secret))
        now = time.time()
        window = {"username": "ada", "event_slug": "intro",
                  "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
                  "end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 2 * 86400))}
        slots = requests.get(f"{base}/v1/slots", headers=auth, params=window).json()["data"]
        before = len(receiver.requests)
        receiver.script = [500]  # the first delivery fails and is retried a second later
        booked = requests.post(f"{base}/v1/bookings", headers={**auth, "Idempotency-Key": "k1"},
                               json={"username": "ada", "event_slug": "intro",
                                     "start": slots["slots"][0]["start"],
                                     "attendee": {"email": "sam@example.com", "name": "Sam"}})
        assert booked.status_code == 201, booked.text
        # /api and /cli and /cli-text each get the event; one of them twice (500, then retry)
        _wait_for(lambda: len(receiver.requests) >= before + 4)
        run.cli("webhooks", "list")
        run.cli("webhooks", "deliveries", hook["id"])

        # OAuth: a dynamically registered client through the whole flow, then refresh,
        # introspection and revocation; the command-line client with its old and new secret
        redirect = "http://127.0.0.1:9/cb"
        registered = requests.post(f"{base}/v1/oauth/register", json={
            "redirect_uris": [redirect], "client_name": "Dyn",
            "grant_types": ["authorization_code", "refresh_token"]}).json()
        client_id, client_secret = registered["client_id"], run.secret(registered["client_secret"])
        flow = _oauth_flow(run, base, client_id, client_secret, redirect)
        # the replayed code revoked the first grant: a second flow (consent remembered)
        again = flow["browser"].get(f"{base}/v1/oauth/authorize?{urlencode(flow['query'])}",
                                    allow_redirects=False)
        assert again.status_code == 302
        code = run.secret(parse_qs(urlsplit(again.headers["Location"]).query)["code"][0])
        grant = requests.post(f"{base}/v1/oauth/token", auth=(client_id, client_secret), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
            "code_verifier": flow["verifier"]}).json()
        access, refresh = run.secret(grant["access_token"]), run.secret(grant["refresh_token"])
        assert requests.get(f"{base}/v1/me", headers={
            "Authorization": f"Bearer {access}"}).status_code == 200
        fresh = requests.post(f"{base}/v1/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id,
            "client_secret": client_secret}).json()
        run.secret(fresh["access_token"])
        run.secret(fresh["refresh_token"])
        introspected = requests.post(f"{base}/v1/oauth/introspect", auth=(client_id, client_secret),
                                     data={"token": fresh["access_token"]}).json()
        assert introspected["active"] is True
        assert requests.post(f"{base}/v1/oauth/revoke", auth=(client_id, client_secret),
                             data={"token": fresh["refresh_token"]}).status_code == 200
        reuse = requests.post(f"{base}/v1/oauth/token", auth=(client_id, client_secret), data={
            "grant_type": "refresh_token", "refresh_token": refresh})
        assert reuse.status_code == 400
        assert requests.get(f"{base}/v1/me", headers={
            "Authorization": f"Bearer {fresh['access_token']}"}).status_code == 401
        for secret in (cli_client["client_secret"], new_secret["client_secret"]):
            answer = requests.post(f"{base}/v1/oauth/token", data={
                "grant_type": "authorization_code", "code": "X" * 44, "redirect_uri":
                "http://127.0.0.1/cb", "code_verifier": "v" * 43,
                "client_id": cli_client["client_id"], "client_secret": secret})
            assert answer.status_code in (400, 401)

        # an online backup while the server runs
        run.cli("backup", str(data.parent / "backup.db"))
    finally:
        code = server.stop()
        loop.run(receiver.stop())
        loop.close()
    assert code == 0, "".join(server.err)[-2000:]
    run.outputs.append(Output("fortytwo serve (stdout)", "".join(server.out)))
    run.outputs.append(Output("fortytwo serve (stderr)", "".join(server.err)))
    return run, server


def test_no_secret_in_any_output(full_run):
    run, _ = full_run
    assert len(run.secrets) >= 40, len(run.secrets)
    leaks = []
    for output in run.outputs:
        for secret in run.secrets:
            if secret in output.shows or any(secret in shown for shown in output.shows):
                continue
            if secret in output.text:
                leaks.append(f"{output.what}: {secret[:12]}…")
    assert not leaks, "secrets in the output:\n" + "\n".join(leaks)


def test_the_run_logged_at_debug_with_the_access_log(full_run):
    _, server = full_run
    err = "".join(server.err)
    assert " DEBUG fortytwo.http.connections: refused a malformed request" in err
    assert " DEBUG aiosqlite" not in err  # libraries stay at info: it would print parameters
    lines = [m for m in map(ACCESS_LINE.search, err.splitlines()) if m]
    assert len(lines) >= 25, len(lines)
    paths = {(m["method"], m["path"]) for m in lines}
    assert ("GET", "/v1/me") in paths and ("POST", "/v1/oauth/token") in paths
    assert ("GET", "/v1/oauth/authorize") in paths


def test_access_log_has_paths_without_query_strings(full_run):
    _, server = full_run
    err = "".join(server.err)
    for line in err.splitlines():
        match = ACCESS_LINE.search(line)
        if match:
            assert "?" not in match["path"], line
    for fragment in ("?token=", "&access_token=", "?access_token=", "code_challenge=", "state=s1"):
        assert fragment not in err, fragment
