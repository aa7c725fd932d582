"""Random Authorization headers and bodies never produce a 500 or a non-envelope answer."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fortytwo.app import create_app
from fortytwo.http.body import read_json_object
from fortytwo.http.policy import ANY_TOKEN, requires_scope
from fortytwo.http.responses import ok
from tests.conftest import FakeClock, make_account, make_settings
from tests.loop_thread import LoopThread

HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))


@requires_scope(ANY_TOKEN)
async def echo(request: web.Request) -> web.Response:
    return ok(request, await read_json_object(request))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("fuzz")
    runner = LoopThread()

    def build() -> web.Application:
        app = create_app(
            make_settings(data, rate_limits={"pat": 1_000_000, "anonymous": 1_000_000}),
            clock=FakeClock(),
        )
        app.router.add_post("/v1/_echo", echo)
        return app

    account = runner.start_app(build, make_account)
    yield runner, account
    runner.close()


def request(runner: LoopThread, method: str, path: str, **kwargs) -> tuple[int, dict, dict]:
    async def go():
        resp = await runner.client.request(method, path, **kwargs)
        return resp.status, resp.headers.copy(), await resp.json()

    return runner.run(go())


def check_envelope(status: int, headers: dict, body: dict) -> None:
    assert status < 500, body
    if status >= 400:
        assert set(body) == {"error"}
        assert body["error"]["request_id"] == headers["X-Request-Id"]
        assert isinstance(body["error"]["details"], dict)


def token_mutations(token: str):
    return st.one_of(
        HEADER_TEXT,
        HEADER_TEXT.map(lambda s: "Bearer " + s),
        st.builds(
            lambda i, c: "Bearer " + token[:i] + c + token[i + 1:],
            st.integers(0, len(token) - 1),
            st.sampled_from(list("0OIL_-aZ9 ")),
        ),
        st.builds(lambda n: "Bearer " + token[:n], st.integers(0, len(token))),
    )


def test_authorization_header_fuzz(server):
    runner, account = server

    @FUZZ
    @given(value=token_mutations(account.token))
    def run(value: str) -> None:
        status, headers, body = request(runner, "GET", "/v1/me", headers={"Authorization": value})
        check_envelope(status, headers, body)
        if status == 200:
            assert value.strip().split(" ", 1)[-1].strip() == account.token
        else:
            assert status == 401

    run()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def test_json_body_fuzz(server):
    runner, account = server
    bodies = st.one_of(
        st.binary(max_size=200),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.text(max_size=100).map(str.encode),
        st.integers(1, 200).map(lambda depth: b"[" * depth * 50 + b"]" * depth * 50),
    )

    @FUZZ
    @given(raw=bodies, ctype=st.sampled_from(["application/json", "text/plain", "application/vnd.x+json", ""]))
    def run(raw: bytes, ctype: str) -> None:
        headers = {**account.auth}
        if ctype:
            headers["Content-Type"] = ctype
        status, resp_headers, body = request(runner, "POST", "/v1/_echo", data=raw, headers=headers)
        check_envelope(status, resp_headers, body)

    run()
