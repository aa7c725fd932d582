"""GET/POST /v1/oauth/authorize: request errors, the pages, CSRF, sessions, consent and the
sign-in slow-down."""

from __future__ import annotations

import re

import pytest

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.oauth.runtime import secure_cookies
from fortytwo.services import accounts as account_service
from tests.conftest import make_settings
from tests.oauth_support import (
    ISSUER,
    PASSWORD,
    REDIRECT,
    Browser,
    authorize_params,
    form_named,
    forms,
    make_client,
    make_user,
    pkce_pair,
    query_of,
)


@pytest.fixture
async def setup(client, app):
    await make_user(app)
    registered = await make_client(
        app, redirect_uris=(REDIRECT, "http://127.0.0.1/cb", "com.example.app:/oauth")
    )
    return registered


def params_for(registered, **kw):
    return authorize_params(registered.client_id, pkce_pair()[1], **kw)


async def page_error(resp, status: int = 400) -> str:
    assert resp.status == status, await resp.text()
    assert "Location" not in resp.headers
    assert resp.content_type == "text/html"
    return await resp.text()


def redirect_error(resp, error: str, *, base: str = REDIRECT, state: str | None = "xyz") -> dict:
    assert resp.status in (302, 303), resp.status
    location = resp.headers["Location"]
    assert location.startswith(base + "?"), location
    query = query_of(location)
    assert query["error"] == error, query
    assert query["error_description"]
    assert query["iss"] == ISSUER
    assert query.get("state") == state
    assert "code" not in query
    return query


# -- errors shown as a page (never redirected) ------------------------------------------


async def test_client_and_redirect_errors_are_pages(client, setup):
    browser = Browser(client)
    good = params_for(setup)
    for broken in (
        {**good, "client_id": None},
        {**good, "client_id": "42min_NOSUCHCLIENT000000000000"},
        {**good, "redirect_uri": None},
    ):
        text = await page_error(await browser.open({k: v for k, v in broken.items() if v}))
        assert "<script" not in text
    # duplicated client_id / redirect_uri
    for name in ("client_id", "redirect_uri"):
        query = [*good.items(), (name, good[name])]
        resp = await client.get("/v1/oauth/authorize", params=query, allow_redirects=False)
        await page_error(resp)


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/callback",
        "https://app.example/callback/",
        "https://app.example/callback?next=https://evil.example",
        "https://app.example/callback#x",
        "https://app.example.evil.example/callback",
        "https://app.example:8443/callback",
        "HTTPS://app.example/callback",
        "https://app.example/Callback",
        "//evil.example/callback",
        "javascript:alert(1)",
        "http://127.0.0.1:5555/other",
        "http://localhost:5555/cb",
        "http://user@127.0.0.1:5555/cb",
        "com.example.app:/oauth/../evil",
    ],
)
async def test_open_redirect_attempts_are_refused_on_a_page(client, setup, uri):
    resp = await Browser(client).open(params_for(setup, redirect_uri=uri))
    text = await page_error(resp)
    assert "evil" not in resp.headers.get("Location", "")
    assert "not registered" in text or "address" in text


async def test_loopback_redirect_may_use_any_port(client, setup):
    resp = await Browser(client).open(params_for(setup, redirect_uri="http://127.0.0.1:49152/cb"))
    assert resp.status == 200 and "Sign in" in await resp.text()


async def test_deleted_client_is_a_page(client, app, setup):
    from fortytwo.oauth import clients as client_service

    await client_service.delete(app[keys.DATABASE], setup.client_id, app[keys.CLOCK]())
    await page_error(await Browser(client).open(params_for(setup)))


