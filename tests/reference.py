"""Validate our response bodies against the official 42min OpenAPI document.

The document's path comes from FORTYTWO_REFERENCE_OPENAPI; tests that need it skip with a
clear reason when it is unset.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ENV = "FORTYTWO_REFERENCE_OPENAPI"
BASE = "urn:42min-reference"


def reference_path() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


@lru_cache(maxsize=1)
def load_reference() -> dict[str, Any]:
    path = reference_path()
    if path is None:
        pytest.skip(f"{ENV} is not set; point it at 42min.v1.yaml to compare with the reference")
    with path.open() as fh:
        return yaml.safe_load(fh)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resource = Resource.from_contents(load_reference(), default_specification=DRAFT202012)
    return Registry().with_resource(BASE, resource)


def find_operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in load_reference()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return path, method, op
    raise KeyError(operation_id)


def response_pointer(operation_id: str, status: int) -> str:
    path, method, op = find_operation(operation_id)
    responses = op["responses"]
    key = str(status)
    if key not in responses:
        raise AssertionError(f"{operation_id} documents no {status} response")
    response = responses[key]
    if "$ref" in response:
        pointer = response["$ref"].lstrip("#")
    else:
        pointer = f"/paths/{_escape(path)}/{method}/responses/{key}"
    return f"{pointer}/content/application~1json/schema"


def validate_response(operation_id: str, status: int, body: Any) -> None:
    """Raise jsonschema.ValidationError when ``body`` breaks the reference schema."""
    schema = {"$ref": f"{BASE}#{response_pointer(operation_id, status)}"}
    validator = Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(body)


def validate_schema(name: str, instance: Any) -> None:
    schema = {"$ref": f"{BASE}#/components/schemas/{name}"}
    Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    ).validate(instance)
