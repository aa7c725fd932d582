"""Abuse resistance: slow and oversized requests, connection caps, bounded query strings and
bodies, rate limits under a flood from many addresses, and token guessing that costs the same
for any wrong token.

Connection-level behaviour runs against a real ``fortytwo serve`` with raw sockets; the rest
in-process on the real app.
"""

from __future__ import annotations

import json
import select
import socket
import time
import tracemalloc
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.http.connections import ConnectionLimits, GuardedServer, client_key
from fortytwo.http.ratelimit import RateLimiter
from fortytwo.security import tokens as token_security
from fortytwo.security.tokens import random_code
from fortytwo.services import authn, pats
from fortytwo.store import oauth as oauth_store
from fortytwo.store import tokens as token_store
from tests.cli_helpers import Server, cli
from tests.conftest import FakeClock, make_account, make_settings

HEADER_TIMEOUT = 1.0
PER_IP = 8

# -- a served instance and raw HTTP ------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("abuse")
    cli(data, "init")
    config = data / "config.toml"
    config.write_text(
        config.read_text()
        + f"header_timeout = {HEADER_TIMEOUT}\nmax_connections_per_ip = {PER_IP}\n"
        "max_line_size = 8192\nmax_field_size = 8192\nmax_headers = 100\naccess_log = false\n"
    )
    server = Server(data)
    yield server
    server.stop()


def _address(server: Server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(_address(server), timeout=10)
    sock.settimeout(10)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response (status, lowercased headers, body) read by its Content-Length."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {raw!r}")
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed(sock: socket.socket) -> bool:
    """True when the server has closed the connection (EOF or reset), after any response."""
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    return True


def _get(server: Server, path: str = "/healthz") -> int:
    with urllib.request.urlopen(server.url + path, timeout=5) as resp:
        return resp.status


def _raw_request(server: Server, request: bytes) -> tuple[int, dict[str, str], dict]:
    with _connect(server) as sock:
        sock.sendall(request)
        status, headers, body = _read_response(sock)
        assert _closed(sock)
    return status, headers, json.loads(body)


# -- slow clients --------------------------------------------------------------------------------


def test_slowloris_is_cut_off_while_other_clients_are_served(served):
    slow = [_connect(served) for _ in range(3)]
    for sock in slow:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    answers: dict[socket.socket, bytes] = {}
    deadline = time.monotonic() + 10 * HEADER_TIMEOUT
    while len(answers) < len(slow) and time.monotonic() < deadline:
        assert _get(served) == 200  # a normal client is served all along
        waiting = [sock for sock in slow if sock not in answers]
        readable, _, _ = select.select(waiting, [], [], 0.25)
        for sock in readable:
            try:
                answers[sock] = sock.recv(65536)
            except ConnectionResetError:
                answers[sock] = b""
        for sock in waiting:
            if sock not in answers:
                try:
                    sock.sendall(b"X")  # one more byte of a header name, slowly
                except (BrokenPipeError, ConnectionResetError):
                    answers[sock] = b""
    assert len(answers) == len(slow), "a slow client was never cut off"
    for data in answers.values():
        assert data == b"" or data.startswith(b"HTTP/1.1 408 ")
    timed_out = [data for data in answers.values() if data.startswith(b"HTTP/1.1 408 ")]
    assert timed_out, "no slow client got its 408"
    assert json.loads(timed_out[0].partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"
    for sock in slow:
        assert _closed(sock)
        sock.close()
    assert _get(served) == 200


def test_a_connection_that_sends_nothing_is_closed(served):
    with _connect(served) as sock:
        assert sock.recv(65536) == b""  # closed by the server after the header timeout


def test_an_idle_kept_alive_connection_is_not_cut_by_the_header_timeout(served):
    with _connect(served) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock)[0] == 200
        time.sleep(HEADER_TIMEOUT * 1.5)  # idle between requests: keepalive_timeout applies
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _read_response(sock)[0] == 200


# -- connection caps ---------------------------------------------------------------------------


def _admitted(server: Server) -> socket.socket:
    """A kept-alive connection the server has admitted and served once (retrying while
    connections from earlier tests are still being released)."""
    deadline = time.monotonic() + 10
    while True:
        sock = _connect(server)
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status = _read_response(sock)[0]
        except (ConnectionError, OSError):
            status = 0
        if status == 200:
            return sock
        sock.close()
        assert time.monotonic() < deadline, "no connection was admitted"
        time.sleep(0.1)


