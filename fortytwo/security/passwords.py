"""Password hashing with scrypt (from ``cryptography``), self-describing storage format."""

from __future__ import annotations

import base64
import hmac
import os

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_N, _R, _P, _LEN = 2**14, 8, 1, 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    key = Scrypt(salt=salt, length=_LEN, n=_N, r=_R, p=_P).derive(password.encode("utf-8"))
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        # spend comparable time so unknown users are not told apart by timing
        Scrypt(salt=b"0" * 16, length=_LEN, n=_N, r=_R, p=_P).derive(password.encode("utf-8"))
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = Scrypt(
            salt=base64.b64decode(salt), length=len(base64.b64decode(key)),
            n=int(n), r=int(r), p=int(p),
        ).derive(password.encode("utf-8"))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, base64.b64decode(key))
