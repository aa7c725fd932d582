"""Built-in ``token_prefix``: the 42min default."""

from __future__ import annotations

from fortytwo.plugins import hookimpl
from fortytwo.security.tokens import DEFAULT_PREFIX


@hookimpl(trylast=True)
def token_prefix() -> str:
    return DEFAULT_PREFIX
