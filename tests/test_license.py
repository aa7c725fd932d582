"""License keys: the built-in Ed25519 JWT check, plugins, /v1/me, start-up report, CLI."""

from __future__ import annotations

import base64
import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fortytwo import keys, licensing
from fortytwo.app import create_app
from fortytwo.config import ConfigError
from fortytwo.licensing import License, LicenseError
from fortytwo.plugins import hookimpl
from fortytwo.plugins.manager import build_plugins
from tests.cli_helpers import cli
from tests.conftest import START, make_account, make_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def vendor_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_pem(private: Ed25519PrivateKey) -> str:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_raw_b64(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def issue(private: Ed25519PrivateKey, **claims) -> str:
    body = {
        "aud": "fortytwo",
        "organization": "Acme Ltd",
        "plan": "business",
        "max_users": 25,
        "exp": int((START + timedelta(days=365)).timestamp()),
        "features": ["sso", "audit_log"],
        "iat": int((START - timedelta(days=1)).timestamp()),
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, private, algorithm="EdDSA")


def licensed_settings(tmp_path: Path, private: Ed25519PrivateKey, key: str, **extra):
    license_cfg = {"key": key, "public_key": public_pem(private)}
    license_cfg.update(extra)
    return make_settings(tmp_path, license=license_cfg)


def state_for(settings, now: datetime = START) -> licensing.LicenseState:
    return licensing.evaluate(build_plugins(settings), settings, now)


def test_valid_license(tmp_path, vendor_key):
    state = state_for(licensed_settings(tmp_path, vendor_key, issue(vendor_key)))
    assert state.status == "valid" and state.edition == "licensed"
    assert state.license == License(
        organization="Acme Ltd", plan="business", max_users=25,
        expires_at=START + timedelta(days=365), features=("sso", "audit_log"),
    )
    assert state.plan_at(START) == "business"
    assert state.source == "license.key"
    body = state.as_json(users=3)
    assert body["plan"] == "business" and body["license"]["expires_at"] == "2027-05-18T08:00:00.000Z"
    assert body["over_user_limit"] is False


def test_no_license_is_the_community_edition(tmp_path):
    state = state_for(make_settings(tmp_path))
    assert state.status == "none" and state.edition == "community" and state.plan_at(START) is None
    assert "community edition" in state.summary()


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda k, other: issue(other), "signature does not match"),
        (lambda k, other: issue(k, aud="someone-else"), "not a valid license token"),
        (lambda k, other: issue(k, aud=None), "not a valid license token"),
        (lambda k, other: issue(k, plan=None), "not a valid license token"),
        (lambda k, other: issue(k, plan=""), "names no plan"),
        (lambda k, other: issue(k, max_users=0), "max_users"),
        (lambda k, other: issue(k, features="sso"), "features"),
        (lambda k, other: issue(k, nbf=int((START + timedelta(days=3)).timestamp())), "not a valid license token"),
        (lambda k, other: "not-a-jwt", "not a valid license token"),
        (lambda k, other: jwt.encode({"aud": "fortytwo", "organization": "A", "plan": "p"}, "s" * 32, algorithm="HS256"),
         "not a valid license token"),
    ],
)
def test_invalid_keys(tmp_path, vendor_key, mutate, reason, monkeypatch):
    # PyJWT judges nbf/iat by the real clock; pin it to the test's START
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime)
    other = Ed25519PrivateKey.generate()
    state = state_for(licensed_settings(tmp_path, vendor_key, mutate(vendor_key, other)))
    assert state.status == "invalid" and state.edition == "community"
    assert reason in state.error
    assert state.plan_at(START) is None
    assert state.summary().startswith("LICENSE INVALID (license.key)")


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return START if tz is None else START.astimezone(tz)


def test_expired_license_keeps_its_details(tmp_path, vendor_key):
    key = issue(vendor_key, exp=int((START - timedelta(days=1)).timestamp()))
    state = state_for(licensed_settings(tmp_path, vendor_key, key))
    assert state.status == "expired" and state.edition == "community"
    assert state.license is not None and state.license.plan == "business"
    assert state.plan_at(START) is None
    assert state.summary().startswith("LICENSE EXPIRED on 2026-05-17T08:00:00.000Z")


