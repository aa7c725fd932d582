"""Our OpenAPI document against the official 42min reference, operation by operation.

For every operation the reference defines, ours must have the same path and method, the same
parameters (name, location, required), the same request body and every response status with
a compatible schema. "Compatible" depends on the direction data flows:

- responses (we send, a reference client reads): every property the reference lists is
  there with a type, format and enum no wider than the reference's; everything the reference
  requires we require too. We may promise more (extra required fields, narrower types).
- requests (a reference client sends, we read): every property the reference lists is
  accepted with a type no narrower than the reference's; we require nothing the reference
  does not. A narrower constraint (a pattern, a lower maximum, a closed object) is allowed
  only where our document marks it ``x-fortytwo-stricter`` with the contract's reason.

Properties and parameters the reference does not have must be marked
``x-fortytwo-addition``. Extra response statuses and extra operations are free.
The reference is read from FORTYTWO_REFERENCE_OPENAPI; without it these tests skip.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from fortytwo.openapi import document
from tests.reference import ENV, load_reference

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
EXACT_CONSTRAINTS = ("pattern", "propertyNames", "multipleOf", "uniqueItems", "dependentRequired")
STRICTER = "x-fortytwo-stricter"
ADDITION = "x-fortytwo-addition"


# --------------------------------------------------------------------------------------------
# The comparer


class Resolver:
    """Local ``$ref`` resolution and ``allOf`` flattening for one document."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def deref(self, node: Any) -> Any:
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                raise ValueError(f"cannot resolve {ref!r}")
            seen.add(ref)
            target: Any = self.doc
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings else target
        return node

    def schema(self, node: Any) -> dict[str, Any]:
        """``node`` with ``$ref`` followed and ``allOf`` merged into one schema."""
        if node is True or node is None:
            return {}
        if node is False:
            return {"not": {}}
        node = self.deref(node)
        if "allOf" not in node:
            return node
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        properties: dict[str, Any] = dict(merged.pop("properties", {}))
        required: list[str] = list(merged.pop("required", []))
        for part in node["allOf"]:
            flat = self.schema(part)
            for name, sub in flat.get("properties", {}).items():
                properties[name] = sub
            required += [r for r in flat.get("required", []) if r not in required]
            for key, value in flat.items():
                if key not in ("properties", "required"):
                    merged.setdefault(key, value)
        if properties:
            merged["properties"] = properties
        if required:
            merged["required"] = required
        return merged


@dataclass
class Report:
    differences: list[str] = field(default_factory=list)
    documented: list[str] = field(default_factory=list)

    def diff(self, where: str, what: str) -> None:
        self.differences.append(f"{where}: {what}")

    def note(self, where: str, what: str) -> None:
        self.documented.append(f"{where}: {what}")


def _types(schema: dict[str, Any]) -> set[str] | None:
    value = schema.get("type")
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)


def _values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _covers(wide: set[str], narrow: set[str]) -> bool:
    """Every type in ``narrow`` is one of ``wide`` (an integer is also a number)."""
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


