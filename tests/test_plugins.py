"""The plugin system: loading, ordering, validation, documentation, the token prefix."""

from __future__ import annotations

import inspect
import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.config import ConfigError, load_settings
from fortytwo.plugins import hookimpl, hookspecs
from fortytwo.plugins import manager as manager_module
from fortytwo.plugins.manager import PluginError, build_plugins
from tests.cli_helpers import cli, cli_json
from tests.conftest import make_account, make_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "plugins"


def write_plugin(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def hook_specs() -> list:
    return [
        fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if getattr(fn, "fortytwo_spec", None) is not None
    ]


def test_every_hook_is_documented_with_its_exact_signature():
    doc = (ROOT / "docs" / "plugin-hooks.md").read_text()
    specs = hook_specs()
    assert {fn.__name__ for fn in specs} == {"token_prefix", "validate_license"}
    for fn in specs:
        sig = inspect.signature(fn)
        short = f"{fn.__name__}({', '.join(sig.parameters)})"
        assert re.search(rf"^## `{re.escape(short)}`$", doc, re.M), f"no heading for {short}"
        params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
        full = f"def {fn.__name__}({params}) -> {sig.return_annotation}"
        assert full in doc, f"docs/plugin-hooks.md lacks the exact signature {full!r}"
    # and nothing documented that does not exist
    documented = set(re.findall(r"^## `(\w+)\(", doc, re.M))
    assert documented == {fn.__name__ for fn in specs}


def test_hookspecs_hold_signatures_and_docstrings_only():
    for fn in hook_specs():
        assert fn.__doc__ and fn.__doc__.strip()
        source = inspect.getsource(fn)
        body = source.split('"""')[-1].strip()
        assert body == "", f"{fn.__name__} has a body"


def test_defaults_only(tmp_path):
    plugins = build_plugins(make_settings(tmp_path))
    infos = {info.name: info for info in plugins.describe()}
    assert set(infos) == {"fortytwo.prefix", "fortytwo.license"}
    assert infos["fortytwo.prefix"].source == "builtin"
    assert infos["fortytwo.prefix"].hooks == ("token_prefix",)
    assert infos["fortytwo.license"].hooks == ("validate_license",)
    assert plugins.token_prefix() == "42min"
    assert plugins.searched == ((tmp_path / "plugins").resolve(),)


async def test_example_prefix_plugin_brands_tokens(tmp_path, aiohttp_client, clock):
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(EXAMPLES / "custom_prefix.py", folder)
    app = create_app(make_settings(tmp_path), clock=clock)
    assert app[keys.TOKEN_PREFIX] == "acme"
    client = await aiohttp_client(app)
    account = await make_account(app)
    assert account.token.startswith("acme_pat_") and len(account.token) == 54
    resp = await client.get("/v1/_ping", headers=account.auth)
    assert resp.status == 200
    # a token with the default prefix is malformed on this server
    default_shaped = "42min" + account.token[len("acme"):]
    resp = await client.get("/v1/_ping", headers={"Authorization": f"Bearer {default_shaped}"})
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_token"
    info = next(i for i in app[keys.PLUGINS].describe() if i.name == "custom_prefix")
    assert info.source == str((folder / "custom_prefix.py").resolve())
    assert info.hooks == ("token_prefix",)


def test_each_app_builds_its_own_manager(tmp_path):
    plain = create_app(make_settings(tmp_path / "a"))
    folder = tmp_path / "b" / "plugins"
    write_plugin(folder, "brand", """
        from fortytwo.plugins import hookimpl

        @hookimpl
        def token_prefix():
            return "brand"
    """)
    branded = create_app(make_settings(tmp_path / "b"))
    again = create_app(make_settings(tmp_path / "a"))
    assert plain[keys.TOKEN_PREFIX] == again[keys.TOKEN_PREFIX] == "42min"
    assert branded[keys.TOKEN_PREFIX] == "brand"
    assert plain[keys.PLUGINS] is not again[keys.PLUGINS]


def test_later_folders_are_asked_first_and_none_passes(tmp_path):
    first = tmp_path / "one"
    second = tmp_path / "two"
    write_plugin(first, "p1", """
        from fortytwo.plugins import hookimpl

        @hookimpl
        def token_prefix():
            return "first"
    """)
    write_plugin(second, "p2", """
        from fortytwo.plugins import hookimpl

        @hookimpl
        def token_prefix():
            return None
    """)
    write_plugin(second, "_helper", "raise RuntimeError('never imported')\n")
    (second / "notes.txt").write_text("ignored")
    settings = make_settings(tmp_path, plugins={"dirs": [str(first), str(second), str(tmp_path / "absent")]})
    plugins = build_plugins(settings)
    assert plugins.token_prefix() == "first"  # p2 (later, asked first) passed
    assert [i.name for i in plugins.describe()] == ["fortytwo.prefix", "fortytwo.license", "p1", "p2"]


@pytest.mark.parametrize("answer", ["'A'", "'x'", "'has_underscore'", "'a' * 17", "42"])
def test_an_invalid_prefix_stops_the_server(tmp_path, answer):
    write_plugin(tmp_path / "plugins", "bad", f"""
        from fortytwo.plugins import hookimpl

        @hookimpl
        def token_prefix():
            return {answer}
    """)
    with pytest.raises(PluginError, match=r"token_prefix\(\) answered .* \(plugins asked, in order: bad, fortytwo.prefix\)"):
        create_app(make_settings(tmp_path))


@pytest.mark.parametrize(
    "body, message",
    [
        ("import nonexistent_module_xyz\n", "bad.py failed to load: ModuleNotFoundError"),
        ("def broken(:\n", "bad.py failed to load: SyntaxError"),
        (
            "from fortytwo.plugins import hookimpl\n\n@hookimpl\ndef token_prefx():\n    return 'x1'\n",
            "unknown hook 'token_prefx'",
        ),
        (
            "from fortytwo.plugins import hookimpl\n\n@hookimpl\ndef validate_license(licence):\n    return None\n",
            "plugin bad",
        ),
    ],
)
def test_broken_plugins_are_refused_with_their_name(tmp_path, body, message):
    write_plugin(tmp_path / "plugins", "bad", body)
    with pytest.raises(PluginError, match=re.escape(message)):
        build_plugins(make_settings(tmp_path))
    assert issubclass(PluginError, ConfigError)  # so the command line reports it in one line


def test_same_name_in_two_folders_is_refused(tmp_path):
    for sub in ("x", "y"):
        write_plugin(tmp_path / sub, "same", "x = 1\n")
    settings = make_settings(tmp_path, plugins={"dirs": [str(tmp_path / "x"), str(tmp_path / "y")]})
    with pytest.raises(PluginError, match="two plugins are named 'same'"):
        build_plugins(settings)


def test_plugins_registered_in_code_for_tests(tmp_path):
    class Prefix:
        @hookimpl
        def token_prefix(self):
            return "zz"

    plugins = build_plugins(make_settings(tmp_path), extra=[("test.prefix", Prefix())])
    app = create_app(make_settings(tmp_path), plugins=plugins)
    assert app[keys.TOKEN_PREFIX] == "zz"
    assert app[keys.PLUGINS] is plugins


def test_config_dirs_are_relative_to_the_config_file(tmp_path):
    config = tmp_path / "etc" / "config.toml"
    config.parent.mkdir()
    config.write_text('data_dir = "../var"\n[plugins]\ndirs = ["extra", "/abs/plugins"]\n')
    settings = load_settings(config, environ={})
    assert settings.plugin_dirs == ((tmp_path / "etc" / "extra").resolve(), Path("/abs/plugins"))
    default = load_settings(None, environ={}, overrides={"data_dir": str(tmp_path / "d")})
    assert default.plugin_dirs == (tmp_path / "d" / "plugins",)
    env = load_settings(None, environ={"FORTYTWO_PLUGINS_DIRS": "p1,p2", "FORTYTWO_PLUGINS_ENTRY_POINTS": "false"})
    assert env.plugins.dirs == ("p1", "p2") and env.plugins.entry_points is False


def _fake_distribution(root: Path) -> None:
    """An installed package `acme-fortytwo` declaring an entry point in the fortytwo group."""
    (root / "acme_fortytwo_plugin.py").write_text(textwrap.dedent("""
        from fortytwo.plugins import hookimpl

        @hookimpl
        def token_prefix():
            return "entry"
    """))
    info = root / "acme_fortytwo-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-fortytwo\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[fortytwo]\nacme = acme_fortytwo_plugin\n")