def test_public_key_forms_and_files(tmp_path, vendor_key):
    key = issue(vendor_key)
    raw = make_settings(tmp_path / "a", license={"key": key, "public_key": public_raw_b64(vendor_key)})
    assert state_for(raw).status == "valid"
    (tmp_path / "vendor.pem").write_text(public_pem(vendor_key))
    (tmp_path / "license.jwt").write_text(key + "\n")
    files = make_settings(tmp_path / "b", license={
        "key_file": str(tmp_path / "license.jwt"), "public_key_file": str(tmp_path / "vendor.pem"),
    })
    state = state_for(files)
    assert state.status == "valid" and state.source == str(tmp_path / "license.jwt")
    missing = make_settings(tmp_path / "c", license={"key_file": str(tmp_path / "nope.jwt")})
    state = state_for(missing)
    assert state.status == "invalid" and "cannot read" in state.error
    no_public = make_settings(tmp_path / "d", license={"key": key})
    state = state_for(no_public)
    assert state.status == "invalid" and "set license.public_key" in state.error
    garbage = make_settings(tmp_path / "e", license={"key": key, "public_key": "AAAA"})
    assert "32 bytes" in state_for(garbage).error
    rsa_like = make_settings(tmp_path / "f", license={"key": key, "public_key": "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----"})
    assert "not valid PEM" in state_for(rsa_like).error
    with pytest.raises(ConfigError, match="license.key and license.key_file"):
        make_settings(tmp_path / "g", license={"key": key, "key_file": "x"})


async def test_me_shows_the_plan_and_follows_expiry(tmp_path, vendor_key, aiohttp_client, clock):
    key = issue(vendor_key, exp=int((START + timedelta(hours=1)).timestamp()))
    app = create_app(licensed_settings(tmp_path, vendor_key, key), clock=clock)
    client = await aiohttp_client(app)
    account = await make_account(app)
    body = await (await client.get("/v1/me", headers=account.auth)).json()
    assert body["data"]["organization"]["plan"] == "business"
    body = await (await client.get("/v1/me", headers=account.auth)).json()  # cached profile
    assert body["data"]["organization"]["plan"] == "business"
    clock.advance(hours=2)
    body = await (await client.get("/v1/me", headers=account.auth)).json()
    assert body["data"]["organization"]["plan"] is None
    assert body["data"]["user"]["username"] == "ada"