def test_connections_beyond_the_per_address_cap_are_refused(served):
    # all PER_IP places are free again, so the connections the tests above had cut off or
    # closed were released
    held = [_admitted(served) for _ in range(PER_IP)]
    try:
        extra = _connect(served)
        try:
            status, headers, body = _read_response(extra)
            assert status == 503 and headers["connection"] == "close"
            assert json.loads(body)["error"]["code"] == "service_unavailable"
        except (ConnectionError, OSError):
            pass  # the answer may be lost to the reset; the connection is closed either way
        assert _closed(extra)
        extra.close()
        for sock in held[:2]:
            sock.close()
        held = held[2:]
        held.append(_admitted(served))  # room again once some are closed
    finally:
        for sock in held:
            sock.close()


async def test_caps_count_per_address_and_in_all():
    class Transport:
        def __init__(self, host: str) -> None:
            self.host = host

        def get_extra_info(self, name: str):
            return (self.host, 5555) if name == "peername" else None

    server = GuardedServer(
        lambda request: None,
        limits=ConnectionLimits(60, max_connections=5, max_per_ip=2,
                                exempt=lambda host: host == "10.0.0.1"),
    )
    admit = server.admit
    assert admit(Transport("192.0.2.1")) == (None, "192.0.2.1")
    assert admit(Transport("::ffff:192.0.2.1")) == (None, "192.0.2.1")
    refused, _ = admit(Transport("192.0.2.1"))
    assert refused is not None and refused.startswith(b"HTTP/1.1 503 ")
    # one IPv6 /64 is one client
    assert admit(Transport("2001:db8::1"))[0] is None
    assert admit(Transport("2001:db8::2"))[0] is None
    assert admit(Transport("2001:db8::3"))[0] is not None
    # a trusted proxy is not capped per address, only in all
    assert admit(Transport("10.0.0.1")) == (None, None)
    assert admit(Transport("10.0.0.1"))[0] is not None  # the total of 5 is reached
    server.release("192.0.2.1")
    assert admit(Transport("10.0.0.1")) == (None, None)
    assert server.refused == 3
    assert client_key("not a tuple") is None


# -- oversized requests ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /healthz?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", id="line"),
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
                     id="field"),
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                     + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n", id="count"),
        pytest.param(b"\x16\x03\x01garbage\r\n\r\n", id="garbage"),
    ],
)
def test_oversized_or_malformed_requests_get_an_enveloped_400(served, request_bytes):
    status, headers, body = _raw_request(served, request_bytes)  # and the server closes
    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert headers["x-request-id"] == body["error"]["request_id"]
    assert b"bbbb" not in json.dumps(body).encode()  # the request is never echoed
    assert _get(served) == 200


def test_server_log_has_no_tracebacks_for_bad_requests(served):
    _raw_request(served, b"GET /healthz HTTP/1.1\r\nX-Big: " + b"c" * 9000 + b"\r\n\r\n")
    assert "Traceback" not in served.log() and "ccccc" not in served.log()


# -- bounded query strings and bodies (in-process) ---------------------------------------------


@pytest.fixture
async def api(aiohttp_client, tmp_path):
    app = create_app(make_settings(tmp_path), clock=FakeClock())
    client = await aiohttp_client(app)
    return client, await make_account(app)


async def test_query_strings_are_bounded(api):
    client, account = api
    base = "/v1/bookings?limit=5&x="
    pad = 4096 - len("limit=5&x=")
    resp = await client.get(base + "a" * pad, headers=account.auth)
    assert resp.status == 200  # 4096 bytes: at the limit
    resp = await client.get(base + "a" * (pad + 1), headers=account.auth)
    body = await resp.json()
    assert resp.status == 400 and body["error"]["code"] == "invalid_request"
    assert body["error"]["details"] == {"max_query_length": 4096}
    assert (await client.get("/v1/bookings?" + "&".join(f"p{i}=1" for i in range(100)),
                             headers=account.auth)).status == 200
    many = "&".join(f"p{i}=1" for i in range(101))
    resp = await client.get("/v1/bookings?" + many, headers=account.auth)
    body = await resp.json()
    assert resp.status == 400 and body["error"]["details"] == {"max_query_params": 100}
    # counted only after authentication, as every query validation is
    resp = await client.get("/v1/bookings?" + many)
    assert resp.status == 401