class Comparer:
    def __init__(self, ours: dict[str, Any], reference: dict[str, Any]) -> None:
        self.ours = Resolver(ours)
        self.ref = Resolver(reference)
        self.reference = reference
        self.report = Report()

    # -- schemas -----------------------------------------------------------------------------

    def schema(self, ours: Any, ref: Any, where: str, *, request: bool, stricter: str | None = None) -> None:
        o = self.ours.schema(ours)
        r = self.ref.schema(ref)
        stricter = o.get(STRICTER, stricter)
        if "anyOf" in o or "oneOf" in o:
            self._union(o, r, where, request=request, stricter=stricter)
            return
        self._types(o, r, where, request=request, stricter=stricter)
        self._values(o, r, where, request=request, stricter=stricter)
        self._format(o, r, where, request=request, stricter=stricter)
        if request:
            self._constraints(o, r, where, stricter)
        self._properties(o, r, where, request=request, stricter=stricter)
        if "items" in r or "items" in o:
            if "items" not in o:
                if not request:
                    self.report.diff(where, "the reference describes the array items; ours does not")
            else:
                self.schema(o["items"], r.get("items", True), f"{where}[]", request=request, stricter=stricter)

    def _narrower(self, where: str, what: str, stricter: str | None) -> None:
        if stricter:
            self.report.note(where, f"stricter ({stricter}): {what}")
        else:
            self.report.diff(where, f"{what} (narrower than the reference; mark {STRICTER} if the contract says so)")

    def _union(self, o: dict, r: dict, where: str, *, request: bool, stricter: str | None) -> None:
        branches = o.get("anyOf", o.get("oneOf"))
        results = []
        for branch in branches:
            probe = Comparer.__new__(Comparer)
            probe.ours, probe.ref, probe.reference, probe.report = self.ours, self.ref, self.reference, Report()
            probe.schema(branch, r, where, request=request, stricter=stricter)
            results.append(probe.report)
        clean = [rep for rep in results if not rep.differences]
        if request:
            if clean:
                self.report.documented += clean[0].documented
            else:
                self.report.diff(where, "no branch of our anyOf accepts what the reference allows")
                self.report.differences += results[0].differences
        else:
            for rep in results:
                self.report.differences += rep.differences
                self.report.documented += rep.documented

    def _types(self, o: dict, r: dict, where: str, *, request: bool, stricter: str | None) -> None:
        ot, rt = _types(o), _types(r)
        if request:
            if ot is None or (rt is not None and _covers(ot, rt)):
                return
            if rt is not None and not _covers(rt, ot) and not any(_covers({t}, {u}) or _covers({u}, {t}) for t in ot for u in rt):
                self.report.diff(where, f"type {sorted(ot)} shares nothing with the reference's {sorted(rt)}")
                return
            self._narrower(where, f"type {sorted(ot)} instead of {sorted(rt) if rt else 'any'}", stricter)
        else:
            if rt is None:
                return
            if ot is None:
                self.report.diff(where, f"the reference says type {sorted(rt)}; ours leaves the type open")
            elif not _covers(rt, ot):
                self.report.diff(where, f"type {sorted(ot)} is not within the reference's {sorted(rt)}")

    def _values(self, o: dict, r: dict, where: str, *, request: bool, stricter: str | None) -> None:
        ov, rv = _values(o), _values(r)
        if request:
            if ov is None:
                return
            missing = [v for v in (rv or []) if v not in ov]
            if rv is None or missing:
                self._narrower(where, f"accepts only {ov}", stricter)
        else:
            if rv is None:
                return
            if ov is None:
                self.report.diff(where, f"the reference limits values to {rv}; ours does not")
            else:
                extra = [v for v in ov if v not in rv]
                if extra:
                    self.report.diff(where, f"values {extra} are not among the reference's {rv}")

    def _format(self, o: dict, r: dict, where: str, *, request: bool, stricter: str | None) -> None:
        of, rf = o.get("format"), r.get("format")
        if of == rf:
            return
        if request:
            if of is not None:
                self._narrower(where, f"format {of!r} where the reference has {rf!r}", stricter)
        elif rf is not None:
            self.report.diff(where, f"format {of!r} where the reference promises {rf!r}")

    def _constraints(self, o: dict, r: dict, where: str, stricter: str | None) -> None:
        for key in UPPER_BOUNDS:
            if key in o and (key not in r or o[key] < r[key]):
                self._narrower(where, f"{key} {o[key]} (reference: {r.get(key)})", stricter)
        for key in LOWER_BOUNDS:
            if key in o and (key not in r or o[key] > r[key]):
                self._narrower(where, f"{key} {o[key]} (reference: {r.get(key)})", stricter)
        for key in EXACT_CONSTRAINTS:
            if key in o and o[key] != r.get(key):
                self._narrower(where, f"{key} {o[key]!r} (reference: {r.get(key)!r})", stricter)

    def _properties(self, o: dict, r: dict, where: str, *, request: bool, stricter: str | None) -> None:
        o_props = o.get("properties", {})
        r_props = r.get("properties", {})
        for name, sub in r_props.items():
            if name not in o_props:
                self.report.diff(where, f"property {name!r} of the reference is missing")
            else:
                self.schema(o_props[name], sub, f"{where}.{name}", request=request, stricter=stricter)
        for name, sub in o_props.items():
            if name in r_props:
                continue
            mark = self.ours.schema(sub).get(ADDITION)
            if mark:
                self.report.note(f"{where}.{name}", f"addition ({mark})")
            else:
                self.report.diff(f"{where}.{name}", f"property not in the reference and not marked {ADDITION}")
        o_req, r_req = set(o.get("required", [])), set(r.get("required", []))
        if request and o_req - r_req:
            self.report.diff(where, f"requires {sorted(o_req - r_req)}, which the reference leaves optional")
        if not request and r_req - o_req:
            self.report.diff(where, f"does not promise {sorted(r_req - o_req)}, which the reference requires")
        o_add = o.get("additionalProperties", True)
        r_add = r.get("additionalProperties", True)
        if o_add is False and r_add is not False:
            if request:
                self._narrower(where, "closed to unknown properties", stricter)
        elif o_add is not False and r_add is not False and (o_add is not True or r_add is not True):
            self.schema(o_add, r_add, f"{where}.*", request=request, stricter=stricter)

    # -- operations --------------------------------------------------------------------------

    def _parameters(self, resolver: Resolver, path_item: dict, op: dict) -> dict[tuple[str, str], dict]:
        found: dict[tuple[str, str], dict] = {}
        for raw in [*path_item.get("parameters", []), *op.get("parameters", [])]:
            param = resolver.deref(raw)
            name = param["name"].lower() if param["in"] == "header" else param["name"]
            found[(name, param["in"])] = param
        return found

    def operation(self, path: str, method: str) -> None:
        label = f"{method.upper()} {path}"
        r_item = self.ref.deref(self.reference["paths"][path])
        r_op = r_item[method]
        o_item = self.ours.deref(self.ours.doc.get("paths", {}).get(path, {}))
        if method not in o_item:
            self.report.diff(label, "operation missing from our document")
            return
        o_op = o_item[method]

        r_params = self._parameters(self.ref, r_item, r_op)
        o_params = self._parameters(self.ours, o_item, o_op)
        for key, r_param in r_params.items():
            where = f"{label} parameter {key[1]}:{key[0]}"
            o_param = o_params.get(key)
            if o_param is None:
                self.report.diff(where, "missing")
                continue
            if bool(o_param.get("required")) != bool(r_param.get("required")):
                self.report.diff(where, f"required={o_param.get('required', False)} (reference: {r_param.get('required', False)})")
            self.schema(o_param.get("schema", True), r_param.get("schema", True), where, request=True)
        for key, o_param in o_params.items():
            if key in r_params:
                continue
            where = f"{label} parameter {key[1]}:{key[0]}"
            if o_param.get("required"):
                self.report.diff(where, "a required parameter the reference does not have")
            elif o_param.get(ADDITION) or self.ours.schema(o_param.get("schema", True)).get(ADDITION):
                self.report.note(where, "addition")
            else:
                self.report.diff(where, f"parameter not in the reference and not marked {ADDITION}")

        self._body(label, o_op.get("requestBody"), r_op.get("requestBody"))
        self._security(label, o_op, r_op)
        for status, r_resp in r_op.get("responses", {}).items():
            self._response(f"{label} → {status}", o_op.get("responses", {}).get(status), r_resp)

    def _security(self, label: str, o_op: dict, r_op: dict) -> None:
        def normal(op: dict, doc: dict) -> set[tuple[str, tuple[str, ...]]]:
            reqs = op.get("security", doc.get("security", []))
            return {(name, tuple(sorted(scopes))) for req in reqs for name, scopes in req.items()}

        o_sec, r_sec = normal(o_op, self.ours.doc), normal(r_op, self.reference)
        if o_sec != r_sec:
            self.report.diff(label, f"security {sorted(o_sec)} (reference: {sorted(r_sec)})")

    def _body(self, label: str, o_body: Any, r_body: Any) -> None:
        where = f"{label} request body"
        if r_body is None:
            if o_body is not None:
                o_body = self.ours.deref(o_body)
                if o_body.get("required"):
                    self.report.diff(where, "we require a body the reference does not define")
            return
        r_body = self.ref.deref(r_body)
        if o_body is None:
            self.report.diff(where, "missing")
            return
        o_body = self.ours.deref(o_body)
        if o_body.get("required") and not r_body.get("required"):
            self.report.diff(where, "required here, optional in the reference")
        for media, r_media in r_body.get("content", {}).items():
            o_media = o_body.get("content", {}).get(media)
            if o_media is None:
                self.report.diff(where, f"media type {media} missing")
                continue
            self.schema(o_media.get("schema", True), r_media.get("schema", True), f"{where} {media}", request=True)

    def _response(self, where: str, o_resp: Any, r_resp: Any) -> None:
        if o_resp is None:
            self.report.diff(where, "status missing from our document")
            return
        o_resp, r_resp = self.ours.deref(o_resp), self.ref.deref(r_resp)
        o_headers = {k.lower() for k in o_resp.get("headers", {})}
        for name in r_resp.get("headers", {}):
            if name.lower() not in o_headers:
                self.report.diff(where, f"header {name} missing")
        r_content = r_resp.get("content", {})
        o_content = o_resp.get("content", {})
        if not r_content and o_content:
            self.report.diff(where, "we send a body where the reference has none")
        for media, r_media in r_content.items():
            o_media = o_content.get(media)
            if o_media is None:
                self.report.diff(where, f"media type {media} missing")
                continue
            self.schema(o_media.get("schema", True), r_media.get("schema", True), f"{where} body", request=False)

    def run(self) -> Report:
        for path, item in self.reference.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    self.operation(path, method)
        return self.report


