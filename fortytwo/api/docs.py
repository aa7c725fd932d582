"""Our OpenAPI document and its HTML rendering: /openapi.yaml, /openapi.json, /docs.

Public (no token), not wrapped in the envelope, not rate limited. The HTML page is rendered
from the document once per process, on first request; its Content-Security-Policy allows
only its own inline style sheet (by hash), no scripts, no forms and no framing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from aiohttp import web

from fortytwo import openapi
from fortytwo.http.secheaders import page_headers, style_hash

routes = web.RouteTableDef()


@lru_cache(maxsize=1)
def _docs_page() -> tuple[bytes, dict[str, str]]:
    from fortytwo.openapi.render import render_page

    page = render_page().encode("utf-8")
    styles = [style_hash(css) for css in re.findall(rb"<style>(.*?)</style>", page, re.S)]
    return page, page_headers(styles, no_store=False)


@routes.get("/openapi.yaml")
async def openapi_yaml(request: web.Request) -> web.Response:
    return web.Response(body=openapi.yaml_bytes(), content_type="application/yaml", charset="utf-8")


@routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=openapi.json_bytes(), content_type="application/json")


@routes.get("/docs")
async def docs(request: web.Request) -> web.Response:
    page, headers = _docs_page()
    return web.Response(body=page, content_type="text/html", charset="utf-8", headers=headers)