async def test_bodies_over_one_mebibyte_are_refused(api):
    client, account = api
    resp = await client.post(
        "/v1/bookings", data=b"{" + b" " * (1024 * 1024) + b"}",
        headers={**account.auth, "Content-Type": "application/json", "Idempotency-Key": "k1"},
    )
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "payload_too_large"


# -- rate limits under a flood from many addresses ---------------------------------------------


def test_limiter_memory_stays_bounded_under_a_flood_of_addresses():
    limiter = RateLimiter(max_keys=10_000)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):
            limiter.hit("anonymous", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 30, 60.0)
        full = tracemalloc.get_traced_memory()[0] - base
        for _ in range(30):
            assert limiter.hit("anonymous", "203.0.113.66", 30, 60.0).allowed
        for i in range(20_000, 200_000):
            limiter.hit("anonymous", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 30, 60.0)
            if i % 1000 == 0:  # a steady flooder among them stays tracked, and refused
                assert not limiter.hit("anonymous", "203.0.113.66", 30, 60.0).allowed
        after = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert len(limiter) <= 10_000 and limiter.evicted >= 190_000 - 10_000
    assert full < 8_000_000 and after < full * 1.5  # no growth past the cap
    limiter.hit("anonymous", "x", 30, 121.0)  # a new window starts from nothing
    assert len(limiter) == 1


async def test_a_flooding_address_stays_limited_while_others_are_served(aiohttp_client, tmp_path):
    settings = make_settings(
        tmp_path, public_url="https://api.example.com", rate_limits={"anonymous": 5},
        server={"host": "127.0.0.1", "trusted_proxies": ["127.0.0.1/32"]},
    )
    clock = FakeClock()
    clock.now = clock.now.replace(second=1)
    app = create_app(settings, clock=clock)
    app[keys.RATE_LIMITER] = limiter = RateLimiter(max_keys=50)
    client = await aiohttp_client(app)

    async def ping(ip: str) -> int:
        resp = await client.get(
            "/v1/_ping", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": ip}
        )
        return resp.status

    flooder = [await ping("198.51.100.7") for _ in range(5)]
    assert flooder == [401] * 5
    for i in range(400):  # 400 other addresses, far more than the 50 tracked keys
        assert await ping(f"203.0.{i // 250}.{i % 250}") == 401
        if i % 10 == 0:
            assert await ping("198.51.100.7") == 429
    assert len(limiter) <= 50 and limiter.evicted > 300
    assert await ping("192.0.2.200") == 401  # a newcomer is still served


# -- token guessing ----------------------------------------------------------------------------


@pytest.fixture
async def guessing(aiohttp_client, tmp_path, monkeypatch):
    from tests.oauth_support import code_for, exchange, make_client, make_user

    clock = FakeClock()
    app = create_app(make_settings(tmp_path), clock=clock)
    client = await aiohttp_client(app)
    await make_user(app)
    registered = await make_client(app)
    code, verifier = await code_for(client, registered)
    access = (await (await exchange(client, registered, code, verifier)).json())["access_token"]
    account = await make_account(app, username="bob", token_name="bob")
    return SimpleNamespace(app=app, clock=clock, account=account, access=access,
                           auth=app[keys.AUTHENTICATOR], monkeypatch=monkeypatch)


def _wrong(token: str) -> str:
    """The same token with another secret part."""
    return f"{token.rpartition('_')[0]}_{random_code(32)}"