def compare(ours: dict[str, Any], reference: dict[str, Any]) -> Report:
    return Comparer(ours, reference).run()


# --------------------------------------------------------------------------------------------
# The tests


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return load_reference()


def test_our_document_conforms_to_the_reference(reference, capsys):
    report = compare(document(), reference)
    assert not report.differences, (
        f"{len(report.differences)} difference(s) from the reference ({ENV}):\n  "
        + "\n  ".join(report.differences)
    )
    operations = sum(1 for item in reference["paths"].values() for m in METHODS if m in item)
    with capsys.disabled():
        print(
            f"\nopenapi conformance: {operations} reference operations, 0 differences, "
            f"{len(report.documented)} documented additions/stricter rules"
        )


def test_documented_deviations_name_their_reason(reference):
    """Every allowance the comparer made points at a marker with a reason."""
    for line in compare(document(), reference).documented:
        assert "(" in line, line


def _drop_booking_field(doc: dict) -> str:
    booking = doc["components"]["schemas"]["Booking"]
    del booking["properties"]["start_at"]
    booking["required"].remove("start_at")
    return "property 'start_at' of the reference is missing"


def _drop_event_type_detail_field(doc: dict) -> str:
    detail = doc["components"]["schemas"]["EventTypeDetail"]["allOf"][1]
    del detail["properties"]["allow_cancel"]
    detail["required"].remove("allow_cancel")
    return "property 'allow_cancel' of the reference is missing"


