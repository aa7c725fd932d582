"""Example plugin: brand the tokens of this server.

Copy this file into a plugin folder (by default ``<data_dir>/plugins``) and every token
minted afterwards starts with ``acme_`` instead of ``42min_``:
``acme_pat_<12>_<32>``. Tokens issued under the old prefix stop working, so choose the
prefix before handing out tokens.
"""

from __future__ import annotations

from fortytwo.plugins import hookimpl

PREFIX = "acme"


@hookimpl
def token_prefix() -> str:
    # 2 to 16 characters of a-z and 0-9; anything else stops the server from starting.
    return PREFIX
