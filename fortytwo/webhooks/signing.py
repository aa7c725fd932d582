"""The headers of one delivery attempt, with both signature schemes.

- 42min scheme: ``X-42min-Webhook-Signature: t=<unix>,v1=<hex>``, the hex HMAC-SHA256 of
  ``"<t>.<raw body>"`` keyed by the whole secret text (``whsec_…``, as the receiver holds it).
- Standard Webhooks: ``webhook-id`` (the delivery id), ``webhook-timestamp`` and
  ``webhook-signature: v1,<base64>``, the HMAC-SHA256 of ``"<id>.<t>.<raw body>"`` keyed by the
  32 bytes the secret's text after ``whsec_`` encodes.

A fresh timestamp is taken for every attempt, so every attempt is signed anew; the delivery id
stays the same across the attempts of one delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fortytwo import __version__
from fortytwo.webhooks.secrets import key_bytes

USER_AGENT = f"fortytwo-webhooks/{__version__}"


def signature_42min(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("ascii"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_standard(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    mac = hmac.new(key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def delivery_headers(
    *,
    secret: str,
    delivery_id: str,
    event: str,
    attempt: int,
    timestamp: int,
    body: bytes,
    test: bool = False,
) -> dict[str, str]:
    """Every header an attempt carries; ``event`` is the dotted name."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-42min-Webhook-Signature": signature_42min(secret, timestamp, body),
        "X-42min-Webhook-Event": event,
        "X-42min-Webhook-Id": delivery_id,
        "X-42min-Webhook-Attempt": str(attempt),
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_standard(secret, delivery_id, timestamp, body),
    }
    if test:
        headers["X-42min-Webhook-Test"] = "true"
    return headers
