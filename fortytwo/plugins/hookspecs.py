"""Hook specifications: the complete contract between fortytwo and its plugins.

Signatures and docstrings only; the built-in answers live in :mod:`fortytwo.plugins.defaults`.
Every hook here is documented in ``docs/plugin-hooks.md`` (a test keeps the two in step).
Hooks are called synchronously, at start-up and by the command line, never per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from fortytwo.plugins import PROJECT

if TYPE_CHECKING:
    from fortytwo.licensing import License

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(firstresult=True)
def token_prefix() -> str | None:
    """Return the prefix of personal access tokens, OAuth access and refresh tokens and OAuth
    client ids (``<prefix>_pat_…``), or None to leave the choice to the next plugin.

    The first non-None answer wins; it must match ``[a-z0-9]{2,16}``. The built-in answer,
    asked last, is ``42min``. Changing the prefix makes every token issued under the old one
    unusable.
    """


@hookspec(firstresult=True)
def validate_license(key: str) -> License | Mapping[str, Any] | None:
    """Check the configured license ``key`` and return what it grants, or None when the key is
    not in a format this plugin handles (the next plugin is then asked).

    Return a :class:`fortytwo.licensing.License` or a mapping with its fields
    (``organization``, ``plan``, ``max_users``, ``expires_at``, ``features``). Raise
    :class:`fortytwo.licensing.LicenseError` for a key that is yours but not genuine. Do not
    judge expiry: return ``expires_at`` and fortytwo compares it with the clock. The first
    non-None answer wins; the built-in check, asked last, verifies an Ed25519-signed JWT.
    """