# -- errors sent back to the client -----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": "S512"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"code_challenge": "A" * 42 + "="}, "invalid_request"),
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "user:read admin:everything"}, "invalid_scope"),
        ({"scope": "webhooks:write"}, "invalid_scope"),  # outside the client's allowed scopes
        ({"resource": "https://other.example"}, "invalid_target"),
    ],
)
async def test_request_errors_redirect_with_state_and_iss(client, app, change, error):
    await make_user(app)
    registered = await make_client(app, scopes="user:read,bookings:read,offline_access")
    params = {k: v for k, v in {**params_for(registered), **change}.items() if v is not None}
    resp = await Browser(client).open(params)
    redirect_error(resp, error)


async def test_plain_pkce_is_refused_even_for_confidential_clients(client, setup):
    verifier = "v" * 43
    resp = await Browser(client).open(
        authorize_params(setup.client_id, verifier, code_challenge_method="plain")
    )
    query = redirect_error(resp, "invalid_request")
    assert "plain" in query["error_description"]


async def test_repeated_parameter_and_missing_state(client, setup):
    params = params_for(setup)
    resp = await client.get(
        "/v1/oauth/authorize", params=[*params.items(), ("scope", "user:read")],
        allow_redirects=False,
    )
    redirect_error(resp, "invalid_request")
    params.pop("state")
    params["response_type"] = "token"
    resp = await Browser(client).open(params)
    redirect_error(resp, "unsupported_response_type", state=None)


async def test_error_redirect_keeps_the_redirect_uri_query(client, app):
    await make_user(app)
    registered = await make_client(app, redirect_uris=("https://app.example/cb?tenant=7",))
    resp = await Browser(client).open(
        params_for(registered, redirect_uri="https://app.example/cb?tenant=7", response_type="x")
    )
    assert resp.headers["Location"].startswith("https://app.example/cb?tenant=7&error=")


async def test_no_scope_asks_for_everything_the_client_may_have(client, app):
    await make_user(app)
    registered = await make_client(app, scopes="user:read,slots:read")
    params = params_for(registered)
    params.pop("scope")
    browser = Browser(client)
    resp = await browser.open(params)
    page = await (await browser.sign_in(await resp.text())).text()
    assert "See when you are available" in page and "See your name" in page
    assert "See your bookings" not in page
    location = (await browser.approve(page)).headers["Location"]
    assert "code=" in location
    # what was approved is exactly the client's set: asking for it by name needs no consent
    resp = await browser.open({**params, "scope": "user:read slots:read"})
    assert resp.status == 302 and "code=" in resp.headers["Location"]
    resp = await browser.open({**params, "scope": ""})
    assert resp.status == 302


async def test_resource_indicator_for_this_server_is_accepted(client, setup):
    resp = await Browser(client).open(params_for(setup, resource=ISSUER + "/"))
    assert resp.status == 200


# -- the pages --------------------------------------------------------------------------


async def test_sign_in_page_is_self_contained_and_locked_down(client, setup):
    resp = await Browser(client).open(params_for(setup, scope="user:read bookings:write"))
    assert resp.status == 200
    html = await resp.text()
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", csp)
    assert "form-action 'self' https://app.example" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert 'name="viewport"' in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    form = form_named(html, "sign_in")
    assert form.method == "post" and form.value("csrf_token")
    assert form.value("code_challenge") and form.value("scope") == "user:read bookings:write"
    cookie = resp.headers["Set-Cookie"]
    assert "fortytwo_oauth=" in cookie and "HttpOnly" in cookie
    assert "Path=/v1/oauth" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: see test_cookie_is_secure_over_https


async def test_client_name_is_escaped(client, app):
    await make_user(app)
    registered = await make_client(app, name='<script>alert("x")</script> & Co')
    html = await (await Browser(client).open(params_for(registered))).text()
    assert "<script>" not in html and "&lt;script&gt;" in html


