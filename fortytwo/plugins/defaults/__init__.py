"""Built-in plugins, registered first (and asked last) by every plugin manager.

They are imported here by name, not found by a string list, so that PyInstaller's analysis
bundles them.
"""

from __future__ import annotations

from fortytwo.config import Settings
from fortytwo.plugins.defaults import license as license_default
from fortytwo.plugins.defaults import prefix as prefix_default


def builtin_plugins(settings: Settings) -> list[tuple[str, object]]:
    """(name, plugin) pairs for the built-in hook implementations."""
    return [
        ("fortytwo.prefix", prefix_default),
        ("fortytwo.license", license_default.Ed25519LicenseCheck.from_settings(settings)),
    ]
