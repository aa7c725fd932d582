"""Pagination cursors: round trip, and every kind of forgery is a 400 naming ``cursor``."""

from __future__ import annotations

import base64
import json
import os

import pytest

from fortytwo.http.cursor import decode_cursor, encode_cursor
from fortytwo.http.errors import ApiError

SECRET = b"k" * 32
KEYS = ["2026-05-18T08:00:00.000Z", "3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f"]


def assert_rejected(text: str, *, secret: bytes = SECRET, kind: str = "event_types",
                    sort: str = "created_at_desc") -> ApiError:
    with pytest.raises(ApiError) as caught:
        decode_cursor(secret, text, kind=kind, sort=sort)
    err = caught.value
    assert err.status == 400
    assert err.code == "invalid_query_param"
    assert err.details == {"param": "cursor"}
    assert "cursor" in err.message
    return err


def test_round_trip() -> None:
    text = encode_cursor(SECRET, "event_types", "created_at_desc", KEYS)
    assert decode_cursor(SECRET, text, kind="event_types", sort="created_at_desc") == KEYS


def test_round_trip_other_scalars() -> None:
    keys = ["Ünïcode title ✓", 42, None, "a/b+c=d"]
    text = encode_cursor(SECRET, "bookings", "start_at_asc", keys)
    assert decode_cursor(SECRET, text, kind="bookings", sort="start_at_asc") == keys


def test_cursor_is_unpadded_base64url() -> None:
    text = encode_cursor(SECRET, "event_types", "title_asc", ["Intro?>>", KEYS[1]])
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "=" not in text


def test_every_single_character_change_is_rejected() -> None:
    text = encode_cursor(SECRET, "event_types", "created_at_desc", KEYS)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(text):
        other = alphabet[(alphabet.index(ch) + 1) % len(alphabet)]
        assert_rejected(text[:i] + other + text[i + 1 :])


def test_truncated_and_extended_cursors_are_rejected() -> None:
    text = encode_cursor(SECRET, "event_types", "created_at_desc", KEYS)
    for cut in (1, 2, 3, 4, len(text) // 2, len(text) - 1):
        assert_rejected(text[:cut])
    assert_rejected(text + "A")
    assert_rejected(text + "==")


def test_garbage_is_rejected() -> None:
    for text in (
        "",
        "!!!",
        "not a cursor",
        base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("="),
        base64.urlsafe_b64encode(b'{"id":"..."}').decode().rstrip("="),
        "eyJpZCI6Ii4uLiJ9",
        "A" * 5000,
    ):
        assert_rejected(text)


def test_unsigned_payload_with_a_forged_tag_is_rejected() -> None:
    body = json.dumps({"k": "event_types", "s": "created_at_desc", "v": KEYS}).encode()
    forged = base64.urlsafe_b64encode(b"\x01" + b"\x00" * 32 + body).decode().rstrip("=")
    assert_rejected(forged)


def test_cursor_of_another_server_is_rejected() -> None:
    text = encode_cursor(b"another server key", "event_types", "created_at_desc", KEYS)
    assert_rejected(text)


def test_cursor_of_another_kind_is_rejected() -> None:
    text = encode_cursor(SECRET, "bookings", "created_at_desc", KEYS)
    err = assert_rejected(text, kind="event_types")
    assert "another list" in err.message


def test_cursor_of_another_sort_is_rejected_and_names_it() -> None:
    text = encode_cursor(SECRET, "event_types", "created_at_asc", KEYS)
    err = assert_rejected(text, sort="created_at_desc")
    assert "sort=created_at_asc" in err.message