async def test_consent_page_describes_each_scope_in_words(client, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup, scope="user:read bookings:write offline_access"))).text()
    resp = await browser.sign_in(page)
    assert resp.status == 200
    html = await resp.text()
    for words in (
        "See your name, email and organization",
        "Create bookings",
        "Cancel bookings",
        "Move bookings to another time",
        "Stay connected when you are not using the app",
        "Calendar Sync",
        "Signed in as <strong>ada</strong>",
    ):
        assert words in html, words
    consent = form_named(html, "consent")
    assert sorted(consent_buttons(html)) == ["approve", "deny"]
    assert consent.value("csrf_token")
    assert form_named(html, "sign_out").value("csrf_token") == consent.value("csrf_token")


def consent_buttons(html: str) -> list[str]:
    return [v for f in forms(html) for k, v in f.buttons if k == "decision"]


async def test_approve_redirects_with_code_state_and_iss(client, setup):
    location = await Browser(client).authorize(params_for(setup))
    query = query_of(location)
    assert location.startswith(REDIRECT + "?")
    assert query["state"] == "xyz" and query["iss"] == ISSUER and len(query["code"]) == 44


async def test_private_use_scheme_redirect(client, setup):
    location = await Browser(client).authorize(params_for(setup, redirect_uri="com.example.app:/oauth"))
    assert location.startswith("com.example.app:/oauth?code=")


