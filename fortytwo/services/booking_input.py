"""Validation of booking request bodies (create, cancel, reschedule, PATCH).

Shape problems are collected and reported together as one 400 ``validation_error``;
semantic refusals (an undeliverable email, SMS rules, immutable fields) use their own codes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fortytwo.http.errors import ApiError, ValidationErrors
from fortytwo.services.accounts import EMAIL_RE, valid_timezone
from fortytwo.store.common import is_uuid
from fortytwo.timefmt import parse_ts

MAX_GUESTS = 10
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
PHONE_RE = re.compile(r"^\+[1-9][0-9 ()-]{5,30}$")
PATCHABLE = ("metadata", "responses", "attendee_name")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass
class CreateRequest:
    event_type_id: str | None
    username: str | None
    event_slug: str | None
    start: datetime
    timezone: str | None
    email: str
    name: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    attendee_timezone: str | None
    sms_opt_in: bool
    guests: list[str]
    metadata: dict[str, str]
    responses: dict[str, Any]
    utm: dict[str, str] = field(default_factory=dict)


def _string(errors: ValidationErrors, body: dict, key: str, max_len: int, path: str | None = None,
            *, required: bool = False) -> str | None:
    where = path or key
    if key not in body or body[key] is None:
        if required:
            errors.add(where, "is required")
        return None
    value = body[key]
    if not isinstance(value, str):
        errors.add(where, "must be a string")
        return None
    if len(value) > max_len:
        errors.add(where, f"must be at most {max_len} characters")
        return None
    if required and not value.strip():
        errors.add(where, "must not be empty")
        return None
    return value


def _timestamp(errors: ValidationErrors, body: dict, key: str) -> datetime | None:
    if key not in body or body[key] is None:
        errors.add(key, "is required (an ISO 8601 instant with an offset, e.g. 2026-05-20T09:00:00Z)")
        return None
    if not isinstance(body[key], str):
        errors.add(key, "must be a string timestamp such as 2026-05-20T09:00:00Z")
        return None
    try:
        return parse_ts(body[key])
    except ValueError as exc:
        errors.add(key, str(exc))
        return None


def _tz(errors: ValidationErrors, body: dict, key: str, path: str | None = None) -> str | None:
    value = _string(errors, body, key, 64, path)
    if value is not None and not valid_timezone(value):
        errors.add(path or key, "must be an IANA time zone such as Europe/Lisbon")
        return None
    return value


def check_metadata(errors: ValidationErrors, value: Any, path: str = "metadata") -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(path, "must be an object of string values")
        return {}
    if len(value) > MAX_METADATA_KEYS:
        errors.add(path, f"may have at most {MAX_METADATA_KEYS} keys")
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY or not key:
            errors.add(f"{path}.{key[:40]}", f"keys must be 1 to {MAX_METADATA_KEY} characters")
        elif not isinstance(item, str):
            errors.add(f"{path}.{key}", "values must be strings")
        elif len(item) > MAX_METADATA_VALUE:
            errors.add(f"{path}.{key}", f"values must be at most {MAX_METADATA_VALUE} characters")
    return value


def deliverable_email(email: str) -> bool:
    if not email.isascii() or len(email) > 254:
        return False
    if EMAIL_RE.match(email) is None:
        return False
    local, _, domain = email.rpartition("@")
    return len(local) <= 64 and "." in domain and not domain.endswith(".") and ".." not in email


def parse_create(body: dict[str, Any]) -> CreateRequest:
    errors = ValidationErrors()
    event_type_id = _string(errors, body, "event_type_id", 64)
    if event_type_id is not None and not is_uuid(event_type_id):
        errors.add("event_type_id", "must be a UUID")
    username = _string(errors, body, "username", 127)
    event_slug = _string(errors, body, "event_slug", 127)
    if event_type_id is None and not (username and event_slug):
        errors.add("event_type_id", "give event_type_id, or username together with event_slug")
    start = _timestamp(errors, body, "start")
    timezone = _tz(errors, body, "timezone")
    attendee = body.get("attendee")
    email = name = first = last = phone = att_tz = None
    sms = False
    if not isinstance(attendee, dict):
        errors.add("attendee", "is required: an object with at least an email")
    else:
        email = _string(errors, attendee, "email", 254, "attendee.email", required=True)
        name = _string(errors, attendee, "name", 255, "attendee.name")
        first = _string(errors, attendee, "first_name", 127, "attendee.first_name")
        last = _string(errors, attendee, "last_name", 127, "attendee.last_name")
        phone = _string(errors, attendee, "phone", 64, "attendee.phone")
        att_tz = _tz(errors, attendee, "timezone", "attendee.timezone")
        raw_sms = attendee.get("sms_opt_in", False)
        if raw_sms is not None and not isinstance(raw_sms, bool):
            errors.add("attendee.sms_opt_in", "must be true or false")
        else:
            sms = bool(raw_sms)
    guests: list[str] = []
    raw_guests = body.get("guests")
    if raw_guests is not None:
        if not isinstance(raw_guests, list):
            errors.add("guests", "must be a list of email addresses")
        elif len(raw_guests) > MAX_GUESTS:
            errors.add("guests", f"may list at most {MAX_GUESTS} addresses")
        else:
            for i, guest in enumerate(raw_guests):
                if not isinstance(guest, str) or not deliverable_email(guest):
                    errors.add(f"guests[{i}]", "must be a deliverable ASCII email address")
                else:
                    guests.append(guest)
    metadata = check_metadata(errors, body.get("metadata"))
    responses = body.get("responses")
    if responses is None:
        responses = {}
    elif not isinstance(responses, dict):
        errors.add("responses", "must be an object keyed by question key")
        responses = {}
    utm = {}
    for key in UTM_FIELDS:
        value = _string(errors, body, key, 255)
        if value is not None:
            utm[key] = value
    errors.raise_if_any()
    assert start is not None and email is not None
    if not deliverable_email(email):
        raise ApiError(
            422, "attendee_email_invalid",
            "attendee.email must be a deliverable ASCII address such as ada@example.com.",
            {"field": "attendee.email"},
        )
    if sms and not phone:
        raise ApiError(
            422, "attendee_phone_required",
            "attendee.sms_opt_in is true, so attendee.phone is required (international format, +…).",
            {"field": "attendee.phone"},
        )
    if phone and not PHONE_RE.match(phone):
        raise ApiError(
            422, "attendee_phone_invalid",
            "attendee.phone must be in international format starting with +, e.g. +44 20 7946 0000.",
            {"field": "attendee.phone"},
        )
    full_name = (name or f"{first or ''} {last or ''}".strip() or email.split("@", 1)[0])
    return CreateRequest(
        event_type_id=event_type_id, username=username, event_slug=event_slug, start=start,
        timezone=timezone, email=email, name=full_name, first_name=first, last_name=last,
        phone=phone, attendee_timezone=att_tz, sms_opt_in=sms, guests=guests,
        metadata=metadata, responses=responses, utm=utm,
    )


def check_responses(questions: list[dict[str, Any]], responses: dict[str, Any]) -> dict[str, Any]:
    """Required answers present and each answer of its question's type (400 otherwise)."""
    errors = ValidationErrors()
    known = {q["key"]: q for q in questions}
    for key in responses:
        if key not in known:
            errors.add(f"responses.{key}", "is not a question of this event type")
    for key, question in known.items():
        value = responses.get(key)
        path = f"responses.{key}"
        if value is None or value == "" or value == []:
            if question.get("required"):
                errors.add(path, "is required")
            continue
        kind = question.get("type", "text")
        options = question.get("options") or []
        if kind in ("text", "textarea"):
            if not isinstance(value, str) or len(value) > (255 if kind == "text" else 5000):
                errors.add(path, f"must be a string of at most {255 if kind == 'text' else 5000} characters")
        elif kind == "email":
            if not isinstance(value, str) or not deliverable_email(value):
                errors.add(path, "must be an email address")
        elif kind == "phone":
            if not isinstance(value, str) or not PHONE_RE.match(value):
                errors.add(path, "must be a phone number in international format (+…)")
        elif kind == "number":
            # NaN and Infinity parse from JSON but cannot be written back as JSON
            if isinstance(value, bool) or not isinstance(value, int | float) or (
                isinstance(value, float) and not math.isfinite(value)
            ):
                errors.add(path, "must be a finite number")
        elif kind == "checkbox":
            if not isinstance(value, bool):
                errors.add(path, "must be true or false")
            elif question.get("required") and value is not True:
                errors.add(path, "must be checked")
        elif kind == "select":
            if value not in options:
                errors.add(path, f"must be one of: {', '.join(map(str, options))}")
        elif kind == "multiselect":
            if not isinstance(value, list) or any(v not in options for v in value):
                errors.add(path, f"must be a list drawn from: {', '.join(map(str, options))}")
    errors.raise_if_any()
    return responses