def test_entry_points_load_only_when_not_frozen_and_enabled(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    _fake_distribution(site)
    monkeypatch.syspath_prepend(str(site))
    plugins = build_plugins(make_settings(tmp_path))
    assert plugins.token_prefix() == "entry"
    info = next(i for i in plugins.describe() if i.name == "acme")
    assert info.source == "entry point acme-fortytwo 1.2.3"

    off = build_plugins(make_settings(tmp_path, plugins={"entry_points": False}))
    assert off.token_prefix() == "42min"

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert manager_module.is_frozen()
    frozen = build_plugins(make_settings(tmp_path))
    assert frozen.token_prefix() == "42min"
    sys.modules.pop("acme_fortytwo_plugin", None)


def test_cli_plugins_list_and_prefixed_tokens(tmp_path):
    data = tmp_path / "data"
    cli(data, "init")
    shutil.copytree(EXAMPLES, data / "plugins", ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    listed = cli_json(data, "plugins", "list")
    by_name = {p["name"]: p for p in listed}
    assert by_name["fortytwo.prefix"] == {"name": "fortytwo.prefix", "source": "builtin", "hooks": ["token_prefix"]}
    assert by_name["custom_prefix"]["source"] == str((data / "plugins" / "custom_prefix.py").resolve())
    assert by_name["hmac_license"]["hooks"] == ["validate_license"]
    text = cli(data, "plugins", "list").stdout
    assert "token prefix: acme" in text and f"plugin folder: {(data / 'plugins').resolve()}" in text
    cli(data, "orgs", "create", "Acme")
    cli(data, "users", "add", "--org", "Acme", "--username", "ada", "--email", "ada@example.com")
    created = cli_json(data, "tokens", "create", "--user", "ada", "--name", "t", "--scopes", "user:read")
    assert created["token"].startswith("acme_pat_")
    rotated = cli_json(data, "tokens", "rotate", created["id"])
    assert rotated["token"].startswith("acme_pat_")
    (data / "plugins" / "custom_prefix.py").write_text("raise RuntimeError('boom')\n")
    broken = cli(data, "tokens", "create", "--user", "ada", "--name", "u", "--scopes", "user:read", check=False)
    assert broken.returncode == 1
    assert broken.stderr.startswith("Error: plugin file") and "boom" in broken.stderr
    assert broken.stderr.count("\n") == 1