async def test_deny_redirects_access_denied(client, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    page = await (await browser.sign_in(page)).text()
    resp = await browser.approve(page, decision="deny")
    redirect_error(resp, "access_denied")
    # nothing was remembered: the consent page comes again
    again = await browser.open(params_for(setup))
    assert again.status == 200 and "decision" in await again.text()


async def test_consent_without_decision_is_a_page(client, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    page = await (await browser.sign_in(page)).text()
    await page_error(await browser.submit(form_named(page, "consent")))


async def test_consent_is_remembered_and_new_scopes_ask_again(client, setup):
    browser = Browser(client)
    await browser.authorize(params_for(setup, scope="user:read bookings:read"))
    # same scopes, or fewer: straight back with a code
    for scope in ("user:read bookings:read", "user:read"):
        resp = await browser.open(params_for(setup, scope=scope))
        assert resp.status == 302 and "code=" in resp.headers["Location"]
    # a new scope: the consent page again, listing the request
    resp = await browser.open(params_for(setup, scope="user:read slots:read"))
    assert resp.status == 200
    html = await resp.text()
    assert "See when you are available" in html and "decision" in html
    resp = await browser.approve(html)
    assert resp.status == 303
    resp = await browser.open(params_for(setup, scope="bookings:read slots:read"))
    assert resp.status == 302


async def test_consent_is_per_user(client, app, setup):
    await make_user(app, username="bob")
    await Browser(client).authorize(params_for(setup))
    client.session.cookie_jar.clear()
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    resp = await browser.sign_in(page, username="bob")
    assert resp.status == 200 and "decision" in await resp.text()


# -- sessions and CSRF ------------------------------------------------------------------


async def test_sign_in_issues_a_new_cookie(client, setup):
    browser = Browser(client)
    resp = await browser.open(params_for(setup))
    before = resp.cookies["fortytwo_oauth"].value
    resp = await browser.sign_in(await resp.text())
    after = resp.cookies["fortytwo_oauth"].value
    assert after != before
    assert resp.cookies["fortytwo_oauth"]["max-age"] == str(12 * 3600)


async def test_wrong_password_and_unknown_user_look_the_same(client, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    for username, password in (("ada", "wrong password"), ("nobody", PASSWORD), ("", "x")):
        resp = await browser.sign_in(page, username=username, password=password)
        assert resp.status == 400
        html = await resp.text()
        assert "The username or password is wrong." in html
        assert "Set-Cookie" not in resp.headers
        page = html


async def test_user_without_password_cannot_sign_in(client, app, setup):
    from tests.conftest import make_account

    await make_account(app, username="nopass", token_name="np")
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    resp = await browser.sign_in(page, username="nopass", password="")
    assert resp.status == 400


@pytest.mark.parametrize("csrf", [None, "", "forged-token", "x" * 43])
async def test_csrf_token_missing_or_wrong(client, setup, csrf):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    form = form_named(page, "sign_in")
    resp = await browser.submit(form, csrf_token=csrf, username="ada", password=PASSWORD)
    text = await page_error(resp, 403)
    assert "expired" in text
    # and on the consent form
    page = await (await browser.sign_in(page)).text()
    resp = await browser.submit(form_named(page, "consent"), csrf_token=csrf, decision="approve")
    await page_error(resp, 403)


async def test_csrf_token_of_another_browser_is_refused(client, setup):
    mine = Browser(client)
    their_page = await (await mine.open(params_for(setup))).text()
    their_csrf = form_named(their_page, "sign_in").value("csrf_token")
    client.session.cookie_jar.clear()  # from here on, another browser
    page = await (await mine.open(params_for(setup))).text()
    assert form_named(page, "sign_in").value("csrf_token") != their_csrf
    resp = await mine.submit(
        form_named(page, "sign_in"), csrf_token=their_csrf, username="ada", password=PASSWORD
    )
    await page_error(resp, 403)


async def test_form_without_cookie_is_refused(client, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    client.session.cookie_jar.clear()
    resp = await browser.sign_in(page)
    await page_error(resp, 403)


async def test_csrf_token_changes_with_the_session(client, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    old = form_named(page, "sign_in")
    consent = await (await browser.sign_in(page)).text()
    # the pre-sign-in token no longer matches the new cookie
    resp = await browser.submit(form_named(consent, "consent"), csrf_token=old.value("csrf_token"),
                                decision="approve")
    await page_error(resp, 403)


async def test_tampered_form_is_checked_again(client, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    form = form_named(page, "sign_in")
    resp = await browser.submit(form, redirect_uri="https://evil.example/cb", username="ada",
                                password=PASSWORD)
    await page_error(resp)
    resp = await browser.submit(form, code_challenge_method="plain", username="ada",
                                password=PASSWORD)
    redirect_error(resp, "invalid_request")


async def test_sign_out_forgets_the_session(client, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    consent = await (await browser.sign_in(page)).text()
    resp = await browser.submit(form_named(consent, "sign_out"))
    assert resp.status == 200
    html = await resp.text()
    assert "sign_in" in html and "decision" not in html
    resp = await browser.open(params_for(setup))
    assert "sign_in" in await resp.text()


async def test_session_ends_when_the_user_is_removed(client, app, setup):
    browser = Browser(client)
    page = await (await browser.open(params_for(setup))).text()
    consent = await (await browser.sign_in(page)).text()
    await account_service.remove_user(app[keys.DATABASE], "ada", app[keys.CLOCK]())
    resp = await browser.approve(consent)
    assert resp.status == 200 and "sign in again" in await resp.text()


async def test_session_expires(client, app, clock, setup):
    browser = Browser(client)
    await browser.authorize(params_for(setup))
    clock.advance(hours=12, seconds=1)
    resp = await browser.open(params_for(setup))
    assert resp.status == 200 and "sign_in" in await resp.text()


async def test_cookie_is_secure_over_https(aiohttp_client, tmp_path, clock):
    settings = make_settings(
        tmp_path, public_url="https://api.example.com",
        server={"host": "0.0.0.0", "trusted_proxies": ["127.0.0.1"]},
    )
    assert secure_cookies(settings)
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    await make_user(app)
    registered = await make_client(app)
    resp = await client.get(
        "/v1/oauth/authorize", params=params_for(registered),
        headers={"X-Forwarded-Proto": "https"}, allow_redirects=False,
    )
    assert resp.status == 200
    assert "Secure" in resp.headers["Set-Cookie"]
    # the same request over plain HTTP is refused before anything else
    resp = await client.get("/v1/oauth/authorize", params=params_for(registered), allow_redirects=False)
    assert resp.status == 403


# -- slow-down on wrong passwords (never a lockout) -------------------------------------


@pytest.fixture
async def proxied(aiohttp_client, tmp_path, clock):
    """A server behind a trusted proxy, so tests can choose the client address."""
    settings = make_settings(
        tmp_path, public_url="https://api.example.com",
        server={"host": "0.0.0.0", "trusted_proxies": ["127.0.0.1"]},
        oauth={"login_free_failures": 2, "login_max_delay_seconds": 8},
    )
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    await make_user(app)
    await make_user(app, username="bob")
    registered = await make_client(app)
    return app, client, registered


async def attempt(client, registered, ip: str, username: str, password: str):
    """One sign-in from ``ip``. The cookie is Secure here (HTTPS via the proxy), which the
    test client would not send back over its plain connection, so it is passed by hand."""
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": ip}
    client.session.cookie_jar.clear()
    resp = await client.get("/v1/oauth/authorize", params=params_for(registered), headers=headers,
                            allow_redirects=False)
    form = form_named(await resp.text(), "sign_in")
    cookie = resp.cookies["fortytwo_oauth"].value
    return await client.post(
        "/v1/oauth/authorize", data=form.data(username=username, password=password),
        headers={**headers, "Cookie": f"fortytwo_oauth={cookie}"}, allow_redirects=False,
    )


async def test_wrong_passwords_slow_down_per_account(proxied, clock):
    app, client, registered = proxied
    for n in range(2):  # the free failures
        assert (await attempt(client, registered, f"10.0.0.{n}", "ada", "wrong-password")).status == 400
    resp = await attempt(client, registered, "10.0.0.9", "ada", "wrong-password")
    assert resp.status == 400  # the third failure sets a 1 second wait
    # from yet another address, even the right password waits
    resp = await attempt(client, registered, "10.0.1.1", "ada", PASSWORD)
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    assert "Wait 1 second," in await resp.text()
    # the account's neighbours are not affected
    resp = await attempt(client, registered, "10.0.1.2", "bob", PASSWORD)
    assert resp.status == 200 and "decision" in await resp.text()
    clock.advance(seconds=1)
    resp = await attempt(client, registered, "10.0.1.1", "ada", PASSWORD)
    assert resp.status == 200 and "decision" in await resp.text()


async def test_wrong_passwords_slow_down_per_address(proxied, clock):
    app, client, registered = proxied
    for name in ("ada", "bob", "carol"):
        await attempt(client, registered, "10.9.9.9", name, "wrong-password")
    resp = await attempt(client, registered, "10.9.9.9", "bob", PASSWORD)
    assert resp.status == 429
    resp = await attempt(client, registered, "10.9.9.8", "bob", PASSWORD)
    assert resp.status == 200


async def test_the_wait_doubles_up_to_its_cap_and_never_locks_out(proxied, clock):
    app, client, registered = proxied
    waits = []
    for n in range(8):
        resp = await attempt(client, registered, f"10.1.{n}.1", "ada", "wrong-password")
        assert resp.status == 400
        resp = await attempt(client, registered, f"10.2.{n}.1", "ada", "wrong-password")
        if resp.status == 429:
            waits.append(int(resp.headers["Retry-After"]))
            clock.advance(seconds=waits[-1])
    assert waits == [1, 2, 4, 8, 8, 8, 8]
    resp = await attempt(client, registered, "10.3.0.1", "ada", PASSWORD)
    assert resp.status == 200 and "decision" in await resp.text()


async def test_failures_are_forgotten_after_the_window(proxied, clock):
    app, client, registered = proxied
    for _ in range(3):
        await attempt(client, registered, "10.0.0.1", "ada", "wrong-password")
        clock.advance(seconds=10)
    clock.advance(minutes=15)
    for _ in range(2):
        assert (await attempt(client, registered, "10.0.0.1", "ada", "wrong-password")).status == 400
