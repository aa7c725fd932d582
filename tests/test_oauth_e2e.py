"""OAuth end to end over real HTTP: a third-party client library (authlib) against a served
instance, and the pages in headless Chromium.

The person's side of the flow (sign-in and consent forms) is a separate cookie-keeping HTTP
session that submits the forms exactly as a browser would; the Chromium test below does the
same with a real browser.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from aiohttp import web
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError as AuthlibOAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from fortytwo.app import create_app
from tests.conftest import make_settings
from tests.oauth_support import PASSWORD, form_named, make_client, make_user, query_of

ROOT = Path(__file__).resolve().parent.parent


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def live(tmp_path):
    """The real application on a real port (real clock), and its base URL."""
    sock = _socket()
    port = sock.getsockname()[1]
    settings = make_settings(tmp_path, server={"port": port})
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _sign_in_and_approve(browser: requests.Session, url: str) -> str:
    """What the person does: the sign-in form, then the consent form. Returns the Location
    the browser is finally sent to."""
    page = browser.get(url, allow_redirects=False)
    assert page.status_code == 200, page.text
    assert "Calendar Sync" in page.text
    sign_in = form_named(page.text, "sign_in")
    consent = browser.post(
        urljoin(page.url, sign_in.action),
        data=sign_in.data(username="ada", password=PASSWORD),
        allow_redirects=False,
    )
    assert consent.status_code == 200, consent.text
    assert "See your name, email and organization" in consent.text
    form = form_named(consent.text, "consent")
    done = browser.post(
        urljoin(consent.url, form.action), data=form.data(decision="approve"), allow_redirects=False
    )
    assert done.status_code == 303, done.text
    return done.headers["Location"]


def _whole_flow(base: str, client_id: str, client_secret: str, redirect_uri: str) -> None:
    # discovery, validated as RFC 8414 metadata by authlib
    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    AuthorizationServerMetadata(meta).validate()
    assert meta["issuer"] == base
    resource = requests.get(f"{base}/.well-known/oauth-protected-resource", timeout=10).json()
    assert resource["authorization_servers"] == [base]

    session = OAuth2Session(
        client_id,
        client_secret,
        scope="user:read bookings:read offline_access",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        revocation_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier
    )
    browser = requests.Session()
    location = _sign_in_and_approve(browser, url)
    answer = query_of(location)
    assert answer["state"] == state and answer["iss"] == base and "code" in answer

    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert token["access_token"].startswith("42min_at_")
    assert token["refresh_token"].startswith("42min_rt_")

    me = session.get(f"{base}/v1/me", timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["data"]["user"]["username"] == "ada"
    ping = session.get(f"{base}/v1/_ping", timeout=10).json()["data"]
    assert ping["auth_type"] == "oauth" and ping["client_id"] == client_id

    # refresh: a new pair; the old refresh token is spent
    old_refresh = token["refresh_token"]
    fresh = session.refresh_token(meta["token_endpoint"])
    assert fresh["refresh_token"] != old_refresh and fresh["access_token"] != token["access_token"]
    assert session.get(f"{base}/v1/me", timeout=10).status_code == 200

    # reuse of the spent refresh token: invalid_grant, and the whole family is revoked
    with pytest.raises(AuthlibOAuthError) as reused:
        session.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    assert reused.value.error == "invalid_grant"
    ping = session.get(f"{base}/v1/_ping", timeout=10)
    assert ping.status_code == 401 and ping.json()["error"]["code"] == "token_revoked"
    with pytest.raises(AuthlibOAuthError):
        session.refresh_token(meta["token_endpoint"], refresh_token=fresh["refresh_token"])

    # sign in to the app again: consent is remembered, so the browser comes straight back
    verifier = generate_token(64)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier
    )
    back = browser.get(url, allow_redirects=False)
    assert back.status_code == 302, back.text
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=back.headers["Location"],
        code_verifier=verifier,
    )
    assert session.get(f"{base}/v1/_ping", timeout=10).status_code == 200

    # revoke (RFC 7009), then the access token answers token_revoked
    revoked = session.revoke_token(
        meta["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token"
    )
    assert revoked.status_code == 200
    ping = session.get(f"{base}/v1/_ping", timeout=10)
    assert ping.status_code == 401
    assert ping.json()["error"]["code"] == "token_revoked"
    assert 'error="invalid_token"' in ping.headers["WWW-Authenticate"]


async def test_authlib_drives_the_whole_flow(live):
    app, base = live
    await make_user(app)
    registered = await make_client(app, redirect_uris=("http://127.0.0.1/callback",))
    await asyncio.to_thread(
        _whole_flow, base, registered.client_id, registered.client_secret,
        "http://127.0.0.1:49152/callback",  # loopback: any port
    )


def _public_flow(base: str, client_id: str, redirect_uri: str) -> None:
    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    session = OAuth2Session(
        client_id, scope="user:read", redirect_uri=redirect_uri, code_challenge_method="S256",
        token_endpoint_auth_method="none", revocation_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    location = _sign_in_and_approve(requests.Session(), url)
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert "refresh_token" not in token  # no offline_access, no refresh token
    assert session.get(f"{base}/v1/me", timeout=10).status_code == 200
    assert session.revoke_token(meta["revocation_endpoint"], token=token["access_token"]).status_code == 200
    assert session.get(f"{base}/v1/_ping", timeout=10).json()["error"]["code"] == "token_revoked"


async def test_authlib_public_client(live):
    app, base = live
    await make_user(app)
    registered = await make_client(
        app, client_type="public", redirect_uris=("com.example.calendar:/oauth",)
    )
    await asyncio.to_thread(_public_flow, base, registered.client_id, "com.example.calendar:/oauth")


# -- the pages in a real browser --------------------------------------------------------


def _artifacts() -> Path:
    target = Path(os.environ.get("FORTYTWO_TEST_ARTIFACTS") or ROOT / "build" / "test-artifacts")
    target = target / "oauth"
    target.mkdir(parents=True, exist_ok=True)
    return target


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def _drive_chromium(url: str, callback_prefix: str, binaries: tuple[str, str]) -> dict[str, str]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = binaries[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=412,915", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=binaries[1]))
    shots = _artifacts()
    seen: dict[str, str] = {}
    try:
        driver.get(url)
        assert "Calendar Sync" in driver.page_source
        driver.save_screenshot(str(shots / "1-sign-in.png"))
        driver.find_element(By.ID, "username").send_keys("ada")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
        WebDriverWait(driver, 10).until(lambda d: "decision" in d.page_source)
        seen["consent"] = driver.find_element(By.TAG_NAME, "main").text
        driver.save_screenshot(str(shots / "2-consent.png"))
        driver.find_element(By.CSS_SELECTOR, "button[name=decision][value=approve]").click()
        WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(callback_prefix))
        driver.save_screenshot(str(shots / "3-back-at-the-app.png"))
        seen["landed"] = driver.current_url
    finally:
        driver.quit()
    return seen


async def test_pages_in_headless_chromium(live):
    binaries = _chromium()
    if binaries is None:
        pytest.skip("Chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium")
    app, base = live
    # the application's callback: a tiny page on another loopback port
    callback_sock = _socket()
    callback_port = callback_sock.getsockname()[1]
    callback = web.Application()

    async def landed(request: web.Request) -> web.Response:
        return web.Response(text=f"<h1>Back at the app</h1><p>code {request.query.get('code')}</p>",
                            content_type="text/html")

    callback.router.add_get("/callback", landed)
    runner = web.AppRunner(callback)
    await runner.setup()
    await web.SockSite(runner, callback_sock).start()
    try:
        await make_user(app)
        redirect_uri = f"http://127.0.0.1:{callback_port}/callback"
        registered = await make_client(app, redirect_uris=(redirect_uri,))
        from tests.oauth_support import authorize_params, pkce_pair

        _, challenge = pkce_pair()
        params = authorize_params(registered.client_id, challenge, scope="user:read bookings:write")
        params["redirect_uri"] = redirect_uri
        url = f"{base}/v1/oauth/authorize?" + "&".join(
            f"{k}={requests.utils.quote(v, safe='')}" for k, v in params.items()
        )
        seen = await asyncio.to_thread(_drive_chromium, url, redirect_uri, binaries)
    finally:
        await runner.cleanup()
    assert "Calendar Sync" in seen["consent"] and "ada" in seen["consent"]
    assert "See your name, email and organization" in seen["consent"]
    assert "Move bookings to another time" in seen["consent"]  # bookings:write, in words
    answer = query_of(seen["landed"])
    assert answer["state"] == "xyz" and answer["iss"] == base and len(answer["code"]) == 44
    for name in ("1-sign-in.png", "2-consent.png", "3-back-at-the-app.png"):
        assert (_artifacts() / name).stat().st_size > 1000