async def test_every_wrong_token_costs_one_hmac_and_one_comparison(guessing):
    g = guessing
    prefix = g.app[keys.TOKEN_PREFIX]
    counts: dict[str, list] = {}

    def spy(name, fn):
        def wrapper(*args, **kwargs):
            counts.setdefault(name, []).append(args)
            return fn(*args, **kwargs)
        return wrapper

    def aspy(name, fn):
        async def wrapper(*args, **kwargs):
            counts.setdefault(name, []).append(args)
            return await fn(*args, **kwargs)
        return wrapper

    import hmac

    mp = g.monkeypatch
    mp.setattr(authn, "hash_secret", spy("hmac", authn.hash_secret))
    counted_hmac = SimpleNamespace(compare_digest=spy("compare", hmac.compare_digest), new=hmac.new)
    mp.setattr(authn, "hmac", counted_hmac)  # the whole-token compare of the fast path
    mp.setattr(token_security, "hmac", counted_hmac)  # the digest compare
    for name in ("get_pat_by_lookup", "get_retired_hash"):
        mp.setattr(token_store, name, aspy(name, getattr(token_store, name)))
    mp.setattr(oauth_store, "get_token", aspy("get_token", oauth_store.get_token))

    db, now = g.app[keys.DATABASE], g.clock()
    pepper = g.app[keys.PEPPER]
    expiring = await pats.create(db, user=g.account.user_id, name="short", scopes="user:read",
                                 expires_in="1d", prefix=prefix, pepper=pepper, now=now)
    revoked = await pats.create(db, user=g.account.user_id, name="gone", scopes="user:read",
                                expires_in=None, prefix=prefix, pepper=pepper, now=now)
    await pats.revoke(db, revoked.id, now)
    rotated = await pats.create(db, user=g.account.user_id, name="old", scopes="user:read",
                                expires_in=None, prefix=prefix, pepper=pepper, now=now)
    await pats.rotate(db, rotated.id, prefix=prefix, pepper=pepper, now=now)

    def unknown(kind: str) -> str:
        return f"{prefix}_{kind}_{random_code(12)}_{random_code(32)}"

    pat = g.account.token
    cases = {
        "malformed": ("not-a-token", "invalid_token", []),
        "wrong prefix": (unknown("pat").replace(prefix, "zz", 1), "invalid_token", []),
        "refresh token": (unknown("rt"), "invalid_token", []),
        "unknown PAT lookup": (unknown("pat"), "invalid_token", ["get_pat_by_lookup", "get_retired_hash"]),
        "known PAT lookup, wrong secret": (_wrong(pat), "invalid_token", ["get_pat_by_lookup", "get_retired_hash"]),
        "hot PAT lookup, wrong secret": (_wrong(pat), "invalid_token", ["get_pat_by_lookup", "get_retired_hash"]),
        "rotated-away lookup, wrong secret": (_wrong(rotated.token), "invalid_token", ["get_pat_by_lookup", "get_retired_hash"]),
        "revoked PAT": (revoked.token, "token_revoked", ["get_pat_by_lookup", "get_retired_hash"]),
        "unknown access token": (unknown("at"), "invalid_token", ["get_token"]),
        "known access token, wrong secret": (_wrong(g.access), "invalid_token", ["get_token"]),
        "hot access token, wrong secret": (_wrong(g.access), "invalid_token", ["get_token"]),
        "expired PAT": (expiring.token, "token_expired", ["get_pat_by_lookup", "get_retired_hash"]),
    }
    for label, (token, code, queries) in cases.items():
        if label == "expired PAT":
            g.clock.advance(days=2)
        await g.auth.poll_epoch()
        g.auth.invalidate()
        if label.startswith("hot PAT"):
            await g.auth.authenticate(f"Bearer {pat}")  # the lookup id is cached and verified
        if label.startswith("hot access"):
            await g.auth.authenticate(f"Bearer {g.access}")
        counts.clear()
        with pytest.raises(authn.AuthError) as caught:
            await g.auth.authenticate(f"Bearer {token}")
        assert caught.value.code == code, label
        compared = counts.get("compare", [])
        assert len(counts.get("hmac", [])) == 1, label
        assert [type(a[0]) for a in compared] == [str, bytes], label  # fast path, then digest
        assert [name for name in counts if name not in {"hmac", "compare"}] == queries, label
        assert all(len(counts[name]) == 1 for name in queries), label
    # the fast path for a correct token stays free of HMACs and queries
    await g.auth.authenticate(f"Bearer {pat}")
    counts.clear()
    assert (await g.auth.authenticate(f"Bearer {pat}")).user_id == g.account.user_id
    assert list(counts) == ["compare"]


async def test_non_ascii_token_on_a_hot_lookup_is_a_401_not_a_crash(guessing):
    g = guessing
    pat = g.account.token
    await g.auth.authenticate(f"Bearer {pat}")
    with pytest.raises(authn.AuthError):
        await g.auth.authenticate(f"Bearer {pat[:-1]}é")


def test_abuse_settings_reach_the_config(tmp_path: Path):
    settings = make_settings(tmp_path, server={"header_timeout": 2.5, "max_headers": 50})
    assert settings.server.header_timeout == 2.5 and settings.server.max_headers == 50
    from fortytwo.config import ConfigError

    with pytest.raises(ConfigError, match="server.header_timeout"):
        make_settings(tmp_path, server={"header_timeout": 0})
