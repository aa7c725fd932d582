"""fortytwo's own OpenAPI 3.1 document, shipped inside the package.

``openapi.yaml`` is the hand-written source; ``openapi.json`` is generated from it by
``python -m fortytwo.openapi.build`` so that the server never needs a YAML parser. Both are
package data and are read once.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

YAML_NAME = "openapi.yaml"
JSON_NAME = "openapi.json"


def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


@lru_cache(maxsize=1)
def yaml_bytes() -> bytes:
    """The document exactly as written (YAML)."""
    return _read(YAML_NAME)


@lru_cache(maxsize=1)
def json_bytes() -> bytes:
    """The document as JSON."""
    return _read(JSON_NAME)


@lru_cache(maxsize=1)
def _parsed() -> dict[str, Any]:
    return json.loads(json_bytes())


def document() -> dict[str, Any]:
    """A private copy of the parsed document (callers may change it freely)."""
    return copy.deepcopy(_parsed())


def asset(name: str) -> str:
    """A text file bundled next to the document (the /docs stylesheet)."""
    return _read(name).decode("utf-8")
