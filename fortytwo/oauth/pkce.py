"""PKCE (RFC 7636), S256 only: ``plain`` is refused everywhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url, no padding, of 32 bytes
VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def valid_challenge(challenge: str) -> bool:
    return bool(CHALLENGE_RE.match(challenge))


def valid_verifier(verifier: str) -> bool:
    return bool(VERIFIER_RE.match(verifier))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(verifier: str, challenge: str) -> bool:
    """True when ``verifier`` is well-formed and hashes to ``challenge`` (constant time)."""
    if not valid_verifier(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
