"""Cases found while testing the server against our OpenAPI document (schemathesis runs and
the probing around them), kept as plain regression tests. Each response also passes the
response validation every API test gets (tests/conftest.py)."""

from __future__ import annotations

import pytest
import yaml

from fortytwo import keys, openapi
from fortytwo.app import create_app
from tests.booking_helpers import TUESDAY, at, book, create_body, iso, write_headers
from tests.scenario import Scenario, make_scenario


@pytest.fixture
def app(settings, clock):
    app = create_app(settings, clock=clock)

    async def public_dns(host: str, port: int) -> list[str]:
        return ["93.184.215.14"] if host.endswith(".example.com") else []

    app[keys.WEBHOOK_RESOLVE] = public_dns
    return app


@pytest.fixture
async def sc(client, app) -> Scenario:
    return await make_scenario(app)


async def _error(resp, status: int, code: str) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    assert body["error"]["code"] == code, body
    return body["error"]


async def test_openapi_yaml_is_the_document_as_yaml(client):
    """schemathesis parses /openapi.yaml as YAML: it is the document, not a string."""
    resp = await client.get("/openapi.yaml")
    assert yaml.safe_load(await resp.read()) == openapi.document()


# A literal JSON `null` body used to be read as "no body": PATCH /v1/webhooks/{id} answered 200
# and a cancel went ahead. It is not an object, so it is a 400 everywhere.


async def test_null_body_on_a_webhook_patch_is_400(client, sc):
    created = await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/a", "events": ["booking_created"]},
        headers=sc.ada.auth,
    )
    assert created.status == 201, await created.json()
    webhook = (await created.json())["data"]["id"]
    resp = await client.patch(
        f"/v1/webhooks/{webhook}", data=b"null",
        headers={**sc.ada.auth, "Content-Type": "application/json"},
    )
    await _error(resp, 400, "invalid_request")


async def test_null_body_on_booking_writes_is_400(client, sc, clock):
    booking = await book(client, sc.ada, sc.intro, at(TUESDAY, 9))
    json_headers = {"Content-Type": "application/json"}
    for path in (f"/v1/bookings/{booking['uid']}/cancel", f"/v1/bookings/{booking['uid']}/reschedule", "/v1/bookings"):
        resp = await client.post(path, data=b"null", headers={**write_headers(sc.ada), **json_headers})
        await _error(resp, 400, "invalid_request")
    resp = await client.patch(
        f"/v1/bookings/{booking['uid']}", data=b" null ",
        headers={**write_headers(sc.ada), **json_headers, "If-Match": '"1"'},
    )
    await _error(resp, 400, "invalid_request")
    # an absent body is still fine where the body is optional
    resp = await client.post(f"/v1/bookings/{booking['uid']}/cancel", headers=write_headers(sc.ada))
    assert resp.status == 200


# Instants near the ends of what Python's datetime can hold overflowed into 500s: an offset
# pushing year 1 or 9999 out of range, or a window / slot end computed past year 9999.

EXTREME_QUERIES = [
    "start=0001-01-01T00:00:00%2B14:00&end=0001-01-02T00:00:00Z",
    "start=9999-12-01T00:00:00Z&end=9999-12-31T00:00:00Z",
    "start=9999-12-31T23:00:00-14:00&end=9999-12-31T23:30:00Z",
    "start=1899-12-31T00:00:00Z&end=1900-01-02T00:00:00Z",
]


@pytest.mark.parametrize("query", EXTREME_QUERIES)
async def test_extreme_slot_windows_are_400(client, sc, query):
    resp = await client.get(f"/v1/slots?event_type_id={sc.intro}&{query}", headers=sc.ada.auth)
    error = await _error(resp, 400, "invalid_query_param")
    assert error["details"]["param"] in ("start", "end")


@pytest.mark.parametrize("start", ["9999-12-31T23:50:00Z", "0001-01-01T00:00:00%2B01:00", "9000-01-01T00:00:00Z"])
async def test_extreme_slot_checks_are_400(client, sc, start):
    resp = await client.get(f"/v1/slots/check?event_type_id={sc.intro}&start={start}", headers=sc.ada.auth)
    await _error(resp, 400, "invalid_query_param")


async def test_the_last_accepted_instants_still_work(client, sc):
    resp = await client.get(
        f"/v1/slots?event_type_id={sc.intro}&start=8999-12-01T00:00:00Z&end=8999-12-31T23:59:59Z",
        headers=sc.ada.auth,
    )
    assert resp.status == 200
    resp = await client.get(
        f"/v1/slots/check?event_type_id={sc.intro}&start=8999-12-31T23:50:00Z", headers=sc.ada.auth
    )
    assert resp.status == 200 and (await resp.json())["data"]["available"] is False


@pytest.mark.parametrize(
    "query",
    ["updated_since=0001-01-01T00:00:00%2B14:00", "start_date=9999-12-31T23:00:00-14:00", "end_date=9999-12-31T23:59:59Z"],
)
async def test_extreme_booking_list_filters_are_400(client, sc, query):
    resp = await client.get(f"/v1/bookings?{query}", headers=sc.ada.auth)
    await _error(resp, 400, "invalid_query_param")


async def test_plain_dates_at_the_ends_of_the_calendar_still_list(client, sc):
    resp = await client.get("/v1/bookings?start_date=0001-01-01&end_date=9999-12-31", headers=sc.ada.auth)
    assert resp.status == 200


@pytest.mark.parametrize("start", ["9999-12-31T23:50:00Z", "0001-01-01T00:00:00+14:00"])
async def test_extreme_booking_starts_are_400(client, sc, start):
    resp = await client.post("/v1/bookings", json=create_body(sc.intro, start), headers=write_headers(sc.ada))
    error = await _error(resp, 400, "validation_error")
    assert error["details"]["errors"][0]["field"] == "start"
    booking = await book(client, sc.ada, sc.intro, at(TUESDAY, 10))
    resp = await client.post(
        f"/v1/bookings/{booking['uid']}/reschedule", json={"start": start}, headers=write_headers(sc.ada)
    )
    await _error(resp, 400, "validation_error")


async def test_one_idempotency_key_on_two_paths_is_a_conflict(client, sc):
    """schemathesis sends one key everywhere: a key is bound to the first request's path."""
    booking = await book(client, sc.ada, sc.intro, at(TUESDAY, 11))
    headers = write_headers(sc.ada, "same-key")
    first = await client.post(f"/v1/bookings/{booking['uid']}/cancel", headers=headers)
    assert first.status == 200
    resp = await client.post("/v1/bookings/not-a-booking/cancel", headers=headers)
    await _error(resp, 409, "idempotency_key_conflict")
    assert iso(at(TUESDAY, 11)) == booking["start_at"]
