"""Build the plugin manager of one application (or one command): never a global.

Load order: the built-in defaults, then the ``*.py`` files of each configured plugin folder
(sorted by name), then — only when running from a normal install, not the one-file
executable — packages in the ``fortytwo`` entry-point group. pluggy calls implementations
in reverse registration order, so later plugins are asked first and the built-ins last.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from fortytwo.config import ConfigError, Settings
from fortytwo.licensing import License, LicenseError
from fortytwo.plugins import PROJECT, hookspecs
from fortytwo.plugins.defaults import builtin_plugins
from fortytwo.security.tokens import validate_prefix

ENTRY_POINT_GROUP = "fortytwo"
BUILTIN = "builtin"


class PluginError(ConfigError):
    """A plugin cannot be loaded or gave an unusable answer; the message names it."""


def is_frozen() -> bool:
    """True inside the PyInstaller executable."""
    return bool(getattr(sys, "frozen", False))


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str  # "builtin", the file's path, or "entry point <distribution> <version>"
    hooks: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "hooks": list(self.hooks)}


class Plugins:
    """One pluggy manager and where each of its plugins came from."""

    def __init__(self, pm: pluggy.PluginManager, searched: tuple[Path, ...] = ()) -> None:
        self.pm = pm
        self.searched = searched
        self._sources: dict[str, str] = {}

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def register(self, plugin: object, name: str, source: str) -> None:
        """Register ``plugin``; pluggy checks its hooks against the specifications."""
        if self.pm.has_plugin(name):
            raise PluginError(
                f"two plugins are named {name!r} ({self._sources.get(name)} and {source}); "
                "rename one"
            )
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name} ({source}): {exc}") from None
        self._sources[name] = source

    def check(self) -> None:
        """Refuse implementations of hooks that do not exist (usually a typo)."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.pm.get_name(exc.plugin) if exc.plugin is not None else "?"
            raise PluginError(
                f"plugin {name} ({self._sources.get(name or '', '?')}): {exc}; "
                "see docs/plugin-hooks.md for the hooks that exist"
            ) from None

    def describe(self) -> list[PluginInfo]:
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # blocked
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            out.append(PluginInfo(name, self._sources.get(name, "?"), hooks))
        return out

    def _implementers(self, hook: str) -> str:
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        return ", ".join(i.plugin_name for i in reversed(impls))

    # -- hooks with fortytwo's checks around them ------------------------------------------
    def token_prefix(self) -> str:
        """The validated token prefix."""
        answer = self.pm.hook.token_prefix()
        try:
            return validate_prefix(answer)
        except ValueError:
            raise PluginError(
                f"token_prefix() answered {answer!r}, which is not 2 to 16 of a-z and 0-9 "
                f"(plugins asked, in order: {self._implementers('token_prefix')})"
            ) from None

    def validate_license(self, key: str) -> License | None:
        """The plugins' answer for ``key`` as a :class:`License` (None: nobody recognised it)."""
        answer = self.pm.hook.validate_license(key=key)
        if answer is None:
            return None
        if isinstance(answer, License):  # re-checked: a plugin may build one carelessly
            return License.from_mapping(dataclasses.asdict(answer))
        if isinstance(answer, Mapping):
            return License.from_mapping(answer)
        raise LicenseError(
            f"validate_license() answered a {type(answer).__name__}; expected a License"
        )


def _module_name(path: Path) -> str:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    return f"fortytwo_plugin_{stem}_{digest}"


def load_file(path: Path) -> ModuleType:
    """Import one plugin file by path, as a fresh module."""
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot load plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise PluginError(f"plugin file {path} failed to load: {exc!r}") from None
    return module


def plugin_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.glob("*.py") if p.is_file() and not p.name.startswith(("_", "."))
    )


def build_plugins(settings: Settings, *, extra: Iterable[tuple[str, object]] = ()) -> Plugins:
    """A fresh, checked plugin manager for ``settings`` (plus ``extra`` plugins, for tests)."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    searched = tuple(d.resolve() for d in settings.plugin_dirs)
    plugins = Plugins(pm, searched)
    for name, plugin in builtin_plugins(settings):
        plugins.register(plugin, name, BUILTIN)
    for directory in searched:
        for path in plugin_files(directory):
            plugins.register(load_file(path), path.stem, str(path))
    if settings.plugins.entry_points and not is_frozen():
        _load_entry_points(plugins)
    for name, plugin in extra:
        plugins.register(plugin, name, "registered in code")
    plugins.check()
    return plugins


def _load_entry_points(plugins: Plugins) -> None:
    pm = plugins.pm
    before = {name for name, _ in pm.list_name_plugin()}
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"an installed plugin package is invalid: {exc}") from None
    except Exception as exc:
        raise PluginError(f"an installed plugin package failed to load: {exc!r}") from None
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    for name, plugin in pm.list_name_plugin():
        if name in before:
            continue
        dist = dists.get(id(plugin))
        where = f"{dist.project_name} {dist.version}" if dist is not None else "unknown package"
        plugins._sources[name] = f"entry point {where}"
