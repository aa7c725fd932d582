"""Opaque, authenticated pagination cursors (contract 2.4).

A cursor names the list it belongs to (``kind``: ``event_types``, ``bookings``, ...), the
sort it was issued for, and the sort keys of the last row of the page. Layout, before
base64url (no padding)::

    version byte (1) | HMAC-SHA256 tag (32) | compact JSON {"k": kind, "s": sort, "v": keys}

The tag covers the version byte and the JSON, keyed by a key derived from the server's
secret key, so a client can read a cursor but not forge or edit one. Anything that does not
verify — edited, truncated, re-encoded, signed by another server, issued for another list or
another sort — is a 400 ``invalid_query_param`` naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from fortytwo.http.errors import ApiError

_VERSION = b"\x01"
_TAG_LEN = 32
_MAX_TEXT = 2048  # a cursor longer than this was not minted here
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_KEY_LABEL = b"fortytwo/pagination-cursor/v1"

_START_OVER = "omit cursor to start again from the first page"


def _mac_key(secret: bytes) -> bytes:
    # A key of its own, so a cursor tag can never double as any other use of the secret.
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()


def _tag(secret: bytes, body: bytes) -> bytes:
    return hmac.new(_mac_key(secret), _VERSION + body, hashlib.sha256).digest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_query_param", message, {"param": "cursor"})


def encode_cursor(secret: bytes, kind: str, sort: str, keys: list[Any]) -> str:
    """A cursor for the page after the row whose sort keys are ``keys``.

    ``keys`` must be JSON scalars (strings, integers, ``None``), in sort order, ending with a
    unique tie-breaker.
    """
    body = json.dumps(
        {"k": kind, "s": sort, "v": list(keys)}, separators=(",", ":"), ensure_ascii=True
    ).encode("ascii")
    return _b64encode(_VERSION + _tag(secret, body) + body)


def decode_cursor(secret: bytes, text: str, *, kind: str, sort: str) -> list[Any]:
    """The keys of a cursor minted by :func:`encode_cursor` for this ``kind`` and ``sort``.

    Raises a 400 ``invalid_query_param`` (``details.param = "cursor"``) for anything else.
    """
    generic = _invalid(
        "The cursor is not valid: pass meta.next_cursor from the previous page unchanged, "
        f"or {_START_OVER}."
    )
    if not isinstance(text, str) or not 0 < len(text) <= _MAX_TEXT:
        raise generic
    if not _ALPHABET.fullmatch(text):
        raise generic
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise generic from None
    # Only the canonical spelling: bits that base64 ignores must not make a second,
    # different-looking cursor that still verifies.
    if _b64encode(raw) != text:
        raise generic
    if len(raw) <= 1 + _TAG_LEN or raw[:1] != _VERSION:
        raise generic
    tag, body = raw[1 : 1 + _TAG_LEN], raw[1 + _TAG_LEN :]
    if not hmac.compare_digest(tag, _tag(secret, body)):
        raise generic
    try:
        payload = json.loads(body)
    except ValueError:
        raise generic from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("k"), str)
        or not isinstance(payload.get("s"), str)
        or not isinstance(payload.get("v"), list)
    ):
        raise generic
    if payload["k"] != kind:
        raise _invalid(
            f"The cursor belongs to another list, not to this one; {_START_OVER}, "
            "and use each list's own meta.next_cursor."
        )
    if payload["s"] != sort:
        raise _invalid(
            f"The cursor was issued for sort={payload['s']}, but this request asks for "
            f"sort={sort}; send sort={payload['s']} with it, or {_START_OVER}."
        )
    return payload["v"]