def _drop_status(doc: dict) -> str:
    del doc["paths"]["/v1/bookings/{uid}"]["patch"]["responses"]["428"]
    return "PATCH /v1/bookings/{uid} → 428: status missing"


def _drop_parameter(doc: dict) -> str:
    params = doc["paths"]["/v1/bookings"]["get"]["parameters"]
    params[:] = [p for p in params if p.get("name") != "updated_since"]
    return "parameter query:updated_since: missing"


def _optional_parameter(doc: dict) -> str:
    for param in doc["paths"]["/v1/slots"]["get"]["parameters"]:
        if param.get("name") == "start":
            param["required"] = False
    return "parameter query:start: required=False"


def _unpromised_required(doc: dict) -> str:
    doc["components"]["schemas"]["Meta"]["required"] = []
    return "does not promise ['request_id']"


def _widened_type(doc: dict) -> str:
    doc["components"]["schemas"]["Booking"]["properties"]["version"]["type"] = ["integer", "string"]
    return "version: type ['integer', 'string'] is not within"


def _request_requires_more(doc: dict) -> str:
    doc["components"]["schemas"]["CreateBookingRequest"]["required"].append("timezone")
    return "requires ['timezone']"


def _unmarked_addition(doc: dict) -> str:
    del doc["components"]["schemas"]["Booking"]["properties"]["rescheduled_to_uid"][ADDITION]
    return "rescheduled_to_uid: property not in the reference and not marked"


def _unmarked_stricter(doc: dict) -> str:
    del doc["components"]["parameters"]["IdempotencyKey"]["schema"][STRICTER]
    return "parameter header:idempotency-key: pattern"


def _drop_operation(doc: dict) -> str:
    del doc["paths"]["/v1/webhooks/{id}/test"]
    return "POST /v1/webhooks/{id}/test: operation missing"


def _narrowed_enum_in_request(doc: dict) -> str:
    doc["components"]["schemas"]["WebhookEventName"]["enum"].remove("booking_no_show")
    return "accepts only"


@pytest.mark.parametrize(
    "mutate",
    [
        _drop_booking_field,
        _drop_event_type_detail_field,
        _drop_status,
        _drop_parameter,
        _optional_parameter,
        _unpromised_required,
        _widened_type,
        _request_requires_more,
        _unmarked_addition,
        _unmarked_stricter,
        _drop_operation,
        _narrowed_enum_in_request,
    ],
    ids=lambda f: f.__name__.lstrip("_"),
)
def test_the_comparer_notices_a_broken_copy(reference, mutate):
    """The test of the test: each damage to a copy of our document is reported."""
    ours = copy.deepcopy(document())
    expected = mutate(ours)
    differences = compare(ours, reference).differences
    assert any(expected in line for line in differences), (expected, differences)


def test_the_comparer_accepts_the_reference_itself(reference):
    assert compare(copy.deepcopy(reference), reference).differences == []