@pytest.mark.parametrize("kind", ["expired", "invalid"])
async def test_a_bad_license_is_loud_and_locks_nothing(tmp_path, vendor_key, aiohttp_client, clock, caplog, kind):
    if kind == "expired":
        key = issue(vendor_key, exp=int((START - timedelta(days=30)).timestamp()))
    else:
        key = issue(Ed25519PrivateKey.generate())
    caplog.set_level(logging.INFO, logger="fortytwo.license")
    app = create_app(licensed_settings(tmp_path, vendor_key, key), clock=clock)
    client = await aiohttp_client(app)
    errors = [r for r in caplog.records if r.name == "fortytwo.license" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and f"LICENSE {kind.upper()}" in errors[0].getMessage()
    account = await make_account(app)
    for path in ("/v1/me", "/v1/_ping", "/v1/event-types", "/v1/bookings"):
        resp = await client.get(path, headers=account.auth)
        assert resp.status == 200, path
    body = await (await client.get("/v1/me", headers=account.auth)).json()
    assert body["data"]["organization"]["plan"] is None


async def test_user_limit_is_reported_not_enforced(tmp_path, vendor_key, aiohttp_client, clock, caplog):
    first = create_app(make_settings(tmp_path), clock=clock)
    await aiohttp_client(first)
    for name in ("u1", "u2", "u3"):
        await make_account(first, username=name, token_name=name)
    caplog.set_level(logging.INFO, logger="fortytwo.license")
    settings = licensed_settings(tmp_path, vendor_key, issue(vendor_key, max_users=2))
    app = create_app(settings, clock=clock)
    await aiohttp_client(app)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("USER LIMIT EXCEEDED: 3 users, the license allows 2" in m for m in messages)
    assert app[keys.LICENSE].status == "valid"
    await make_account(app, username="u4", token_name="u4")  # still allowed


def test_a_plugin_checker_is_asked_before_the_builtin(tmp_path, vendor_key, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(ROOT / "plugins" / "hmac_license.py", folder)
    monkeypatch.setenv("EXAMPLE_LICENSE_SECRET", "s3cret")
    import importlib.util

    spec = importlib.util.spec_from_file_location("hmac_example", ROOT / "plugins" / "hmac_license.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    claims = {"organization": "Beta", "plan": "enterprise", "exp": int((START + timedelta(days=9)).timestamp())}
    state = state_for(make_settings(tmp_path, license={"key": example.make_key("s3cret", claims)}))
    assert state.status == "valid" and state.license.plan == "enterprise"
    forged = example.make_key("wrong", claims)
    state = state_for(make_settings(tmp_path, license={"key": forged}))
    assert state.status == "invalid" and "hmac1 signature" in state.error
    # keys in other formats still reach the built-in JWT check
    jwt_key = issue(vendor_key)
    state = state_for(licensed_settings(tmp_path, vendor_key, jwt_key))
    assert state.status == "valid" and state.license.plan == "business"


def test_plugin_answers_are_checked_and_failures_contained(tmp_path):
    class Mapping:
        @hookimpl
        def validate_license(self, key):
            return {"organization": "M", "plan": "pro", "expires_at": START + timedelta(days=1)}

    class Naive:
        @hookimpl
        def validate_license(self, key):
            return License("N", "pro", expires_at=datetime(2030, 1, 1))

    class Crashing:
        @hookimpl
        def validate_license(self, key):
            raise ZeroDivisionError("oops")

    class Nobody:
        @hookimpl(tryfirst=True)
        def validate_license(self, key):
            return None

    settings = make_settings(tmp_path, license={"key": "anything"})
    cases = {Mapping: ("valid", None), Naive: ("invalid", "time zone"),
             Crashing: ("invalid", "ZeroDivisionError")}
    for plugin, (status, reason) in cases.items():
        state = licensing.evaluate(build_plugins(settings, extra=[("t", plugin())]), settings, START)
        assert state.status == status, plugin
        assert reason is None or reason in state.error
    # None from a plugin passes the key on; here the built-in refuses it (no public key)
    state = licensing.evaluate(build_plugins(settings, extra=[("t", Nobody())]), settings, START)
    assert state.status == "invalid" and "public_key" in state.error


def test_license_from_mapping_rules():
    with pytest.raises(LicenseError, match="organization"):
        License.from_mapping({"plan": "p"})
    with pytest.raises(LicenseError, match="expiry"):
        License.from_mapping({"organization": "o", "plan": "p", "exp": "tomorrow"})
    assert License.from_mapping({"organization": " o ", "plan": "p", "exp": 0}).expires_at == datetime(1970, 1, 1, tzinfo=UTC)


def test_cli_license_show(tmp_path, vendor_key):
    data = tmp_path / "data"
    cli(data, "init")
    out = json.loads(cli(data, "license", "show", "--json").stdout)
    assert out["status"] == "none" and out["edition"] == "community" and out["plan"] is None
    assert "edition:       community" in cli(data, "license", "show").stdout

    config = data / "config.toml"
    base = config.read_text()
    (data / "vendor.pem").write_text(public_pem(vendor_key))
    (data / "license.jwt").write_text(issue(vendor_key, exp=int((datetime.now(UTC) + timedelta(days=30)).timestamp())))
    config.write_text(base + '\n[license]\nkey_file = "license.jwt"\npublic_key_file = "vendor.pem"\n')
    out = json.loads(cli(data, "license", "show", "--json").stdout)
    assert out["status"] == "valid" and out["plan"] == "business" and out["users"] == 0
    assert out["license"]["features"] == ["sso", "audit_log"] and out["license"]["max_users"] == 25
    text = cli(data, "license", "show").stdout
    assert "plan:          business" in text and "max users:     25 (0 in use)" in text

    (data / "license.jwt").write_text(issue(vendor_key, exp=int((datetime.now(UTC) - timedelta(days=1)).timestamp())))
    shown = cli(data, "license", "show", "--json", check=False)
    assert shown.returncode == 1
    assert json.loads(shown.stdout)["status"] == "expired"
    assert shown.stderr.startswith("Error: LICENSE EXPIRED") and shown.stderr.count("\n") == 1

    (data / "license.jwt").write_text("garbage")
    shown = cli(data, "license", "show", check=False)
    assert shown.returncode == 1 and "status:        invalid" in shown.stdout
    assert "LICENSE INVALID" in shown.stderr
