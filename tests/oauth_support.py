"""Helpers for the OAuth tests: clients, users with passwords, PKCE, and a form-following
browser on top of aiohttp's test client."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fortytwo import keys
from fortytwo.oauth import clients as client_service
from tests.conftest import make_account

PASSWORD = "correct horse battery staple"
REDIRECT = "https://app.example/callback"
ISSUER = "http://127.0.0.1:8042"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def make_client(
    app,
    *,
    client_type: str = "confidential",
    redirect_uris: tuple[str, ...] = (REDIRECT,),
    scopes: str | None = None,
    name: str = "Calendar Sync",
    org: str | None = None,
) -> client_service.RegisteredClient:
    db = app[keys.DATABASE]
    if org is None:
        from fortytwo.store import accounts as store

        orgs = await store.list_orgs(db.reader)
        org = orgs[0].id
    return await client_service.create(
        db, org=org, name=name, redirect_uris=redirect_uris, client_type=client_type,
        scopes=scopes, prefix=app[keys.TOKEN_PREFIX], pepper=app[keys.PEPPER],
        now=app[keys.CLOCK](),
    )


_HASHES: dict[str, str] = {}


async def make_user(app, username: str = "ada", password: str = PASSWORD, **kw: Any):
    """A user with a sign-in password (scrypt-hashed once per password per test run)."""
    from fortytwo.security.passwords import hash_password
    from fortytwo.store import accounts as store

    account = await make_account(app, username=username, token_name=f"pat-{username}", **kw)
    hashed = _HASHES.get(password) or _HASHES.setdefault(password, hash_password(password))
    async with app[keys.DATABASE].write() as conn:
        await store.set_password(conn, account.user_id, hashed, app[keys.CLOCK]())
    return account


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def data(self, **overrides: str | None) -> list[tuple[str, str]]:
        out = [(k, v) for k, v in self.fields if k not in overrides]
        out += [(k, v) for k, v in overrides.items() if v is not None]
        return out

    def value(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            self._current.fields.append((a["name"], a.get("value", "")))
        elif tag == "button" and self._current is not None and a.get("name"):
            self._current.buttons.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_named(html: str, name: str) -> Form:
    found = [f for f in forms(html) if f.value("form") == name]
    assert found, f"no {name} form in the page:\n{html[:2000]}"
    return found[0]


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize_params(
    client_id: str,
    challenge: str,
    *,
    redirect_uri: str = REDIRECT,
    scope: str = "user:read bookings:read offline_access",
    state: str = "xyz",
    **extra: str,
) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


class Browser:
    """A person in a browser, driven through the pages with aiohttp's test client."""

    def __init__(self, client) -> None:
        self.client = client

    async def open(self, params: dict[str, str]):
        return await self.client.get("/v1/oauth/authorize", params=params, allow_redirects=False)

    async def submit(self, form: Form, **overrides: str | None):
        return await self.client.post(
            "/v1/oauth/authorize", data=form.data(**overrides), allow_redirects=False
        )

    async def sign_in(self, page_html: str, username: str = "ada", password: str = PASSWORD):
        return await self.submit(
            form_named(page_html, "sign_in"), username=username, password=password
        )

    async def approve(self, page_html: str, decision: str = "approve"):
        return await self.submit(form_named(page_html, "consent"), decision=decision)

    async def authorize(
        self, params: dict[str, str], username: str = "ada", password: str = PASSWORD
    ) -> str:
        """Drive the pages to the end; return the final redirect Location."""
        resp = await self.open(params)
        if resp.status == 200 and "sign_in" in (html := await resp.text()):
            resp = await self.sign_in(html, username, password)
        if resp.status == 200:
            resp = await self.approve(await resp.text())
        assert resp.status in (302, 303), (resp.status, await resp.text())
        return resp.headers["Location"]


async def code_for(client, registered, *, scope: str = "user:read bookings:read offline_access",
                   redirect_uri: str = REDIRECT, username: str = "ada") -> tuple[str, str]:
    """(code, verifier) after a full sign-in and approval."""
    verifier, challenge = pkce_pair()
    location = await Browser(client).authorize(
        authorize_params(registered.client_id, challenge, scope=scope, redirect_uri=redirect_uri),
        username=username,
    )
    query = query_of(location)
    assert "code" in query, location
    return query["code"], verifier


def basic(client_id: str, secret: str) -> dict[str, str]:
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def exchange(client, registered, code: str, verifier: str, *, redirect_uri: str = REDIRECT,
                   auth: str = "basic", **extra: str):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier, **extra}
    headers: dict[str, str] = {}
    if auth == "basic" and registered.client_secret:
        headers = basic(registered.client_id, registered.client_secret)
    elif auth == "post" and registered.client_secret:
        data.update(client_id=registered.client_id, client_secret=registered.client_secret)
    else:
        data["client_id"] = registered.client_id
    return await client.post("/v1/oauth/token", data=data, headers=headers)


async def token_post(client, registered, path: str = "/v1/oauth/token", *, auth: str = "basic",
                     **data: str):
    headers: dict[str, str] = {}
    if auth == "basic" and registered.client_secret:
        headers = basic(registered.client_id, registered.client_secret)
    elif auth == "post" and registered.client_secret:
        data.update(client_id=registered.client_id, client_secret=registered.client_secret)
    elif auth != "nothing":
        data["client_id"] = registered.client_id
    return await client.post(path, data=data, headers=headers)
