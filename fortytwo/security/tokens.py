"""Token strings: ``<prefix>_<kind>_<lookup12>_<secret32>`` in Crockford base32.

The lookup part finds the row; the secret part is stored only as an HMAC-SHA256 keyed by
the server pepper and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX_RE = re.compile(r"^[a-z0-9]{2,16}$")
DEFAULT_PREFIX = "42min"
KINDS = ("pat", "at", "rt")
_TOKEN_RE = re.compile(
    r"^(?P<prefix>[a-z0-9]{2,16})_(?P<kind>pat|at|rt)_"
    r"(?P<lookup>[0-9A-HJKMNP-TV-Z]{12})_(?P<secret>[0-9A-HJKMNP-TV-Z]{32})$"
)


def random_code(length: int) -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(length))


def validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
        raise ValueError(f"token prefix {prefix!r} must match [a-z0-9]{{2,16}}")
    return prefix


@dataclass(frozen=True, slots=True)
class ParsedToken:
    prefix: str
    kind: str
    lookup: str
    secret: str


def parse_token(text: str) -> ParsedToken | None:
    """Split a token into its parts, or None when it does not have the token shape."""
    if len(text) > 80:
        return None
    match = _TOKEN_RE.match(text)
    if match is None:
        return None
    return ParsedToken(**match.groupdict())


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: str
    lookup: str
    secret_hash: bytes
    last_four: str


def mint(prefix: str, kind: str, pepper: bytes) -> MintedToken:
    lookup = random_code(12)
    secret = random_code(32)
    return MintedToken(
        token=f"{prefix}_{kind}_{lookup}_{secret}",
        lookup=lookup,
        secret_hash=hash_secret(pepper, secret),
        last_four=secret[-4:],
    )


def hash_secret(pepper: bytes, secret: str) -> bytes:
    return hmac.new(pepper, secret.encode("ascii"), hashlib.sha256).digest()


# compared against when nothing is stored, so an unknown credential costs what a wrong one does
_STAND_IN_HASH = bytes(32)


def digest_matches(digest: bytes, stored_hash: bytes | None) -> bool:
    """One constant-time comparison of a presented secret's HMAC with the stored hash, or
    with a stand-in when nothing is stored (then always False)."""
    same = hmac.compare_digest(digest, stored_hash if stored_hash is not None else _STAND_IN_HASH)
    return same and stored_hash is not None


def secret_matches(pepper: bytes, secret: str, stored_hash: bytes | None) -> bool:
    return digest_matches(hash_secret(pepper, secret), stored_hash)
