"""Every response the API tests receive is checked against our own OpenAPI document.

:class:`ResponseValidator` matches a response to an operation (method + path template),
then to a documented status, and checks the content type, the required headers and the body
(JSON Schema 2020-12 with formats). On top of the schema it refuses fields the document does
not list, so a field added to the server but not to the document fails too.

``tests/conftest.py`` wraps :class:`aiohttp.test_utils.TestClient` with it for every test;
opt out with ``@pytest.mark.no_response_validation`` or ``FORTYTWO_VALIDATE_RESPONSES=0``.
Paths the document does not describe (routes that tests add for themselves) are only checked
to carry the error envelope when they fail. The tests below are the validator's own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from fortytwo.openapi import document

BASE = "urn:fortytwo-openapi"
OPT_OUT_MARKER = "no_response_validation"
OPT_OUT_ENV = "FORTYTWO_VALIDATE_RESPONSES"
METHODS = ("get", "put", "post", "delete", "patch")


class ResponseMismatch(AssertionError):
    """A response that our OpenAPI document does not describe."""


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    literal_segments: int


class ResponseValidator:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(BASE, resource)
        routes = []
        for template in doc["paths"]:
            parts = template.strip("/").split("/") if template != "/" else []
            regex = "".join(
                "/[^/]+" if part.startswith("{") else "/" + re.escape(part) for part in parts
            )
            literal = sum(1 for part in parts if not part.startswith("{"))
            routes.append(Route(template, re.compile(f"^{regex or '/'}$"), literal))
        # a literal segment beats a template segment (/v1/slots/check before a {param})
        self.routes = sorted(routes, key=lambda r: -r.literal_segments)
        self._validators: dict[str, Draft202012Validator] = {}

    # -- lookups ---------------------------------------------------------------------------

    def deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def match(self, raw_path: str) -> str | None:
        for route in self.routes:
            if route.pattern.match(raw_path):
                return route.template
        return None

    def _validator(self, pointer: str) -> Draft202012Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"{BASE}#{pointer}"},
                registry=self.registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
            self._validators[pointer] = validator
        return validator

    # -- checking --------------------------------------------------------------------------

    def check(
        self, method: str, raw_path: str, status: int, headers: Any, body: bytes
    ) -> list[str]:
        """Problems with one response; empty when the document describes it."""
        method = method.lower()
        if method in ("head", "options"):
            return []
        template = self.match(raw_path)
        error_pointer = "/components/schemas/Error"
        if template is None:
            if status >= 400:
                return self._json(error_pointer, headers, body)
            return []
        item = self.doc["paths"][template]
        operation = item.get(method)
        if operation is None:
            if status not in (404, 405):
                return [f"{method.upper()} {template} is not documented, yet it answered {status}"]
            return self._json(error_pointer, headers, body)
        responses = operation["responses"]
        key = next(
            (k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None
        )
        label = f"{method.upper()} {template} → {status}"
        if key is None:
            return [f"{label}: status not documented (documented: {', '.join(responses)})"]
        response = self.deref(responses[key])
        problems = self._headers(response, headers)
        content = response.get("content")
        if not content:
            if body:
                problems.append(f"a body where the document has none: {body[:200]!r}")
            return [f"{label}: {p}" for p in problems]
        mime = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if mime not in content:
            problems.append(f"Content-Type {mime!r}, documented: {', '.join(content)}")
        elif mime == "application/json":
            ref = responses[key].get("$ref")
            base = ref[1:] if ref else f"/paths/{_escape(template)}/{method}/responses/{key}"
            pointer = f"{base}/content/{_escape(mime)}/schema"
            problems += self._json(pointer, headers, body, check_headers=False)
        return [f"{label}: {p}" for p in problems]

    def _headers(self, response: dict[str, Any], headers: Any) -> list[str]:
        problems = []
        for name, spec in response.get("headers", {}).items():
            spec = self.deref(spec)
            if spec.get("required") and name not in headers:
                problems.append(f"required header {name} is missing")
        return problems

    def _json(self, pointer: str, headers: Any, body: bytes, *, check_headers: bool = True) -> list[str]:
        if check_headers and "X-Request-Id" not in headers:
            return ["X-Request-Id is missing"]
        try:
            instance = json.loads(body)
        except ValueError:
            return [f"the body is not JSON: {body[:200]!r}"]
        validator = self._validator(pointer)
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}"
            for e in validator.iter_errors(instance)
        ]
        if not problems:
            schema = self.deref({"$ref": "#" + pointer})
            problems = [f"{where}: not in the document" for where in self.undocumented(instance, schema)]
        return problems[:10]

    def _flat(self, schema: Any) -> dict[str, Any]:
        schema = self.deref(schema)
        if not isinstance(schema, dict):
            return {}
        if "allOf" not in schema:
            return schema
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        properties = dict(merged.get("properties", {}))
        for part in schema["allOf"]:
            flat = self._flat(part)
            properties.update(flat.get("properties", {}))
            if "additionalProperties" in flat:
                merged.setdefault("additionalProperties", flat["additionalProperties"])
        merged["properties"] = properties
        return merged

    def undocumented(self, instance: Any, schema: Any, where: str = "") -> list[str]:
        """Paths of object keys that the (already validated) instance has but the schema
        does not list, where the schema does not allow extra keys explicitly."""
        flat = self._flat(schema)
        found: list[str] = []
        if isinstance(instance, dict):
            properties = flat.get("properties")
            extra = flat.get("additionalProperties")
            for key, value in instance.items():
                path = f"{where}.{key}" if where else key
                if properties is not None and key in properties:
                    found += self.undocumented(value, properties[key], path)
                elif extra not in (None, False, True):
                    found += self.undocumented(value, extra, path)
                elif properties is not None and extra is None:
                    found.append(path)
        elif isinstance(instance, list) and "items" in flat:
            for i, value in enumerate(instance):
                found += self.undocumented(value, flat["items"], f"{where}[{i}]")
        return found


@lru_cache(maxsize=1)
def our_validator() -> ResponseValidator:
    return ResponseValidator(document())


async def check_client_response(method: str, response: Any) -> list[str]:
    """Validate an aiohttp ``ClientResponse`` (its body is read and stays cached)."""
    body = await response.read()
    return our_validator().check(
        method, response.url.raw_path, response.status, response.headers, body
    )


# --------------------------------------------------------------------------------------------
# The validator's own tests


REQUEST_ID = "req_" + "ab" * 16
OK_HEADERS = {
    "Content-Type": "application/json",
    "X-Request-Id": REQUEST_ID,
    "X-RateLimit-Limit": "120",
    "X-RateLimit-Remaining": "119",
    "X-RateLimit-Reset": "1780000000",
}


def _ping(**extra: Any) -> bytes:
    data = {"ok": True, "auth_type": "pat", "account_id": "7d1f0c5e-2b7a-4f61-9f0e-3c2d1b0a9e88", "scopes": []}
    data.update(extra)
    return json.dumps({"data": data, "meta": {"request_id": REQUEST_ID}}).encode()


def test_a_documented_response_passes():
    assert our_validator().check("GET", "/v1/_ping", 200, OK_HEADERS, _ping()) == []


def test_an_undocumented_field_fails():
    problems = our_validator().check("GET", "/v1/_ping", 200, OK_HEADERS, _ping(surprise=1))
    assert problems and "surprise" in problems[0]


def test_a_wrong_type_fails():
    problems = our_validator().check("GET", "/v1/_ping", 200, OK_HEADERS, _ping(scopes="all"))
    assert problems and "scopes" in problems[0]


def test_an_undocumented_status_fails():
    body = json.dumps({"error": {"code": "x", "message": "y", "details": {}, "request_id": REQUEST_ID}})
    problems = our_validator().check("GET", "/v1/_ping", 418, OK_HEADERS, body.encode())
    assert problems and "status not documented" in problems[0]


def test_a_missing_required_header_fails():
    headers = {k: v for k, v in OK_HEADERS.items() if k != "X-RateLimit-Reset"}
    problems = our_validator().check("GET", "/v1/_ping", 200, headers, _ping())
    assert problems and "X-RateLimit-Reset" in problems[0]


def test_the_wrong_content_type_fails():
    headers = {**OK_HEADERS, "Content-Type": "text/plain"}
    assert our_validator().check("GET", "/v1/_ping", 200, headers, _ping())


def test_paths_are_matched_by_template():
    validator = our_validator()
    assert validator.match("/v1/slots/check") == "/v1/slots/check"
    assert validator.match("/v1/event-types/ada%2Fintro-call") == "/v1/event-types/{idOrSlug}"
    assert validator.match("/v1/event-types/ada/intro-call") == "/v1/event-types/{username}/{slug}"
    assert validator.match("/v1/bookings/abc/cancel") == "/v1/bookings/{uid}/cancel"
    assert validator.match("/") == "/"
    assert validator.match("/v1/_echo") is None


def test_unknown_paths_only_need_the_error_envelope():
    validator = our_validator()
    assert validator.check("POST", "/v1/_echo", 200, {}, b"anything") == []
    assert validator.check("GET", "/nope", 404, OK_HEADERS, b'{"not": "an error"}')


async def test_the_hook_rejects_a_response_the_document_does_not_describe(aiohttp_client):
    from aiohttp import web

    async def liar(request: web.Request) -> web.Response:
        return web.json_response({"status": "fine"})

    app = web.Application()
    app.router.add_get("/healthz", liar)
    client = await aiohttp_client(app)
    with pytest.raises(ResponseMismatch, match="X-Request-Id"):
        await client.get("/healthz")


@pytest.mark.no_response_validation
async def test_the_hook_can_be_turned_off(aiohttp_client):
    from aiohttp import web

    async def liar(request: web.Request) -> web.Response:
        return web.json_response({"status": "fine"})

    app = web.Application()
    app.router.add_get("/healthz", liar)
    client = await aiohttp_client(app)
    resp = await client.get("/healthz")
    assert resp.status == 200
