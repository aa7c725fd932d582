"""Malformed booking writes: each gets its exact status and code, and writes nothing
(contract 2.2, 2.3, 2.6, 7)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.booking_helpers import TUESDAY, at, book, create_body, iso, table_counts
from tests.conftest import add_token, make_account
from tests.factories import add_event_type
from tests.reference import validate_schema
from tests.scenario import DEMO, apply_text, make_scenario

DORMANT = """
[[event_types]]
slug = "dormant"
title = "Dormant"
owner = "ada"
duration_minutes = 30
active = false

[[event_types]]
slug = "survey"
title = "Survey"
owner = "ada"
duration_minutes = 30
questions = [{ key = "seats", label = "Seats", type = "number", required = true }]
"""
GOOD_START = at(TUESDAY, 10)
TAKEN_START = at(TUESDAY, 11)
MISSING = object()


@dataclass
class World:
    ids: dict[str, str]
    auth: dict[str, str]


@dataclass
class Case:
    method: str
    path: str  # {uid} = an existing confirmed booking
    body: Any = MISSING  # JSON-encoded unless bytes/str
    headers: dict[str, Any] = field(default_factory=dict)  # None value = drop the header
    content_type: str = "application/json"


def create(**changes: Any) -> dict[str, Any]:
    """A valid create body for the intro call with ``changes`` applied (None deletes)."""
    body = create_body("{intro}", GOOD_START)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def attendee(**changes: Any) -> dict[str, Any]:
    person = {"email": "grace@example.com", "name": "Grace Hopper"}
    for key, value in changes.items():
        if value is None:
            person.pop(key, None)
        else:
            person[key] = value
    return create(attendee=person)


def raw_create(extra: str) -> str:
    """A create body as JSON text, for what json.dumps cannot write (escapes, NaN)."""
    return '{"event_type_id": "{intro}", "start": "' + iso(GOOD_START) + '", ' + extra + "}"


def raw_survey(answer: str) -> str:
    return ('{"username": "ada", "event_slug": "survey", "start": "' + iso(GOOD_START) + '", '
            '"attendee": {"email": "grace@example.com"}, "responses": {"seats": ' + answer + "}}")


def post(body: Any = MISSING, **kw: Any) -> Case:
    return Case("POST", "/v1/bookings", body, **kw)


def cancel(body: Any = MISSING, **kw: Any) -> Case:
    return Case("POST", "/v1/bookings/{uid}/cancel", body, **kw)


def move(body: Any = MISSING, **kw: Any) -> Case:
    return Case("POST", "/v1/bookings/{uid}/reschedule", body, **kw)


def update(body: Any = MISSING, if_match: str | None = '"1"', **kw: Any) -> Case:
    headers = kw.pop("headers", {})
    headers.setdefault("If-Match", if_match)
    return Case("PATCH", "/v1/bookings/{uid}", body, headers=headers, **kw)


V = "validation_error"
# (id, case, status, code, the details.errors fields for validation errors or None)
CASES: list[tuple[str, Case, int, str, list[str] | None]] = [
    # -- headers
    ("create-no-key", post(create(), headers={"Idempotency-Key": None}), 400, "missing_idempotency_key", None),
    ("create-empty-key", post(create(), headers={"Idempotency-Key": ""}), 400, "invalid_request", None),
    ("create-long-key", post(create(), headers={"Idempotency-Key": "k" * 256}), 400, "invalid_request", None),
    ("create-non-ascii-key", post(create(), headers={"Idempotency-Key": "clé-1"}), 400, "invalid_request", None),
    ("create-key-with-space", post(create(), headers={"Idempotency-Key": "a b"}), 400, "invalid_request", None),
    ("create-no-scope", post(create(), headers={"Authorization": "{read_only}"}), 403, "insufficient_scope", None),
    # -- body framing
    ("create-bad-json", post(b'{"start": '), 400, "invalid_request", None),
    ("create-array-body", post([create()]), 400, "invalid_request", None),
    ("create-no-body", post(), 400, "invalid_request", None),
    ("create-not-json", post("start=now", content_type="text/plain"), 415, "unsupported_media_type", None),
    ("create-form", post("a=b", content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type", None),
    ("create-too-large", post(json.dumps(create(metadata={"k": "x" * (1024 * 1024)})).encode()), 413, "payload_too_large", None),
    ("create-bad-utf8", post(b'{"start": "\xff"}'), 400, "invalid_request", None),
    ("create-surrogate-name", post(raw_create('"attendee": {"email": "g@example.com", "name": "\\ud800"}')), 400, "invalid_request", ["attendee.name"]),
    ("create-surrogate-key", post(raw_create('"attendee": {"email": "g@example.com"}, "metadata": {"\\udfff": "v"}')), 400, "invalid_request", ["metadata.\\udfff"]),
    ("create-surrogate-guest", post(raw_create('"attendee": {"email": "g@example.com"}, "guests": ["\\ud83d"]')), 400, "invalid_request", ["guests[0]"]),
    # -- schema
    ("create-no-start", post(create(start=None)), 400, V, ["start"]),
    ("create-naive-start", post(create(start="2026-05-19T10:00:00")), 400, V, ["start"]),
    ("create-date-only", post(create(start="2026-05-19")), 400, V, ["start"]),
    ("create-start-number", post(create(start=1779184800)), 400, V, ["start"]),
    ("create-start-garbage", post(create(start="tomorrow at ten")), 400, V, ["start"]),
    ("create-no-event-type", post(create(event_type_id=None)), 400, V, ["event_type_id"]),
    ("create-event-type-not-uuid", post(create(event_type_id="intro-call")), 400, V, ["event_type_id"]),
    ("create-username-without-slug", post(create(event_type_id=None, username="ada")), 400, V, ["event_type_id"]),
    ("create-no-attendee", post(create(attendee=None)), 400, V, ["attendee"]),
    ("create-attendee-string", post(create(attendee="grace@example.com")), 400, V, ["attendee"]),
    ("create-no-email", post(attendee(email=None)), 400, V, ["attendee.email"]),
    ("create-email-number", post(attendee(email=42)), 400, V, ["attendee.email"]),
    ("create-email-too-long", post(attendee(email="a" * 250 + "@example.com")), 400, V, ["attendee.email"]),
    ("create-name-too-long", post(attendee(name="n" * 256)), 400, V, ["attendee.name"]),
    ("create-name-number", post(attendee(name=7)), 400, V, ["attendee.name"]),
    ("create-first-name-too-long", post(attendee(first_name="f" * 128)), 400, V, ["attendee.first_name"]),
    ("create-phone-too-long", post(attendee(phone="+1" + "2" * 63)), 400, V, ["attendee.phone"]),
    ("create-attendee-tz", post(attendee(timezone="Mars/Olympus")), 400, V, ["attendee.timezone"]),
    ("create-sms-string", post(attendee(sms_opt_in="yes")), 400, V, ["attendee.sms_opt_in"]),
    ("create-timezone", post(create(timezone="Nowhere/City")), 400, V, ["timezone"]),
    ("create-guests-string", post(create(guests="alan@example.com")), 400, V, ["guests"]),
    ("create-guests-eleven", post(create(guests=[f"g{i}@example.com" for i in range(11)])), 400, V, ["guests"]),
    ("create-guest-bad", post(create(guests=["alan@example.com", "not-an-email"])), 400, V, ["guests[1]"]),
    ("create-metadata-list", post(create(metadata=["a"])), 400, V, ["metadata"]),
    ("create-metadata-51-keys", post(create(metadata={f"k{i}": "v" for i in range(51)})), 400, V, ["metadata"]),
    ("create-metadata-long-key", post(create(metadata={"k" * 41: "v"})), 400, V, ["metadata." + "k" * 40]),
    ("create-metadata-number", post(create(metadata={"n": 1})), 400, V, ["metadata.n"]),
    ("create-metadata-long-value", post(create(metadata={"v": "x" * 501})), 400, V, ["metadata.v"]),
    ("create-responses-list", post(create(responses=["Navy"])), 400, V, ["responses"]),
    ("create-responses-unknown", post(create(responses={"size": "big"})), 400, V, ["responses.size"]),
    ("create-responses-type", post(create(responses={"company": 5})), 400, V, ["responses.company"]),
    ("create-number-nan", post(raw_survey("NaN")), 400, V, ["responses.seats"]),
    ("create-number-infinite", post(raw_survey("1e400")), 400, V, ["responses.seats"]),
    ("create-number-string", post(raw_survey('"3"')), 400, V, ["responses.seats"]),
    ("create-number-missing", post(raw_survey("null")), 400, V, ["responses.seats"]),
    ("create-utm-too-long", post(create(utm_source="u" * 256)), 400, V, ["utm_source"]),
    ("create-two-errors", post(create(start=None, timezone="X/Y")), 400, V, ["start", "timezone"]),
    # -- semantic
    ("create-email-accented", post(attendee(email="adé@example.com")), 422, "attendee_email_invalid", None),
    ("create-email-no-at", post(attendee(email="grace.example.com")), 422, "attendee_email_invalid", None),
    ("create-email-no-dot", post(attendee(email="grace@localhost")), 422, "attendee_email_invalid", None),
    ("create-sms-no-phone", post(attendee(sms_opt_in=True)), 422, "attendee_phone_required", None),
    ("create-phone-local", post(attendee(phone="020 7946 0000")), 422, "attendee_phone_invalid", None),
    # -- business rules
    ("create-off-grid", post(create(start="2026-05-19T10:07:00Z")), 409, "slot_unavailable", None),
    ("create-seconds", post(create(start="2026-05-19T10:00:30Z")), 409, "slot_unavailable", None),
    ("create-outside-hours", post(create(start="2026-05-19T17:00:00Z")), 409, "slot_unavailable", None),
    ("create-weekend", post(create(start="2026-05-23T10:00:00Z")), 409, "slot_unavailable", None),
    ("create-taken", post(create(start=iso(TAKEN_START))), 409, "slot_unavailable", None),
    ("create-past", post(create(start="2026-05-18T07:30:00Z")), 409, "slot_in_past", None),
    ("create-unknown-type", post(create(event_type_id=str(uuid.UUID(int=7, version=4)))), 404, "event_type_not_found", None),
    ("create-unknown-slug", post(create(event_type_id=None, username="ada", event_slug="nope")), 404, "event_type_not_found", None),
    ("create-foreign-type", post(create(event_type_id="{foreign}")), 404, "event_type_not_found", None),
    ("create-inactive", post(create(event_type_id="{dormant}")), 409, "event_type_inactive", None),
    # -- cancel
    ("cancel-no-key", cancel({}, headers={"Idempotency-Key": None}), 400, "missing_idempotency_key", None),
    ("cancel-reason-too-long", cancel({"reason": "r" * 1025}), 400, V, ["reason"]),
    ("cancel-reason-number", cancel({"reason": 3}), 400, V, ["reason"]),
    ("cancel-surrogate", cancel('{"reason": "\\ud800"}'), 400, "invalid_request", ["reason"]),
    ("cancel-array", cancel(["why"]), 400, "invalid_request", None),
    ("cancel-bad-json", cancel(b"{reason}"), 400, "invalid_request", None),
    ("cancel-not-json", cancel("because", content_type="text/plain"), 415, "unsupported_media_type", None),
    ("cancel-unknown", Case("POST", "/v1/bookings/00000000-0000-4000-8000-000000000001/cancel", {}), 404, "booking_not_found", None),
    ("cancel-not-uuid", Case("POST", "/v1/bookings/abc/cancel", {}), 404, "booking_not_found", None),
    # -- reschedule
    ("move-no-key", move({"start": iso(at(TUESDAY, 12))}, headers={"Idempotency-Key": None}), 400, "missing_idempotency_key", None),
    ("move-no-body", move(), 400, "invalid_request", None),
    ("move-no-start", move({"reason": "x"}), 400, V, ["start"]),
    ("move-naive-start", move({"start": "2026-05-19T12:00:00"}), 400, V, ["start"]),
    ("move-bad-timezone", move({"start": iso(at(TUESDAY, 12)), "timezone": "Europe/Nowhere"}), 400, V, ["timezone"]),
    ("move-reason-too-long", move({"start": iso(at(TUESDAY, 12)), "reason": "r" * 1025}), 400, V, ["reason"]),
    ("move-surrogate", move('{"start": "' + iso(at(TUESDAY, 12)) + '", "reason": "x\\udc00"}'), 400, "invalid_request", ["reason"]),
    ("move-off-grid", move({"start": "2026-05-19T12:10:00Z"}), 409, "slot_unavailable", None),
    ("move-taken", move({"start": iso(TAKEN_START)}), 409, "slot_unavailable", None),
    ("move-past", move({"start": "2026-05-18T07:00:00Z"}), 409, "slot_in_past", None),
    ("move-not-json", move("start=now", content_type="text/plain"), 415, "unsupported_media_type", None),
    ("move-unknown", Case("POST", "/v1/bookings/00000000-0000-4000-8000-000000000001/reschedule", {"start": iso(at(TUESDAY, 12))}), 404, "booking_not_found", None),
    # -- PATCH
    ("patch-no-key", update({"attendee_name": "x"}, headers={"Idempotency-Key": None}), 400, "missing_idempotency_key", None),
    ("patch-no-key-no-if-match", update({"attendee_name": "x"}, if_match=None, headers={"Idempotency-Key": None}), 400, "missing_idempotency_key", None),
    ("patch-no-if-match", update({"attendee_name": "x"}, if_match=None), 428, "missing_if_match", None),
    ("patch-bad-if-match", update({"attendee_name": "x"}, if_match="1"), 400, "invalid_if_match", None),
    ("patch-stale-if-match", update({"attendee_name": "x"}, if_match='"7"'), 409, "version_conflict", None),
    ("patch-start", update({"start": "2026-05-19T12:00:00Z"}), 422, "field_immutable", None),
    ("patch-unknown-field", update({"notes": "x", "metadata": {"a": "b"}}), 422, "field_immutable", None),
    ("patch-empty", update({}), 400, V, ["body"]),
    ("patch-all-null", update({"metadata": None}), 400, V, ["body"]),
    ("patch-metadata-string", update({"metadata": "x"}), 400, V, ["metadata"]),
    ("patch-metadata-number", update({"metadata": {"n": 2}}), 400, V, ["metadata.n"]),
    ("patch-responses-list", update({"responses": ["x"]}), 400, V, ["responses"]),
    ("patch-responses-unknown", update({"responses": {"size": "1"}}), 400, V, ["responses.size"]),
    ("patch-name-empty", update({"attendee_name": "  "}), 400, V, ["attendee_name"]),
    ("patch-name-number", update({"attendee_name": 5}), 400, V, ["attendee_name"]),
    ("patch-surrogate", update('{"attendee_name": "\\ud800"}'), 400, "invalid_request", ["attendee_name"]),
    ("patch-surrogate-field", update('{"\\ud800": 1}'), 400, "invalid_request", ["\\ud800"]),
    ("patch-number-nan", update('{"responses": {"company": NaN}}'), 400, V, ["responses.company"]),
    ("patch-bad-json", update(b"{"), 400, "invalid_request", None),
    ("patch-not-json", update("x", content_type="text/plain"), 415, "unsupported_media_type", None),
    ("patch-unknown", Case("PATCH", "/v1/bookings/00000000-0000-4000-8000-000000000001", {"attendee_name": "x"}, headers={"If-Match": '"1"'}), 404, "booking_not_found", None),
]


@pytest.fixture
async def world(client, app) -> World:
    sc = await make_scenario(app)
    await apply_text(app, DEMO.read_text() + DORMANT)
    from fortytwo import keys
    from fortytwo.store import event_types as event_type_store

    [dormant] = await event_type_store.find_by_slug(app[keys.DATABASE].reader, sc.ada.org_id, "dormant")
    eve = await make_account(app, org="Other", username="eve", token_name="eve")
    foreign = await add_event_type(app, eve.org_id, owner_user_id=eve.user_id, slug="secret",
                                   title="Secret")
    target = await book(client, sc.ada, sc.intro, GOOD_START)
    await book(client, sc.ada, sc.intro, TAKEN_START)
    reader = await add_token(app, sc.ada, name="reader", scopes="bookings:read")
    return World(
        ids={"intro": sc.intro, "dormant": dormant.id, "foreign": foreign, "uid": target["uid"],
             "read_only": f"Bearer {reader.token}"},
        auth=sc.ada.auth,
    )


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, real in ids.items():
            value = value.replace("{" + name + "}", real)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize(("case", "status", "code", "fields"),
                         [pytest.param(c, s, k, f, id=i) for i, c, s, k, f in CASES])
async def test_malformed_write_is_refused_and_writes_nothing(client, app, world, case, status, code, fields):
    headers = {**world.auth, "Idempotency-Key": str(uuid.uuid4())}
    for name, value in case.headers.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = _fill(value, world.ids)
    data: bytes | None = None
    if isinstance(case.body, bytes):
        data = case.body
    elif isinstance(case.body, str):
        data = _fill(case.body, world.ids).encode()
    elif case.body is not MISSING:
        data = json.dumps(_fill(case.body, world.ids)).encode()
    if data is not None:
        headers["Content-Type"] = case.content_type
    before = await table_counts(app)
    resp = await client.request(case.method, _fill(case.path, world.ids), data=data, headers=headers)
    payload = await resp.json()
    assert resp.status == status, payload
    assert payload["error"]["code"] == code, payload
    validate_schema("Error", payload)
    assert payload["error"]["request_id"] == resp.headers["X-Request-Id"]
    if fields is not None and code == V:
        assert [e["field"] for e in payload["error"]["details"]["errors"]] == fields
    elif fields is not None:
        assert [payload["error"]["details"]["field"]] == fields
    if code == "invalid_request" and "Idempotency-Key" in case.headers:
        assert payload["error"]["details"] == {"header": "Idempotency-Key"}
    if code == "field_immutable" and isinstance(case.body, dict):
        assert payload["error"]["details"]["fields"] == sorted(
            set(case.body) - {"metadata", "responses", "attendee_name"})
    if code.startswith("attendee_"):
        assert payload["error"]["details"]["field"].startswith("attendee.")
    assert await table_counts(app) == before
    # the failure reserved nothing: the same key still works for a valid write
    if case.method == "POST" and case.path == "/v1/bookings" and "Idempotency-Key" not in case.headers \
            and status != 403:
        retry = await client.post("/v1/bookings", headers=headers | {"Content-Type": "application/json"},
                                  data=json.dumps(create_body(world.ids["intro"], at(TUESDAY, 13))))
        assert retry.status == 201, await retry.text()


def test_there_are_enough_cases():
    assert len(CASES) >= 40
