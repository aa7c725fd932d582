"""Built-in ``validate_license``: an Ed25519-signed JWT checked against the configured key.

Claims: ``aud`` = ``fortytwo``, ``organization``, ``plan`` (required); ``max_users``,
``exp``, ``features`` (optional); ``iat``/``nbf`` as usual. Expiry is judged by fortytwo, so
an expired key still shows what it granted.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fortytwo.config import Settings
from fortytwo.licensing import AUDIENCE, License, LicenseError
from fortytwo.plugins import hookimpl

ALGORITHMS = ["EdDSA"]
CLOCK_SKEW_SECONDS = 300


def load_public_key(text: str) -> Ed25519PublicKey:
    """PEM text, or the raw 32-byte key in base64 (standard or URL-safe alphabet)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise LicenseError(f"the public key is not valid PEM: {exc}") from None
    else:
        try:
            text = text.replace("-", "+").replace("_", "/")
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise LicenseError("the public key is neither PEM nor base64") from None
        if len(raw) != 32:
            raise LicenseError("a raw Ed25519 public key is 32 bytes")
        key = Ed25519PublicKey.from_public_bytes(raw)
    if not isinstance(key, Ed25519PublicKey):
        raise LicenseError("the public key is not an Ed25519 key")
    return key


class Ed25519LicenseCheck:
    """The built-in license check, bound to one server's public-key setting."""

    def __init__(self, public_key: str, origin: str) -> None:
        self.public_key_text = public_key
        self.origin = origin

    @classmethod
    def from_settings(cls, settings: Settings) -> Ed25519LicenseCheck:
        if settings.license.public_key.strip():
            return cls(settings.license.public_key, "license.public_key")
        if settings.license.public_key_file:
            path = Path(settings.license.public_key_file)
            try:
                return cls(path.read_text(encoding="ascii"), str(path))
            except (OSError, UnicodeDecodeError) as exc:
                return cls("", f"{path} (unreadable: {exc})")
        return cls("", "")

    def _key(self) -> Ed25519PublicKey:
        if not self.public_key_text.strip():
            if self.origin:
                raise LicenseError(f"the public key in {self.origin} cannot be used")
            raise LicenseError(
                "no public key to check it against; set license.public_key or "
                "license.public_key_file"
            )
        try:
            return load_public_key(self.public_key_text)
        except LicenseError as exc:
            raise LicenseError(f"{self.origin}: {exc}") from None

    @hookimpl(trylast=True)
    def validate_license(self, key: str) -> License:
        public_key = self._key()
        try:
            claims = jwt.decode(
                key,
                public_key,
                algorithms=ALGORITHMS,
                audience=AUDIENCE,
                leeway=CLOCK_SKEW_SECONDS,
                options={"verify_exp": False, "require": ["aud", "organization", "plan"]},
            )
        except jwt.InvalidSignatureError:
            raise LicenseError("the signature does not match the configured public key") from None
        except jwt.PyJWTError as exc:
            raise LicenseError(f"not a valid license token: {exc}") from None
        return License.from_mapping(claims)
