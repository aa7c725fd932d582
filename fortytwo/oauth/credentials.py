"""The strings OAuth hands out: client ids and secrets, codes, sign-in cookies, CSRF tokens.

Everything secret is random from ``secrets`` and kept only as an HMAC-SHA256 keyed by the
server pepper (``fortytwo.security.tokens.hash_secret``), compared in constant time.
Access and refresh tokens use the shared ``<prefix>_<at|rt>_<lookup12>_<secret32>`` shape.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from fortytwo.security.tokens import CROCKFORD, hash_secret, random_code, secret_matches

CLIENT_ID_CHARS = 26
SECRET_CHARS = 32
LOOKUP_CHARS = 12
_CROCKFORD = frozenset(CROCKFORD)


def new_client_id(prefix: str) -> str:
    return f"{prefix}_{random_code(CLIENT_ID_CHARS)}"


@dataclass(frozen=True, slots=True)
class MintedSecret:
    value: str
    secret_hash: bytes
    last_four: str


def new_client_secret(prefix: str, pepper: bytes) -> MintedSecret:
    value = f"{prefix}_cs_{random_code(SECRET_CHARS)}"
    return MintedSecret(value, hash_secret(pepper, value), value[-4:])


def client_secret_matches(pepper: bytes, presented: str, stored: bytes | None) -> bool:
    if not presented.isascii() or len(presented) > 200:
        # still spend one HMAC and one comparison so that the answer takes the same time
        secret_matches(pepper, "x", None)
        return False
    return secret_matches(pepper, presented, stored)


@dataclass(frozen=True, slots=True)
class SplitSecret:
    """A ``<lookup><separator><secret>`` credential: the lookup finds the row."""

    text: str
    lookup: str
    secret: str

    def hashed(self, pepper: bytes) -> bytes:
        return hash_secret(pepper, self.secret)

    def matches(self, pepper: bytes, stored: bytes) -> bool:
        return secret_matches(pepper, self.secret, stored)


def _crockford(text: str) -> bool:
    return all(ch in _CROCKFORD for ch in text)


def new_code() -> SplitSecret:
    """An authorization code: 44 Crockford characters, the first 12 being the lookup."""
    lookup, secret = random_code(LOOKUP_CHARS), random_code(SECRET_CHARS)
    return SplitSecret(lookup + secret, lookup, secret)


def parse_code(text: str) -> SplitSecret | None:
    if len(text) != LOOKUP_CHARS + SECRET_CHARS or not _crockford(text):
        return None
    return SplitSecret(text, text[:LOOKUP_CHARS], text[LOOKUP_CHARS:])


def new_session_key() -> SplitSecret:
    """The value of the sign-in cookie: ``<lookup12>.<secret32>``."""
    lookup, secret = random_code(LOOKUP_CHARS), random_code(SECRET_CHARS)
    return SplitSecret(f"{lookup}.{secret}", lookup, secret)


def parse_session_key(text: str | None) -> SplitSecret | None:
    if not text or len(text) != LOOKUP_CHARS + 1 + SECRET_CHARS:
        return None
    lookup, dot, secret = text.partition(".")
    if dot != "." or len(lookup) != LOOKUP_CHARS or not _crockford(lookup + secret):
        return None
    return SplitSecret(text, lookup, secret)


def csrf_token(secret_key: bytes, cookie_value: str) -> str:
    """The CSRF token for the browser holding ``cookie_value`` (double-submit, keyed)."""
    mac = hmac.new(secret_key, b"oauth-csrf\x00" + cookie_value.encode("utf-8"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def csrf_matches(secret_key: bytes, cookie_value: str | None, presented: str | None) -> bool:
    if not cookie_value or not presented or not presented.isascii():
        return False
    return hmac.compare_digest(csrf_token(secret_key, cookie_value), presented)
