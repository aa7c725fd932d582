"""Security headers and cookie flags (issue 9, item 5; contract 11; docs/decisions.md).

- Every HTML page the server renders — the OAuth sign-in, consent and error pages (wrong
  password, bad CSRF, unknown client, rate limited) and /docs — carries a CSP with
  ``default-src 'none'`` and ``frame-ancestors 'none'`` whose style hashes match the page's
  inline style sheets, ``X-Frame-Options: DENY``, ``nosniff`` and ``Referrer-Policy``; the
  OAuth pages also ``Cache-Control: no-store``.
- JSON answers (API successes and errors, 404/405, OAuth JSON, discovery, /healthz, /) carry
  ``X-Content-Type-Options: nosniff``; the OAuth redirects and the token endpoint ``no-store``.
- The sign-in cookie is ``HttpOnly; SameSite=Lax; Path=/v1/oauth``, plus ``Secure`` when the
  request came over HTTPS; it is the only cookie the server ever sets (CSRF tokens live in the
  forms, derived from it).
- ``Strict-Transport-Security`` comes with answers to HTTPS requests on a server that
  enforces HTTPS, never over plain HTTP.
- Headless Chromium renders /docs and the sign-in page under their CSP without a violation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import shutil
from http.cookies import SimpleCookie

import pytest

from fortytwo.app import create_app
from fortytwo.http.secheaders import HSTS
from tests.conftest import make_settings
from tests.oauth_support import (
    PASSWORD,
    Browser,
    authorize_params,
    basic,
    form_named,
    make_client,
    make_user,
    pkce_pair,
)

HTTPS = {"X-Forwarded-Proto": "https"}


def check_page(resp, html: str, *, no_store: bool) -> None:
    """The headers every HTML page must carry, and a CSP that fits the page exactly."""
    assert resp.content_type == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"], csp
    assert directives["frame-ancestors"] == ["'none'"], csp
    assert directives["base-uri"] == ["'none'"], csp
    assert "form-action" in directives, csp
    assert "script-src" not in directives and "'unsafe-inline'" not in csp, csp
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert styles, "a page without its style sheet"
    for css in styles:
        digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["style-src"], csp
    assert not re.search(r"<[^>]+\sstyle\s*=", html), "inline style attributes need unsafe-hashes"
    assert "<script" not in html.lower()
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    if no_store:
        assert resp.headers["Cache-Control"] == "no-store"


@pytest.fixture
async def oauth(client, app):
    await make_user(app)
    return await make_client(app)


def params(registered, **kw):
    return authorize_params(registered.client_id, pkce_pair()[1], **kw)


async def sign_in_page(client, registered):
    resp = await Browser(client).open(params(registered))
    return resp, await resp.text()


PAGES = ["sign-in", "consent", "wrong password", "bad csrf", "unknown client", "docs"]


@pytest.mark.parametrize("page", PAGES)
async def test_html_pages_carry_the_security_headers(client, oauth, page):
    browser = Browser(client)
    if page == "docs":
        resp = await client.get("/docs")
        check_page(resp, await resp.text(), no_store=False)
        assert (await client.head("/docs")).headers["X-Frame-Options"] == "DENY"
        return
    if page == "unknown client":
        resp = await browser.open({**params(oauth), "client_id": "42min_NOSUCHCLIENT"})
        assert resp.status == 400
    else:
        resp, html = await sign_in_page(client, oauth)
        if page == "consent":
            resp = await browser.sign_in(html)
        elif page == "wrong password":
            resp = await browser.sign_in(html, password="not the password")
            assert resp.status == 400
        elif page == "bad csrf":
            resp = await browser.submit(form_named(html, "sign_in"), csrf_token="forged",
                                        username="ada", password=PASSWORD)
            assert resp.status == 403
    check_page(resp, await resp.text(), no_store=True)


async def test_rate_limited_sign_in_page(aiohttp_client, tmp_path, clock):
    app = create_app(make_settings(tmp_path, rate_limits={"oauth_authorize": 1}), clock=clock)
    client = await aiohttp_client(app)
    await client.get("/v1/oauth/authorize")
    resp = await client.get("/v1/oauth/authorize")
    assert resp.status == 429
    check_page(resp, await resp.text(), no_store=True)


async def test_redirects_and_token_answers_are_not_stored(client, app, oauth):
    browser = Browser(client)
    resp, html = await sign_in_page(client, oauth)
    consent = await browser.sign_in(html)
    done = await browser.approve(await consent.text())
    assert done.status == 303
    assert done.headers["Cache-Control"] == "no-store"
    assert done.headers["Referrer-Policy"] == "no-referrer"
    again = await browser.open(params(oauth))  # consent remembered: a 302 straight back
    assert again.status == 302 and again.headers["Cache-Control"] == "no-store"
    resp = await client.post("/v1/oauth/token", data={"grant_type": "authorization_code",
                                                      "code": "x" * 44, "code_verifier": "y" * 43,
                                                      "redirect_uri": oauth.redirect_uris[0]},
                             headers=basic(oauth.client_id, oauth.client_secret))
    assert resp.status == 400
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_json_answers_say_nosniff(client, account):
    requests = [
        ("GET", "/v1/_ping", account.auth, 200),
        ("HEAD", "/v1/_ping", account.auth, 200),
        ("GET", "/v1/_ping", {}, 401),
        ("GET", "/v1/bookings/not-a-uid", account.auth, 404),
        ("PUT", "/v1/_ping", account.auth, 405),
        ("GET", "/v1/nothing-here", account.auth, 404),
        ("GET", "/nothing-here", {}, 404),
        ("GET", "/", {}, 200),
        ("GET", "/healthz", {}, 200),
        ("GET", "/openapi.json", {}, 200),
        ("GET", "/.well-known/oauth-authorization-server", {}, 200),
        ("OPTIONS", "/v1/oauth/token", {"Origin": "https://x.example",
                                        "Access-Control-Request-Method": "POST"}, 204),
        ("POST", "/v1/oauth/revoke", {}, 400),
    ]
    for method, path, headers, status in requests:
        resp = await client.request(method, path, headers=headers)
        assert resp.status == status, (method, path)
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", (method, path)
        assert "Strict-Transport-Security" not in resp.headers  # plain HTTP on loopback


def _cookies(resp) -> list[SimpleCookie]:
    out = []
    for header in resp.headers.getall("Set-Cookie", []):
        jar = SimpleCookie()
        jar.load(header)
        out.append((header, jar))
    return out


def check_cookie(resp, *, secure: bool) -> None:
    found = _cookies(resp)
    assert found, "no cookie set"
    for header, jar in found:
        assert list(jar) == ["fortytwo_oauth"], header  # the only cookie the server sets
        morsel = jar["fortytwo_oauth"]
        assert morsel["httponly"] is True, header
        assert morsel["samesite"] == "Lax", header
        assert morsel["path"] == "/v1/oauth", header
        assert bool(morsel["secure"]) is secure, header
        assert not morsel["domain"], header  # host-only


async def test_cookie_flags_on_plain_http_loopback(client, oauth):
    """Loopback over plain HTTP: no Secure, which browsers would not send back there
    (docs/decisions.md); everything else as the contract says."""
    resp, html = await sign_in_page(client, oauth)
    check_cookie(resp, secure=False)
    signed_in = await Browser(client).sign_in(html)
    assert signed_in.status == 200
    check_cookie(signed_in, secure=False)  # the new session cookie
    assert "max-age" in signed_in.headers["Set-Cookie"].lower()


@pytest.fixture
async def https_client(aiohttp_client, tmp_path, clock):
    """A server behind a trusted proxy that enforces HTTPS."""
    settings = make_settings(tmp_path, public_url="https://api.example.com",
                             server={"host": "0.0.0.0", "trusted_proxies": ["127.0.0.1"]})
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    await make_user(app)
    return client, await make_client(app)


async def test_cookie_flags_over_https(https_client):
    client, registered = https_client
    resp = await client.get("/v1/oauth/authorize", params=params(registered), headers=HTTPS)
    assert resp.status == 200
    check_cookie(resp, secure=True)
    form = form_named(await resp.text(), "sign_in")
    cookie = resp.cookies["fortytwo_oauth"].value  # Secure: passed by hand over the test link
    signed_in = await client.post(
        "/v1/oauth/authorize", data=form.data(username="ada", password=PASSWORD),
        headers={**HTTPS, "Cookie": f"fortytwo_oauth={cookie}"}, allow_redirects=False)
    assert signed_in.status == 200
    check_cookie(signed_in, secure=True)


async def test_hsts_only_over_https(https_client):
    client, registered = https_client
    for path in ("/healthz", "/v1/_ping", "/docs", "/.well-known/oauth-protected-resource"):
        resp = await client.get(path, headers=HTTPS)
        assert resp.headers["Strict-Transport-Security"] == HSTS, path
    resp = await client.get("/v1/oauth/authorize", params=params(registered), headers=HTTPS)
    assert resp.headers["Strict-Transport-Security"] == HSTS
    # plain HTTP (refused with https_required, or /healthz for the proxy) never gets it
    plain = await client.get("/v1/_ping")
    assert plain.status == 403 and "Strict-Transport-Security" not in plain.headers
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in (await client.get("/healthz")).headers


# -- the pages in a real browser, under their CSP ---------------------------------------


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def _render(urls: dict[str, str], binaries: tuple[str, str]) -> dict[str, tuple[list, str]]:
    """Open each page; return the browser's console messages and one computed style."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binaries[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=binaries[1]))
    seen = {}
    try:
        for name, url in urls.items():
            driver.get(url)
            style = driver.execute_script(
                "return getComputedStyle(document.querySelector('main')).paddingTop")
            seen[name] = ([e["message"] for e in driver.get_log("browser")], style)
    finally:
        driver.quit()
    return seen


async def test_pages_render_under_their_csp_in_chromium(client, oauth):
    binaries = _chromium()
    if binaries is None:
        pytest.skip("Chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium")
    query = "&".join(f"{k}={v}" for k, v in params(oauth).items()).replace(" ", "%20")
    urls = {"docs": str(client.make_url("/docs")),
            "sign-in": str(client.make_url("/v1/oauth/authorize")) + "?" + query}
    seen = await asyncio.to_thread(_render, urls, binaries)
    for name, (messages, padding) in seen.items():
        assert not [m for m in messages if "Content Security Policy" in m], (name, messages)
        assert padding not in ("", "0px"), (name, padding)  # the inline style sheet applied
