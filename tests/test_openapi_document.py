"""Our OpenAPI document: valid, in sync, describing exactly the routes we serve, served at
/openapi.yaml and /openapi.json, printed by ``fortytwo openapi`` and rendered at /docs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from openapi_spec_validator import validate

from fortytwo import __version__, openapi
from fortytwo.app import create_app
from fortytwo.cli.main import cli
from fortytwo.openapi.build import expected_json
from fortytwo.openapi.render import operation_anchor, render_page
from tests.conftest import make_settings
from tests.loop_thread import LoopThread

METHODS = ("get", "put", "post", "patch", "delete")
CHROMIUM = "/usr/bin/chromium"


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def documented_operations() -> set[tuple[str, str]]:
    doc = openapi.document()
    return {
        (method.upper(), _normal(path))
        for path, item in doc["paths"].items()
        for method in METHODS
        if method in item
    }


def served_operations(tmp_path: Path) -> set[tuple[str, str]]:
    app = create_app(make_settings(tmp_path))
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and route.method not in ("HEAD", "*"):
            served.add((route.method, _normal(path)))
    return served


def test_the_document_is_valid_openapi_3_1():
    doc = openapi.document()
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_the_json_form_is_generated_from_the_yaml():
    assert openapi.json_bytes() == expected_json(), (
        "fortytwo/openapi/openapi.json is stale; run: python -m fortytwo.openapi.build"
    )
    assert json.loads(openapi.json_bytes()) == yaml.safe_load(openapi.yaml_bytes())


def test_the_yaml_has_no_duplicate_keys():
    """PyYAML keeps the last of two equal keys silently; a duplicate would hide a block."""

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader, node):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            assert key not in seen, f"duplicate key {key!r} at line {key_node.start_mark.line + 1}"
            seen.add(key)
        return loader.construct_mapping(node)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load(openapi.yaml_bytes(), StrictLoader)  # noqa: S506 - a SafeLoader subclass


def test_the_document_names_this_version():
    assert openapi.document()["info"]["version"] == __version__


def test_operation_ids_are_unique():
    doc = openapi.document()
    ids = [item[m]["operationId"] for item in doc["paths"].values() for m in METHODS if m in item]
    assert len(ids) == len(set(ids))


def test_every_served_route_is_documented(tmp_path):
    missing = served_operations(tmp_path) - documented_operations()
    assert not missing, f"served but not in fortytwo/openapi/openapi.yaml: {sorted(missing)}"


def test_every_documented_operation_is_served(tmp_path):
    unserved = documented_operations() - served_operations(tmp_path)
    assert not unserved, f"documented but not served: {sorted(unserved)}"


# --------------------------------------------------------------------------------------------
# Serving and printing the document


async def test_the_document_is_served_without_token_or_envelope(client):
    resp = await client.get("/openapi.yaml")
    assert resp.status == 200
    assert resp.content_type == "application/yaml"
    assert await resp.read() == openapi.yaml_bytes()
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == openapi.document()
    assert "X-RateLimit-Limit" not in resp.headers
    assert resp.headers["X-Request-Id"].startswith("req_")


async def test_the_root_links_the_document_and_the_docs(client):
    body = await (await client.get("/")).json()
    assert body["docs"].endswith("/docs") and body["openapi"].endswith("/openapi.json")
    for link in (body["docs"], body["openapi"]):
        resp = await client.get("/" + link.split("/", 3)[3])
        assert resp.status == 200


def test_the_command_line_prints_the_document():
    runner = CliRunner()
    result = runner.invoke(cli, ["openapi"])
    assert result.exit_code == 0 and result.stdout_bytes == openapi.yaml_bytes()
    result = runner.invoke(cli, ["openapi", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout_bytes) == openapi.document()


# --------------------------------------------------------------------------------------------
# /docs


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])

    def handle_data(self, data):
        self.text.append(data)


def _operations_in(doc: dict) -> list[tuple[str, str, dict]]:
    return [(m, p, item[m]) for p, item in doc["paths"].items() for m in METHODS if m in item]


async def test_docs_show_every_operation_with_nothing_loaded_from_elsewhere(client):
    resp = await client.get("/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    page = _Page()
    page.feed(await resp.text())
    text = " ".join(" ".join(page.text).split())
    doc = openapi.document()
    for method, path, op in _operations_in(doc):
        assert operation_anchor(method, path, op) in page.ids, (method, path)
        assert f"{method.upper()} {path}" in text, (method, path)
    for name in doc["components"]["schemas"]:
        assert f"schema-{name.lower()}" in page.ids
    # bundled only: no scripts, no external stylesheets, links stay on this server
    assert "script" not in page.tags and "link" not in page.tags
    assert all(link.startswith(("#", "/")) for link in page.links), page.links


def test_docs_escape_what_the_document_says():
    doc = openapi.document()
    doc["info"]["summary"] = "<script>alert(1)</script> `<b>`"
    html = render_page(doc)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<code>&lt;b&gt;</code>" in html


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory):
    runner = LoopThread()
    data = tmp_path_factory.mktemp("docs")

    async def seed(app):
        return str(runner.client.make_url("/docs"))

    url = runner.start_app(lambda: create_app(make_settings(data)), seed)
    yield url
    runner.close()


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"{CHROMIUM} is not installed (CI needs the 'chromium' package for this check)",
)
def test_headless_chromium_sees_every_operation(docs_server, tmp_path):
    """Render /docs in a real browser; keep a screenshot as a test artifact."""
    artifacts = Path(os.environ.get("FORTYTWO_TEST_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*common, "--dump-dom", docs_server], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    page = _Page()
    page.feed(dom)
    text = " ".join(" ".join(page.text).split())
    for method, path, op in _operations_in(openapi.document()):
        assert operation_anchor(method, path, op) in page.ids
        assert f"{method.upper()} {path}" in text
    shot = artifacts / "docs.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,4000", docs_server],
        capture_output=True, timeout=60, check=True,
    )
    assert shot.stat().st_size > 10_000
    print(f"screenshot of /docs: {shot}")
    if shutil.which("file"):
        assert "PNG" in subprocess.run(["file", str(shot)], capture_output=True, text=True).stdout
