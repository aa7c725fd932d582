"""Example plugin: a license checker for keys signed with a shared secret.

The built-in check wants an Ed25519-signed JWT. This plugin shows how to accept another
format next to it: keys that look like ``hmac1.<claims>.<signature>``, where ``<claims>`` is
base64url JSON (``organization``, ``plan``, optional ``max_users``, ``exp`` in Unix seconds,
``features``) and ``<signature>`` is base64url HMAC-SHA256 of ``<claims>`` under the secret in
the ``EXAMPLE_LICENSE_SECRET`` environment variable. Keys in any other format are left to
the next checker (the built-in one) by returning None.

``make_key`` builds such a key; the tests use it, and so can a vendor's issuing script.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from fortytwo.licensing import License, LicenseError
from fortytwo.plugins import hookimpl

KEY_PREFIX = "hmac1."
SECRET_ENV = "EXAMPLE_LICENSE_SECRET"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest())


def make_key(secret: str, claims: dict[str, Any]) -> str:
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{KEY_PREFIX}{payload}.{_sign(secret, payload)}"


@hookimpl
def validate_license(key: str) -> License | None:
    if not key.startswith(KEY_PREFIX):
        return None  # not ours: let the next checker look at it
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        raise LicenseError(f"set {SECRET_ENV} to check hmac1 license keys")
    payload, _, signature = key[len(KEY_PREFIX):].partition(".")
    if not hmac.compare_digest(_sign(secret, payload), signature):
        raise LicenseError("the hmac1 signature does not match")
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        raise LicenseError("the hmac1 key does not hold JSON claims") from None
    if not isinstance(claims, dict):
        raise LicenseError("the hmac1 claims are not an object")
    return License.from_mapping(claims)
