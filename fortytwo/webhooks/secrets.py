"""Signing secrets: how they look, and how they are kept at rest.

A secret is ``whsec_`` followed by 32 random bytes in base64url *with* its ``=`` padding.
Draws whose text would contain ``-`` or ``_`` are discarded and drawn again, so the text after
the prefix is valid in the standard base64 alphabet too: a Standard Webhooks library, which
decodes that part with plain base64, accepts the secret exactly as we hand it out. That costs
under two bits of the 256.

At rest a secret is sealed with AES-256-GCM under a key derived from the server's secret key
(HMAC-SHA256 with a label of its own), with a fresh 12-byte nonce per sealing and the
webhook's id as associated data, so a sealed value copied onto another row does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "whsec_"
SECRET_BYTES = 32
_KEY_LABEL = b"fortytwo/webhook-signing-secret/v1"
_VERSION = b"\x01"
_NONCE_LEN = 12


class SecretUnavailable(Exception):
    """A sealed secret does not open (the server secret key changed, or the row was edited)."""


def new_secret() -> str:
    """A fresh ``whsec_`` secret (see the module docstring for its alphabet)."""
    while True:
        text = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
        if "-" not in text and "_" not in text:
            return PREFIX + text


def key_bytes(secret: str) -> bytes:
    """The 32 bytes a secret's text encodes: the key of the Standard Webhooks signature."""
    return base64.urlsafe_b64decode(secret[len(PREFIX):])


def _aead(server_key: bytes) -> AESGCM:
    return AESGCM(hmac.new(server_key, _KEY_LABEL, hashlib.sha256).digest())


def seal(server_key: bytes, webhook_id: str, secret: str) -> bytes:
    """``secret`` encrypted for storage on the row of ``webhook_id``."""
    nonce = os.urandom(_NONCE_LEN)
    sealed = _aead(server_key).encrypt(nonce, secret.encode("ascii"), webhook_id.encode("ascii"))
    return _VERSION + nonce + sealed


def unseal(server_key: bytes, webhook_id: str, blob: bytes) -> str:
    """The secret stored by :func:`seal`; :class:`SecretUnavailable` if it does not open."""
    blob = bytes(blob)
    if blob[:1] != _VERSION or len(blob) <= 1 + _NONCE_LEN:
        raise SecretUnavailable("the stored signing secret is not in a known format")
    nonce, sealed = blob[1 : 1 + _NONCE_LEN], blob[1 + _NONCE_LEN :]
    try:
        plain = _aead(server_key).decrypt(nonce, sealed, webhook_id.encode("ascii"))
    except InvalidTag:
        raise SecretUnavailable(
            "the stored signing secret does not decrypt with this server's secret key"
        ) from None
    return plain.decode("ascii")
