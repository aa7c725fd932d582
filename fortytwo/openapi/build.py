"""Regenerate ``openapi.json`` from ``openapi.yaml`` (needs PyYAML, from the ``test`` extra).

    python -m fortytwo.openapi.build           # rewrite openapi.json
    python -m fortytwo.openapi.build --check   # exit 1 when openapi.json is stale
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def render_json(document: Any) -> bytes:
    """The canonical JSON form: two-space indent, key order as written, UTF-8, final newline."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def from_yaml(text: bytes) -> Any:
    # imported by name so that the frozen executable does not pull PyYAML in; only this
    # maintenance step needs it, never the server
    yaml = importlib.import_module("yaml")
    return yaml.safe_load(text)


def expected_json() -> bytes:
    return render_json(from_yaml((HERE / "openapi.yaml").read_bytes()))


def main(argv: list[str]) -> int:
    target = HERE / "openapi.json"
    fresh = expected_json()
    if "--check" in argv:
        if not target.exists() or target.read_bytes() != fresh:
            print(f"{target} is stale; run: python -m fortytwo.openapi.build", file=sys.stderr)
            return 1
        return 0
    target.write_bytes(fresh)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
