"""Shared fixtures: a real app on a real SQLite file in a temp dir, an injectable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.config import Settings, load_settings
from fortytwo.security.keys import create_secret_file
from fortytwo.services import accounts, pats

START = datetime(2026, 5, 18, 8, 0, tzinfo=UTC)  # a Monday


class FakeClock:
    """The only thing tests mock: time."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    create_secret_file(data_dir / "pepper")
    create_secret_file(data_dir / "secret.key")
    base: dict[str, Any] = {"data_dir": str(data_dir)}
    base.update(overrides)
    return load_settings(None, environ={}, overrides=base)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings, clock: FakeClock):
    return create_app(settings, clock=clock)


@pytest.fixture
async def client(aiohttp_client, app):
    return await aiohttp_client(app)


@dataclass
class Account:
    org_id: str
    user_id: str
    username: str
    token: str
    token_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


ALL_SCOPES = "user:read,event_types:read,slots:read,bookings:read,bookings:write,webhooks:read,webhooks:write"


async def make_account(
    app,
    *,
    org: str = "Acme",
    username: str = "ada",
    scopes: str = ALL_SCOPES,
    token_name: str = "test",
    expires_in: str | None = None,
    first_name: str | None = "Ada",
    last_name: str | None = "Lovelace",
) -> Account:
    db = app[keys.DATABASE]
    now = app[keys.CLOCK]()
    from fortytwo.store import accounts as store

    organization = await store.find_org(db.reader, org)
    if organization is None:
        organization = await accounts.create_org(db, org, now)
    user = await accounts.add_user(
        db,
        org=organization.id,
        username=username,
        email=f"{username}@example.com",
        now=now,
        first_name=first_name,
        last_name=last_name,
        timezone="Europe/London",
        role="owner",
    )
    issued = await pats.create(
        db,
        user=user.id,
        name=token_name,
        scopes=scopes,
        expires_in=expires_in,
        prefix=app[keys.TOKEN_PREFIX],
        pepper=app[keys.PEPPER],
        now=now,
    )
    return Account(organization.id, user.id, username, issued.token, issued.id)


async def add_token(app, account: Account, *, name: str, scopes: str, expires_in: str | None = None):
    return await pats.create(
        app[keys.DATABASE],
        user=account.user_id,
        name=name,
        scopes=scopes,
        expires_in=expires_in,
        prefix=app[keys.TOKEN_PREFIX],
        pepper=app[keys.PEPPER],
        now=app[keys.CLOCK](),
    )


@pytest.fixture
async def account(client, app) -> Account:
    return await make_account(app)


# Response validation: every response a TestClient receives is checked against our own
# OpenAPI document (tests/test_openapi_responses.py). Opt out per test with
# @pytest.mark.no_response_validation, or for a whole run with FORTYTWO_VALIDATE_RESPONSES=0.


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "no_response_validation: do not check this test's HTTP responses against our OpenAPI document",
    )


@pytest.fixture(autouse=True)
def validate_responses(request, monkeypatch):
    import os

    from aiohttp.test_utils import TestClient

    from tests.test_openapi_responses import (
        OPT_OUT_ENV,
        OPT_OUT_MARKER,
        ResponseMismatch,
        check_client_response,
    )

    if request.node.get_closest_marker(OPT_OUT_MARKER) or os.environ.get(OPT_OUT_ENV) == "0":
        yield []
        return
    failures: list[str] = []
    original = TestClient._request

    async def _request(self, method, path, **kwargs):
        response = await original(self, method, path, **kwargs)
        problems = await check_client_response(method, response)
        if problems:
            failures.extend(problems)
            raise ResponseMismatch(
                f"{method} {path}: the response does not match our OpenAPI document:\n  "
                + "\n  ".join(problems)
            )
        return response

    monkeypatch.setattr(TestClient, "_request", _request)
    yield failures