@dataclass
class RescheduleRequest:
    start: datetime
    timezone: str | None
    reason: str | None


def parse_reschedule(body: dict[str, Any]) -> RescheduleRequest:
    errors = ValidationErrors()
    start = _timestamp(errors, body, "start")
    timezone = _tz(errors, body, "timezone")
    reason = _string(errors, body, "reason", 1024)
    errors.raise_if_any()
    assert start is not None
    return RescheduleRequest(start, timezone, reason)


def parse_cancel(body: dict[str, Any]) -> str | None:
    errors = ValidationErrors()
    reason = _string(errors, body, "reason", 1024)
    errors.raise_if_any()
    return reason


@dataclass
class PatchRequest:
    metadata: dict[str, str] | None
    responses: dict[str, Any] | None
    attendee_name: str | None

    def fields(self) -> list[str]:
        return [name for name in PATCHABLE if getattr(self, name) is not None]


def parse_patch(body: dict[str, Any]) -> PatchRequest:
    immutable = sorted(set(body) - set(PATCHABLE))
    if immutable:
        raise ApiError(
            422, "field_immutable",
            f"Only metadata, responses and attendee_name can be changed; remove {', '.join(immutable)}. "
            "Use /reschedule to move a booking and /cancel to cancel it.",
            {"fields": immutable},
        )
    errors = ValidationErrors()
    metadata = None
    if body.get("metadata") is not None:
        metadata = check_metadata(errors, body["metadata"])
    responses = body.get("responses")
    if responses is not None and not isinstance(responses, dict):
        errors.add("responses", "must be an object keyed by question key")
    name = body.get("attendee_name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        errors.add("attendee_name", "must be a non-empty string")
    if not any(body.get(k) is not None for k in PATCHABLE):
        errors.add("body", "give at least one of metadata, responses, attendee_name")
    errors.raise_if_any()
    return PatchRequest(metadata, responses, name[:200] if isinstance(name, str) else None)
