"""The plugin system: hook specifications, the per-app plugin manager, built-in defaults.

A plugin is a module (or any object) with functions marked by :data:`hookimpl` whose names
match the specifications in :mod:`fortytwo.plugins.hookspecs`::

    from fortytwo.plugins import hookimpl

    @hookimpl
    def token_prefix():
        return "acme"
"""

from __future__ import annotations

import pluggy

PROJECT = "fortytwo"
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl"]
