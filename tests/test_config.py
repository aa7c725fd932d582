"""Settings: file, environment, flags, validation, and the documented example."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fortytwo.config import ConfigError, load_settings, settings_keys

ROOT = Path(__file__).resolve().parent.parent


def _keys_in(raw: dict, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in raw.items():
        if isinstance(value, dict):
            out |= _keys_in(value, f"{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def test_example_documents_every_setting():
    raw = tomllib.loads((ROOT / "config.example.toml").read_text())
    documented = _keys_in(raw)
    assert settings_keys() - documented == set(), "settings missing from config.example.toml"
    assert documented - settings_keys() == set(), "config.example.toml names unknown settings"
    load_settings(ROOT / "config.example.toml", environ={})


def test_example_values_are_the_defaults():
    from fortytwo.config import Settings

    example = load_settings(ROOT / "config.example.toml", environ={})
    default = Settings()
    for key in settings_keys():
        if key in {"data_dir"}:
            continue
        section, _, name = key.partition(".")
        a = getattr(getattr(example, section), name) if name else getattr(example, section)
        b = getattr(getattr(default, section), name) if name else getattr(default, section)
        assert a == b, key


def test_precedence_file_env_flags(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('data_dir = "d"\n[server]\nport = 9000\nrealm = "file"\n[rate_limits]\npat = 5\n')
    settings = load_settings(config, environ={})
    assert settings.server.port == 9000 and settings.rate_limits.pat == 5
    assert Path(settings.data_dir) == (tmp_path / "d").resolve()
    env = {"FORTYTWO_SERVER_PORT": "9100", "FORTYTWO_RATE_LIMITS_PAT": "7",
           "FORTYTWO_SERVER_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2", "FORTYTWO_PUBLIC_URL": "https://x.example"}
    settings = load_settings(config, environ=env)
    assert settings.server.port == 9100 and settings.rate_limits.pat == 7
    assert settings.server.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert settings.public_url == "https://x.example"
    settings = load_settings(config, environ=env, overrides={"server": {"port": 9200}})
    assert settings.server.port == 9200 and settings.server.realm == "file"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[server]\nprot = 1\n", "unknown setting server.prot"),
        ("bogus = 1\n", "unknown setting bogus"),
        ("[server]\nport = 'x'\n", "server.port: expected an integer"),
        ("[server]\nport = 70000\n", "server.port"),
        ("[server]\ntls_cert = 'a.pem'\n", "tls_key"),
        ("[server]\ntrusted_proxies = ['nope']\n", "trusted_proxies"),
        ("[rate_limits]\npat = 0\n", "rate_limits.pat"),
        ("server = 1\n", "expected a [server] table"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_files_are_refused_with_the_key(tmp_path, text, message):
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings(config, environ={})


def test_bad_environment_value(tmp_path):
    with pytest.raises(ConfigError, match="server.port"):
        load_settings(None, environ={"FORTYTWO_SERVER_PORT": "eighty"})


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_settings_are_frozen():
    settings = load_settings(None, environ={})
    with pytest.raises(AttributeError):
        settings.server.port = 1  # type: ignore[misc]
