"""Our OpenAPI document and its HTML rendering: /openapi.yaml, /openapi.json, /docs.

Public (no token), not wrapped in the envelope, not rate limited. The HTML page is rendered
from the document once per process, on first request.
"""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web

from fortytwo import openapi

routes = web.RouteTableDef()


@lru_cache(maxsize=1)
def _docs_page() -> bytes:
    from fortytwo.openapi.render import render_page

    return render_page().encode("utf-8")


@routes.get("/openapi.yaml")
async def openapi_yaml(request: web.Request) -> web.Response:
    return web.Response(body=openapi.yaml_bytes(), content_type="application/yaml", charset="utf-8")


@routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=openapi.json_bytes(), content_type="application/json")


@routes.get("/docs")
async def docs(request: web.Request) -> web.Response:
    return web.Response(body=_docs_page(), content_type="text/html", charset="utf-8")
